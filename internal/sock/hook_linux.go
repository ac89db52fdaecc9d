package sock

// The system calls whose errno cases tests must be able to provoke on
// demand. The kernel produces ECONNABORTED, EINTR or EMFILE only in races a
// test cannot schedule, so tests replace these variables for a moment — the
// same seam Go keeps in internal/poll/hook_unix.go (Accept4Func). Each
// points at its call's seam function (sys_linux.go); nothing else ever
// assigns them.
var (
	accept4Func = sysAccept4
	ppollFunc   = sysPpoll
	openat2Func = sysOpenat2 // ENOSYS and EAGAIN cannot be provoked where openat2 works
	connectFunc = sysConnect // EINTR: the attempt goes on, and connect must not be called again
)
