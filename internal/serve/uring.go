package serve

// The uring model: one thread serves many connections, as in the epoll
// model, but it does not make the calls itself. It writes each step as a
// request into a ring shared with the kernel — "accept every connection on
// fd 6", "recv on fd 8, into a buffer of your choosing", "send these 156
// bytes", "close fd 8" — and one io_uring_enter hands the kernel every
// request written since the last and sleeps until some have completed. The
// completions come back in a second ring, each with the user_data of its
// request and what the call returned; the loop reads them, tells each
// connection's protocol core what happened, and writes the requests for
// its next steps (uconn.go). A batch of requests and the results of others
// cost one system call.
//
// Two kinds of request stay armed across many completions. The listener's
// multishot accept returns each new connection as it arrives, with no
// request per accept. Each connection's multishot recv completes each time
// bytes arrive, into a buffer the kernel picks from a ring of buffers the
// loop lends it (provided buffers): an idle connection holds no buffer. A
// poll on the waker waits for SIGTERM. Timers are one timeout request,
// moved to the timer heap's nearest deadline when that comes sooner.
//
// What strace shows of it is io_uring_enter, and what the ring cannot do:
// getpeername for each new connection (a multishot accept cannot give each
// one its own address), statx to validate a cached file (once per batch),
// and, for files not in the cache, the opens, reads and sendfiles the
// protocol core makes (see docs/models.md, "The uring model").

import (
	"errors"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawserve/rawserve/internal/httpconn"
	"github.com/rawserve/rawserve/internal/sock"
)

const (
	ringEntries = 256  // submissions one io_uring_enter can carry
	recvBuffers = 256  // provided buffers per loop (a power of two)
	recvBufSize = 4096 // bytes each: a request head or a pipelined batch of small ones
)

// Uring runs the uring model: one loop per listener in ls, each on its own
// locked OS thread with its own ring. When w fires, each loop stops
// accepting, closes its idle connections, lets the responses in flight
// finish for up to cfg.Grace and returns. Uring returns when all loops
// have, with the first error that stopped one (the others are woken and
// stop too) — where io_uring is not allowed, the reason
// (sock.UringUnavailable says it before the listeners are opened).
func Uring(ls []*sock.Listener, w *sock.Waker, cfg Config) error {
	cfg.FileCacheSize /= int64(len(ls)) // each loop keeps a cache of its own: the bound is for them all
	loops := make([]*uloop, len(ls))
	runs := make([]func() error, len(ls))
	for i, l := range ls {
		loops[i] = newUloop(l, w, cfg, share(cfg.MaxConns, len(ls), i))
		runs[i] = loops[i].run
	}
	err := runLoops(w, runs)
	for _, lp := range loops {
		cfg.tally(lp.srv)
	}
	return err
}

// uloop is one uring loop: its ring, listener and connections.
type uloop struct {
	srv   *httpconn.Server
	ring  *sock.Ring
	bufs  *sock.BufRing
	l     *sock.Listener
	w     *sock.Waker
	grace time.Duration
	now   time.Time // when the last io_uring_enter returned
	cqes  []sock.CQE

	conns    []*uconn // by fd
	open     int      // connections open (their close not yet completed)
	maxConns int      // 0: no limit
	gen      uint32   // the last connection's generation, its requests' tag
	timers   timerHeap[*uconn]
	recs     records[*uconn]
	starved  []*uconn // connections whose recv ended for want of a free buffer

	// Accepting: with no connection limit, one multishot accept stays
	// armed; with one, a single accept at a time, armed while the loop is
	// under its limit, so that beyond it clients wait in the kernel's
	// queue. A shortage (EMFILE...) pauses it, as in the epoll model.
	accepting bool
	acceptUD  uint64
	paused    bool
	retry     time.Time
	backoff   time.Duration

	// The one timeout request: armed for timerAt, or none.
	timerArmed bool
	timerAt    time.Time
	timerUD    uint64

	stopping bool
	graceEnd time.Time
	err      error
}

func newUloop(l *sock.Listener, w *sock.Waker, cfg Config, maxConns int) *uloop {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultEpollIdleTimeout
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	srv := httpconn.NewServer(cfg.Config, httpconn.Model{Name: "uring", Wait: "io_uring", ListenFD: l.FD(), Gather: true, Batched: true})
	return &uloop{srv: srv, l: l, w: w, grace: cfg.Grace, maxConns: maxConns}
}

// run sets the ring up and loops: submit and wait, handle each completion,
// expire what is overdue.
func (lp *uloop) run() error {
	// The ring is set up for one submitting thread (SINGLE_ISSUER,
	// DEFER_TASKRUN): this one, for the loop's whole life.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer lp.srv.FlushLog()
	ring, err := sock.NewRing(ringEntries)
	if err != nil {
		return err
	}
	lp.ring = ring
	defer lp.exit()
	if lp.bufs, err = ring.AddBuffers(recvBuffers, recvBufSize); err != nil {
		return err
	}
	lp.cqes = make([]sock.CQE, 0, 16*ringEntries)
	lp.now = time.Now()
	if lp.w != nil {
		ring.PollAdd(lp.w.FD(), unix.POLLIN, 0)
	}
	lp.accept()
	for lp.err == nil && !(lp.stopping && lp.open == 0) {
		lp.armTimer()
		// Sleep only when nothing is waiting to be reaped (the previous
		// batch may have filled dst, or the kernel kept completions back).
		if err := ring.Submit(!ring.Pending()); err != nil {
			return err
		}
		lp.now = time.Now()
		lp.srv.NewBatch() // everything reaped now arrived before this moment
		cqes := ring.Reap(lp.cqes[:0])
		idle := true
		for i := range cqes {
			if cqes[i].Op() != sock.OpTimeout {
				idle = false
			}
			lp.complete(&cqes[i])
		}
		if idle {
			lp.srv.FlushLog() // only the timer woke us: a quiet moment
		}
		lp.feedStarved()
		lp.recs.tidy(lp.srv, lp.now)
		lp.expire()
		if lp.paused && !lp.stopping && (lp.retry.IsZero() || !lp.now.Before(lp.retry)) {
			lp.accept()
		}
	}
	if lp.err == nil && lp.bufs.Free() != recvBuffers {
		// Every connection has closed and every completion is in: a buffer
		// not back in the kernel's hands is one the loop lost track of.
		lp.srv.Errorf("uring: %d of %d receive buffers were never given back", recvBuffers-lp.bufs.Free(), recvBuffers)
	}
	return lp.err
}

// exit closes the ring — the kernel cancels whatever is still in flight —
// and then, if the loop is leaving on an error, the connections it had.
func (lp *uloop) exit() {
	lp.ring.Close()
	for _, c := range lp.conns {
		if c != nil && !c.closing {
			c.conn.Abort()
		}
	}
}

// complete handles one completion: the loop's own requests here, a
// connection's in uconn.go. A completion for a connection that has closed
// since (its generation is gone) is dropped — but a buffer it carries is
// given back.
func (lp *uloop) complete(c *sock.CQE) {
	switch op := c.Op(); {
	case op == sock.OpTimeout:
		if c.UserData == lp.timerUD {
			lp.timerArmed = false
		}
	case op == sock.OpTimeoutRemove, op == sock.OpAsyncCancel && c.Tag() == 0:
		// An update of the timer, a cancel of the accept: what they did
		// shows in the completions of what they acted on.
	case op == sock.OpAccept:
		lp.accepted(c)
	case op == sock.OpPollAdd && lp.w != nil && c.FD() == lp.w.FD():
		lp.shutdown()
	default:
		fd := c.FD()
		if fd < len(lp.conns) && lp.conns[fd] != nil && lp.conns[fd].gen == c.Tag() {
			lp.conns[fd].complete(lp, c)
			return
		}
		lp.drop(c)
	}
}

// drop drops a completion no one is waiting for, giving back the buffer it
// may carry.
func (lp *uloop) drop(c *sock.CQE) {
	if c.Flags&sock.CQEFBuffer != 0 {
		lp.bufs.Took()
		lp.bufs.Recycle(uint16(c.Flags >> 16))
	}
}

// accept arms the accept: multishot with no connection limit, else one
// connection at a time while the loop is under its limit.
func (lp *uloop) accept() {
	lp.paused = false
	if lp.accepting || lp.stopping || (lp.maxConns > 0 && lp.open >= lp.maxConns) {
		return
	}
	lp.accepting = true
	lp.acceptUD = lp.ring.Accept(lp.l.FD(), lp.maxConns == 0, 0)
}

// accepted takes a connection the accept returned.
func (lp *uloop) accepted(c *sock.CQE) {
	if !c.More() {
		lp.accepting = false
	}
	err := c.Err()
	switch {
	case err == nil:
	case errors.Is(err, unix.ECANCELED):
		return // stopping
	case sock.IsOutOfResources(err):
		// As in the epoll model: the connection stays queued; retry when
		// one of ours closes or after a back-off, doubling from 5 ms to 1 s.
		lp.backoff = min(max(2*lp.backoff, 5*time.Millisecond), time.Second)
		lp.paused, lp.retry = true, lp.now.Add(lp.backoff)
		if lp.l.OnBackoff != nil {
			lp.l.OnBackoff(os.NewSyscallError("accept", err), lp.backoff)
		}
		return
	case sock.IsTransientAccept(err):
		lp.accept() // the client's trouble, not the listener's: go on
		return
	default:
		lp.err = os.NewSyscallError("accept", err)
		return
	}
	lp.backoff = 0
	fd := int(c.Res)
	if lp.stopping {
		lp.ring.CloseFD(fd, 0) // accepted as the loop stopped: not served
		return
	}
	uc := lp.newConn()
	if err := lp.l.Adopt(fd, &uc.conn); err != nil {
		// The client is gone already (ENOTCONN): nothing to serve.
		lp.ring.CloseFD(fd, 0)
		lp.recs.put(uc)
	} else {
		lp.register(uc)
	}
	if !lp.accepting {
		lp.accept()
	}
}

// register takes a new connection into the loop: its recv is armed, and
// its first request's header timeout runs from now.
func (lp *uloop) register(c *uconn) {
	fd := c.conn.FD()
	if lp.gen++; lp.gen&0xffffff == 0 {
		lp.gen = 1 // 24 bits in user_data; 0 is the loop's own
	}
	c.gen = lp.gen & 0xffffff
	for fd >= len(lp.conns) {
		lp.conns = append(lp.conns, nil)
	}
	lp.conns[fd] = c
	lp.open++
	c.http.Start(lp.srv, &c.conn, lp.now)
	lp.drive(c)
}

// shutdown begins the end, when the Waker fires: stop accepting, close the
// connections that wait for a request, let the others finish their
// response (it will say Connection: close) until the grace period ends.
func (lp *uloop) shutdown() {
	if lp.stopping {
		return
	}
	lp.stopping = true
	lp.graceEnd = lp.now.Add(lp.grace)
	if lp.accepting {
		lp.ring.Cancel(lp.acceptUD, 0)
	}
	for _, c := range lp.conns {
		if c != nil && !c.closing {
			c.http.WrapUp()
			if c.http.State() == httpconn.Close {
				lp.close(c) // idle: nothing owed
			}
		}
	}
}

// expire acts on the connections whose deadline has passed, and at the end
// of the grace period on all that are left.
func (lp *uloop) expire() {
	if lp.stopping && !lp.now.Before(lp.graceEnd) {
		for _, c := range lp.conns {
			if c != nil && !c.closing {
				lp.close(c)
			}
		}
		return
	}
	for c, ok := lp.timers.due(lp.now); ok; c, ok = lp.timers.due(lp.now) {
		c.http.Expire(lp.now)
		lp.drive(c)
	}
}

// armTimer keeps the one timeout request due no later than the loop's
// nearest deadline: armed when there is none, moved when the deadline is
// sooner. One due later than needed fires, finds nothing to do, and is
// armed again — cheaper than moving it on every request.
func (lp *uloop) armTimer() {
	next := lp.next()
	if next.IsZero() || lp.timerArmed && !next.Before(lp.timerAt) {
		return
	}
	d := next.Sub(time.Now())
	if lp.timerArmed {
		lp.ring.UpdateTimeout(lp.timerUD, d, 0)
	} else {
		lp.timerUD = lp.ring.Timeout(d, 0)
		lp.timerArmed = true
	}
	lp.timerAt = next
}

// next is the loop's nearest deadline: a connection's, the accept's
// retry, the end of the grace period, the sweep, the log's flush; zero when
// there is none.
func (lp *uloop) next() time.Time {
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
		earliest(lp.now.Add(sock.IdleDelay))
	}
	return next
}

// feedStarved re-arms the recvs that ended for want of a free buffer,
// once buffers have come back.
func (lp *uloop) feedStarved() {
	for len(lp.starved) > 0 && lp.bufs.Free() > 0 {
		c := lp.starved[len(lp.starved)-1]
		lp.starved = lp.starved[:len(lp.starved)-1]
		c.starved = false
		if !c.closing && c.gen != 0 {
			lp.drive(c)
		}
	}
}

// close closes a connection through the ring: any request still in flight
// on it is cancelled first, so that nothing holds the socket open, and
// only when the close completes (closed) is its record given back.
func (lp *uloop) close(c *uconn) {
	if c.http.State() == httpconn.Reset {
		// -faults: RST. setsockopt never blocks, so it is a call, made
		// before the close goes into the ring.
		if err := c.conn.ResetOnClose(); err != nil {
			lp.srv.Errorf("%v", err)
		}
	}
	c.closing = true
	lp.timers.remove(c)
	c.dropHeld(lp)
	if c.recvArmed || c.busy {
		lp.ring.CancelAndClose(c.conn.FD(), c.gen)
	} else {
		lp.ring.CloseFD(c.conn.FD(), c.gen)
	}
}

// closed gives back the record of a connection whose close has completed.
func (lp *uloop) closed(c *uconn, err error) {
	if err != nil {
		lp.srv.Errorf("%v", os.NewSyscallError("close", err))
	}
	c.http.Closed(lp.now)
	lp.conns[c.conn.FD()] = nil
	lp.open--
	c.reset()
	lp.recs.put(c)
	if lp.paused {
		lp.retry = time.Time{} // a descriptor is free: try the accept again
	}
	if !lp.accepting && !lp.paused {
		lp.accept() // under the limit again
	}
}

func (lp *uloop) newConn() *uconn {
	return lp.recs.get(func() *uconn { return &uconn{timer: timer{hidx: -1}, held: make([]held, 0, maxHeld)} })
}
