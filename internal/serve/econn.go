package serve

import (
	"time"

	"github.com/rawserve/rawserve/internal/http1"
	"github.com/rawserve/rawserve/internal/sock"
)

// econn is one connection of an event loop: everything the serial model
// keeps on its stack while it waits, kept here instead, because the loop
// goes on to other connections.
type econn struct {
	conn  sock.Conn
	gen   int32 // registration generation: stale events are ignored
	state uint8

	// What the last edges said and the calls since have not used up.
	readable bool // bytes (or EOF) may be waiting in the kernel
	writable bool // the send buffer may have room
	eof      bool // the client shut down its sending side
	rdhup    bool // epoll said so (EPOLLRDHUP): once the queue is read, EOF

	in      []byte // bytes read and not yet answered; nil when there are none
	scanned int    // of in, already searched for the end of a head
	out     []byte // responses composed and not yet written; nil when none
	sent    int    // of out, written
	// The file section that follows out, and the round it answers.
	file              *sock.File
	fileOff, fileLeft int64

	r         round
	pipelined bool // the next head's first bytes came with the last request
	bodyLeft  int64
	isChunked bool
	chunked   http1.Chunked

	closeAfter  bool // close once out is written
	clientClose bool // because the client asked to (Connection: close)
	drained     int  // bytes dropped while lingering

	readDeadline, writeDeadline time.Time
	deadline                    time.Time // the one the timer heap holds
	hidx                        int       // index in the timer heap; -1: not in it

	peer []byte // the client's IP, formatted once per connection
}

// The states of a connection between events.
const (
	stIdle   uint8 = iota // waiting for the first byte of a request (idle or header timeout)
	stHead                // part of a head has arrived (header timeout)
	stBody                // reading and dropping a request's body (header timeout)
	stLinger              // shut down our side; draining until the client's EOF (linger)
)

// pending reports output not yet written.
func (c *econn) pending() bool { return c.sent < len(c.out) || c.file != nil }

// ready records what an event reported. EPOLLHUP and EPOLLERR make both
// directions "ready": the next read or write returns the error (or EOF),
// which is where it is handled — and a response still due to a client that
// only shut down its sending side (EPOLLRDHUP) is still written.
func (c *econn) ready(ev uint32) {
	if ev&(sock.EventIn|sock.EventRDHUP|sock.EventHUP|sock.EventErr) != 0 {
		c.readable = true
	}
	if ev&sock.EventRDHUP != 0 {
		c.rdhup = true
	}
	if ev&(sock.EventOut|sock.EventHUP|sock.EventErr) != 0 {
		c.writable = true
	}
}

// newRound starts the log line of the connection's next request.
func (c *econn) newRound(now time.Time) {
	c.r = round{n: c.r.n + 1}
	c.r.line.peer = c.peer
	c.r.line.start = now
}

// timerHeap is a min-heap of connections by deadline: the loop's next
// epoll_wait sleeps until the earliest, and there is no periodic tick.
// Setting a deadline is O(log n); each connection has at most one entry.
type timerHeap []*econn

// set gives c the deadline t (zero: none), adding, moving or removing its
// entry.
func (h *timerHeap) set(c *econn, t time.Time) {
	if t.IsZero() {
		h.remove(c)
		return
	}
	if c.hidx >= 0 {
		if c.deadline.Equal(t) {
			return
		}
		earlier := t.Before(c.deadline)
		c.deadline = t
		if earlier {
			h.up(c.hidx)
		} else {
			h.down(c.hidx)
		}
		return
	}
	c.deadline = t
	c.hidx = len(*h)
	*h = append(*h, c)
	h.up(c.hidx)
}

func (h *timerHeap) remove(c *econn) {
	i := c.hidx
	if i < 0 {
		return
	}
	last := len(*h) - 1
	h.swap(i, last)
	(*h)[last] = nil
	*h = (*h)[:last]
	c.hidx = -1
	if i < last {
		h.down(i)
		h.up(i)
	}
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx, h[j].hidx = i, j
}

func (h timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].deadline.Before(h[p].deadline) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h timerHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].deadline.Before(h[l].deadline) {
			m = r
		}
		if !h[m].deadline.Before(h[i].deadline) {
			return
		}
		h.swap(i, m)
		i = m
	}
}
