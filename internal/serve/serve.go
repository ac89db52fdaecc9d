// Package serve holds rawserve's serving loops. Serial, the model this
// project teaches first, serves one connection at a time: accept it, answer
// its requests until it closes, goes idle or errs, then accept the next.
// Clients that arrive meanwhile wait in the kernel's accept queue.
package serve

import (
	"bytes"
	"errors"
	"io"
	"os"
	"time"

	"github.com/rawserve/rawserve/internal/http1"
	"github.com/rawserve/rawserve/internal/page"
	"github.com/rawserve/rawserve/internal/sock"
	"github.com/rawserve/rawserve/internal/static"
)

// Config is what a serving loop needs to know. Zero durations and limits
// take the defaults below.
type Config struct {
	// HeaderTimeout bounds how long a request head may take to arrive,
	// counted from accept for a connection's first request and from the
	// first byte for later ones. A silent client, or one that sends a
	// byte a second (slowloris), is cut off when it passes.
	HeaderTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a kept-alive
	// connection. While one client holds the serial server, everyone else
	// waits: these bounds are what keep that wait short.
	IdleTimeout time.Duration
	// WriteTimeout bounds the writing of one response.
	WriteTimeout time.Duration
	// Linger bounds the drain of a polite close (sock.Conn.Close).
	Linger time.Duration
	// Grace bounds a shutdown in the epoll model: the responses in flight
	// when the Waker fires may take this long to finish. (The serial model
	// has one response in flight, bounded by WriteTimeout.)
	Grace time.Duration
	// MaxConns caps the connections the epoll model holds open at once
	// (0: no cap but the descriptor limit). At the cap it stops accepting:
	// further clients wait in the kernel's accept queue, as they do in the
	// serial model, and are served as connections close.
	MaxConns int
	// Limits bound the request head; MaxBody the request bodies that are
	// read and discarded (GET with a body) rather than refused with 413.
	Limits  http1.Limits
	MaxBody int64

	Dir *static.Dir // files to serve; nil serves the embedded page
	// FileCache, if positive, keeps small files of Dir in memory and checks
	// each again on disk once its entry is this old (see static.Cache).
	FileCache  time.Duration
	AccessLog  io.Writer // nil: no access log
	LogHealthz bool      // log /healthz requests too (probes are noise by default)
	// Story, if set, receives the narration of the system calls (see
	// sock.SetTrace); the loop resets it before each accept, so the demo
	// page can show a visitor the calls made for their connection.
	Story    *page.Story
	ErrorLog io.Writer // nil: os.Stderr
}

// The defaults: short, because in the serial model every second one client
// holds the server is a second every other client waits.
const (
	DefaultHeaderTimeout = 5 * time.Second
	DefaultIdleTimeout   = 2 * time.Second
	DefaultWriteTimeout  = 10 * time.Second
	DefaultLinger        = 500 * time.Millisecond
	DefaultMaxBody       = 64 << 10
)

func (c *Config) defaults() {
	if c.HeaderTimeout <= 0 {
		c.HeaderTimeout = DefaultHeaderTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.Linger <= 0 {
		c.Linger = DefaultLinger
	}
	if c.Grace <= 0 {
		c.Grace = DefaultGrace
	}
	c.Limits = c.Limits.WithDefaults()
	if c.MaxBody <= 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.ErrorLog == nil {
		c.ErrorLog = os.Stderr
	}
}

// Serial runs the serial model on l until the poller's Waker fires, then
// returns nil; it returns an error only if accept4 fails in a way retrying
// cannot mend. p must be the Poller l was created with.
func Serial(l *sock.Listener, p *sock.Poller, cfg Config) error {
	s := newServer(l, p, cfg)
	defer s.flushLog()
	for {
		if cfg.Story != nil {
			cfg.Story.Reset()
		}
		if err := l.AcceptInto(&s.conn); err != nil {
			if errors.Is(err, sock.ErrShutdown) {
				return nil
			}
			return err
		}
		s.serveConn(&s.conn)
	}
}

// server is one serving loop's state: configuration and the buffers every
// connection reuses, so a request allocates nothing it can avoid. Both
// models have one per loop; a loop answers one request at a time, so the
// request and its scratch buffers are the loop's, not each connection's.
type server struct {
	cfg     Config
	l       *sock.Listener
	poller  *sock.Poller // the serial model's; nil in an event loop
	waker   *sock.Waker
	model   string // "serial" or "epoll", and how it waits, for the page
	wait    string
	conn    sock.Conn     // the serial model's connection: one at a time
	cache   *static.Cache // nil: files are opened for every request
	log     *accessLog
	clock   http1.Clock
	req     http1.Request
	chunked http1.Chunked // decodes (and drops) chunked request bodies
	rbuf    []byte        // request bytes; a connection's unread input is always a prefix of it
	wbuf    []byte        // response head, and the body when it is in memory
	body    []byte        // the rendered page, or an error's one line
	etag    []byte        // the served file's entity-tag
	peer    []byte        // the client's IP, formatted once per connection
}

func newServer(l *sock.Listener, p *sock.Poller, cfg Config) *server {
	cfg.defaults()
	s := &server{
		cfg:    cfg,
		l:      l,
		poller: p,
		waker:  p.Waker,
		model:  "serial",
		wait:   p.Strategy.String(),
		// Room for the largest head we accept and some body or pipelined
		// requests behind it: a head that fills it is over the limit (431).
		rbuf: make([]byte, cfg.Limits.MaxHeaderBytes+4096),
		wbuf: make([]byte, 0, 4096),
	}
	if cfg.Dir != nil && cfg.FileCache > 0 {
		s.cache = static.NewCache(cfg.FileCache)
	}
	if cfg.AccessLog != nil {
		s.log = newAccessLog(cfg.AccessLog)
		p.Idler = s.log
	}
	return s
}

func (s *server) flushLog() {
	if s.log != nil {
		s.log.Idle()
	}
}

func (s *server) logf(format string, args ...any) {
	errorf(s.cfg.ErrorLog, format, args...)
}

// serveConn answers one connection's requests in order until it must close.
func (s *server) serveConn(c *sock.Conn) {
	s.peer = append(s.peer[:0], c.Peer.IPString()...)
	buf := s.rbuf[:0] // bytes read and not yet consumed
	for nreq := 1; ; nreq++ {
		var ok bool
		var r round
		r.n = nreq
		if buf, ok = s.readHead(c, buf, &r); !ok {
			return
		}
		if buf, ok = s.readBody(c, buf, &r); !ok {
			return
		}
		keep := s.answer(c, &r)
		if s.log != nil && !r.quiet {
			s.log.add(&r.line)
		}
		if !keep {
			s.close(c, r.abort)
			return
		}
		buf = s.shift(buf, r.head) // answered: drop the head
		if s.waker.Woken() {
			s.close(c, false) // shutting down: the response in flight is done
			return
		}
	}
}

// answer composes the response to s.req and sends it, waiting for room
// in the send buffer as long as the write timeout allows.
func (s *server) answer(c *sock.Conn, r *round) bool {
	rep := reply{out: s.wbuf[:0]}
	s.respond(c, r, &rep)
	return s.send(c, r, &rep)
}

// send writes rep: the head and any body in memory with write(2), then any
// file section with sendfile(2). It reports whether the connection may
// carry another request.
func (s *server) send(c *sock.Conn, r *round, rep *reply) bool {
	c.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	n, err := c.Write(rep.out)
	s.wbuf = rep.out[:0] // keep whatever the buffer grew to
	sent := int64(n - rep.headLen)
	if rep.file != nil {
		if err == nil {
			sent, err = c.SendFile(rep.file, rep.off, rep.n)
		}
		rep.file.Close()
	}
	r.line.bytes = max(sent, 0)
	r.line.finish = time.Now()
	if err != nil {
		s.connError(err)
		r.abort = true
		return false
	}
	return rep.keep
}

// round is one request and its response, as the log will tell it.
type round struct {
	n     int    // request number on this connection, from 1
	head  int    // bytes of buf the head takes
	raw   []byte // the head as it arrived, for the demo page
	reads int    // read(2) calls that brought the head in
	waits int    // waits between them
	abort bool   // the peer is gone: close without the polite drain
	quiet bool   // leave it out of the access log (a health probe)
	line  line
}

// readHead reads until buf holds a complete request head, which it parses
// into s.req. If it returns false, it has already answered (or not) and
// closed the connection.
func (s *server) readHead(c *sock.Conn, buf []byte, r *round) ([]byte, bool) {
	reads0, waits0 := c.Stats.Reads, c.Stats.Waits
	r.line.peer = s.peer
	r.line.start = time.Now()
	var deadline time.Time
	switch {
	case len(buf) > 0: // a pipelined request: its first bytes are here
		deadline = r.line.start.Add(s.cfg.HeaderTimeout)
	case r.n == 1:
		deadline = c.Accept.Time.Add(s.cfg.HeaderTimeout)
	default:
		deadline = r.line.start.Add(s.cfg.IdleTimeout)
	}
	parse := len(buf) > 0
	for {
		if parse {
			n, err := http1.Parse(buf, &s.req, s.cfg.Limits)
			if err == nil {
				r.head, r.raw = n, buf[:n]
				r.reads, r.waits = c.Stats.Reads-reads0, c.Stats.Waits-waits0
				return buf, true
			}
			var perr *http1.Error
			if errors.As(err, &perr) {
				s.reject(c, r, perr.Status)
				return nil, false
			}
		}
		c.SetReadDeadline(deadline)
		var m int
		var err error
		if len(buf) == 0 && r.n > 1 {
			m, err = c.ReadWait(buf[len(buf):cap(buf)])
		} else {
			m, err = c.Read(buf[len(buf):cap(buf)])
		}
		if err != nil {
			switch {
			case len(buf) > 0 && errors.Is(err, sock.ErrTimeout):
				s.reject(c, r, 408) // part of a head, and then too slow
			case len(buf) > 0 && err == io.EOF:
				s.reject(c, r, 400) // the client stopped mid-head
			case err == io.EOF, errors.Is(err, sock.ErrTimeout), errors.Is(err, sock.ErrShutdown):
				s.close(c, false) // between requests: nothing is owed
			default:
				s.connError(err)
				s.close(c, true)
			}
			return nil, false
		}
		if len(buf) == 0 {
			// The first byte of this head. On a kept-alive connection the
			// head timeout takes over from the idle timeout now; the first
			// request's head is bounded from accept, as it was.
			r.line.start = time.Now()
			if r.n > 1 {
				deadline = r.line.start.Add(s.cfg.HeaderTimeout)
			}
		}
		// Parse again only if a line may have ended (or the head is long
		// enough to break a limit): a client sending a byte at a time must
		// not make us re-read its whole head for every byte.
		parse = bytes.IndexByte(buf[len(buf):len(buf)+m], '\n') >= 0 || len(buf)+m >= s.cfg.Limits.MaxRequestLine
		buf = buf[:len(buf)+m]
	}
}

// shift drops the first n bytes of buf, moving the rest to the front of
// rbuf, so buf is always a prefix of rbuf and has all of it to grow into.
func (s *server) shift(buf []byte, n int) []byte {
	return s.rbuf[:copy(s.rbuf, buf[n:])]
}

// readBody reads the request's body, if it has one, and drops it: this
// server uses none, but must read it to know where the next request starts —
// Content-Length bytes, or chunks up to the last (RFC 9112, 6.3). It runs
// before the response, so a body that breaks the rules gets its 400 or 413.
//
// The head stays at the front of rbuf, for the response to use; body bytes
// are read into the room behind it and overwritten as they go. What follows
// the body — a pipelined request — is left right behind the head. If it
// returns false, the connection has been answered or closed.
func (s *server) readBody(c *sock.Conn, buf []byte, r *round) ([]byte, bool) {
	req := &s.req
	r.line.method, r.line.target, r.line.minor = req.Method, req.Target, req.Minor
	// An expectation we cannot meet gets 417 (RFC 9110, 10.1.1). Expect is
	// HTTP/1.1's: an HTTP/1.0 request's is ignored, as the RFC requires.
	if e := req.Header("Expect"); e != nil && !req.Expect100 && req.Minor == 1 {
		s.reject(c, r, 417)
		return nil, false
	}
	if !req.Chunked && req.ContentLength <= 0 {
		return buf, true
	}
	if req.ContentLength > s.cfg.MaxBody {
		s.reject(c, r, 413) // refused unread: framing is lost, so close
		return nil, false
	}
	c.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	if req.Expect100 && len(buf) == r.head {
		// The client waits for this before it sends the body; send it
		// only now that we know we will read the body.
		if _, err := c.Write(continue100); err != nil {
			s.connError(err)
			s.close(c, true)
			return nil, false
		}
	}
	// The body must arrive within the header timeout, counted afresh
	// from the end of the head.
	c.SetReadDeadline(time.Now().Add(s.cfg.HeaderTimeout))
	if req.Chunked {
		s.chunked.Reset(http1.ChunkedLimits{MaxBody: s.cfg.MaxBody})
	}
	left := req.ContentLength
	tail := buf[r.head:]
	for {
		var n int
		var done bool
		if req.Chunked {
			var err error
			n, done, err = s.chunked.Decode(tail, nil)
			var perr *http1.Error
			if errors.As(err, &perr) {
				s.reject(c, r, perr.Status)
				return nil, false
			}
		} else {
			n = int(min(int64(len(tail)), left))
			left -= int64(n)
			done = left == 0
		}
		if done {
			k := copy(s.rbuf[r.head:], tail[n:])
			return s.rbuf[:r.head+k], true
		}
		m, err := c.Read(s.rbuf[r.head:])
		if err != nil {
			switch {
			case errors.Is(err, sock.ErrTimeout):
				s.reject(c, r, 408)
			case err == io.EOF:
				s.reject(c, r, 400) // the client stopped mid-body
			case errors.Is(err, sock.ErrShutdown):
				s.close(c, false)
			default:
				s.connError(err)
				s.close(c, true)
			}
			return nil, false
		}
		tail = s.rbuf[r.head : r.head+m]
	}
}

var continue100 = []byte("HTTP/1.1 100 Continue\r\n\r\n")

// reject answers a request that cannot be framed (or never arrived whole)
// with status, and closes: after such an error the server cannot know where
// the next request would begin.
func (s *server) reject(c *sock.Conn, r *round, status int) {
	rep := reply{out: s.wbuf[:0]}
	s.writeError(r, &rep, status, true)
	s.send(c, r, &rep)
	if s.log != nil {
		s.log.add(&r.line)
	}
	s.close(c, r.abort)
}

// close ends the connection: politely (shutdown, drain, close) unless the
// peer is already gone.
func (s *server) close(c *sock.Conn, abort bool) {
	var err error
	if abort {
		err = c.Abort()
	} else {
		err = c.Close(s.rbuf, s.cfg.Linger)
	}
	if err != nil && !errors.Is(err, sock.ErrTimeout) {
		s.connError(err)
	}
}

// connError reports a connection's error, except for the ordinary ways a
// client goes away (reset, broken pipe, not connected), which are not news.
func (s *server) connError(err error) {
	if isPeerGone(err) {
		return
	}
	s.logf("%v", err)
}
