package sock

import (
	"math"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Epoll is an epoll(7) instance: the set of descriptors one event loop
// watches, and the call that sleeps until some of them are ready.
//
// A loop registers each descriptor once (epoll_ctl ADD) and from then on
// learns about all of them with one call, epoll_wait — unlike ppoll, which
// hands the kernel the whole list again on every call. The kernel keeps the
// ready list as events happen, so one epoll_wait costs the same with ten
// connections or ten thousand.
type Epoll struct {
	fd     int
	events []Event
}

// Event is one entry of epoll_wait's answer: what happened (Events) to
// which registration (Fd and Pad are the 8 bytes of epoll_data the loop
// chose at ADD; rawserve puts the fd in one and a generation in the other).
type Event = unix.EpollEvent

// The event bits rawserve uses (epoll_ctl(2)).
const (
	EventIn    = unix.EPOLLIN    // readable: data, a connection to accept, or EOF
	EventOut   = unix.EPOLLOUT   // room in the send buffer
	EventRDHUP = unix.EPOLLRDHUP // the peer shut down its sending side (read will say EOF)
	EventHUP   = unix.EPOLLHUP   // both directions are shut down, or reset: always reported
	EventErr   = unix.EPOLLERR   // an error is pending on the socket: always reported
	EdgeTrig   = unix.EPOLLET    // report changes, not states (see docs/models.md)
)

// NewEpoll wraps epoll_create1(EPOLL_CLOEXEC); an epoll_wait returns at most
// max events at a time.
func NewEpoll(max int) (*Epoll, error) {
	fd, err := sysEpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	return &Epoll{fd: fd, events: make([]Event, max)}, nil
}

// FD is the epoll descriptor's number (for narration and tests).
func (e *Epoll) FD() int { return e.fd }

// Close releases the epoll instance. The descriptors in it stay open.
func (e *Epoll) Close() error { return closeFD(e.fd) }

// Add wraps epoll_ctl(EPOLL_CTL_ADD): watch fd for events, and report it
// with data (the Fd and Pad of the Event). A descriptor leaves the set by
// itself when it is closed (its last reference), so the loop never needs
// EPOLL_CTL_DEL for a connection: that would be one more call per close.
func (e *Epoll) Add(fd int, events uint32, fdData, pad int32) error {
	ev := Event{Events: events, Fd: fdData, Pad: pad}
	if err := sysEpollCtl(e.fd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// Del wraps epoll_ctl(EPOLL_CTL_DEL), for a descriptor that stays open but
// should no longer be watched (a listener we stop accepting on).
func (e *Epoll) Del(fd int) error {
	if err := sysEpollCtl(e.fd, unix.EPOLL_CTL_DEL, fd, nil); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// Wait wraps epoll_wait(2) — made as epoll_pwait with no signal mask, which
// is the same call and the one every architecture has (strace shows
// epoll_pwait). It sleeps until some watched descriptor is ready or timeout
// passes (negative: no timeout; zero: do not sleep) and returns the ready
// events, which stay valid until the next Wait.
//
// The timeout is in milliseconds, rounded up here so a loop never wakes a
// hair before its deadline only to go back to sleep for less than 1 ms.
// EINTR — a signal, often the Go runtime's own preemption signal — returns no
// events and no error: the loop looks at its timers and calls again.
func (e *Epoll) Wait(timeout time.Duration) ([]Event, error) {
	ms := -1
	if timeout >= 0 {
		// epoll_wait takes an int of milliseconds: a longer timeout is cut
		// to its largest (24.8 days), and the loop simply waits again.
		ms = int(min((timeout+time.Millisecond-1)/time.Millisecond, math.MaxInt32))
	}
	n, err := sysEpollPwait(e.fd, e.events, ms)
	switch err {
	case nil:
		return e.events[:n], nil
	case unix.EINTR:
		return nil, nil
	}
	return nil, os.NewSyscallError("epoll_wait", err)
}
