// Package sock is rawserve's one system-call layer. Every call the server
// makes to the kernel — socket, setsockopt, bind, listen, accept4, read,
// write, sendfile, ppoll, shutdown, close, openat2, fstat — is wrapped here,
// once, with its retry loop and the reason for it beside it. Packages above
// (http1, static, serve) never see an errno they have to retry; they see
// either progress or an error that names the system call that failed.
//
// All descriptors are nonblocking and close-on-exec from birth. When the
// kernel says EAGAIN, the caller does not spin: it waits for readiness in
// ppoll(2) (see wait_linux.go), or — only when asked to, for a demonstration —
// retries at once.
package sock

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// ErrTimeout is returned when a deadline passes before the kernel was ready.
// It matches os.ErrDeadlineExceeded, so errors.Is works with either.
var ErrTimeout error = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Is(e error) bool { return e == os.ErrDeadlineExceeded }

// ErrAgain is EAGAIN, "not now", as the Try calls return it: nothing to
// read, no room to write, no connection queued. An event loop hears from
// epoll when that changes; it never waits in the call.
var ErrAgain error = unix.EAGAIN

// ErrShutdown is returned by a wait that was cut short because the server
// is shutting down (its Waker was woken).
var ErrShutdown = errors.New("server shutting down")

// closeFD wraps close(2). It is never retried on EINTR: on Linux the
// descriptor is released before close returns, whatever it returns, and by
// the time we retried another thread might have been given the same number —
// we would close someone else's file (see close(2), "Dealing with error
// returns from close()").
func closeFD(fd int) error {
	if err := sysClose(fd); err != nil && err != unix.EINTR {
		return os.NewSyscallError("close", err)
	}
	return nil
}
