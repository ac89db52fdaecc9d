package outq

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// FD is a file descriptor that Write writes with raw write(2) calls — not
// through package os, which raises SIGPIPE, and so kills the process, when a
// write to os.Stdout or os.Stderr meets EPIPE (os/signal, "SIGPIPE"). A raw
// write that meets EPIPE returns it, and the Go runtime ignores the signal
// the kernel sends with it.
type FD int

// The process's standard output and standard error.
const (
	Stdout FD = 1
	Stderr FD = 2
)

// Create creates (or truncates) path for writing, with a raw openat(2): for
// a regular file, package os would start the Go runtime's epoll poller
// (which refuses the file, but stays running).
func Create(path string) (FD, error) {
	for {
		fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return FD(fd), nil
	}
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
func (fd FD) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := unix.Write(int(fd), p[done:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			if err := fd.waitWritable(); err != nil {
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

// waitWritable waits, with no timeout, until fd has room to write.
func (fd FD) waitWritable() error {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		_, err := unix.Ppoll(fds, nil, nil)
		if err == unix.EINTR {
			continue // ppoll is never restarted after a signal handler
		}
		if err != nil {
			return os.NewSyscallError("ppoll", err)
		}
		return nil
	}
}

// Close closes a descriptor from Create, never retrying EINTR: the
// descriptor is released whatever close(2) returns (see sock.closeFD).
func (fd FD) Close() error {
	if err := unix.Close(int(fd)); err != nil && err != unix.EINTR {
		return os.NewSyscallError("close", err)
	}
	return nil
}
