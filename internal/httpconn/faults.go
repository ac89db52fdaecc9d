package httpconn

// Faults (-faults): a response that misbehaves on request, under /_faults/
// (package faults reads the path; docs/faults.md shows each fault in strace
// and says what a client sees). A fault is made of the states every model
// already serves, and three more:
//
//	Pause           nothing to do until Deadline; then Expire. A delay
//	                before the head, the interval of a drip, the wait for
//	                the send queue to empty before a reset. The serial model
//	                sleeps in ppoll over no descriptor (Poller.SleepUntil),
//	                holding the server, as it holds it for any response; an
//	                event loop puts the connection in its timer heap and
//	                serves the others.
//	CheckSendQueue  ask the kernel how many bytes the send queue still holds,
//	                unsent or unacknowledged (Conn.SendQueue: ioctl
//	                SIOCOUTQ), and report it with SendQueue.
//	Reset           close abortively (Conn.Reset: SO_LINGER {1, 0}, then
//	                close(2)): RST, not FIN. Then Closed, as after Close.
//
// So a model supports faults when its state switch has those three cases —
// a few lines each: see serial.go and econn.go. The others are made of
// states it serves already: a drip is Write (or SendFile) with Output (or
// File) held to a piece at a time, Pause between; truncate and
// close-before-response end with CloseWrite and Linger, the polite close;
// hang is Linger — read and drop until the client leaves — with no
// response before it and the hang's bound as its deadline.
//
// The whole cost with -faults off: one test of a flag per request (answer,
// and readHead while gathering), and one of a byte where output is handed
// out (Output, Wrote, File, SentFile).

import (
	"math"
	"slices"
	"time"

	"github.com/rawserve/rawserve/internal/faults"
	"github.com/rawserve/rawserve/internal/http1"
)

// faultRun is the misbehaviour of the response in hand: part of its round,
// so that it ends with it.
type faultRun struct {
	on    bool
	kinds faults.Kind
	// headLeft is what is left to write of the head (and a 1xx before it):
	// it is never held back. Body bytes are: each piece of a drip, and all
	// after the cut.
	headLeft  int
	sent      int64 // body bytes written, for the access log
	piece     int64 // a drip's piece; noLimit without one
	pieceLeft int64
	every     time.Duration // between pieces
	cutLeft   int64         // body bytes before the cut; noLimit without one
	stream    faults.Stream // bytes/{n}: the body, made a chunk at a time
	genLeft   int64         // bytes of it not yet made
}

// ending is how a connection ends after a response that cuts it short.
type ending uint8

const (
	endAsUsual ending = iota
	endFIN            // truncate, close-before-response: shutdown, drain, close
	endRST            // reset: wait until the send queue is empty, then RST
)

const noLimit = math.MaxInt64

// streamChunk is how much of a bytes/{n} body is made at a time: a
// multiple of 8, as Stream.Fill wants.
const streamChunk = 16 << 10

// allowed is how many body bytes may go out now.
func (f *faultRun) allowed() int64 { return min(f.pieceLeft, f.cutLeft) }

// spend counts n body bytes written.
func (f *faultRun) spend(n int64) {
	f.sent += n
	f.pieceLeft -= n
	f.cutLeft -= n
}

// wroteOut counts n bytes of output written: the head's first, then body.
func (f *faultRun) wroteOut(n int) {
	h := min(n, f.headLeft)
	f.headLeft -= h
	f.spend(int64(n - h))
}

// answerFault answers a request under /_faults/: it composes the response
// the faults ask for (or none) and sets out to send it as they say. The
// response's round ends when it is sent (Wrote, SentFile), cut (cut) or the
// connection closes (ShutDown, Closed), so that the access log has the time
// it took and the body bytes that really went out.
func (c *Conn) answerFault(now time.Time) {
	req := &c.in.req
	keep := !req.Close
	plan, err := faults.Parse(req.Path, req.Query)
	c.r.fault = faultRun{on: true, kinds: plan.Kinds, piece: noLimit, pieceLeft: noLimit, cutLeft: noLimit}
	c.r.line.fault = plan.Kinds
	if err == nil && plan.Delay > c.maxDelay() {
		err = errTooSlow
	}
	if err != nil {
		c.refuseFault(err, keep)
		return
	}
	next := Write
	switch {
	case plan.Kinds&faults.Hang != 0:
		next = Linger
	case plan.Fails:
		keep = c.faultStatus(503, keep)
	case plan.Kinds&faults.CloseBeforeResponse != 0:
		next = CloseWrite
	case plan.Kinds&faults.Reset != 0 && plan.CutAfter < 0:
		next = CheckSendQueue
	case plan.Malformed != nil:
		c.out = append(c.out, plan.Malformed...)
		c.headEnd, c.r.line.status, keep = len(c.out), 200, false
	case plan.Status != 0:
		keep = c.faultStatus(plan.Status, keep)
	case plan.Bytes >= 0:
		h := http1.Head{Status: 200, ContentType: "application/octet-stream", ContentLength: plan.Bytes}
		keep = c.respond(&h, nil, nil, 0, keep)
		if string(req.Method) != "HEAD" {
			c.r.fault.stream, c.r.fault.genLeft = faults.NewStream(plan.Seed), plan.Bytes
			c.makeStream()
		}
	case plan.Rest != nil:
		req.Path = plan.Rest
		keep = c.compose()
		c.r.quiet = false // /healthz too: a fault is always logged
	default:
		c.srv.body = append(append(c.srv.body[:0], plan.Spec...), '\n')
		h := http1.Head{Status: 200, ContentType: "text/plain; charset=utf-8", ContentLength: int64(len(c.srv.body))}
		keep = c.respond(&h, c.srv.body, nil, 0, keep)
	}
	if next != Write {
		// No response at all: the round is logged when the connection
		// closes (status "-").
		c.srv.putOut(c.out)
		c.out = nil
		c.closeAfter = true
		switch next {
		case Linger:
			// A hang: read and drop what comes until the client leaves or
			// the bound passes, then close — a FIN, as nothing is left
			// unread. A delay before it changes nothing.
			c.state, c.readDeadline = Linger, now.Add(c.srv.cfg.FaultHang)
			return
		case CloseWrite:
			c.ending = endFIN
		case CheckSendQueue:
			c.ending = endRST
		}
	} else if !c.shapeFault(&plan) {
		c.refuseFault(errTooSlow, !req.Close) // at once: no delay before a refusal
		return
	}
	if !keep {
		c.closeAfter = true
	}
	if plan.Delay > 0 {
		c.pause(now.Add(plan.Delay), next)
		return
	}
	c.state = next
}

// shapeFault sets how the response composed goes out — its drip, its cut —
// and reports whether its pauses fit within the cap (maxDelay). If not,
// the response is dropped.
func (c *Conn) shapeFault(plan *faults.Plan) bool {
	f := &c.r.fault
	f.headLeft = c.headEnd
	if plan.Kinds&faults.Drip != 0 {
		f.piece, f.pieceLeft, f.every = plan.DripBytes, plan.DripBytes, plan.DripEvery
	}
	if plan.Kinds&(faults.Reset|faults.Truncate) != 0 {
		f.cutLeft = plan.CutAfter
		c.ending, c.closeAfter = endFIN, true
		if plan.Kinds&faults.Reset != 0 {
			c.ending = endRST
		}
	}
	if c.faultTime(plan.Delay) <= c.maxDelay() {
		return true
	}
	c.dropOutput()
	c.ending, c.closeAfter = endAsUsual, false
	return false
}

var errTooSlow = &faults.Error{Status: 400, Reason: "the fault's delays add up to more than the cap: -faults-max-delay, or the write timeout (-write-timeout), whichever is less"}

// maxDelay is the most a fault may delay a response, its pauses together:
// -faults-max-delay, and less than the write timeout, which bounds the
// whole response.
func (c *Conn) maxDelay() time.Duration {
	return min(c.srv.cfg.FaultMaxDelay, c.srv.cfg.WriteTimeout-time.Millisecond)
}

// faultTime is how long the response composed will be held back: its
// delay, and a drip's pauses between the pieces of the body that is sent.
func (c *Conn) faultTime(delay time.Duration) time.Duration {
	f := &c.r.fault
	if f.piece == noLimit {
		return delay
	}
	body := int64(len(c.out)-f.headLeft) + f.genLeft
	if c.file != nil {
		body += c.section.n
		if c.more != nil {
			for _, s := range c.more.list {
				body += s.n
			}
		}
	}
	body = min(body, f.cutLeft)
	if body <= 0 {
		return delay
	}
	pauses := (body+f.piece-1)/f.piece - 1
	if pauses > int64(time.Hour/max(f.every, time.Nanosecond)) {
		return time.Hour // more than any cap
	}
	return delay + time.Duration(pauses)*f.every
}

// refuseFault answers a /_faults/ path that cannot be carried out — its
// status (400, 404; 200 for the list at /_faults/ itself) with the reason
// as the body — as a plain response; it reports whether the connection may
// continue.
func (c *Conn) refuseFault(err *faults.Error, keep bool) bool {
	c.r.fault = faultRun{on: true, kinds: c.r.fault.kinds, piece: noLimit, pieceLeft: noLimit, cutLeft: noLimit}
	c.srv.body = append(c.srv.body[:0], err.Reason...)
	if c.srv.body[len(c.srv.body)-1] != '\n' {
		c.srv.body = append(c.srv.body, '\n')
	}
	h := http1.Head{Status: err.Status, ContentType: "text/plain; charset=utf-8", ContentLength: int64(len(c.srv.body))}
	keep = c.respond(&h, c.srv.body, nil, 0, keep)
	c.r.fault.headLeft = c.headEnd
	if !keep {
		c.closeAfter = true
	}
	c.state = Write
	return keep
}

// faultStatus answers status/{code}: the status and its one-line body, or
// no body where the status has none (204, 304). A 1xx is interim: the
// client waits for a final response, so a 200 follows it.
func (c *Conn) faultStatus(status int, keep bool) bool {
	if status < 200 {
		c.out = http1.AppendHead(c.out, &http1.Head{Status: status, ContentLength: -1}, c.srv.clock.Date(c.now))
		status = 200
	}
	h := c.srv.errorHead(status)
	body := c.srv.body
	if status == 204 || status == 304 {
		h.ContentType, h.ContentLength, body = "", -1, nil
	}
	return c.respond(&h, body, nil, 0, keep)
}

// makeStream appends the next chunk of a bytes/{n} body to the output.
func (c *Conn) makeStream() {
	f := &c.r.fault
	k := int(min(f.genLeft, streamChunk))
	n := len(c.out)
	c.out = slices.Grow(c.out, k)[:n+k]
	f.stream.Fill(c.out[n:])
	f.genLeft -= int64(k)
}

// holdBack is called when bytes of a misbehaving response have gone out
// and more of it is due: if its body has used up what it may send for now,
// the connection pauses for the drip's interval, or is cut. What is left of
// the head always goes out first (a short write may leave some).
func (c *Conn) holdBack(now time.Time) {
	f := &c.r.fault
	switch {
	case f.headLeft > 0, f.allowed() > 0:
	case f.cutLeft <= 0:
		c.cut(now)
	default:
		c.pause(now.Add(f.every), c.state)
	}
}

// logFault logs a misbehaving response's round that ends with the
// connection, not with a response: a hang, a reset or close before any.
func (c *Conn) logFault(now time.Time) {
	c.logRound(now)
	c.r.fault.on = false
}

// cut ends a response before its end: the rest of it is dropped, the round
// logged with the body bytes that went out, and the connection ended as the
// fault says (finish: FIN or RST).
func (c *Conn) cut(now time.Time) {
	c.dropOutput()
	c.endRound(now)
	c.finish()
}

// dropOutput lets go of the response composed and not yet sent.
func (c *Conn) dropOutput() {
	if c.file != nil {
		c.dropFile()
	}
	if c.out != nil {
		c.out, c.sent = c.out[:0], 0
	}
	c.r.fault.genLeft = 0
}

// pause waits until until (but not past the write deadline), then goes on
// with then.
func (c *Conn) pause(until time.Time, then State) {
	c.state, c.afterPause = Pause, then
	c.pauseEnd = earliest(until, c.writeDeadline)
}

// endPause goes on after a Pause, once its time has come: with the next
// piece of a drip, the response after its delay, or another look at the
// send queue. A response whose write timeout has passed is given up, as any
// response too slow to write is.
func (c *Conn) endPause(now time.Time) {
	if now.Before(c.pauseEnd) {
		return // woken early (a spinning wait)
	}
	if c.afterPause != CheckSendQueue && !now.Before(c.writeDeadline) {
		c.state = Close
		return
	}
	if f := &c.r.fault; f.pieceLeft <= 0 {
		f.pieceLeft = f.piece
	}
	c.state = c.afterPause
}

// SendQueue says how many bytes the kernel's send queue held, in state
// CheckSendQueue: bytes written and not yet acknowledged by the client's
// kernel, sent or not. A reset waits until there are none — an abortive
// close throws away whatever is still queued, so "after n bytes" would not
// hold — looking again after a pause that doubles from 1 ms to 50 ms, and
// resets anyway once the write timeout has passed (a client that does not
// read cannot take them).
func (c *Conn) SendQueue(n int, err error, now time.Time) {
	switch {
	case err != nil:
		c.Fail(err)
	case n == 0 || !now.Before(c.writeDeadline):
		c.state = Reset
	default:
		c.ackWait = min(max(2*c.ackWait, time.Millisecond), 50*time.Millisecond)
		c.pause(now.Add(c.ackWait), CheckSendQueue)
	}
}
