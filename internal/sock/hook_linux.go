package sock

import "golang.org/x/sys/unix"

// The system calls whose errno cases tests must be able to provoke on
// demand. The kernel produces ECONNABORTED, EINTR or EMFILE only in races a
// test cannot schedule, so tests replace these variables for a moment — the
// same seam Go keeps in internal/poll/hook_unix.go (Accept4Func). Nothing
// else ever assigns them.
var (
	accept4Func = accept4
	ppollFunc   = unix.Ppoll
	openat2Func = unix.Openat2 // ENOSYS and EAGAIN cannot be provoked where openat2 works
	connectFunc = unix.Connect // EINTR: the attempt goes on, and connect must not be called again
)
