// Package httpconn is rawserve's protocol core: what one HTTP/1.1
// connection does with the bytes it receives — find each request head,
// check it, read past its body, answer it, and decide whether the
// connection may carry another — without a system call on the connection.
// The serving models (internal/serve: serial, epoll, uring) move the bytes
// and wait; this package decides. Every model drives the same state machine,
// whose main path is
//
//	accept4 → ReadHead → [ReadBody] → Write → [SendFile] ─┬→ ReadHead …  keep-alive
//	                                                      ├→ Close       the client asked to close, or sent EOF
//	                                                      └→ CloseWrite → Linger → Close   otherwise
//
// Each state names the one thing the model does next, and the model tells
// the core how it went (Received, EOF, Wrote, SentFile, ShutDown; Expire when
// the state's Deadline passes, Fail when a call fails). The core moves on:
//
//	state       the model            next, as the core decides
//	ReadHead    read(2) into Room    ReadHead: more of the head is needed
//	                                 ReadBody: the head is whole and a body follows
//	                                 Write: answered (or refused: 400, 408, 413, 431…)
//	                                 Close: EOF or the idle timeout, between requests
//	ReadBody    read(2) into Room    ReadBody, or Write: answered or refused
//	Write       write(2) Output      Write: a short write; SendFile: a file section follows;
//	                                 ReadHead, ReadBody (after 100 Continue); the close
//	SendFile    sendfile(2) File     SendFile; Write: the next part head of a multipart
//	                                 body, or its end; ReadHead, or the close
//	CloseWrite  shutdown(SHUT_WR)    Linger
//	Linger      read(2) and drop     Close: EOF, the linger time, or 256 KiB
//	Close       close(2)
//
// With -faults, a response may misbehave on request (faults.go), and three
// states more serve it:
//
//	Pause           nothing, until       Write, SendFile, CloseWrite, CheckSendQueue
//	                Deadline: Expire
//	CheckSendQueue  ioctl(SIOCOUTQ)      Pause: bytes are still queued; Reset
//	Reset           SO_LINGER {1, 0},
//	                close(2): RST
//
// What the core does not know is how the model waits: blocking in ppoll for
// one connection, in epoll_wait for many, or in io_uring_enter for the
// completions of many requests. That, whether pipelined answers
// are gathered into one write (Model.Gather), and when a connection must give
// way (WrapUp, Abandon), is all that differs between the models, and it is
// all in internal/serve.
package httpconn

import (
	"bytes"
	"errors"
	"time"

	"github.com/rawserve/rawserve/internal/faults"
	"github.com/rawserve/rawserve/internal/http1"
	"github.com/rawserve/rawserve/internal/sock"
)

// State is what a connection does next.
type State uint8

const (
	ReadHead   State = iota // read (the rest of) a request head
	ReadBody                // read a request body, to drop it
	Write                   // write Output: responses, or 100 Continue
	SendFile                // send File, the body of the response just written
	CloseWrite              // shut down our sending side: FIN after the last response
	Linger                  // read and drop what the client still sends, until its EOF
	Close                   // close the descriptor

	// With -faults only (faults.go).
	Pause          // do nothing until Deadline: a delay, a drip's interval
	CheckSendQueue // ask how many bytes the send queue holds (ioctl SIOCOUTQ): SendQueue
	Reset          // close abortively: SO_LINGER {1, 0}, then close(2) sends RST
)

var stateNames = [...]string{"ReadHead", "ReadBody", "Write", "SendFile", "CloseWrite", "Linger", "Close",
	"Pause", "CheckSendQueue", "Reset"}

func (s State) String() string { return stateNames[s] }

// Conn is one connection's protocol state. A model keeps one per
// connection (the serial model one in all, reused) and starts it with
// Start. The zero Conn is ready for Start.
type Conn struct {
	srv   *Server
	state State

	// What the demo page tells of the socket: the core never sees more of
	// it than this — no descriptor to read or write.
	fd     int
	accept sock.AcceptInfo
	addr   sock.Addr
	stats  *sock.ConnStats // the model's counts of calls made on it

	in      *input // bytes read and not yet consumed, the current head at the front; nil when there are none
	scanned int    // of in, already searched for the end of a head
	out     []byte // output composed and not yet written; nil when there is none
	sent    int    // of out, written
	// A body from a file is sent in sections, each once out is written up
	// to it: one for a 200 or a 206; for multipart/byteranges, one per
	// part, with the part heads in out between them.
	file    *sock.File
	section section   // the section being sent, or due next
	more    *sections // the sections after it; nil when there are none
	bodyAt  int       // where in out a multipart body begins, for the log

	r         round
	inBody    bool // the request in hand has a body still to read
	bodyLeft  int64
	isChunked bool
	chunked   http1.Chunked

	eof        bool          // the client shut down its sending side
	unread     bool          // the kernel may hold bytes we have not read
	closeAfter bool          // close once the output is written
	refused    bool          // the last answer refused a request whose framing is lost (400, 408, 413…)
	wrapUp     bool          // the model asked to end the connection: no more keep-alive
	yieldGrace time.Duration // giving way to waiting clients (Yield): how long it may linger
	drained    int           // bytes dropped while lingering

	// -faults (faults.go): how the connection ends after a response that
	// cuts it short, and the Pause it is in.
	ending     ending
	afterPause State
	pauseEnd   time.Time
	ackWait    time.Duration // the last wait for the send queue to empty
	headEnd    int           // where the head of the response composed last ends in out

	readDeadline, writeDeadline time.Time
	// now is when the bytes being answered arrived: the Date of the
	// response, the moment the cache checks its copy at, the log's time —
	// one reading of the clock for a batch of requests, not one each.
	now  time.Time
	peer []byte // the client's IP, formatted once
}

// input is a connection's unconsumed bytes and the request parsed from
// their front, whose slices point into b: they are pooled together, and a
// connection holds one only while it has bytes to work on.
//
// b is a window on buf. A request answered is dropped by moving the
// window's start past it, not by moving the bytes behind it to the front:
// sixteen pipelined requests would otherwise move the rest of the batch
// fifteen times. What is left moves to the front once, before the next
// read (Room), and only then.
type input struct {
	buf []byte // its whole length
	b   []byte
	req http1.Request
}

// section is n bytes of the file, from off, to send once out[:end] is
// written.
type section struct {
	end    int
	off, n int64
}

// sections are the sections of a multipart/byteranges body after the first,
// in order: a list from the server's pool, taken only while it is sent.
type sections struct {
	list []section
	next int // the one due next
}

// round is one request and its response, as the access log tells it.
type round struct {
	n     int    // request number on this connection, from 1
	head  int    // bytes of in the head takes
	raw   []byte // the head as it arrived, for the demo page
	reads int    // read(2) calls that brought the head in, and waits between them
	waits int
	quiet bool // leave it out of the access log (a health probe)
	line  line
	stats sock.ConnStats // the connection's counts when the head began
	fault faultRun       // the misbehaviour of its response (-faults); zero: none
}

// How much output an event loop gathers before it writes: the responses to
// a batch of pipelined requests share one write(2), but a client that sends
// requests faster than it reads the answers is not answered faster than it
// reads (backpressure).
const maxGather = 64 << 10

// How much a lingering close reads and drops before it gives up and closes.
const maxDrain = 256 << 10

// Start readies c for a connection accept4 has just returned. Its first
// request's head must arrive within the header timeout, counted from accept.
func (c *Conn) Start(srv *Server, sc *sock.Conn, now time.Time) {
	*c = Conn{srv: srv, state: ReadHead, fd: sc.FD(), accept: sc.Accept, addr: sc.Peer, stats: &sc.Stats,
		peer: append(c.peer[:0], sc.Peer.IPString()...)}
	c.readDeadline = sc.Accept.Time.Add(srv.cfg.HeaderTimeout)
	c.newRound(now)
}

// State is what the model does next.
func (c *Conn) State() State { return c.state }

// Deadline is when waiting in the current state ends: the model calls
// Expire once it has passed. Zero: no deadline (Close).
func (c *Conn) Deadline() time.Time {
	switch c.state {
	case ReadHead, ReadBody, Linger:
		return c.readDeadline
	case Write, SendFile:
		return c.writeDeadline
	case Pause:
		return c.pauseEnd
	}
	return time.Time{}
}

// Idle reports a kept-alive connection between requests: everything it
// sent is answered and written, and it has not started the next request.
// A model can expect silence from it: the serial model waits (ppoll) before
// it reads, rather than read first into an EAGAIN.
func (c *Conn) Idle() bool {
	return c.state == ReadHead && c.r.n > 1 && (c.in == nil || len(c.in.b) == 0) && c.out == nil
}

// Room is where the next read goes, in ReadHead, ReadBody and Linger: free
// space behind the bytes not yet consumed (from the server's pool, if the
// connection held none), or, while lingering, a scratch buffer.
func (c *Conn) Room() []byte {
	if c.state == Linger {
		return c.srv.scratch
	}
	if c.in == nil {
		c.in = c.srv.getInput()
	}
	if in := c.in; c.state == ReadHead && cap(in.b) < cap(in.buf) {
		// Between requests: what is left of the batch moves to the front.
		// (In ReadBody the head in hand stays where its slices point;
		// gotHead moved it to the front.)
		in.b = in.buf[:copy(in.buf, in.b)]
	}
	return c.in.b[len(c.in.b):cap(c.in.b)]
}

// Received says that a read put n bytes into Room; 0 means it said EAGAIN.
// What the bytes complete is answered at once.
func (c *Conn) Received(n int, now time.Time) {
	if c.Arrived(n, now) {
		if !c.srv.model.Batched {
			c.srv.batch++
		}
		c.advance(now)
	}
}

// Arrived is Received without the answers: the bytes are taken, and what
// they complete waits for Advance. The epoll loop reads every ready
// connection before it answers any (see NewBatch). It reports whether
// there is anything to answer.
func (c *Conn) Arrived(n int, now time.Time) bool {
	if c.state == Linger {
		if c.drained += n; c.drained >= maxDrain {
			c.state = Close // a client that keeps sending: stop listening
		}
		return false
	}
	room := cap(c.in.b) - len(c.in.b)
	// A read that filled its room may have left more in the kernel; a short
	// one emptied the receive queue (what epoll(7) calls a short read).
	c.unread = n == room
	if n == 0 {
		if len(c.in.b) == 0 {
			c.putInput() // nothing arrived: an idle connection holds no buffer
		}
		return false
	}
	if len(c.in.b) == 0 && c.state == ReadHead {
		// The first byte of a head: from here the header timeout runs
		// (the first request's has run since accept).
		c.r.line.start = now
		if c.r.n > 1 {
			c.readDeadline = now.Add(c.srv.cfg.HeaderTimeout)
		}
	}
	c.in.b = c.in.b[:len(c.in.b)+n]
	return true
}

// Advance answers what the bytes taken by Arrived completed.
func (c *Conn) Advance(now time.Time) { c.advance(now) }

// InputArrived says that bytes arrived since the last read (an epoll edge):
// a close must not assume the receive queue is empty.
func (c *Conn) InputArrived() { c.unread = true }

// EOF says that a read returned 0: the client shut down its sending side.
// Whole requests still buffered are answered; a request cut off is refused.
func (c *Conn) EOF(now time.Time) {
	c.eof, c.unread = true, false
	switch c.state {
	case Linger:
		c.state = Close // the polite end
	case ReadHead, ReadBody:
		c.advance(now)
	}
}

// Output is the output to write in state Write: up to the file section
// due next, if there is one — or, for a misbehaving response, up to where
// it pauses or is cut.
func (c *Conn) Output() []byte {
	end := c.outputEnd()
	if f := &c.r.fault; f.on {
		if room := int64(end - c.sent - f.headLeft); f.allowed() < room {
			end = c.sent + f.headLeft + int(f.allowed())
		}
	}
	return c.out[c.sent:end]
}

func (c *Conn) outputEnd() int {
	if c.file != nil {
		return c.section.end
	}
	return len(c.out)
}

// Wrote says that n bytes of Output went to the kernel.
func (c *Conn) Wrote(n int, now time.Time) {
	if from, to := max(c.sent, c.bodyAt), c.sent+n; c.more != nil && to > from {
		c.r.line.bytes += int64(to - from) // a multipart body's part heads
	}
	f := &c.r.fault
	if f.on {
		f.wroteOut(n)
	}
	if c.sent += n; c.sent < c.outputEnd() {
		if f.on {
			c.holdBack(now)
		}
		return // the rest waits for room in the send buffer
	}
	if f.genLeft > 0 {
		c.out, c.sent = c.out[:0], 0 // the next chunk of bytes/{n}, in the same buffer
		c.makeStream()
		c.holdBack(now)
		return
	}
	if c.sent == len(c.out) {
		c.srv.putOut(c.out)
		c.out, c.sent = nil, 0
	}
	if c.file != nil {
		c.state = SendFile
		if f.on {
			c.holdBack(now)
		}
		return
	}
	if f.on {
		c.endRound(now) // a misbehaving response is logged once it is out
	}
	c.resume(now)
}

// File is the section to send in state SendFile: the file, the offset to
// send from and the bytes left.
func (c *Conn) File() (f *sock.File, off, n int64) {
	n = c.section.n
	if c.r.fault.on {
		n = min(n, c.r.fault.allowed()) // a drip's piece, or up to the cut
	}
	return c.file, c.section.off, n
}

// SentFile says that n more bytes of File went to the kernel.
func (c *Conn) SentFile(n int, now time.Time) {
	c.section.off += int64(n)
	c.section.n -= int64(n)
	c.r.line.bytes += int64(n)
	f := &c.r.fault
	if f.on {
		f.spend(int64(n))
	}
	if c.section.n > 0 {
		if f.on {
			c.holdBack(now)
		}
		return
	}
	if c.more != nil && c.more.next < len(c.more.list) {
		c.section = c.more.list[c.more.next] // and before it, the next part's head
		c.more.next++
		c.state = Write
		if f.on {
			c.holdBack(now)
		}
		return
	}
	// What is left of the output, the end of a multipart body, is counted
	// as sent, like a response from memory.
	c.r.line.bytes += int64(len(c.out) - c.sent)
	c.dropFile()
	c.endRound(now)
	if c.out != nil {
		c.state = Write
		return
	}
	c.resume(now)
}

// dropFile closes the file a response was sent from, and gives its list
// of sections back.
func (c *Conn) dropFile() {
	c.file.Close()
	c.file = nil
	if c.more != nil {
		c.srv.putSections(c.more)
		c.more = nil
	}
}

// ShutDown says how shutdown(SHUT_WR) went, in state CloseWrite. Then the
// connection lingers: what the client still sends is read and dropped until
// its EOF, for at most the linger time.
func (c *Conn) ShutDown(err error, now time.Time) {
	if err != nil {
		c.Fail(err) // ENOTCONN: the peer has reset the connection already
		return
	}
	if c.r.fault.on {
		c.logFault(now) // close-before-response: no response, and this is its end
	}
	c.putInput()
	c.state = Linger
	linger := c.srv.cfg.Linger
	if c.yieldGrace > 0 {
		linger = min(linger, c.yieldGrace) // others wait for the server
	}
	c.readDeadline = now.Add(linger)
}

// Expire says that Deadline has passed.
func (c *Conn) Expire(now time.Time) {
	switch c.state {
	case ReadHead:
		if c.in == nil || len(c.in.b) == 0 {
			c.state = Close // idle or silent: nothing is owed
			return
		}
		c.reject(408, now) // part of a head, and then too slow
	case ReadBody:
		c.reject(408, now)
	case Linger:
		c.state = Close
	case Pause:
		c.endPause(now)
	default:
		c.state = Close // Write, SendFile: the client does not read
	}
}

// Fail says that a system call on the connection failed: the client is
// gone (ECONNRESET, EPIPE) or something worse. Only the worse is logged.
func (c *Conn) Fail(err error) {
	if !isPeerGone(err) {
		c.srv.Errorf("%v", err)
	}
	c.state = Close
}

// WrapUp asks the connection to end: the server is stopping. An idle one
// closes now; otherwise the request in hand, and any whole ones behind it,
// are answered with Connection: close.
func (c *Conn) WrapUp() {
	c.wrapUp = true
	if c.state == ReadHead && c.out == nil && (c.in == nil || len(c.in.b) == 0) ||
		c.state == Linger && c.r.fault.on { // a hang (-faults): nothing is owed
		c.state = Close
	}
}

// Yield asks the connection to give way, within grace, to clients waiting
// for the server (the serial model serves one connection at a time). From
// now on its responses say Connection: close. If it is between requests — or
// has sent nothing since accept — it has grace to start its next request,
// which is then answered, and is closed when the grace passes (a new one's
// grace runs from accept). A polite close drains for at most grace.
// Closing a silent connection is allowed at any time (RFC 9112, 9.5); the
// grace is there so that a request already on the wire is answered, not
// reset.
func (c *Conn) Yield(now time.Time, grace time.Duration) {
	c.wrapUp = true
	c.yieldGrace = grace
	switch {
	case c.state == Linger:
		c.readDeadline = earliest(c.readDeadline, now.Add(grace))
	case c.state == ReadHead && c.out == nil && (c.in == nil || len(c.in.b) == 0):
		from := now
		if c.r.n == 1 {
			from = c.accept.Time
		}
		c.readDeadline = earliest(c.readDeadline, from.Add(grace))
	}
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Abandon ends a connection that is waiting for input the model will no
// longer wait for (the serial model, stopping): it closes without an
// answer — politely, if the client may still be sending.
func (c *Conn) Abandon() {
	c.WrapUp()
	if c.state == ReadHead || c.state == ReadBody {
		c.finish()
	}
}

// Closed says that the model has closed the descriptor. A file response
// cut short (the client went away, the write timeout) is logged with the
// bytes that went out; the buffers go back to the pool.
func (c *Conn) Closed(now time.Time) {
	if c.file != nil {
		c.dropFile()
		c.logRound(now)
	} else if c.r.fault.on {
		c.logFault(now) // a hang, a reset, a response cut short by the client or the write timeout
	}
	c.putInput()
	if c.out != nil {
		c.srv.putOut(c.out)
		c.out = nil
	}
	c.state = Close
}

// advance answers what the buffered input allows: it finds each request's
// head, reads past its body and composes the response, until it needs more
// input or output must be written first; the state says which.
func (c *Conn) advance(now time.Time) {
	for {
		var more bool
		switch c.state {
		case ReadHead:
			more = c.readHead(now)
		case ReadBody:
			more = c.readBody(now)
		default:
			return
		}
		if !more {
			if c.out != nil && (c.state == ReadHead || c.state == ReadBody) {
				c.state = Write // answers composed: write them before waiting for more
			}
			return
		}
	}
}

// readHead parses the head at the front of the input. It reports whether
// it made progress (a request answered or refused).
func (c *Conn) readHead(now time.Time) bool {
	if c.in == nil || len(c.in.b) == 0 {
		c.putInput()
		if c.out == nil && (c.eof || c.wrapUp) {
			c.finish() // between requests, and no more will come or be answered
		}
		return false
	}
	b, lim := c.in.b, c.srv.cfg.Limits
	// A client sending a byte at a time must not make us parse its whole
	// head again for every byte: only when a line may have ended, or the
	// head has grown long enough to break a limit.
	if c.scanned > 0 && bytes.IndexByte(b[c.scanned:], '\n') < 0 && len(b) < lim.MaxRequestLine {
		c.scanned = len(b)
		return c.partial(now)
	}
	n, err := http1.Parse(b, &c.in.req, lim)
	if err == http1.ErrIncomplete {
		c.scanned = len(b)
		return c.partial(now)
	}
	c.scanned = 0
	if c.out != nil && err == nil && c.srv.cfg.Faults && faults.Requested(c.in.req.Path) {
		// A misbehaving response does not share a write with the answers
		// gathered before it: they go out first, and it is parsed again.
		return false
	}
	if err != nil {
		var perr *http1.Error
		status := 400
		if errors.As(err, &perr) {
			status = perr.Status
		}
		c.reject(status, now)
		return true
	}
	c.gotHead(n, now)
	return true
}

// partial handles a head that has not ended yet: a client that stopped
// sending in the middle of it gets 400; otherwise wait for more.
func (c *Conn) partial(now time.Time) bool {
	switch {
	case c.eof:
		c.reject(400, now)
		return true
	case len(c.in.b) == len(c.in.buf):
		// Cannot happen: the parser refuses a head (431) before it fills
		// the buffer. But a read into no room returns 0, which is EOF.
		// (A head begun at the end of a batch may fill what is behind the
		// window's start: it moves to the front before the next read.)
		c.reject(431, now)
		return true
	}
	return false
}

// gotHead takes a parsed head of n bytes: it answers the request, starts
// reading its body, or refuses it (and the connection then closes).
func (c *Conn) gotHead(n int, now time.Time) {
	req, r, cfg := &c.in.req, &c.r, &c.srv.cfg
	r.head, r.raw = n, c.in.b[:n]
	r.line.method, r.line.target, r.line.minor = req.Method, req.Target, req.SentMinor // logged as sent
	r.reads, r.waits = c.stats.Reads-r.stats.Reads, c.stats.Waits-r.stats.Waits
	// An expectation we cannot meet gets 417 (RFC 9110, 10.1.1). Expect is
	// HTTP/1.1's: an HTTP/1.0 request's is ignored, as the RFC requires.
	if req.Header("Expect") != nil && !req.Expect100 && req.Minor == 1 {
		c.reject(417, now)
		return
	}
	if !req.Chunked && req.ContentLength <= 0 {
		c.answer(now)
		return
	}
	// A body this server does not use, but must read to know where the
	// next request starts: Content-Length bytes, or chunks up to the last
	// (RFC 9112, 6.3). It is read before the answer, so a body that breaks
	// the rules gets its 400 or 413.
	if req.ContentLength > cfg.MaxBody {
		c.reject(413, now) // refused unread: framing is lost, so close
		return
	}
	if in := c.in; cap(in.b) < cap(in.buf) {
		// The body is read behind the head, which must be at the front of
		// the buffer to leave it room: moved there, and parsed again so
		// that the request's slices point to where it now is.
		in.b = in.buf[:copy(in.buf, in.b)]
		r.raw = in.b[:n]
		if _, err := http1.Parse(in.b, req, cfg.Limits); err != nil {
			c.reject(400, now) // cannot happen: the same bytes parse the same
			return
		}
		r.line.method, r.line.target = req.Method, req.Target
	}
	c.inBody, c.bodyLeft, c.isChunked = true, req.ContentLength, req.Chunked
	if req.Chunked {
		c.chunked.Reset(http1.ChunkedLimits{MaxBody: cfg.MaxBody})
	}
	// The body must arrive within the header timeout, counted afresh.
	c.readDeadline = now.Add(cfg.HeaderTimeout)
	c.state = ReadBody
	if req.Expect100 && len(c.in.b) == n {
		// The client waits for this before it sends the body; it is sent
		// only now that we know we will read the body.
		c.startOutput(now)
		c.out = append(c.out, continue100...)
		c.state = Write
	}
}

var continue100 = []byte("HTTP/1.1 100 Continue\r\n\r\n")

// readBody drops the body bytes behind the head, and answers the request
// once the body is complete. It reports whether it answered (or refused).
func (c *Conn) readBody(now time.Time) bool {
	head := c.r.head
	tail := c.in.b[head:]
	var n int
	var done bool
	if c.isChunked {
		var err error
		n, done, err = c.chunked.Decode(tail, nil)
		var perr *http1.Error
		if errors.As(err, &perr) {
			c.reject(perr.Status, now)
			return true
		}
	} else {
		n = int(min(int64(len(tail)), c.bodyLeft))
		c.bodyLeft -= int64(n)
		done = c.bodyLeft == 0
	}
	// The head stays at the front, for the answer; the body bytes used are
	// dropped and what follows them (a pipelined request) moves up.
	c.in.b = c.in.b[:head+copy(c.in.b[head:], tail[n:])]
	if !done {
		if c.eof {
			c.reject(400, now) // the client stopped mid-body
			return true
		}
		return false
	}
	c.inBody = false
	c.answer(now)
	return true
}

// answer composes the response to the request in hand, and moves on: a
// response from memory ends its round at once; one from a file ends when
// the file has been sent. An event loop goes on to the next buffered
// request while the output is small; the serial model writes each
// response before it looks at the next request.
func (c *Conn) answer(now time.Time) {
	c.startOutput(now)
	if c.srv.cfg.Faults && faults.Requested(c.in.req.Path) {
		c.answerFault(now)
		return
	}
	if !c.compose() {
		c.closeAfter = true // and the response says Connection: close
	}
	c.state = Write
	if c.file != nil {
		c.r.line.bytes = 0 // counted as sendfile sends it
		return
	}
	c.endRound(now)
	if !c.closeAfter && c.srv.gather && len(c.out) < maxGather {
		c.state = ReadHead
	}
}

// reject answers with an error status and closes after it, politely: the
// client may still be sending what we did not read, and will not be read.
func (c *Conn) reject(status int, now time.Time) {
	c.startOutput(now)
	c.errorResponse(status, true)
	c.logRound(now)
	c.putInput()
	c.inBody = false
	c.closeAfter, c.refused = true, true
	c.state = Write
}

// startOutput readies out for a response: a buffer from the pool, and the
// write timeout, counted from the first byte of output that waits.
func (c *Conn) startOutput(now time.Time) {
	c.now = now // the response is composed as of this moment
	if c.out == nil {
		c.out = c.srv.getOut()
		c.writeDeadline = now.Add(c.srv.cfg.WriteTimeout)
	}
}

// endRound ends a round whose response is composed (or, for a file, sent):
// it is logged, its head dropped from the input, and the next round begins
// with whatever follows (a pipelined request) or with the idle timeout.
func (c *Conn) endRound(now time.Time) {
	c.logRound(now)
	c.in.b = c.in.b[c.r.head:]
	if len(c.in.b) == 0 {
		c.putInput()
		c.readDeadline = now.Add(c.srv.cfg.IdleTimeout)
	} else {
		c.readDeadline = now.Add(c.srv.cfg.HeaderTimeout) // it has begun
	}
	c.newRound(now)
}

// resume goes on after the output is written: close, read the body of the
// request in hand (after 100 Continue), or the next request.
func (c *Conn) resume(now time.Time) {
	switch {
	case c.closeAfter:
		c.finish()
	case c.inBody:
		c.state = ReadBody
		c.advance(now)
	default:
		c.state = ReadHead
		if c.in == nil {
			c.r.stats = *c.stats // the page counts the reads of the next head from here
		}
		c.advance(now)
	}
}

// finish ends a connection whose last response is out. When nothing of
// the client's can be left unread — it has closed its side, or it was told
// (Connection: close) or has nothing more to say, and our buffer and the
// kernel's hold none of its bytes — close(2) at once sends our FIN right
// after the response (nginx's rule too). Otherwise the close is polite:
// shutdown(SHUT_WR), read and drop until its EOF or the linger time, then
// close — closing with unread bytes makes the kernel send RST, which can
// destroy the response before the client has read it (RFC 9112, 9.6;
// RFC 1122, 4.2.2.13). A refused request is always closed politely: the
// client is most likely still sending the body we will not read.
func (c *Conn) finish() {
	switch c.ending {
	case endFIN: // truncate, close-before-response: always the polite close
		c.state = CloseWrite
		return
	case endRST: // reset: once the send queue is empty (SendQueue)
		c.state = CheckSendQueue
		return
	}
	if c.eof || (!c.refused && !c.unread && (c.in == nil || len(c.in.b) == 0)) {
		c.state = Close
		return
	}
	c.state = CloseWrite
}

func (c *Conn) newRound(now time.Time) {
	c.r = round{n: c.r.n + 1}
	c.r.line.peer = c.peer
	c.r.line.start = now
	c.r.stats = *c.stats
}

func (c *Conn) logRound(now time.Time) {
	c.srv.answered++
	c.r.line.finish = now
	if c.r.fault.on {
		c.r.line.bytes = c.r.fault.sent // what went out, however it ended
	}
	if !c.r.quiet {
		c.srv.log.add(&c.r.line)
	}
}

func (c *Conn) putInput() {
	if c.in != nil {
		c.srv.putInput(c.in)
		c.in = nil
	}
}
