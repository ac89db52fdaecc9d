package serve

import (
	"errors"
	"io"
	"time"

	"github.com/rawserve/rawserve/internal/httpconn"
	"github.com/rawserve/rawserve/internal/page"
	"github.com/rawserve/rawserve/internal/sock"
)

// Serial runs the serial model on l until the poller's Waker fires, then
// returns nil; it returns an error only if accept4 fails in a way retrying
// cannot mend. p must be the Poller l was created with.
func Serial(l *sock.Listener, p *sock.Poller, cfg Config) error {
	spareP(1)
	s := newSerial(l, p, cfg)
	defer s.srv.FlushLog()
	defer cfg.tally(s.srv)
	for {
		if s.story != nil {
			s.story.Reset() // the page shows each visitor the calls made for them
		}
		s.contended = p.Queued() // the last connection gave way to this one, or saw it queued
		p.WatchQueue(nil)
		if err := l.AcceptInto(&s.conn); err != nil {
			if errors.Is(err, sock.ErrShutdown) {
				return nil
			}
			return err
		}
		if s.yieldAfter > 0 {
			p.WatchQueue(l) // every wait for this connection's input watches for the next client too
		}
		s.serve()
	}
}

// serial is the serial model: one listener, one connection at a time, and
// the protocol state of that connection, all reused from one to the next.
type serial struct {
	srv    *httpconn.Server
	poller *sock.Poller
	story  *page.Story
	conn   sock.Conn
	http   httpconn.Conn

	// Fairness: while another client waits in the accept queue, the
	// connection being served gives way (httpconn.Conn.Yield) within
	// yieldAfter. The waits for its input watch the queue; looked is when
	// one last did, so that a connection that never lets the server wait
	// (it pipelines) is checked on now and then.
	yieldAfter time.Duration
	contended  bool // the last connection saw a client queued: perhaps this one
	yielded    bool
	looked     time.Time
	quiet      bool // the last wait ended for the queue: the connection had sent nothing
}

func newSerial(l *sock.Listener, p *sock.Poller, cfg Config) *serial {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.YieldAfter == 0 {
		cfg.YieldAfter = DefaultYieldAfter
	}
	srv := httpconn.NewServer(cfg.Config, httpconn.Model{Name: "serial", Wait: p.Strategy.String(), ListenFD: l.FD()})
	p.Flusher = logFlusher{srv} // a quiet moment in any wait writes the access log
	return &serial{srv: srv, poller: p, story: cfg.Story, yieldAfter: max(cfg.YieldAfter, 0)}
}

// serve carries the connection just accepted from its first request to
// close. Each pass makes the one blocking call the connection's state asks
// for — read, write, sendfile, shutdown — waiting in ppoll whenever the
// kernel says EAGAIN, and tells the protocol core how it went; the core
// decides the next state. A fault's pause (-faults) sleeps in ppoll: the
// server is held for it, as for any response.
func (s *serial) serve() {
	c, h := &s.conn, &s.http
	h.Start(s.srv, c, time.Now())
	s.yielded, s.looked, s.quiet = false, c.Accept.Time, false
	if s.yieldAfter > 0 && s.contended && c.Accept.Waits == 0 && s.poller.PeekQueue() {
		// Clients are coming faster than they are served: this one waited
		// in the queue behind the last, and another waits behind it — a
		// ppoll with no timeout says so, the one call fairness adds, and
		// only then. So this connection yields from the start: its first
		// answer says Connection: close, rather than leave it on a
		// kept-alive connection that would be taken away, unannounced, a
		// moment later.
		s.yield()
	}
	for {
		if s.poller.Waker.Woken() {
			h.WrapUp() // stopping: the response in hand is the last
		}
		switch h.State() {
		case httpconn.ReadHead, httpconn.ReadBody, httpconn.Linger:
			s.read()
		case httpconn.Write:
			c.SetWriteDeadline(h.Deadline())
			n, err := c.Write(h.Output())
			h.Wrote(n, time.Now())
			if err != nil {
				h.Fail(err)
			}
		case httpconn.SendFile:
			f, off, left := h.File()
			c.SetWriteDeadline(h.Deadline())
			n, err := c.SendFile(f, off, left)
			h.SentFile(int(n), time.Now())
			if err != nil {
				h.Fail(err)
			}
		case httpconn.CloseWrite:
			h.ShutDown(c.CloseWrite(), time.Now())
		case httpconn.Close, httpconn.Reset:
			var err error
			if h.State() == httpconn.Reset {
				err = c.Reset() // -faults: RST
			} else {
				err = c.Abort()
			}
			if err != nil {
				s.srv.Errorf("%v", err)
			}
			h.Closed(time.Now())
			return
		// -faults only (httpconn/faults.go).
		case httpconn.Pause:
			if err := s.poller.SleepUntil(h.Deadline()); err != nil {
				h.Fail(err)
				continue
			}
			h.Expire(time.Now())
		case httpconn.CheckSendQueue:
			n, err := c.SendQueue()
			h.SendQueue(n, err, time.Now())
		}
	}
}

// read makes one read for the connection, waiting (up to the state's
// deadline) until something has arrived — or until a client is queued
// behind it, and then it yields.
func (s *serial) read() {
	c, h := &s.conn, &s.http
	if s.yieldAfter > 0 && !s.yielded && time.Since(s.looked) >= s.yieldAfter && s.poller.PeekQueue() {
		s.yield() // a busy connection has kept the server from looking for a while
	}
	c.SetReadDeadline(h.Deadline())
	waits := c.Stats.Waits
	var n int
	var err error
	switch {
	case h.State() == httpconn.Linger:
		n, err = c.ReadUnwoken(h.Room()) // a shutdown does not cut the drain short
	case h.Idle(), s.quiet:
		// Everything the client sent is answered (or the last wait said
		// it has sent nothing): it is most likely silent now, so wait
		// first and read after, which saves the read(2) that would only
		// have said EAGAIN.
		n, err = c.ReadWait(h.Room())
	default:
		n, err = c.Read(h.Room())
	}
	now := time.Now()
	if c.Stats.Waits != waits || err == sock.ErrQueued {
		s.looked = now // the wait watched the queue
	}
	s.quiet = err == sock.ErrQueued
	if s.poller.Queued() && !s.yielded {
		s.yield() // before the bytes are answered: the answer will say close
	}
	switch {
	case err == nil:
		h.Received(n, now)
	case err == io.EOF:
		h.EOF(now)
	case err == sock.ErrQueued:
		// Yielded above; read again, within the grace.
	case errors.Is(err, sock.ErrTimeout):
		h.Expire(now)
	case errors.Is(err, sock.ErrShutdown):
		h.Abandon() // a request that has not arrived is not worth waiting for now
	default:
		h.Fail(err)
	}
}

// yield makes the connection give way to the clients queued behind it.
func (s *serial) yield() {
	s.yielded = true
	s.http.Yield(time.Now(), s.yieldAfter)
}

// logFlusher lets the serial model's waits flush the access log once they
// have been quiet for sock.IdleDelay.
type logFlusher struct{ srv *httpconn.Server }

func (f logFlusher) Pending() time.Time { return f.srv.LogPending() }
func (f logFlusher) Flush()             { f.srv.FlushLog() }
