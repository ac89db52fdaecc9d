package sock

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Output is a descriptor the process writes its lines to — standard
// output, standard error, a -trace-file — with write(2) made here, at the
// seam, so that -trace narrates them like every other call (but for the
// narration's own writes: see SetTraceTo). Not through package os, which
// raises SIGPIPE, and so kills the process, when a write to os.Stdout or
// os.Stderr meets EPIPE (os/signal, "SIGPIPE"): a write made here that
// meets EPIPE returns it, and the Go runtime ignores the signal the kernel
// sends with it.
type Output int

// The process's standard output and standard error.
const (
	Stdout Output = 1
	Stderr Output = 2
)

// CreateOutput creates (or truncates) path for writing, with openat(2): for
// a regular file, package os would start the Go runtime's epoll poller
// (which refuses the file, but stays running).
func CreateOutput(path string) (Output, error) {
	for {
		fd, err := sysOpenat(unix.AT_FDCWD, path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return Output(fd), nil
	}
}

// FD is the descriptor.
func (o Output) FD() int { return int(o) }

// Pipe reports whether the descriptor is a pipe (or fstat(2) cannot say):
// only a pipe promises that a write of up to PIPE_BUF bytes is never
// mixed with another writer's, so only a pipe needs its writes that small.
func (o Output) Pipe() bool {
	var st unix.Stat_t
	return sysFstat(int(o), &st) != nil || st.Mode&unix.S_IFMT == unix.S_IFIFO
}

// Write writes all of p. A signal that arrives before anything is written
// makes write(2) fail with EINTR (when its handler is not SA_RESTART): write
// again. A short write (a signal after part of p, a pipe that had room for
// part) is followed by a write of the rest.
//
// EAGAIN does not happen on a blocking descriptor, and rawserve never makes
// fd 1 or 2 nonblocking: O_NONBLOCK belongs to the file description, which
// rawserve shares with whoever started it — a shell, a test harness — and
// would change their stdout too. But that parent may have made it
// nonblocking itself; then Write waits in ppoll(2) for room, as a blocking
// write would have waited in the kernel.
func (o Output) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := sysWriteFile(int(o), p[done:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			if err := o.waitWritable(); err != nil {
				return done, err
			}
			continue
		case err != nil:
			return done, os.NewSyscallError("write", err)
		case n == 0:
			return done, io.ErrShortWrite // write(2) took nothing and said nothing
		}
		done += n
	}
	return done, nil
}

// waitWritable waits, with no timeout, until the descriptor has room.
func (o Output) waitWritable() error {
	fds := []unix.PollFd{{Fd: int32(o), Events: unix.POLLOUT}}
	for {
		_, err := sysPpoll(fds, nil, nil)
		if err == unix.EINTR {
			continue // ppoll is never restarted after a signal handler
		}
		if err != nil {
			return os.NewSyscallError("ppoll", err)
		}
		return nil
	}
}

// Close closes a descriptor from CreateOutput (closeFD: never retried).
func (o Output) Close() error { return closeFD(int(o)) }
