package sock

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Strategy is what a wrapper does when the kernel answers EAGAIN: "not now,
// this call would block". The fd is nonblocking, so something has to decide
// how to wait for "now".
type Strategy int

const (
	// Poll sleeps in ppoll(2) until the fd is ready, its deadline passes, or
	// the Waker fires. The thread uses no CPU while it waits. The default.
	Poll Strategy = iota
	// Spin retries the call at once. It burns a whole core on a silent
	// client and fills strace with EAGAIN: it exists to show what Poll saves.
	Spin
)

// ParseStrategy maps the -wait flag's value to a Strategy.
func ParseStrategy(s string) (Strategy, error) {
	switch s {
	case "poll":
		return Poll, nil
	case "spin":
		return Spin, nil
	}
	return Poll, fmt.Errorf("unknown wait strategy %q (want poll or spin)", s)
}

func (s Strategy) String() string {
	if s == Spin {
		return "spin"
	}
	return "poll"
}

// Waker lets another goroutine — the one that receives SIGTERM — interrupt
// a wait. It is an eventfd(2): every interruptible ppoll has it in its set,
// so writing to it ends the sleep at once. It is never read back: once woken,
// the server is shutting down and every later wait should end at once too.
type Waker struct {
	fd    int
	woken atomic.Bool
}

// NewWaker wraps eventfd(2), nonblocking so Wake can never block the
// signal-handling goroutine.
func NewWaker() (*Waker, error) {
	fd, err := sysEventfd2(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("eventfd2", err)
	}
	return &Waker{fd: fd}, nil
}

// Wake marks the server as shutting down and wakes any ppoll that includes
// the eventfd. The write adds 1 to the eventfd counter; EAGAIN would mean
// the counter is full, i.e. it is readable already, which is all we need.
func (w *Waker) Wake() error {
	if w.woken.Swap(true) {
		return nil
	}
	one := [8]byte{1} // a little-endian uint64 1, as eventfd(2) wants
	for {
		_, err := sysWrite(w.fd, one[:])
		switch err {
		case nil, unix.EAGAIN:
			return nil
		case unix.EINTR:
			continue
		}
		return os.NewSyscallError("write", err)
	}
}

// Woken reports whether Wake has been called. Checking it costs no syscall.
func (w *Waker) Woken() bool { return w != nil && w.woken.Load() }

// FD is the eventfd's number, for an event loop to watch.
func (w *Waker) FD() int { return w.fd }

// Close releases the eventfd.
func (w *Waker) Close() error { return closeFD(w.fd) }

// Poller is how one serving loop waits: its strategy and its waker (nil
// when nothing needs to interrupt it, as in some tests). The serial model has
// one Poller, shared by its listener and the connection it is serving. It
// belongs to that one loop: it keeps ppoll's arguments in itself, so that
// waiting allocates nothing, and is not safe for concurrent use.
type Poller struct {
	Strategy Strategy
	Waker    *Waker
	// Flusher, if set, is flushed when a wait has lasted IdleDelay — the
	// server has gone quiet. The access log is written then, so a busy
	// server writes its log in batches instead of once per request.
	Flusher Flusher

	queue  *Listener // watched for clients waiting (WatchQueue); nil: not
	queued bool      // a client was seen waiting there
	args   pollArgs
}

// ErrQueued is returned by a wait that ended because a client is waiting in
// the accept queue of the listener the Poller watches (WatchQueue).
var ErrQueued = errors.New("a client is waiting in the accept queue")

// WatchQueue makes the Poller's waits for a connection watch l, the
// listener, too: one ppoll over the connection, the listener and the waker.
// A wait for input that sees a client queued on l, and nothing else,
// returns ErrQueued; from then on Queued says so, and the waits leave l out
// (it stays readable until the next accept, and would end every wait at
// once). Waits for room to write do not watch: a response that has started
// is finished.
// This is how the serial model learns that other clients wait for it,
// without a system call of its own. nil stops watching. Spinning never
// waits, so it never watches.
func (p *Poller) WatchQueue(l *Listener) { p.queue, p.queued = l, false }

// Queued reports whether a wait has seen a client waiting in the watched
// listener's accept queue since WatchQueue.
func (p *Poller) Queued() bool { return p.queued }

// PeekQueue looks, without waiting, whether a client waits in the watched
// listener's queue: a ppoll with a zero timeout. The serial model asks now
// and then while a busy connection — one that pipelines, so that every read
// finds bytes and no wait happens — keeps it from looking any other way.
func (p *Poller) PeekQueue() bool {
	if p.queue == nil || p.queued || p.Strategy == Spin {
		return p.queued
	}
	fds := p.args.fds[:1]
	fds[0] = unix.PollFd{Fd: int32(p.queue.fd), Events: unix.POLLIN}
	p.args.ts = unix.Timespec{}
	for {
		n, err := ppollFunc(fds, &p.args.ts, nil)
		if err == unix.EINTR {
			continue
		}
		p.queued = err == nil && n > 0
		return p.queued
	}
}

// Flusher is output held back until the server goes quiet.
type Flusher interface {
	Pending() time.Time // since when output has been held back; zero: none
	Flush()             // write it
}

// The arguments of the next ppoll. Kept here rather than on the stack:
// they reach the kernel through ppollFunc, an indirect call that escape
// analysis cannot see through, so on the stack they would move to the heap,
// one allocation per wait.
type pollArgs struct {
	fds [3]unix.PollFd
	ts  unix.Timespec
}

// IdleDelay is how long a wait lasts before the Flusher is flushed.
const IdleDelay = 100 * time.Millisecond

// wait blocks until fd reports one of events (fd < 0: there is none to
// watch), deadline passes (zero: no deadline), a client is queued on the watched listener (WatchQueue) or, if
// wakeable, the Waker fires. It returns nil when the caller should retry its
// system call, ErrTimeout, ErrQueued, ErrShutdown, or a ppoll error.
//
// A nil return does not promise success: POLLERR and POLLHUP are reported
// whatever we asked for, and the retried call is what turns them into an
// errno (ECONNRESET, EPIPE) where the caller can see it.
func (p *Poller) wait(fd int, events int16, deadline time.Time, wakeable bool) error {
	w := p.Waker
	if !wakeable {
		w = nil
	}
	if w.Woken() {
		return ErrShutdown
	}
	if p.Strategy == Spin {
		// Spinning never sleeps, so "quiet for IdleDelay" is judged by
		// the age of the work instead.
		if p.Flusher != nil {
			if t := p.Flusher.Pending(); !t.IsZero() && time.Since(t) >= IdleDelay {
				p.Flusher.Flush()
			}
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return ErrTimeout
		}
		return nil
	}
	fds := &p.args.fds
	n, queue, waker := 0, -1, -1
	if fd >= 0 {
		fds[0] = unix.PollFd{Fd: int32(fd), Events: events}
		n = 1
	}
	if p.queue != nil && !p.queued && p.queue.fd != fd && events == unix.POLLIN {
		fds[n] = unix.PollFd{Fd: int32(p.queue.fd), Events: unix.POLLIN}
		queue, n = n, n+1
	}
	if w != nil {
		fds[n] = unix.PollFd{Fd: int32(w.fd), Events: unix.POLLIN}
		waker, n = n, n+1
	}
	for {
		dl, idling := deadline, false
		if p.Flusher != nil && !p.Flusher.Pending().IsZero() {
			if t := time.Now().Add(IdleDelay); dl.IsZero() || t.Before(dl) {
				dl, idling = t, true
			}
		}
		_, err := p.ppoll(fds[:n], dl)
		if err == ErrTimeout && idling {
			p.Flusher.Flush()
			continue
		}
		if err != nil {
			return err
		}
		if waker >= 0 && fds[waker].Revents != 0 {
			return ErrShutdown
		}
		if queue >= 0 && fds[queue].Revents != 0 {
			p.queued = true
		}
		switch {
		case fd >= 0 && fds[0].Revents != 0:
			return nil // the fd is ready, and the caller learns of the queue from Queued
		case p.queued:
			return ErrQueued
		}
	}
}

// SleepUntil waits, doing nothing, until t: a ppoll over no descriptor at
// all, whose timeout is the wait — a fault's delay or a drip's interval in
// the serial model (-faults), which holds the server meanwhile, as it does
// for any response. A shutdown does not cut it short: the pause is part of a
// response in flight, which its write timeout bounds. (Spinning does not
// sleep: it returns at once, and the caller looks at the clock.)
func (p *Poller) SleepUntil(t time.Time) error {
	if err := p.wait(-1, 0, t, false); err != nil && err != ErrTimeout {
		return err
	}
	return nil
}

// sleep waits for d, or until the Waker fires. It backs off after EMFILE:
// the listener is still readable then (the connection is still queued), so
// waiting on it would return at once and spin.
func (p *Poller) sleep(d time.Duration) error {
	if p.Waker.Woken() {
		return ErrShutdown
	}
	fds := &p.args.fds
	n := 0
	if p.Waker != nil {
		fds[0] = unix.PollFd{Fd: int32(p.Waker.fd), Events: unix.POLLIN}
		n = 1
	}
	ready, err := p.ppoll(fds[:n], time.Now().Add(d))
	if err == ErrTimeout {
		return nil
	}
	if err == nil && ready > 0 {
		return ErrShutdown
	}
	return err
}

// ppoll wraps ppoll(2), which is how x/sys/unix.Poll reaches the kernel on
// Linux and what strace shows. It returns how many fds are ready, or
// ErrTimeout once deadline (zero: none) has passed.
//
// EINTR is retried with the time that is left: a signal handler ran while
// we slept, and ppoll is never restarted automatically, whatever SA_RESTART
// says (signal(7)). It happens often in Go — the runtime preempts threads with
// SIGURG.
func (p *Poller) ppoll(fds []unix.PollFd, deadline time.Time) (int, error) {
	for {
		var ts *unix.Timespec // nil: no timeout
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return 0, ErrTimeout
			}
			p.args.ts = unix.NsecToTimespec(int64(left))
			ts = &p.args.ts
		}
		n, err := ppollFunc(fds, ts, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, os.NewSyscallError("ppoll", err)
		case n == 0:
			// ppoll's clock and ours may disagree by a hair: let the
			// deadline check above decide, so a timeout is always ErrTimeout.
			continue
		}
		return n, nil
	}
}
