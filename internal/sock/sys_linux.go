package sock

// The seam: one function per system call this package makes. Each makes
// the call, narrates it (-trace, see trace.go) and returns what the kernel
// returned — the raw errno, unwrapped, and no retry. What to do with the
// answer (EINTR, EAGAIN and the wait, short writes, which errors to name)
// is the wrappers' business, above this file; they never narrate. It is
// the shape of Go's internal/poll: hook_unix.go is its seam, fd_unix.go its
// wrappers.
//
// A call's narration needs, now and then, something the call destroys: the
// timeout ppoll overwrites with the time left, the offset sendfile
// advances. The seam function keeps that copy, only when narrating, so the
// wrapper never sees it.
//
// Tests reach the calls whose errnos the kernel will not produce on demand
// through the variables in hook_linux.go, which point here.

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// errOf is a raw call's errno as an error: nil for 0.
func errOf(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// Sockets, in the order a listener meets them.

// sysSocket is socket(2).
func sysSocket(domain, typ, proto int) (int, error) {
	sp := begin(cSocket)
	fd, err := unix.Socket(domain, typ, proto)
	if sp.on() {
		sp.socket(domain, typ, proto, fd, err)
	}
	return fd, err
}

// sysSetsockoptInt is setsockopt(2) with an int value.
func sysSetsockoptInt(fd, level, opt, value int) error {
	sp := begin(cSetsockopt)
	err := unix.SetsockoptInt(fd, level, opt, value)
	if sp.on() {
		sp.setsockoptInt(fd, level, opt, value, err)
	}
	return err
}

// sysGetsockoptInt is getsockopt(2) of an int; strace shows SO_ERROR's
// value as an errno's name.
func sysGetsockoptInt(fd, level, opt int) (int, error) {
	sp := begin(cGetsockopt)
	value, err := unix.GetsockoptInt(fd, level, opt)
	if sp.on() {
		sp.getsockoptInt(fd, level, opt, value, err)
	}
	return value, err
}

// sysSetsockoptLinger is setsockopt(2) of SO_LINGER, whose value is a
// struct linger.
func sysSetsockoptLinger(fd int, l *unix.Linger) error {
	sp := begin(cSetsockopt)
	err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, l)
	if sp.on() {
		sp.setsockoptLinger(fd, l, err)
	}
	return err
}

// sysIoctlGetInt is ioctl(2) of a request that writes an int: SIOCOUTQ.
func sysIoctlGetInt(fd int, req uint) (int, error) {
	sp := begin(cIoctl)
	v, err := unix.IoctlGetInt(fd, req)
	if sp.on() {
		sp.ioctlInt(fd, req, v, err)
	}
	return v, err
}

// sysBind is bind(2) to a; a wildcard is sent as [::] or 0.0.0.0.
func sysBind(fd int, a Addr) error {
	sp := begin(cBind)
	err := unix.Bind(fd, a.Sockaddr())
	if sp.on() {
		sp.addrCall("bind", fd, a, err)
	}
	return err
}

// sysListen is listen(2).
func sysListen(fd, backlog int) error {
	sp := begin(cListen)
	err := unix.Listen(fd, backlog)
	if sp.on() {
		sp.listen(fd, backlog, err)
	}
	return err
}

// sysAccept4 is accept4(2), made raw: x/sys/unix.Accept4 would add a
// getsockopt(SO_PROTOCOL) to every connection — its address conversion asks
// whether the socket is L2TP — and strace would show it. Ours is TCP, so the
// address the kernel wrote is decoded here.
func sysAccept4(fd, flags int) (int, Addr, error) {
	var rsa unix.RawSockaddrAny
	size := uint32(unix.SizeofSockaddrAny)
	sp := begin(cAccept4)
	nfd, _, e := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(fd),
		uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&size)), uintptr(flags), 0, 0)
	if sp.on() {
		sp.accept4(fd, &rsa, size, flags, int(nfd), errOf(e))
	}
	if e != 0 {
		return -1, Addr{}, e
	}
	return int(nfd), decodeSockaddr(&rsa), nil
}

// sysGetsockname is getsockname(2), raw for the reason sysAccept4 is.
func sysGetsockname(fd int) (Addr, error) {
	return sockaddrCall(unix.SYS_GETSOCKNAME, cGetsockname, fd)
}

// sysGetpeername is getpeername(2), raw for the reason sysAccept4 is.
func sysGetpeername(fd int) (Addr, error) {
	return sockaddrCall(unix.SYS_GETPEERNAME, cGetpeername, fd)
}

// sockaddrCall makes one of the two calls that fill in a socket's address.
// Neither can sleep, so RawSyscall (see rawRW).
func sockaddrCall(trap uintptr, id callID, fd int) (Addr, error) {
	var rsa unix.RawSockaddrAny
	size := uint32(unix.SizeofSockaddrAny)
	sp := begin(id)
	_, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&size)))
	if sp.on() {
		sp.nameCall(callNames[id], fd, &rsa, size, errOf(e))
	}
	if e != 0 {
		return Addr{}, e
	}
	return decodeSockaddr(&rsa), nil
}

// sysConnect is connect(2) to a.
func sysConnect(fd int, a Addr) error {
	sp := begin(cConnect)
	err := unix.Connect(fd, a.Sockaddr())
	if sp.on() {
		sp.addrCall("connect", fd, a, err)
	}
	return err
}

// sysRead is read(2), made with RawSyscall: only for a descriptor that
// cannot sleep in it — a nonblocking socket, a /proc file (see rawRW).
func sysRead(fd int, p []byte) (int, error) {
	sp := begin(cRead)
	n, err := rawRW(unix.SYS_READ, fd, p)
	if sp.on() {
		sp.read(fd, p, n, err)
	}
	return n, err
}

// sysWrite is write(2), made with RawSyscall: only for a descriptor that
// cannot sleep in it — a nonblocking socket, an eventfd (see rawRW).
func sysWrite(fd int, p []byte) (int, error) {
	sp := begin(cWrite)
	if sp.on() {
		sp.writeStarts(fd, p)
	}
	n, err := rawRW(unix.SYS_WRITE, fd, p)
	if sp.on() {
		sp.write(fd, p, n, err)
	}
	return n, err
}

// sysWriteFile is write(2) to a regular file, a pipe or a terminal — the
// ready file, stdout, stderr — which can sleep in the kernel (page-cache
// writeback, a full pipe): Syscall, so the Go runtime knows. strace shows
// the same write as sysWrite's.
func sysWriteFile(fd int, p []byte) (int, error) {
	if t := active.Load(); t != nil && fd == t.own {
		// The narration's own write (SetTraceTo): not narrated, nor
		// counted busy — it may block for as long as nobody reads, and
		// SetTrace would wait for it.
		return unix.Write(fd, p)
	}
	sp := begin(cWrite)
	n, err := unix.Write(fd, p)
	if sp.on() {
		sp.write(fd, p, n, err)
	}
	return n, err
}

// rawRW is read(2) or write(2) through unix.RawSyscall, for a descriptor on
// which the call cannot sleep — a nonblocking socket or eventfd says EAGAIN
// instead — so the Go runtime need not be told it might (entersyscall and
// exitsyscall, and the monitor thread's hand-off of a thread it thinks is
// stuck in the kernel).
func rawRW(trap uintptr, fd int, p []byte) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	n, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(ptr), uintptr(len(p)))
	if e != 0 {
		return int(n), e
	}
	return int(n), nil
}

// sysSendfile is sendfile(2) from *off, which the kernel advances; strace
// shows the offset before and after ("[0] => [65536]").
func sysSendfile(out, in int, off *int64, count int) (int, error) {
	sp := begin(cSendfile)
	var before int64
	if sp.on() {
		before = *off
	}
	n, err := unix.Sendfile(out, in, off, count)
	if sp.on() {
		sp.sendfile(out, in, before, *off, count, n, err)
	}
	return n, err
}

// sysShutdown is shutdown(2).
func sysShutdown(fd, how int) error {
	sp := begin(cShutdown)
	err := unix.Shutdown(fd, how)
	if sp.on() {
		sp.shutdown(fd, how, err)
	}
	return err
}

// sysClose is close(2).
func sysClose(fd int) error {
	sp := begin(cClose)
	err := unix.Close(fd)
	if sp.on() {
		sp.close(fd, err)
	}
	return err
}

// Waiting.

// sysPpoll is ppoll(2), which overwrites *ts with the time left; strace
// shows the timeout as given, so the narration keeps a copy. A signal is
// strace's "= ? ERESTARTNOHAND" and the narration's "= -1 EINTR".
func sysPpoll(fds []unix.PollFd, ts *unix.Timespec, sigmask *unix.Sigset_t) (int, error) {
	sp := begin(cPpoll)
	var in unix.Timespec
	if sp.on() {
		if ts != nil {
			in = *ts
			sp.ppollStarts(fds, &in)
		} else {
			sp.ppollStarts(fds, nil)
		}
	}
	n, err := unix.Ppoll(fds, ts, sigmask)
	if sp.on() {
		if ts != nil {
			sp.ppoll(fds, &in, ts, n, err)
		} else {
			sp.ppoll(fds, nil, nil, n, err)
		}
	}
	return n, err
}

// sysEventfd2 is eventfd(2), which x/sys makes as eventfd2 (with flags).
func sysEventfd2(initval uint, flags int) (int, error) {
	sp := begin(cEventfd2)
	fd, err := unix.Eventfd(initval, flags)
	if sp.on() {
		sp.eventfd2(initval, flags, fd, err)
	}
	return fd, err
}

// sysEpollCreate1 is epoll_create1(2).
func sysEpollCreate1(flags int) (int, error) {
	sp := begin(cEpollCreate1)
	fd, err := unix.EpollCreate1(flags)
	if sp.on() {
		sp.epollCreate1(flags, fd, err)
	}
	return fd, err
}

// sysEpollCtl is epoll_ctl(2); ev is nil for EPOLL_CTL_DEL.
func sysEpollCtl(epfd, op, fd int, ev *unix.EpollEvent) error {
	sp := begin(cEpollCtl)
	err := unix.EpollCtl(epfd, op, fd, ev)
	if sp.on() {
		sp.epollCtl(epfd, op, fd, ev, err)
	}
	return err
}

// sysEpollPwait is epoll_pwait(2) with no signal mask (see Epoll.Wait). A
// call with timeout 0 cannot sleep, so it is made with RawSyscall6 (see
// rawRW).
func sysEpollPwait(epfd int, events []unix.EpollEvent, ms int) (int, error) {
	sp := begin(cEpollPwait)
	if sp.on() && ms != 0 {
		sp.epollWaitStarts(epfd)
	}
	var n uintptr
	var e unix.Errno
	if ms == 0 {
		n, _, e = unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd),
			uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	} else {
		n, _, e = unix.Syscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd),
			uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(ms), 0, 0)
	}
	err := errOf(e)
	if sp.on() {
		sp.epollWait(epfd, events, len(events), ms, int(n), err)
	}
	return int(n), err
}

// Files. x/sys refuses a path with a NUL byte before any system call; such
// a call has no line, as it has none in strace.

// sysOpenat is openat(2); x/sys adds O_LARGEFILE where the architecture
// has one, and strace shows it.
func sysOpenat(dirfd int, path string, flags int, mode uint32) (int, error) {
	sp := begin(cOpenat)
	fd, err := unix.Openat(dirfd, path, flags, mode)
	if sp.on() {
		sp.openat(dirfd, path, flags|unix.O_LARGEFILE, mode, fd, err)
	}
	return fd, err
}

// sysOpenat2 is openat2(2).
func sysOpenat2(dirfd int, path string, how *unix.OpenHow) (int, error) {
	sp := begin(cOpenat2)
	fd, err := unix.Openat2(dirfd, path, how)
	if sp.on() {
		sp.openat2(dirfd, path, how, fd, err)
	}
	return fd, err
}

// sysFstat is fstat(2).
func sysFstat(fd int, st *unix.Stat_t) error {
	sp := begin(cFstat)
	err := unix.Fstat(fd, st)
	if sp.on() {
		sp.fstat(fd, st, err)
	}
	return err
}

// sysNewfstatat is fstatat(2), which is newfstatat on 64-bit Linux.
func sysNewfstatat(dirfd int, path string, st *unix.Stat_t, flags int) error {
	sp := begin(cNewfstatat)
	err := unix.Fstatat(dirfd, path, st, flags)
	if sp.on() {
		sp.newfstatat(dirfd, path, st, flags, err)
	}
	return err
}

// sysStatx is statx(2) of a path below dirfd, given NUL-terminated: a
// file cache's check of a hit makes this call on every request it
// validates, and x/sys's Statx would copy the path to add the NUL — an
// allocation per request. strace shows the mask asked for; the kernel may
// fill in more, and says so in stx_mask.
func sysStatx(dirfd int, cpath []byte, flags, mask int, st *unix.Statx_t) error {
	sp := begin(cStatx)
	_, _, e := unix.Syscall6(unix.SYS_STATX, uintptr(dirfd), uintptr(unsafe.Pointer(&cpath[0])),
		uintptr(flags), uintptr(mask), uintptr(unsafe.Pointer(st)), 0)
	err := errOf(e)
	if sp.on() {
		sp.statx(dirfd, string(cpath[:len(cpath)-1]), flags, mask, st, err)
	}
	return err
}

// sysDup3 is dup3(2): newfd is closed and made a copy of oldfd, in one
// step.
func sysDup3(oldfd, newfd, flags int) error {
	sp := begin(cDup3)
	err := unix.Dup3(oldfd, newfd, flags)
	if sp.on() {
		sp.dup3(oldfd, newfd, flags, err)
	}
	return err
}

// sysGetdents64 is getdents64(2) into buf. x/sys skips up to 7 bytes to
// align it, then moves the records to buf's start; strace shows the address
// and size it passed.
func sysGetdents64(fd int, buf []byte) (int, error) {
	sp := begin(cGetdents64)
	n, err := unix.Getdents(fd, buf)
	if sp.on() {
		sp.getdents64(fd, buf, n, err)
	}
	return n, err
}

// sysPread64 is pread(2), which is pread64 on Linux.
func sysPread64(fd int, p []byte, off int64) (int, error) {
	sp := begin(cPread64)
	n, err := unix.Pread(fd, p, off)
	if sp.on() {
		sp.pread64(fd, p, off, n, err)
	}
	return n, err
}

// sysRenameat is rename(2) as x/sys and strace have it: renameat(AT_FDCWD,
// from, AT_FDCWD, to).
func sysRenameat(from, to string) error {
	sp := begin(cRenameat)
	err := unix.Renameat(unix.AT_FDCWD, from, unix.AT_FDCWD, to)
	if sp.on() {
		sp.renameat(from, to, err)
	}
	return err
}

// sysUnlinkat is unlink(2) as x/sys and strace have it: unlinkat(AT_FDCWD,
// path, 0).
func sysUnlinkat(path string) error {
	sp := begin(cUnlinkat)
	err := unix.Unlinkat(unix.AT_FDCWD, path, 0)
	if sp.on() {
		sp.unlinkat(path, err)
	}
	return err
}

// io_uring (uring_linux.go). Each call here is one strace shows; the
// requests they carry — the SQEs an io_uring_enter submits, the CQEs a
// loop reaps after it — are narrated too, on lines of their own
// (uring_strace.go), since strace cannot show them.

// sysIoUringSetup is io_uring_setup(2): a new ring, its fd, and in *p what
// the kernel made of it.
func sysIoUringSetup(entries uint32, p *uringParams) (int, error) {
	sp := begin(cIoUringSetup)
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	err := errOf(e)
	if sp.on() {
		sp.ioUringSetup(entries, p, int(fd), err)
	}
	if err != nil {
		return -1, err
	}
	return int(fd), nil
}

// sysIoUringEnter is io_uring_enter(2) with no signal mask: it submits the
// toSubmit entries before r's tail and, with IORING_ENTER_GETEVENTS, runs
// what completed and waits until minComplete completions are in the ring.
// The entries it submits are narrated just before it. A call that cannot
// sleep (minComplete 0) is made with RawSyscall6 (see rawRW).
func sysIoUringEnter(r *Ring, toSubmit, minComplete, flags uint32) (int, error) {
	narrateSQEs(r, toSubmit)
	sp := begin(cIoUringEnter)
	if sp.on() && minComplete != 0 {
		sp.ioUringEnterStarts(r.fd, toSubmit, minComplete, flags)
	}
	var n uintptr
	var e unix.Errno
	if minComplete == 0 {
		n, _, e = unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), 0, uintptr(flags), 0, 0)
	} else {
		n, _, e = unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(minComplete), uintptr(flags), 0, 0)
	}
	err := errOf(e)
	if sp.on() {
		sp.ioUringEnter(r.fd, toSubmit, minComplete, flags, int(n), err)
	}
	return int(n), err
}

// sysIoUringRegister is io_uring_register(2): op with its argument.
func sysIoUringRegister(fd int, op uint32, arg unsafe.Pointer, nargs uint32) error {
	sp := begin(cIoUringRegister)
	_, _, e := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(fd), uintptr(op), uintptr(arg), uintptr(nargs), 0, 0)
	err := errOf(e)
	if sp.on() {
		sp.ioUringRegister(fd, op, arg, nargs, err)
	}
	return err
}

// sysMmap is mmap(2) of size bytes of fd's memory at off, shared and read
// in at once (MAP_POPULATE): a ring's memory. x/sys's Mmap keeps the
// mapping in a table of its own, for Munmap.
func sysMmap(fd int, off uint64, size int) ([]byte, error) {
	sp := begin(cMmap)
	b, err := unix.Mmap(fd, int64(off), size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if sp.on() {
		sp.mmap(size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE, fd, off, b, err)
	}
	return b, err
}

// sysMunmap is munmap(2) of a mapping sysMmap made.
func sysMunmap(b []byte) error {
	sp := begin(cMunmap)
	addr := unsafe.Pointer(unsafe.SliceData(b))
	err := unix.Munmap(b)
	if sp.on() {
		sp.munmap(addr, len(b), err)
	}
	return err
}
