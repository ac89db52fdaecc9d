// Command gnet answers GET / with the 13-byte body on
// github.com/panjf2000/gnet/v2: event loops over epoll, no goroutine per
// connection. gnet moves bytes only, so the HTTP/1.1 here is ours
// (internal/ref): keep-alive, pipelining (every complete request in the
// input is answered, in order, with one write), Connection: close and
// HTTP/1.0.
//
// Files are read whole into memory and written (gnet has no sendfile), with
// no cache: every request opens and reads its file.
//
// -loops sets the number of event loops: 1 is the single-loop reference;
// 0 lets gnet start one per CPU (WithMulticore).
package main

import (
	"flag"
	"log"

	"github.com/panjf2000/gnet/v2"
	"github.com/rawserve/rawserve/bench/internal/ref"
)

// server is gnet's event handler. Its fields are read-only once running:
// several loops call it at once.
type server struct {
	gnet.BuiltinEventEngine
	dir string
}

// conn is a connection's state: its output buffer, reused across
// requests, and whether its last response said Connection: close.
type conn struct {
	out     []byte
	closing bool
}

func (s *server) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	c.SetContext(&conn{})
	return nil, gnet.None
}

// OnTraffic answers every complete request in the input. It stops at a
// request that says Connection: close (or an error), and closes once that
// response has been handed to the kernel.
func (s *server) OnTraffic(c gnet.Conn) gnet.Action {
	st := c.Context().(*conn)
	if st.closing {
		c.Discard(-1) // nothing after a Connection: close is answered
		return gnet.None
	}
	in, _ := c.Peek(-1)
	out := st.out[:0]
	used, keepAlive := 0, true
	for keepAlive {
		req, n, err := ref.ParseHead(in[used:])
		if err != nil {
			out = ref.AppendHead(out, ref.Status(err), "", 0, false, ref.Date())
			keepAlive = false
			break
		}
		if n == 0 || len(in)-used < n+req.ContentLength {
			break // the rest of the head or body has not arrived yet
		}
		used += n + req.ContentLength // a body is read and discarded
		out, keepAlive = ref.Respond(out, s.dir, req, req.KeepAlive)
	}
	c.Discard(used)
	if len(out) > 0 {
		// gnet writes what the socket takes and queues the rest,
		// flushing it on EPOLLOUT.
		if _, err := c.Write(out); err != nil {
			return gnet.Close
		}
	}
	if cap(out) > 1<<20 {
		out = nil // a big file's buffer is not kept for the next request
	}
	st.out, st.closing = out, !keepAlive
	if !keepAlive && c.OutboundBuffered() == 0 {
		return gnet.Close
	}
	// With output still queued, closing now would cut the response short
	// (gnet does not finish the queue on close): the response says
	// Connection: close, so the client closes once it has read it all.
	return gnet.None
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	dir := flag.String("dir", ".", "directory of static files")
	loops := flag.Int("loops", 1, "event loops: 1, or 0 for one per CPU")
	flag.Parse()

	opts := []gnet.Option{gnet.WithReuseAddr(true)}
	if *loops == 0 {
		opts = append(opts, gnet.WithMulticore(true))
	} else {
		opts = append(opts, gnet.WithNumEventLoop(*loops))
	}
	log.Fatal(gnet.Run(&server{dir: *dir}, "tcp4://"+*addr, opts...))
}
