package serve

import (
	"io"

	"github.com/rawserve/rawserve/internal/httpconn"
	"github.com/rawserve/rawserve/internal/sock"
)

// econn is one connection of an event loop: its socket, the protocol state
// the core keeps for it, and what the last epoll edges said that the calls
// since have not used up. Everything the serial model keeps on its stack
// while it waits is kept here instead, because the loop goes on to other
// connections.
//
// Its state is the core's (httpconn.State: ReadHead, ReadBody, Write,
// SendFile, CloseWrite, Linger, Close; with -faults, Pause, CheckSendQueue,
// Reset), and drive switches on it: each state is one system call — read,
// write, sendfile, shutdown, close; ioctl, setsockopt — made without
// waiting, or, for Pause, none: the connection waits for its deadline. A step that finds the kernel not ready (EAGAIN, or a short read
// or write: epoll(7) says the next change will come as an edge) returns
// false, and the connection waits for its next edge or its deadline in the
// loop's timer heap, whichever comes first.
type econn struct {
	conn sock.Conn
	http httpconn.Conn
	gen  int32 // registration generation: stale events are ignored

	readable bool // bytes (or EOF) may be waiting in the kernel
	writable bool // the send buffer may have room
	rdhup    bool // epoll said the client shut down its side: once the queue is read, EOF
	taken    bool // the loop's first pass read bytes the core has not answered yet (Arrived)

	timer // its place in the loop's timer heap
}

// ready records what an event reported. EPOLLHUP and EPOLLERR make both
// directions "ready": the next read or write returns the error (or EOF),
// which is where it is handled — and a response still due to a client that
// only shut down its sending side (EPOLLRDHUP) is still written.
func (c *econn) ready(ev uint32) {
	if ev&(sock.EventIn|sock.EventRDHUP|sock.EventHUP|sock.EventErr) != 0 {
		c.readable = true
		c.http.InputArrived()
	}
	if ev&sock.EventRDHUP != 0 {
		c.rdhup = true
	}
	if ev&(sock.EventOut|sock.EventHUP|sock.EventErr) != 0 {
		c.writable = true
	}
}

// drive moves a connection along as far as it can go now: one step per
// pass, chosen by its state, until a step must wait for the kernel (then
// the timer heap gets its deadline) or the connection is closed.
func (lp *loop) drive(c *econn) {
	if c.taken {
		c.taken = false
		c.http.Advance(lp.now)
	}
	for {
		var ok bool
		switch c.http.State() {
		case httpconn.ReadHead, httpconn.ReadBody, httpconn.Linger:
			ok = lp.read(c, true)
		case httpconn.Write:
			ok = lp.write(c)
		case httpconn.SendFile:
			ok = lp.sendFile(c)
		case httpconn.CloseWrite:
			c.http.ShutDown(c.conn.CloseWrite(), lp.now)
			ok = true
		case httpconn.Close, httpconn.Reset:
			lp.close(c)
			return
		// -faults only (httpconn/faults.go).
		case httpconn.Pause:
			ok = false // until its deadline, in the timer heap: the loop serves the others
		case httpconn.CheckSendQueue:
			n, err := c.conn.SendQueue()
			c.http.SendQueue(n, err, lp.now)
			ok = true
		}
		if !ok {
			lp.timers.set(c, c.http.Deadline())
			return
		}
	}
}

// read makes one read(2) into the connection's room, if the last edge left
// something to read, and tells the core what came: to be answered now, or,
// in the loop's first pass, once every ready connection has been read.
func (lp *loop) read(c *econn, answer bool) bool {
	if !c.readable {
		return false
	}
	room := c.http.Room()
	n, err := c.conn.TryRead(room)
	switch {
	case err == nil:
		// A short read emptied the socket's receive queue: the next bytes
		// will come with an edge of their own (epoll(7)). The FIN will
		// not, if it came already: the edge that brought these bytes said
		// so (EPOLLRDHUP), and a read now would only return 0.
		c.readable = n == len(room)
		if answer {
			c.http.Received(n, lp.now)
		} else {
			c.taken = c.http.Arrived(n, lp.now) || c.taken
		}
		if !c.readable && c.rdhup {
			c.http.EOF(lp.now)
		}
	case err == sock.ErrAgain:
		c.readable = false
		c.http.Received(0, lp.now)
		return false
	case err == io.EOF:
		c.readable = false
		c.http.EOF(lp.now)
	default:
		c.http.Fail(err)
	}
	return true
}

// write makes one write(2) of the output, if the send buffer may have room.
func (lp *loop) write(c *econn) bool {
	if !c.writable {
		return false
	}
	out := c.http.Output()
	n, err := c.conn.TryWrite(out)
	switch {
	case err == sock.ErrAgain:
		c.writable = false
		return false
	case err != nil:
		c.http.Fail(err)
		return true
	}
	if n < len(out) {
		c.writable = false // a short write: the send buffer is full (epoll(7))
	}
	c.http.Wrote(n, lp.now)
	return c.writable
}

// sendFile makes one sendfile(2) of the file section, if there may be room.
// sendfile may stop short for reasons of its own (a page-cache boundary),
// so only EAGAIN is taken to mean "full".
func (lp *loop) sendFile(c *econn) bool {
	if !c.writable {
		return false
	}
	f, off, left := c.http.File()
	n, err := c.conn.TrySendFile(f, &off, left)
	switch {
	case err == sock.ErrAgain:
		c.writable = false
		return false
	case err != nil:
		c.http.Fail(err) // the round is logged with the bytes that went out
		return true
	}
	c.http.SentFile(n, lp.now)
	return true
}
