package httpconn

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/rawserve/rawserve/internal/faults"
	"github.com/rawserve/rawserve/internal/http1"
	"github.com/rawserve/rawserve/internal/page"
	"github.com/rawserve/rawserve/internal/static"
)

// Config is what every connection does, whatever the model: its timeouts
// and limits, what it answers, where it logs. Zero durations and limits
// take the defaults below.
type Config struct {
	// HeaderTimeout bounds how long a request head may take to arrive,
	// counted from accept for a connection's first request and from the
	// first byte for later ones; and a request body, counted from the end
	// of its head. A silent client, or one that sends a byte a second
	// (slowloris), is cut off when it passes.
	HeaderTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a kept-alive
	// connection. Its default is the model's (serve.DefaultIdleTimeout).
	IdleTimeout time.Duration
	// WriteTimeout bounds the writing of the output that waits: a
	// response, from its first byte.
	WriteTimeout time.Duration
	// Linger bounds the drain of a polite close.
	Linger time.Duration
	// Limits bound the request head; MaxBody the request bodies that are
	// read and discarded (GET with a body) rather than refused with 413.
	Limits  http1.Limits
	MaxBody int64

	Dir *static.Dir // files to serve; nil serves the embedded page
	// FileCacheSize bounds the memory of the cache that keeps small files
	// of Dir, each checked on disk before it is served (see static.Cache);
	// 0: no cache. FileCacheTrust, if positive, lets a copy be served
	// unchecked that long after its last check (stale meanwhile).
	FileCacheSize  int64
	FileCacheTrust time.Duration
	AccessLog      io.Writer // nil: no access log
	LogHealthz     bool      // log /healthz requests too (probes are noise by default)
	// Faults serves the misbehaviour that requests under /_faults/ ask for
	// (see faults.go and package faults): off, those paths are served as
	// any other, and cost nothing. FaultMaxDelay bounds what a fault may
	// hold a response back, its delay and pauses together (never more than
	// the write timeout, which bounds the whole response); FaultHang bounds
	// a hang (default: the idle timeout).
	Faults        bool
	FaultMaxDelay time.Duration
	FaultHang     time.Duration
	// Story, if set, holds the narration of the system calls made for the
	// connection being served, for the demo page to show (see page.Story).
	Story    *page.Story
	ErrorLog io.Writer // nil: os.Stderr
}

// The defaults.
const (
	DefaultHeaderTimeout = 5 * time.Second
	DefaultIdleTimeout   = 2 * time.Second
	DefaultWriteTimeout  = 10 * time.Second
	DefaultLinger        = 500 * time.Millisecond
	DefaultMaxBody       = 64 << 10
	DefaultFaultMaxDelay = time.Minute
)

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
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
	if c.FaultMaxDelay <= 0 {
		c.FaultMaxDelay = DefaultFaultMaxDelay
	}
	if c.FaultHang <= 0 {
		c.FaultHang = c.IdleTimeout
	}
	c.Limits = c.Limits.WithDefaults()
	if c.MaxBody <= 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.ErrorLog == nil {
		c.ErrorLog = os.Stderr
	}
	return c
}

// Model is what a serving model tells the core about itself.
type Model struct {
	Name     string // "serial", "epoll" or "uring", for the demo page
	Wait     string // how it waits: "poll", "spin", "epoll" or "io_uring"
	ListenFD int    // its listener, for the demo page
	// Gather lets a connection answer every whole request it has buffered
	// (pipelining) before the output is written, so one write(2) carries
	// them all. The serial model writes each response before the next
	// request is looked at: one request, one response, one write.
	Gather bool
	// Batched says the model hands the core what arrived for many
	// connections at once, and says when each batch begins (NewBatch):
	// the uring model reaps the completions of one io_uring_enter, all of
	// which arrived before the first is looked at. A cached file is then
	// validated once per batch, not once per read: a check made after the
	// batch began is made after each of its requests arrived, which is all
	// freshness asks. Otherwise each read(2) is a batch of its own.
	Batched bool
}

// Server is what the connections of one serving loop share: the
// configuration, the access log, the file cache, and the buffers a
// connection borrows while it has work, so that a request allocates
// nothing. It belongs to one loop and is not safe for concurrent use.
type Server struct {
	cfg    Config
	model  Model
	gather bool
	log    *accessLog // nil: no access log
	cache  *static.Cache
	clock  http1.Clock

	inputs  []*input // pools of buffers not in use
	outs    [][]byte
	pooled  int  // bytes in them
	shed    bool // a buffer was let go: the pools were full
	parts   []*sections
	scratch []byte // where a lingering close drains to
	body    []byte // the rendered page, or an error's one line
	etag    []byte // the served file's entity-tag
	// batch counts the reads that brought requests in (or, for a Batched
	// model, its batches): the requests of one arrived together, and a
	// cached file is validated once for them.
	batch    uint64
	answered uint64 // requests answered (or refused), for Answered
}

// NewServer returns the shared state of one serving loop.
func NewServer(cfg Config, m Model) *Server {
	cfg = cfg.WithDefaults()
	s := &Server{cfg: cfg, model: m, gather: m.Gather, scratch: make([]byte, inputSize(&cfg))}
	if cfg.Dir != nil && cfg.FileCacheSize > 0 {
		s.cache = static.NewCache(cfg.Dir, cfg.FileCacheSize, cfg.FileCacheTrust)
	}
	if cfg.AccessLog != nil {
		s.log = newAccessLog(cfg.AccessLog)
	}
	return s
}

// Answered is how many requests the loop's connections have answered,
// refusals included.
func (s *Server) Answered() uint64 { return s.answered }

// NewBatch says that a batch begins: what the model hands the core from
// now on (a Batched model), or what it took with Arrived and has not yet
// answered (the epoll loop), all arrived before this moment.
func (s *Server) NewBatch() { s.batch++ }

// LogPending is when the oldest access-log line still buffered was added;
// zero when none is. A model flushes the log once it has been quiet for a
// moment (see FlushLog).
func (s *Server) LogPending() time.Time {
	if s.log == nil {
		return time.Time{}
	}
	return s.log.since()
}

// FlushLog writes the access log's buffered lines: the models call it when
// they have been idle for a moment, and when they stop.
func (s *Server) FlushLog() {
	if s.log != nil {
		s.log.flush()
	}
}

// Errorf reports an error on the error log, as "rawserve: ...".
func (s *Server) Errorf(format string, args ...any) {
	var b bytes.Buffer
	b.WriteString("rawserve: ")
	fmt.Fprintf(&b, format, args...)
	b.WriteByte('\n')
	s.cfg.ErrorLog.Write(b.Bytes())
}

// Buffers come from the pools only while a connection is using them: an
// idle kept-alive connection holds none. The pools keep at most poolBudget
// bytes: a spike — thousands of connections each in the middle of a head —
// takes as many buffers as it needs, and when it is over the pools keep a
// loop's ordinary working set and let the rest go to the garbage collector
// (Shed says so, and the model hands the memory back to the kernel once it
// is quiet).

// poolBudget bounds the bytes of buffers one loop keeps pooled: the input
// buffers of 64 busy connections, or their gathered output of a pipelined
// batch each.
const poolBudget = 4 << 20

// poolQuiet is what the pools keep once a spike is over (Trim).
const poolQuiet = 512 << 10

func (s *Server) getInput() *input {
	if n := len(s.inputs); n > 0 {
		in := s.inputs[n-1]
		s.inputs = s.inputs[:n-1]
		s.pooled -= cap(in.buf)
		return in
	}
	buf := make([]byte, inputSize(&s.cfg))
	return &input{buf: buf, b: buf[:0]}
}

// inputSize is the room a connection reads into: the largest head we
// accept and some body or pipelined requests behind it, so that a head that
// fills it is over the limit (431).
func inputSize(cfg *Config) int { return cfg.Limits.MaxHeaderBytes + 4096 }

func (s *Server) putInput(in *input) {
	in.b = in.buf[:0]
	if s.pooled+cap(in.buf) > poolBudget {
		s.shed = true
		return
	}
	s.pooled += cap(in.buf)
	s.inputs = append(s.inputs, in)
}

func (s *Server) getOut() []byte {
	if n := len(s.outs); n > 0 {
		b := s.outs[n-1]
		s.outs = s.outs[:n-1]
		s.pooled -= cap(b)
		return b
	}
	return make([]byte, 0, 4096)
}

func (s *Server) putOut(b []byte) {
	// A page body or a gathered batch may have grown it: keep sane sizes.
	if cap(b) > 2*maxGather || s.pooled+cap(b) > poolBudget {
		s.shed = true
		return
	}
	s.pooled += cap(b)
	s.outs = append(s.outs, b[:0])
}

// Shed reports whether buffers were let go since it was last asked: memory
// the garbage collector can take back once the loop is quiet.
func (s *Server) Shed() bool {
	shed := s.shed
	s.shed = false
	return shed
}

// Trim lets the pools go down to a quiet loop's needs (poolQuiet bytes),
// once a spike is over: what they kept for a busy moment is not kept for
// ever.
func (s *Server) Trim() {
	for s.pooled > poolQuiet && len(s.inputs) > 0 {
		n := len(s.inputs) - 1
		s.pooled -= cap(s.inputs[n].b)
		s.inputs[n] = nil
		s.inputs = s.inputs[:n]
	}
	for s.pooled > poolQuiet && len(s.outs) > 0 {
		n := len(s.outs) - 1
		s.pooled -= cap(s.outs[n])
		s.outs[n] = nil
		s.outs = s.outs[:n]
	}
}

func (s *Server) getSections() *sections {
	if n := len(s.parts); n > 0 {
		l := s.parts[n-1]
		s.parts = s.parts[:n-1]
		return l
	}
	return &sections{list: make([]section, 0, http1.MaxRanges)}
}

func (s *Server) putSections(l *sections) {
	l.list, l.next = l.list[:0], 0
	s.parts = append(s.parts, l)
}

// accessLog buffers one line per request in Common Log Format with the
// request's duration in seconds appended:
//
//	127.0.0.1 - - [24/Nov/2026:05:23:09 +0000] "GET / HTTP/1.1" 200 1234 0.000118
//
// and, for a request under /_faults/ (-faults), the faults' names, with "-"
// for the status when no response was sent:
//
//	127.0.0.1 - - [24/Nov/2026:05:23:09 +0000] "GET /_faults/reset HTTP/1.1" - 0 0.000210 fault=reset
//
// Writing each line at once would add a write(2) to every request. Lines are
// handed to the output queue when the next would take them past 64 KiB —
// the most the queue writes to a file at once (internal/outq), so that
// there one hand-over is one write(2), and into a pipe sixteen of PIPE_BUF
// — when the server goes quiet (the model calls Server.FlushLog after
// sock.IdleDelay of waiting), and at shutdown. So under load the log costs
// a small fraction of a syscall per request, and an idle server's log is
// never more than a moment behind. Each hand-over wakes the queue's
// goroutine, whose thread shares the loop's CPU when the server is pinned
// to one: in 64 KiB hand-overs, about one wake-up per 850 requests.
type accessLog struct {
	w      io.Writer
	buf    []byte
	oldest time.Time // when the oldest buffered line was added
	sec    int64     // the second stamp caches
	date   []byte    // "[24/Nov/2026:05:23:09 +0000]"
}

// logFlushAt is the most lines handed to the output queue at once.
const logFlushAt = 64 << 10

func newAccessLog(w io.Writer) *accessLog {
	return &accessLog{w: w, buf: make([]byte, 0, logFlushAt+512)}
}

// line is one request's log entry.
type line struct {
	peer          []byte // the client's IP, already formatted
	method        []byte // nil when the request could not be parsed
	target        []byte
	minor         int
	status        int // 0: no response was sent
	bytes         int64
	start, finish time.Time
	fault         faults.Kind // -faults: the faults it asked for
}

// add appends one line (none when there is no log). Method and target are
// safe to copy as they are: the parser admitted only token and URI
// characters, so a client cannot forge a log line.
func (l *accessLog) add(e *line) {
	if l == nil {
		return
	}
	if len(l.buf) == 0 {
		l.oldest = e.finish
	}
	start := len(l.buf)
	b := append(l.buf, e.peer...)
	b = append(b, " - - "...)
	b = append(b, l.stamp(e.finish)...)
	if e.method == nil {
		b = append(b, ` "-" `...)
	} else {
		b = append(b, ` "`...)
		b = append(b, e.method...)
		b = append(b, ' ')
		b = append(b, e.target...)
		b = append(b, " HTTP/1."...)
		b = append(b, byte('0'+e.minor))
		b = append(b, `" `...)
	}
	if e.status == 0 {
		b = append(b, '-') // a fault that sends no response
	} else {
		b = strconv.AppendInt(b, int64(e.status), 10)
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.bytes, 10)
	b = append(b, ' ')
	b = strconv.AppendFloat(b, e.finish.Sub(e.start).Seconds(), 'f', 6, 64)
	if e.fault != 0 {
		b = e.fault.AppendNames(append(b, " fault="...))
	}
	l.buf = append(b, '\n')
	if len(l.buf) > logFlushAt && start > 0 {
		// The lines before this one, then this one at the front.
		l.w.Write(l.buf[:start])
		l.buf = l.buf[:copy(l.buf, l.buf[start:])]
		l.oldest = e.finish
	}
}

// stamp formats t as CLF wants it, once per second.
func (l *accessLog) stamp(t time.Time) []byte {
	t = t.UTC()
	if s := t.Unix(); s != l.sec || l.date == nil {
		l.sec = s
		l.date = t.AppendFormat(l.date[:0], "[02/Jan/2006:15:04:05 -0700]")
	}
	return l.date
}

// since is when the oldest buffered line was added; zero when none is.
func (l *accessLog) since() time.Time {
	if len(l.buf) == 0 {
		return time.Time{}
	}
	return l.oldest
}

// flush writes the buffered lines. A failed write (stdout closed) drops
// them rather than stopping the server.
func (l *accessLog) flush() {
	if len(l.buf) > 0 {
		l.w.Write(l.buf)
		l.buf = l.buf[:0]
	}
}
