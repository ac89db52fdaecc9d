package serve

// The epoll model: one thread serves many connections, with no goroutine or
// thread per connection. Each loop owns an epoll instance, a listener and
// the connections it accepted; it sleeps in one epoll_wait for all of them,
// and on waking reads what has arrived on each ready connection, then moves
// each along as far as it can go without waiting (econn.go): answer every
// whole request, write what the socket takes. Whatever must wait — more bytes of a
// head, room in the send buffer — waits in the connection's state, not on a
// stack.
//
// Edge-triggered (EPOLLET), registered once: each connection that stays
// open is added with EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET after its first
// answer and never touched by epoll_ctl again. The kernel then reports
// changes, not states — "bytes arrived", "room appeared" — so the loop must
// remember what it has not used up (econn.readable, econn.writable) and must
// drain: it stops reading only when read says EAGAIN or returns less than it
// asked for, and stops writing only on EAGAIN or a short write (epoll(7)
// allows both shortcuts for stream sockets). In return, a connection costs
// one epoll_ctl in its life; a level-triggered loop must add and remove
// EPOLLOUT around every response that does not fit the send buffer, and
// must stop reading a slow reader's requests by removing EPOLLIN, or be told
// about them on every wait.

import (
	"runtime"
	"time"

	"github.com/rawserve/rawserve/internal/httpconn"
	"github.com/rawserve/rawserve/internal/sock"
)

const (
	maxEvents = 256  // events taken from one epoll_wait
	maxFree   = 1024 // connection records kept for reuse
	// sweepDelay is how long a loop must have let nothing more go before
	// it gives memory back to the kernel: a spike is over, not going on.
	sweepDelay = time.Second
)

// Registration tags: the Pad half of an epoll event's data. A connection's
// is its generation, always positive, so an event left over from a closed
// connection is not mistaken for one about the new connection that got
// the same fd number in the same batch.
const (
	tagListener int32 = -1
	tagWaker    int32 = -2
)

// Epoll runs the epoll model: one event loop per listener in ls (see
// sock.ListenGroup), each on its own locked OS thread. When w fires, each
// loop stops accepting, closes its idle connections, lets the responses in
// flight finish for up to cfg.Grace and returns. Epoll returns when all
// loops have, with the first error that stopped one (the others are woken
// and stop too).
func Epoll(ls []*sock.Listener, w *sock.Waker, cfg Config) error {
	loops := make([]*loop, 0, len(ls))
	cfg.FileCacheSize /= int64(len(ls)) // each loop keeps a cache of its own: the bound is for them all
	for i, l := range ls {
		lp, err := newLoop(l, w, cfg, share(cfg.MaxConns, len(ls), i))
		if err != nil {
			for _, lp := range loops {
				lp.ep.Close()
			}
			return err
		}
		loops = append(loops, lp)
	}
	runs := make([]func() error, len(loops))
	for i, lp := range loops {
		runs[i] = lp.run
	}
	err := runLoops(w, runs)
	for _, lp := range loops {
		cfg.tally(lp.srv)
	}
	return err
}

// share is loop i's part of a limit of max connections over n loops (0:
// none). Each loop enforces its own share, so the limit needs no shared
// counter; connections are spread evenly over the loops by the kernel.
func share(limit, n, i int) int {
	if limit <= 0 {
		return 0
	}
	s := limit / n
	if i < limit%n {
		s++
	}
	return max(s, 1)
}

// loop is one event loop: its epoll instance, listener and connections.
type loop struct {
	srv   *httpconn.Server // what its connections share: configuration, log, buffers
	ep    *sock.Epoll
	l     *sock.Listener
	grace time.Duration
	now   time.Time // when the last epoll_wait returned

	conns    []*econn // by fd
	open     int      // connections open
	maxConns int      // 0: no limit
	gen      int32
	timers   timerHeap[*econn]
	recs     records[*econn]

	// Accepting stops at the connection limit and when accept4 says EMFILE
	// (or another shortage); the connections stay in the kernel's queue.
	// The listener is edge-triggered too, so no event comes for them until
	// a new one arrives: the loop retries when a connection of its own
	// closes (a descriptor and a slot are free) or, after a shortage, when
	// retry passes (the descriptors may be held elsewhere).
	paused  bool
	retry   time.Time
	backoff time.Duration

	stopping bool // the Waker fired: no more accepting, no more keep-alive
	graceEnd time.Time
	err      error // what stops the loop
}

func newLoop(l *sock.Listener, w *sock.Waker, cfg Config, maxConns int) (*loop, error) {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultEpollIdleTimeout
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	srv := httpconn.NewServer(cfg.Config, httpconn.Model{Name: "epoll", Wait: "epoll", ListenFD: l.FD(), Gather: true})
	ep, err := sock.NewEpoll(maxEvents)
	if err != nil {
		return nil, err
	}
	lp := &loop{srv: srv, ep: ep, l: l, grace: cfg.Grace, maxConns: maxConns}
	// The listener and the waker are edge-triggered like everything else:
	// the waker's eventfd is never read back, so level-triggered it would
	// be reported on every wait once fired.
	if err := ep.Add(l.FD(), sock.EventIn|sock.EdgeTrig, int32(l.FD()), tagListener); err != nil {
		ep.Close()
		return nil, err
	}
	if w != nil {
		if err := ep.Add(w.FD(), sock.EventIn|sock.EdgeTrig, int32(w.FD()), tagWaker); err != nil {
			ep.Close()
			return nil, err
		}
	}
	return lp, nil
}

// run is the loop: wait, handle what is ready, expire what is overdue.
func (lp *loop) run() error {
	// One OS thread for the loop's whole life, as in C: the Go scheduler
	// will not move it, and nothing else runs on this thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer lp.ep.Close()
	defer lp.srv.FlushLog()
	lp.now = time.Now()
	for lp.err == nil && !(lp.stopping && lp.open == 0) {
		events, err := lp.ep.Wait(lp.timeout())
		if err != nil {
			return err
		}
		lp.now = time.Now()
		// Read first, then answer: every ready connection's bytes are read
		// before any request among them is answered, so that they make one
		// batch, and a cached file is checked (statx) once for all of them
		// rather than once per connection (httpconn.Server.NewBatch). The
		// first pass has a batch of its own too: an EOF it reads may have
		// the core answer at once, and that answer must not count on a
		// check made before the read.
		lp.srv.NewBatch()
		for i := range events {
			if c := lp.eventConn(&events[i]); c != nil {
				c.ready(events[i].Events)
				if st := c.http.State(); st == httpconn.ReadHead || st == httpconn.ReadBody {
					lp.read(c, false)
				}
			}
		}
		lp.srv.NewBatch()
		for i := range events {
			ev := &events[i]
			switch ev.Pad {
			case tagListener:
				lp.accept()
			case tagWaker:
				lp.shutdown()
			default:
				if c := lp.eventConn(ev); c != nil {
					lp.drive(c)
				}
			}
		}
		if len(events) == 0 {
			lp.srv.FlushLog() // a quiet moment: write the access log
		}
		lp.recs.tidy(lp.srv, lp.now)
		lp.expire()
		if lp.paused && !lp.stopping && (lp.retry.IsZero() || !lp.now.Before(lp.retry)) {
			lp.accept()
		}
	}
	lp.closeAll()
	return lp.err
}

// eventConn is the connection an event is for; nil for the listener, the
// waker, or a connection closed since (a stale registration).
func (lp *loop) eventConn(ev *sock.Event) *econn {
	if ev.Pad == tagListener || ev.Pad == tagWaker {
		return nil
	}
	if c := lp.conns[ev.Fd]; c != nil && c.gen == ev.Pad {
		return c
	}
	return nil
}

// timeout is how long the next epoll_wait may sleep: until the nearest
// deadline, or for ever (-1) when nothing has one. An idle loop makes no
// system calls at all (the Go runtime's monitor still wakes once a minute).
func (lp *loop) timeout() time.Duration {
	var next time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	earliest(lp.timers.earliest())
	if lp.paused {
		earliest(lp.retry)
	}
	if lp.stopping {
		earliest(lp.graceEnd)
	}
	earliest(lp.recs.sweep)
	if !lp.srv.LogPending().IsZero() {
		earliest(time.Now().Add(sock.IdleDelay))
	}
	if next.IsZero() {
		return -1
	}
	return max(time.Until(next), 0)
}

// accept takes connections off the queue until accept4 says EAGAIN — the
// listener is edge-triggered, so a connection left in the queue would not be
// reported again — or the loop reaches its limit.
func (lp *loop) accept() {
	lp.paused = false
	for !lp.stopping {
		if lp.maxConns > 0 && lp.open >= lp.maxConns {
			lp.paused, lp.retry = true, time.Time{} // until one of ours closes
			return
		}
		c := lp.newConn()
		err := lp.l.TryAcceptInto(&c.conn)
		switch {
		case err == nil:
			lp.backoff = 0
			lp.register(c)
			continue
		case err == sock.ErrAgain:
		case sock.IsOutOfResources(err):
			// No descriptor for it: the connection stays queued. Do not
			// retry at once (that is the spin), but when one of ours closes
			// or after a back-off, doubling from 5 ms to 1 s.
			lp.backoff = min(max(2*lp.backoff, 5*time.Millisecond), time.Second)
			lp.paused, lp.retry = true, lp.now.Add(lp.backoff)
			if lp.l.OnBackoff != nil {
				lp.l.OnBackoff(err, lp.backoff)
			}
		default:
			lp.err = err
		}
		lp.recs.put(c)
		return
	}
}

// register takes a new connection into the loop. Its request has most
// likely arrived already — the client sent it right behind its handshake,
// and the loop took a moment to wake — so it is served at once, before the
// connection joins the epoll set: one that asked to close is answered and
// closed without ever being added (accept4, read, write, close). Then it is
// added, once for its life; EPOLL_CTL_ADD reports at once what is ready by
// then, so nothing that happened in between is missed (an empty send
// buffer too: one EPOLLOUT event per connection, with nothing to do).
func (lp *loop) register(c *econn) {
	fd := c.conn.FD()
	if lp.gen++; lp.gen <= 0 {
		lp.gen = 1
	}
	c.gen = lp.gen
	for fd >= len(lp.conns) {
		lp.conns = append(lp.conns, nil)
	}
	lp.conns[fd] = c
	lp.open++
	c.readable, c.writable = true, true // an empty send buffer; a read will tell
	c.http.Start(lp.srv, &c.conn, lp.now)
	gen := c.gen
	lp.drive(c)
	if lp.conns[fd] != c || c.gen != gen {
		return // answered and closed already
	}
	if err := lp.ep.Add(fd, sock.EventIn|sock.EventOut|sock.EventRDHUP|sock.EdgeTrig, int32(fd), c.gen); err != nil {
		lp.srv.Errorf("%v", err)
		lp.close(c)
	}
}

// shutdown begins the end, when the Waker fires: stop accepting, close the
// connections that wait for a request, let the others finish their response
// (it will say Connection: close) until the grace period ends.
func (lp *loop) shutdown() {
	if lp.stopping {
		return
	}
	lp.stopping = true
	lp.graceEnd = lp.now.Add(lp.grace)
	if err := lp.ep.Del(lp.l.FD()); err != nil {
		lp.srv.Errorf("%v", err)
	}
	for _, c := range lp.conns {
		if c != nil {
			c.http.WrapUp()
			if c.http.State() == httpconn.Close {
				lp.close(c) // idle: nothing owed
			}
		}
	}
}

// expire acts on the connections whose deadline has passed, and at the end
// of the grace period on all that are left.
func (lp *loop) expire() {
	if lp.stopping && !lp.now.Before(lp.graceEnd) {
		lp.closeAll()
		return
	}
	for c, ok := lp.timers.due(lp.now); ok; c, ok = lp.timers.due(lp.now) {
		c.http.Expire(lp.now)
		lp.drive(c)
	}
}

// closeAll closes every connection at once: the grace period is over, or
// the loop is stopping on an error.
func (lp *loop) closeAll() {
	lp.stopping = true // and no accepting as connections close
	for _, c := range lp.conns {
		if c != nil {
			lp.close(c)
		}
	}
}

// close closes a connection with close(2) — abortively, with RST, in state
// Reset (-faults) — and gives its record back. (The polite part of a close,
// when there is one, came before: CloseWrite and Linger.)
func (lp *loop) close(c *econn) {
	fd := c.conn.FD()
	var err error
	if c.http.State() == httpconn.Reset {
		err = c.conn.Reset() // -faults: RST
	} else {
		err = c.conn.Abort()
	}
	if err != nil {
		lp.srv.Errorf("%v", err)
	}
	c.http.Closed(lp.now)
	lp.timers.remove(c)
	lp.conns[fd] = nil
	lp.open--
	c.gen, c.readable, c.writable, c.rdhup, c.taken = 0, false, false, false, false
	lp.recs.put(c)
	if lp.paused {
		lp.retry = time.Time{} // a descriptor and a slot are free: run accepts again
	}
}

func (lp *loop) newConn() *econn {
	return lp.recs.get(func() *econn { return &econn{timer: timer{hidx: -1}} })
}
