package sock

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// ErrWildcardDial is Dial's answer for an address with no host (":8080"):
// a listener may take every address, but a connection needs one peer.
var ErrWildcardDial = errors.New("cannot dial a wildcard address: name a host, such as 127.0.0.1")

// Dial connects to a with a nonblocking connect(2): it returns EINPROGRESS
// at once, the handshake goes on in the kernel, we wait for POLLOUT until
// deadline (zero: no deadline), then getsockopt(SO_ERROR) says how it ended
// (0, ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH...). EINTR on connect: the
// connection attempt continues — do NOT call connect again (that would give
// EALREADY); wait for POLLOUT as for EINPROGRESS (see connect(2) and Go's
// net/fd_unix.go connect).
//
// The Conn it returns is like an accepted one: nonblocking, close-on-exec,
// with Peer set and no deadlines yet. Errors name the system call that
// failed ("connect: connection refused"); a passed deadline is ErrTimeout; a
// Waker in p cuts the wait short with ErrShutdown. On error no fd is left
// open. A nil p waits in ppoll with no Waker.
func Dial(a Addr, deadline time.Time, p *Poller) (*Conn, error) {
	if a.Wildcard {
		return nil, ErrWildcardDial
	}
	if !deadline.IsZero() && !time.Now().Before(deadline) {
		return nil, ErrTimeout // no socket, no SYN: there is no time to wait for an answer
	}
	if p == nil {
		p = &Poller{}
	}
	fd, err := newSocket(a) // nonblocking: connect returns at once, and we choose how to wait
	if err != nil {
		return nil, err
	}
	peer, err := connect(fd, a, deadline, p)
	if err != nil {
		closeFD(fd)
		return nil, err
	}
	return &Conn{fd: fd, poller: p, Peer: peer}, nil
}

// connect starts the handshake and waits for its end. It returns the peer
// as getpeername(2) reports it.
func connect(fd int, a Addr, deadline time.Time, p *Poller) (Addr, error) {
	switch err := connectFunc(fd, a); err {
	case nil, unix.EISCONN:
		// Connected at once. Linux does this for no TCP socket we
		// make — even loopback says EINPROGRESS — but the man page allows it.
		return a, nil
	case unix.EINPROGRESS, unix.EINTR:
		// EINPROGRESS: the SYN is sent, the handshake goes on without us.
		// EINTR: a signal arrived, but the attempt was not undone and
		// goes on just the same; calling connect again would only say
		// EALREADY (connect(2), EINTR). Both end in a wait for POLLOUT.
	default:
		// ECONNREFUSED can come at once, from a local route; ENETUNREACH,
		// EADDRNOTAVAIL (no free local port) and EACCES come before any
		// packet was sent.
		return Addr{}, os.NewSyscallError("connect", err)
	}
	for {
		// POLLOUT means the handshake has ended, one way or the other: a
		// failure is POLLERR|POLLHUP, which ppoll reports whatever we asked.
		if err := p.wait(fd, unix.POLLOUT, deadline, true); err != nil {
			return Addr{}, err
		}
		// SO_ERROR is the connect result the kernel kept for us (reading
		// it clears it): 0, or the errno a blocking connect would have
		// returned.
		soerr, err := sysGetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return Addr{}, os.NewSyscallError("getsockopt", err)
		}
		if soerr != 0 {
			return Addr{}, os.NewSyscallError("connect", unix.Errno(soerr))
		}
		// 0 says "no error yet", which is not "connected": the Spin
		// strategy returns from wait without waiting at all. getpeername
		// tells the two apart — ENOTCONN while the handshake is still on —
		// as Go's net package does after a spurious wakeup.
		peer, err := sysGetpeername(fd)
		switch err {
		case nil:
			return peer, nil
		case unix.ENOTCONN:
			continue
		}
		return Addr{}, os.NewSyscallError("getpeername", err)
	}
}
