package serve

// The epoll model: one thread serves many connections, with no goroutine or
// thread per connection. Each loop owns an epoll instance, a listener and
// the connections it accepted; it sleeps in one epoll_wait for all of them,
// and on waking moves each ready connection along as far as it can go
// without waiting: read what has arrived, answer every whole request, write
// what the socket takes. Whatever must wait — more bytes of a head, room in
// the send buffer — waits in the connection's state, not on a stack.
//
// Edge-triggered (EPOLLET), registered once: each connection that stays
// open is added with EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET after its first
// answer and never touched by epoll_ctl again. The kernel then reports changes, not states — "bytes
// arrived", "room appeared" — so the loop must remember what it has not used
// up (econn.readable, econn.writable) and must drain: it stops reading only
// when read says EAGAIN or returns less than it asked for, and stops writing
// only on EAGAIN or a short write (epoll(7) allows both shortcuts for stream
// sockets). In return, a connection costs one epoll_ctl in its life; a
// level-triggered loop must add and remove EPOLLOUT around every response
// that does not fit the send buffer, and must stop reading a slow reader's
// requests by removing EPOLLIN, or be told about them on every wait.

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"time"

	"github.com/rawserve/rawserve/internal/http1"
	"github.com/rawserve/rawserve/internal/sock"
)

// The epoll model's defaults. Its timeouts can be long: a connection that
// waits costs memory (a few hundred bytes when idle), not other clients'
// time, as it does in the serial model.
const (
	DefaultEpollIdleTimeout = 60 * time.Second
	DefaultGrace            = 10 * time.Second
	// maxPending bounds the output gathered for one connection before it is
	// written: the responses to a batch of pipelined requests share one
	// write(2), but a client that sends requests faster than it reads
	// responses is not answered faster than it reads (backpressure).
	maxPending = 64 << 10
	maxEvents  = 256 // events taken from one epoll_wait
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
	errs := make(chan error, len(loops))
	for _, lp := range loops {
		go func() { errs <- lp.run() }()
	}
	var first error
	for range loops {
		if err := <-errs; err != nil && first == nil {
			first = err
			w.Wake() // one loop cannot go on: stop the others
		}
	}
	return first
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
	srv   *server // the request being answered, and the code that answers it
	ep    *sock.Epoll
	l     *sock.Listener
	waker *sock.Waker
	cfg   *Config
	now   time.Time // when the last epoll_wait returned

	conns    []*econn // by fd
	open     int      // connections open
	maxConns int      // 0: no limit
	gen      int32
	timers   timerHeap
	free     []*econn // connection records to reuse
	inBufs   [][]byte // read buffers not in use
	outBufs  [][]byte // write buffers not in use
	scratch  []byte   // where a lingering close drains to
	accepted int      // connections accepted, for tests and docs

	// Accepting stops at the connection limit and when accept4 says EMFILE
	// (or another shortage); the connections stay in the kernel's queue.
	// The listener is edge-triggered too, so no event comes for them until
	// a new one arrives: the loop retries when a connection of its own
	// closes (a descriptor and a slot are free) or, after a shortage, when
	// retry passes (the descriptors may be held elsewhere).
	paused  bool
	retry   time.Time
	backoff time.Duration

	draining bool // the Waker fired: no more accepting, no more keep-alive
	graceEnd time.Time
	err      error // what stops the loop
}

func newLoop(l *sock.Listener, w *sock.Waker, cfg Config, maxConns int) (*loop, error) {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultEpollIdleTimeout
	}
	srv := newServer(l, &sock.Poller{Waker: w}, cfg)
	srv.poller, srv.model, srv.wait = nil, "epoll", "epoll"
	srv.cfg.Story = nil // the calls of many connections interleave: no one story
	ep, err := sock.NewEpoll(maxEvents)
	if err != nil {
		return nil, err
	}
	lp := &loop{srv: srv, ep: ep, l: l, waker: w, cfg: &srv.cfg, maxConns: maxConns,
		scratch: make([]byte, 16<<10)}
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
	defer lp.srv.flushLog()
	lp.now = time.Now()
	for lp.err == nil && !(lp.draining && lp.open == 0) {
		events, err := lp.ep.Wait(lp.timeout())
		if err != nil {
			return err
		}
		lp.now = time.Now()
		for i := range events {
			ev := &events[i]
			switch ev.Pad {
			case tagListener:
				lp.accept()
			case tagWaker:
				lp.drain()
			default:
				if c := lp.conns[ev.Fd]; c != nil && c.gen == ev.Pad {
					c.ready(ev.Events)
					lp.drive(c)
				}
			}
		}
		if len(events) == 0 && lp.srv.log != nil {
			lp.srv.log.Idle() // a quiet moment: write the access log
		}
		lp.expire()
		if lp.paused && !lp.draining && (lp.retry.IsZero() || !lp.now.Before(lp.retry)) {
			lp.accept()
		}
	}
	lp.closeAll()
	return lp.err
}

// timeout is how long the next epoll_wait may sleep: until the nearest
// deadline, or for ever (-1) when nothing has one. An idle server makes no
// system calls at all.
func (lp *loop) timeout() time.Duration {
	var next time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if len(lp.timers) > 0 {
		earliest(lp.timers[0].deadline)
	}
	if lp.paused {
		earliest(lp.retry)
	}
	if lp.draining {
		earliest(lp.graceEnd)
	}
	if lp.srv.log != nil && !lp.srv.log.Since().IsZero() {
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
	for !lp.draining {
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
		lp.free = append(lp.free, c)
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
	lp.accepted++
	c.peer = append(c.peer[:0], c.conn.Peer.IPString()...)
	c.readable, c.writable = true, true // an empty send buffer; a read will tell
	c.state = stIdle
	c.newRound(lp.now)
	// The first request's head is bounded from accept, as in the serial model.
	c.readDeadline = c.conn.Accept.Time.Add(lp.cfg.HeaderTimeout)
	gen := c.gen
	lp.drive(c)
	if lp.conns[fd] != c || c.gen != gen {
		return // answered and closed already
	}
	if err := lp.ep.Add(fd, sock.EventIn|sock.EventOut|sock.EventRDHUP|sock.EdgeTrig, int32(fd), c.gen); err != nil {
		lp.srv.logf("%v", err)
		lp.abort(c)
	}
}

// drain starts the shutdown: stop accepting, close the connections that
// wait for a request, let the others finish their response (it will say
// Connection: close) until the grace period ends.
func (lp *loop) drain() {
	if lp.draining {
		return
	}
	lp.draining = true
	lp.graceEnd = lp.now.Add(lp.cfg.Grace)
	if err := lp.ep.Del(lp.l.FD()); err != nil {
		lp.srv.logf("%v", err)
	}
	for _, c := range lp.conns {
		if c != nil && c.state == stIdle && len(c.in) == 0 && !c.pending() {
			lp.close(c)
		}
	}
}

// expire acts on the connections whose deadline has passed, and at the end
// of the grace period on all that are left.
func (lp *loop) expire() {
	if lp.draining && !lp.now.Before(lp.graceEnd) {
		lp.closeAll()
		return
	}
	for len(lp.timers) > 0 && !lp.now.Before(lp.timers[0].deadline) {
		c := lp.timers[0]
		lp.timers.remove(c)
		switch {
		case c.pending():
			lp.abort(c) // the write timeout: the client does not read
		case c.state == stLinger, c.state == stIdle:
			lp.close(c) // nothing owed
		default:
			lp.reject(c, 408) // part of a request, and then too slow
			lp.drive(c)
		}
	}
}

// closeAll closes every connection at once: the grace period is over, or
// the loop is stopping on an error.
func (lp *loop) closeAll() {
	lp.draining = true // and no accepting as connections close
	for _, c := range lp.conns {
		if c != nil {
			lp.abort(c)
		}
	}
}

// drive moves one connection along as far as it can go now: write what is
// pending, answer the requests that are whole, read what has arrived, and
// again — until it must wait for the kernel (and arranges to be woken) or is
// closed.
func (lp *loop) drive(c *econn) {
	for {
		if c.state == stLinger {
			lp.linger(c)
			return
		}
		if c.pending() {
			if !c.writable {
				lp.timers.set(c, c.writeDeadline)
				return
			}
			if !lp.flush(c) {
				return
			}
		}
		if c.closeAfter {
			lp.finish(c)
			return
		}
		lp.answer(c)
		if c.pending() || c.closeAfter {
			continue
		}
		if !c.readable {
			lp.timers.set(c, c.readDeadline)
			return
		}
		if !lp.fill(c) {
			return
		}
	}
}

// fill makes one read(2) into the connection's buffer. It reports false if
// it closed the connection.
func (lp *loop) fill(c *econn) bool {
	if c.in == nil {
		c.in = lp.getIn()
	}
	room := c.in[len(c.in):cap(c.in)]
	if len(room) == 0 {
		// Cannot happen: a head is refused (431) before it fills the
		// buffer, and whole requests are answered before more is read.
		// But a read of 0 bytes would look like "drained" for ever.
		lp.reject(c, 431)
		return true
	}
	n, err := c.conn.TryRead(room)
	switch {
	case err == nil:
		if len(c.in) == 0 && c.state == stIdle {
			c.r.line.start = lp.now // the first byte of a head
		}
		c.in = c.in[:len(c.in)+n]
		// A short read emptied the socket's receive queue: the next
		// bytes will come with an edge of their own (epoll(7)). The FIN
		// will not, if it came already: the edge that brought these bytes
		// said so (EPOLLRDHUP), and a read now would only return 0.
		c.readable = n == len(room)
		if !c.readable && c.rdhup {
			c.eof = true
		}
	case err == sock.ErrAgain:
		c.readable = false
	case err == io.EOF:
		c.readable, c.eof = false, true
	default:
		lp.srv.connError(err)
		lp.abort(c)
		return false
	}
	if len(c.in) == 0 {
		lp.putIn(c) // nothing arrived: an idle connection keeps no buffer
	}
	return true
}

// answer parses and answers the requests buffered in c.in, as many as are
// whole, gathering their responses in c.out. It stops when it needs more
// input, or when a response must be written before the next: a file, a
// close (an error answered sets closeAfter too), a full buffer.
func (lp *loop) answer(c *econn) {
	s, cfg := lp.srv, lp.cfg
	for !c.closeAfter && (!c.pending() || (c.file == nil && len(c.out) < maxPending)) {
		if c.state == stBody {
			if !lp.body(c) {
				return
			}
			continue
		}
		if len(c.in) == 0 {
			lp.putIn(c)
			if c.eof || lp.draining {
				c.closeAfter = true // nothing more will be answered
			}
			return
		}
		// A client sending a byte at a time must not make us parse its
		// whole head again for every byte: only when a line may have ended.
		if c.scanned > 0 && c.scanned <= len(c.in) && bytes.IndexByte(c.in[c.scanned:], '\n') < 0 && len(c.in) < cfg.Limits.MaxRequestLine {
			c.scanned = len(c.in)
			lp.partial(c)
			return
		}
		n, err := http1.Parse(c.in, &s.req, cfg.Limits)
		switch {
		case err == http1.ErrIncomplete:
			c.scanned = len(c.in)
			lp.partial(c)
			return
		case err != nil:
			c.scanned = 0
			status := 400
			var perr *http1.Error
			if errors.As(err, &perr) {
				status = perr.Status
			}
			lp.reject(c, status)
		default:
			c.scanned = 0
			lp.head(c, n)
		}
	}
}

// partial handles an incomplete head: the header timeout runs from its
// first byte; a client that has stopped sending gets 400.
func (lp *loop) partial(c *econn) {
	if c.eof {
		lp.reject(c, 400) // the client stopped mid-head
		return
	}
	if c.state == stIdle {
		c.state = stHead
		if c.r.n > 1 || c.pipelined {
			c.readDeadline = c.r.line.start.Add(lp.cfg.HeaderTimeout)
		}
	}
}

// head takes a parsed head of n bytes: it answers the request, starts
// reading its body, or refuses it (and the connection then closes).
func (lp *loop) head(c *econn, n int) {
	s, req, r := lp.srv, &lp.srv.req, &c.r
	r.head, r.raw = n, c.in[:n]
	r.line.method, r.line.target, r.line.minor = req.Method, req.Target, req.Minor
	if e := req.Header("Expect"); e != nil && !req.Expect100 && req.Minor == 1 {
		lp.reject(c, 417)
		return
	}
	if req.Chunked || req.ContentLength > 0 {
		if req.ContentLength > s.cfg.MaxBody {
			lp.reject(c, 413)
			return
		}
		c.state, c.bodyLeft, c.isChunked = stBody, req.ContentLength, req.Chunked
		if req.Chunked {
			c.chunked.Reset(http1.ChunkedLimits{MaxBody: s.cfg.MaxBody})
		}
		// The body must arrive within the header timeout, counted afresh.
		c.readDeadline = lp.now.Add(s.cfg.HeaderTimeout)
		if req.Expect100 && len(c.in) == n {
			lp.output(c, continue100)
		}
		return
	}
	lp.respond(c)
}

// body reads (and drops) the request's body from behind its head. It
// reports true when the body is complete and the request answered.
func (lp *loop) body(c *econn) bool {
	r := &c.r
	tail := c.in[r.head:]
	var n int
	var done bool
	if c.isChunked {
		var err error
		n, done, err = c.chunked.Decode(tail, nil)
		var perr *http1.Error
		if errors.As(err, &perr) {
			lp.reject(c, perr.Status)
			return false
		}
	} else {
		n = int(min(int64(len(tail)), c.bodyLeft))
		c.bodyLeft -= int64(n)
		done = c.bodyLeft == 0
	}
	// Drop the body bytes used; what follows moves up behind the head.
	c.in = c.in[:r.head+copy(c.in[r.head:], tail[n:])]
	if !done {
		if c.eof {
			lp.reject(c, 400) // the client stopped mid-body
		}
		return false
	}
	// Other connections' requests may have been parsed since this head
	// was: parse it again (it is still at the front of c.in).
	if _, err := http1.Parse(c.in[:r.head], &lp.srv.req, lp.cfg.Limits); err != nil {
		lp.reject(c, 400) // cannot happen: it parsed before
		return false
	}
	c.state = stHead
	lp.respond(c)
	return true
}

// respond composes the answer to the parsed request into c.out. A response
// from memory is done as far as this request is concerned: it is logged and
// its head dropped from c.in. One from a file is logged when sendfile has
// sent it, and its head stays until then (the log line points into it).
func (lp *loop) respond(c *econn) {
	s := lp.srv
	lp.startOutput(c)
	rep := reply{out: c.out}
	keep := s.respond(&c.conn, &c.r, &rep)
	c.out = rep.out
	if !keep {
		c.closeAfter = true
		c.clientClose = s.req.Close
	}
	if rep.file != nil {
		c.file, c.fileOff, c.fileLeft = rep.file, rep.off, rep.n
		c.r.line.bytes = 0
		return
	}
	lp.done(c)
}

// done ends a round: logs it, drops its head from c.in, starts the next.
func (lp *loop) done(c *econn) {
	r := &c.r
	r.line.finish = time.Now()
	if lp.srv.log != nil && !r.quiet {
		lp.srv.log.add(&r.line)
	}
	c.in = c.in[:copy(c.in, c.in[r.head:])]
	c.pipelined = len(c.in) > 0
	c.state = stIdle
	c.readDeadline = lp.now.Add(lp.cfg.IdleTimeout)
	c.newRound(lp.now)
}

// reject answers with an error status and closes after it, politely: the
// client may still be sending what we did not read.
func (lp *loop) reject(c *econn, status int) {
	if c.file != nil { // a timeout while a file was being sent: nothing more can be said
		lp.abort(c)
		return
	}
	lp.startOutput(c)
	rep := reply{out: c.out}
	lp.srv.writeError(&c.r, &rep, status, true)
	c.out = rep.out
	if lp.srv.log != nil {
		c.r.line.finish = time.Now()
		lp.srv.log.add(&c.r.line)
	}
	lp.dropIn(c)
	c.closeAfter, c.clientClose, c.state = true, false, stHead
}

// startOutput readies c.out for more output: a buffer from the pool, and
// the write timeout counted from the first byte of output that waits.
func (lp *loop) startOutput(c *econn) {
	if !c.pending() {
		c.writeDeadline = lp.now.Add(lp.cfg.WriteTimeout)
	}
	if c.out == nil {
		c.out = lp.getOut()
	}
}

// output appends bytes that are not a response (100 Continue) to c.out.
func (lp *loop) output(c *econn, p []byte) {
	lp.startOutput(c)
	c.out = append(c.out, p...)
}

// flush writes c.out, then the file section if there is one, until both
// are sent or the socket's send buffer is full. It reports true when all is
// sent; false when it must wait for EPOLLOUT (it arranged that) or closed
// the connection.
func (lp *loop) flush(c *econn) bool {
	for c.sent < len(c.out) {
		n, err := c.conn.TryWrite(c.out[c.sent:])
		c.sent += n
		switch {
		case err == sock.ErrAgain:
			c.writable = false
		case err != nil:
			lp.srv.connError(err)
			lp.abort(c)
			return false
		case c.sent < len(c.out):
			c.writable = false // a short write: the send buffer is full (epoll(7))
		}
		if !c.writable {
			lp.timers.set(c, c.writeDeadline)
			return false
		}
	}
	lp.putOut(c)
	for c.file != nil {
		// sendfile may stop short for reasons of its own (a page-cache
		// boundary), so only EAGAIN is taken to mean "full".
		n, err := c.conn.TrySendFile(c.file, &c.fileOff, c.fileLeft)
		c.fileLeft -= int64(n)
		c.r.line.bytes += int64(n)
		switch {
		case err == sock.ErrAgain:
			c.writable = false
			lp.timers.set(c, c.writeDeadline)
			return false
		case err != nil:
			lp.srv.connError(err)
			lp.abort(c) // logs the round, with the bytes that went out
			return false
		case c.fileLeft == 0:
			c.file.Close()
			c.file = nil
			lp.done(c)
		}
	}
	return true
}

// finish closes a connection whose last response has been written. If the
// client may still send — it did not ask to close, or sent more than we
// read — the close is polite: shutdown(SHUT_WR), read and drop until its
// EOF or the linger time, then close; closing with unread bytes would send
// RST, which can destroy the response before the client reads it. If it
// asked to close and nothing is unread (nginx's rule too), close(2) at once
// sends FIN after the response.
func (lp *loop) finish(c *econn) {
	if c.eof || (c.clientClose && !c.readable && len(c.in) == 0) {
		lp.close(c)
		return
	}
	if err := c.conn.CloseWrite(); err != nil {
		lp.abort(c)
		return
	}
	c.state = stLinger
	lp.dropIn(c)
	c.readDeadline = lp.now.Add(lp.cfg.Linger)
	lp.linger(c)
}

// linger reads and drops what a closing client still sends, until EOF,
// the linger deadline or 256 KiB.
func (lp *loop) linger(c *econn) {
	for c.readable {
		n, err := c.conn.TryRead(lp.scratch)
		switch {
		case err == sock.ErrAgain:
			c.readable = false
		case err != nil: // EOF: the polite end; or a reset
			lp.close(c)
			return
		}
		if c.drained += n; c.drained >= 256<<10 {
			lp.close(c)
			return
		}
	}
	lp.timers.set(c, c.readDeadline)
}

// close closes a connection; abort the same, for one that is gone or
// failed. Both are close(2) here: the polite part is finish's.
func (lp *loop) close(c *econn) { lp.abort(c) }

func (lp *loop) abort(c *econn) {
	fd := c.conn.FD()
	if err := c.conn.Abort(); err != nil {
		lp.srv.logf("%v", err)
	}
	if c.file != nil {
		// A file response cut short (the client went away, the write
		// timeout, the end of the grace period) is logged with the bytes
		// that went out, as the serial model logs it.
		c.file.Close()
		c.file = nil
		c.r.line.finish = time.Now()
		if lp.srv.log != nil {
			lp.srv.log.add(&c.r.line)
		}
	}
	lp.timers.remove(c)
	lp.dropIn(c)
	lp.putOut(c)
	lp.conns[fd] = nil
	lp.open--
	*c = econn{peer: c.peer[:0], hidx: -1}
	lp.free = append(lp.free, c)
	if lp.paused {
		lp.retry = time.Time{} // a descriptor and a slot are free: run accepts again
	}
}

// Buffers come from the loop's pools only while a connection is using
// them: an idle kept-alive connection holds none.

func (lp *loop) getIn() []byte {
	if n := len(lp.inBufs); n > 0 {
		b := lp.inBufs[n-1]
		lp.inBufs = lp.inBufs[:n-1]
		return b
	}
	// Room for the largest head we accept and some body or pipelined
	// requests behind it: a head that fills it is over the limit (431).
	return make([]byte, 0, lp.cfg.Limits.MaxHeaderBytes+4096)
}

func (lp *loop) putIn(c *econn) {
	if c.in != nil && len(c.in) == 0 {
		lp.inBufs = append(lp.inBufs, c.in)
		c.in = nil
	}
}

// dropIn gives c.in back whatever it holds.
func (lp *loop) dropIn(c *econn) {
	if c.in != nil {
		c.in = c.in[:0]
		lp.putIn(c)
	}
}

func (lp *loop) getOut() []byte {
	if n := len(lp.outBufs); n > 0 {
		b := lp.outBufs[n-1]
		lp.outBufs = lp.outBufs[:n-1]
		return b
	}
	return make([]byte, 0, 4096)
}

func (lp *loop) putOut(c *econn) {
	if c.out != nil {
		if cap(c.out) <= 2*maxPending { // a page body may grow it; keep sane sizes
			lp.outBufs = append(lp.outBufs, c.out[:0])
		}
		c.out, c.sent = nil, 0
	}
}

func (lp *loop) newConn() *econn {
	if n := len(lp.free); n > 0 {
		c := lp.free[n-1]
		lp.free = lp.free[:n-1]
		return c
	}
	return &econn{hidx: -1}
}
