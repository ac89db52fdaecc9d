package serve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"syscall"
	"time"

	"github.com/rawserve/rawserve/internal/http1"
	"github.com/rawserve/rawserve/internal/page"
	"github.com/rawserve/rawserve/internal/sock"
)

const allow = "GET, HEAD, OPTIONS"

// respond answers the request in s.req and reports whether the connection
// may carry another request.
func (s *server) respond(c *sock.Conn, r *round) (keep bool) {
	req := &s.req
	r.line.method, r.line.target, r.line.minor = req.Method, req.Target, req.Minor
	keep = !req.Close
	if req.ContentLength > 0 {
		switch {
		case req.ContentLength > s.cfg.MaxBody:
			s.writeError(c, r, 413, true)
			return false
		case req.Expect100:
			// The client waits for 100 Continue before it sends the body,
			// and we never read bodies: answer now and close rather than
			// wait for a body that may never come (RFC 9110, 10.1.1).
			keep = false
		default:
			r.bodyLeft = req.ContentLength
		}
	}
	if req.Chunked {
		// This server does not decode chunked bodies yet, so it cannot
		// tell where the next request would start: refuse and close.
		s.writeError(c, r, 501, true)
		return false
	}
	if v := req.Header("Expect"); v != nil && !req.Expect100 {
		s.writeError(c, r, 417, true)
		return false
	}

	switch string(req.Method) { // no allocation: the compiler sees through it
	case "GET", "HEAD":
	case "OPTIONS":
		return s.writeHead(c, r, &http1.Head{Status: 204, ContentLength: -1, Allow: allow}, nil, nil, keep)
	case "POST", "PUT", "DELETE", "PATCH", "CONNECT", "TRACE":
		// Methods HTTP defines that this server does not offer on any
		// resource (RFC 9110, 15.5.6). CONNECT would turn the connection
		// into a tunnel: always close after refusing it.
		return s.writeError(c, r, 405, !keep || string(req.Method) == "CONNECT")
	default:
		return s.writeError(c, r, 501, !keep)
	}

	if string(req.Path) == "/healthz" {
		return s.writeHead(c, r, &http1.Head{Status: 200, ContentType: "text/plain; charset=utf-8", ContentLength: 3}, []byte("ok\n"), nil, keep)
	}
	if s.cfg.Dir == nil {
		if string(req.Path) != "/" && string(req.Path) != "/index.html" {
			return s.writeError(c, r, 404, !keep)
		}
		s.body = page.Append(s.body[:0], s.pageInfo(c, r))
		h := http1.Head{Status: 200, ContentType: "text/html; charset=utf-8", ContentLength: int64(len(s.body))}
		return s.writeHead(c, r, &h, s.body, nil, keep)
	}
	res := s.cfg.Dir.Lookup(req.Path)
	switch res.Status {
	case 200:
		defer res.File.Close()
		h := http1.Head{Status: 200, ContentType: res.ContentType, ContentLength: res.File.Size, LastModified: res.File.ModTime}
		return s.writeHead(c, r, &h, nil, res.File, keep)
	case 301:
		body := []byte("301 Moved Permanently\n")
		h := http1.Head{Status: 301, ContentType: "text/plain; charset=utf-8", ContentLength: int64(len(body)), Location: res.Location}
		return s.writeHead(c, r, &h, body, nil, keep)
	}
	return s.writeError(c, r, res.Status, !keep)
}

// writeError answers with status and a one-line plain-text body ("404 Not
// Found"), closing the connection after it if close is set. It reports
// whether the connection may continue.
func (s *server) writeError(c *sock.Conn, r *round, status int, close bool) bool {
	s.body = strconv.AppendInt(s.body[:0], int64(status), 10)
	s.body = append(s.body, ' ')
	s.body = append(s.body, http1.StatusText(status)...)
	s.body = append(s.body, '\n')
	h := http1.Head{Status: status, ContentType: "text/plain; charset=utf-8", ContentLength: int64(len(s.body))}
	if status == 405 {
		h.Allow = allow
	}
	return s.writeHead(c, r, &h, s.body, nil, !close)
}

// writeHead sends the head h and then the body: bytes in memory, sent in
// the same write(2) as the head, or a file, sent with sendfile(2) after it.
// A HEAD request gets the head alone, with GET's Content-Length. It reports
// whether the connection may continue.
func (s *server) writeHead(c *sock.Conn, r *round, h *http1.Head, body []byte, f *sock.File, keep bool) bool {
	now := time.Now()
	parsed := r.line.method != nil // false when answering a request we could not parse
	if s.poller.Waker.Woken() {
		keep = false // shutting down: this is the connection's last response
	}
	h.Close = !keep
	if keep && parsed && s.req.Minor == 0 {
		h.KeepAlive10 = true // HTTP/1.0 persistence must be announced (RFC 9112, 9.3)
	}
	noBody := parsed && string(s.req.Method) == "HEAD"
	b := http1.AppendHead(s.wbuf[:0], h, s.clock.Date(now))
	headLen := len(b)
	if !noBody {
		b = append(b, body...)
	}
	s.wbuf = b[:0] // keep whatever the buffer grew to
	r.line.status = h.Status
	c.SetWriteDeadline(now.Add(s.cfg.WriteTimeout))
	n, err := c.Write(b)
	sent := int64(n - headLen)
	if f != nil && err == nil && !noBody {
		sent, err = c.SendFile(f, 0, f.Size)
	}
	r.line.bytes = max(sent, 0)
	r.line.finish = time.Now()
	if err != nil {
		s.connError(err)
		r.abort = true
		return false
	}
	return keep
}

// pageInfo gathers what the default page tells the visitor.
func (s *server) pageInfo(c *sock.Conn, r *round) *page.Info {
	return &page.Info{
		Peer:          c.Peer.String(),
		Listener:      c.Accept.Listener.String(),
		ListenerPort:  c.Accept.Listener.Port,
		FD:            c.FD(),
		ListenFD:      s.l.FD(),
		Wait:          s.poller.Strategy.String(),
		AcceptCalls:   c.Accept.Calls,
		AcceptEAGAINs: c.Accept.EAGAINs,
		AcceptWaits:   c.Accept.Waits,
		Request:       r.n,
		Reads:         r.reads,
		ReadWaits:     r.waits,
		Head:          s.rbuf[:r.head],
	}
}

// isPeerGone reports the ordinary ways a client disappears.
func isPeerGone(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ENOTCONN) || errors.Is(err, sock.ErrTimeout) || err == io.EOF
}

func errorf(w io.Writer, format string, args ...any) {
	var b bytes.Buffer
	b.WriteString("rawserve: ")
	fmt.Fprintf(&b, format, args...)
	b.WriteByte('\n')
	w.Write(b.Bytes())
}
