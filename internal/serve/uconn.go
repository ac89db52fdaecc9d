package serve

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"

	"github.com/rawserve/rawserve/internal/httpconn"
	"github.com/rawserve/rawserve/internal/sock"
)

// uconn is one connection of a uring loop: its socket, the protocol state
// the core keeps for it, and the requests it has in flight in the ring.
//
// Its state is the core's, as in the epoll model, and drive switches on
// it; but a step does not make a call, it submits a request and returns,
// and the completion (complete) says how the step went:
//
//	state       request in the ring            completion → the core
//	ReadHead,   the multishot recv, armed      bytes: held, handed to Room as
//	ReadBody,   once for the connection's       the state reads (Received);
//	Linger      life                            0: EOF
//	Write       send(Output)                   Wrote(n)
//	SendFile    none: sendfile(2) itself,      SentFile(n)
//	            poll_add(POLLOUT) on EAGAIN
//	CloseWrite  shutdown(SHUT_WR)              ShutDown
//	Close       [async_cancel →] close         the record is given back
//	Reset       setsockopt(SO_LINGER {1, 0}),  as Close: the close sends RST
//	            a call; then as Close
//	Pause       none: its deadline in the      Expire
//	            timer heap (-faults)
//	CheckSend-  none: ioctl(SIOCOUTQ), a call  SendQueue(n)
//	Queue
//
// The recv stays armed while the connection writes, so bytes may arrive
// when the core is not reading: they are held (in the kernel's buffers,
// which is why a connection that holds maxHeld of them has its recv
// cancelled until it reads again — the uring model's backpressure).
type uconn struct {
	conn sock.Conn
	http httpconn.Conn
	gen  uint32 // the tag of its requests: a closed connection's late completions are dropped
	timer

	recvArmed  bool // a multishot recv is in flight
	recvUD     uint64
	cancelling bool   // its recv is being cancelled: the connection holds enough
	starved    bool   // its recv ended for want of a free buffer: re-armed when some come back
	held       []held // bytes received and not yet handed to the core, oldest first
	eof        bool   // the recv said EOF (after the held bytes)
	recvErr    error  // the recv failed (after the held bytes)

	busy    bool // a send, shutdown or poll is in flight
	closing bool // its close is in flight
}

// held is what one recv completion brought and the core has not taken
// yet: n bytes from off of provided buffer bid.
type held struct {
	bid    uint16
	off, n int
}

// maxHeld is how many buffers of bytes a connection may hold before its
// recv is cancelled: a client that sends faster than its answers are
// written is read no faster than they are (and takes no more of the
// loop's buffers).
const maxHeld = 4

// complete handles a completion of one of the connection's requests.
func (c *uconn) complete(lp *uloop, e *sock.CQE) {
	err := e.Err()
	if c.closing && e.Op() != sock.OpClose {
		// What was in flight as its close was decided, ending (mostly
		// with ECANCELED): nothing is owed to it now. Bytes that came
		// meanwhile are dropped, and their buffer given back.
		lp.drop(e)
		return
	}
	switch e.Op() {
	case sock.OpRecv:
		if !e.More() {
			c.recvArmed = false
		}
		switch {
		case e.Res > 0:
			lp.bufs.Took()
			c.held = append(c.held, held{bid: uint16(e.Flags >> 16), n: int(e.Res)})
			c.http.InputArrived()
			if len(c.held) >= maxHeld && c.recvArmed && !c.cancelling {
				c.cancelling = true
				lp.ring.Cancel(c.recvUD, c.gen)
			}
		case e.Res == 0:
			c.eof = true
		case errors.Is(err, unix.ENOBUFS):
			// Every buffer is taken: the bytes wait in the socket until
			// some come back (feedStarved).
			if !c.starved {
				c.starved = true
				lp.starved = append(lp.starved, c)
			}
		case errors.Is(err, unix.ECANCELED):
			c.cancelling = false
		default:
			c.recvErr = os.NewSyscallError("recv", err)
		}
	case sock.OpSend:
		c.busy = false
		if err != nil {
			c.http.Fail(os.NewSyscallError("send", err))
		} else {
			c.http.Wrote(int(e.Res), lp.now)
		}
	case sock.OpPollAdd:
		c.busy = false // room in the send buffer: sendfile again
	case sock.OpShutdown:
		c.busy = false
		if err != nil {
			err = os.NewSyscallError("shutdown", err)
		}
		c.http.ShutDown(err, lp.now)
	case sock.OpClose:
		lp.closed(c, err)
		return
	default:
		return // a cancel's own completion
	}
	lp.drive(c)
}

// drive moves a connection along as far as it can go now: for each state,
// the request that carries it out, submitted once; then the connection
// waits for a completion or its deadline in the timer heap.
func (lp *uloop) drive(c *uconn) {
	for !c.closing {
		switch c.http.State() {
		case httpconn.ReadHead, httpconn.ReadBody, httpconn.Linger:
			if !lp.read(c) {
				lp.timers.set(c, c.http.Deadline())
				return
			}
		case httpconn.Write, httpconn.CloseWrite:
			if !c.busy {
				c.busy = true
				if c.http.State() == httpconn.Write {
					lp.ring.Send(c.conn.FD(), c.http.Output(), c.gen)
				} else {
					lp.ring.Shutdown(c.conn.FD(), unix.SHUT_WR, c.gen)
				}
			}
			lp.timers.set(c, c.http.Deadline())
			return
		case httpconn.SendFile:
			if !lp.sendFile(c) {
				lp.timers.set(c, c.http.Deadline())
				return
			}
		case httpconn.Close, httpconn.Reset:
			lp.close(c)
			return
		// -faults only (httpconn/faults.go).
		case httpconn.Pause:
			lp.timers.set(c, c.http.Deadline()) // the loop serves the others meanwhile
			return
		case httpconn.CheckSendQueue:
			// ioctl(SIOCOUTQ) never blocks: made as a call, not a request.
			n, err := c.conn.SendQueue()
			c.http.SendQueue(n, err, lp.now)
		}
	}
}

// read hands the core what the connection holds, or what the recv said
// after it (EOF, an error), and reports whether the core took something.
// With nothing to hand over it makes sure the recv is armed.
func (lp *uloop) read(c *uconn) bool {
	switch {
	case len(c.held) > 0:
		h := &c.held[0]
		room := c.http.Room()
		n := copy(room, lp.bufs.Bytes(h.bid, h.off+h.n)[h.off:])
		if h.off, h.n = h.off+n, h.n-n; h.n == 0 {
			lp.bufs.Recycle(h.bid)
			c.held = append(c.held[:0], c.held[1:]...)
		}
		// A buffer that did not fill the room ends what arrived, as a short
		// read does: the core takes it that nothing more waits.
		c.http.Received(n, lp.now)
		return true
	case c.recvErr != nil:
		c.http.Fail(c.recvErr)
		c.recvErr = nil
		return true
	case c.eof:
		c.http.EOF(lp.now)
		return true
	}
	if !c.recvArmed && !c.cancelling && !c.starved {
		c.recvArmed = true
		c.recvUD = lp.ring.Recv(c.conn.FD(), c.gen)
	}
	return false
}

// sendFile makes one sendfile(2) of the file section: the ring has no
// sendfile, and its splice would need a pipe per connection. On EAGAIN
// a poll request waits for room. It reports whether the core took a step.
func (lp *uloop) sendFile(c *uconn) bool {
	if c.busy {
		return false // the poll is in flight
	}
	f, off, left := c.http.File()
	n, err := c.conn.TrySendFile(f, &off, left)
	switch {
	case err == sock.ErrAgain:
		c.busy = true
		lp.ring.PollAdd(c.conn.FD(), unix.POLLOUT, c.gen)
		return false
	case err != nil:
		c.http.Fail(err)
	default:
		c.http.SentFile(n, lp.now)
	}
	return true
}

// dropHeld gives the buffers the connection holds back to the kernel.
func (c *uconn) dropHeld(lp *uloop) {
	for _, h := range c.held {
		lp.bufs.Recycle(h.bid)
	}
	c.held = c.held[:0]
}

// reset readies a closed connection's record for reuse.
func (c *uconn) reset() {
	held := c.held[:0]
	*c = uconn{timer: timer{hidx: -1}, held: held, http: c.http, conn: c.conn}
}
