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
	keep = !req.Close

	switch string(req.Method) { // no allocation: the compiler sees through it
	case "GET", "HEAD":
	case "OPTIONS":
		return s.writeHead(c, r, &http1.Head{Status: 204, ContentLength: -1, Allow: allow}, nil, nil, 0, keep)
	case "POST", "PUT", "DELETE", "PATCH", "CONNECT", "TRACE":
		// Methods HTTP defines that this server does not offer on any
		// resource (RFC 9110, 15.5.6). CONNECT would turn the connection
		// into a tunnel: always close after refusing it.
		return s.writeError(c, r, 405, !keep || string(req.Method) == "CONNECT")
	default:
		return s.writeError(c, r, 501, !keep)
	}

	if string(req.Path) == "/healthz" {
		r.quiet = !s.cfg.LogHealthz
		return s.writeHead(c, r, &http1.Head{Status: 200, ContentType: "text/plain; charset=utf-8", ContentLength: 3}, []byte("ok\n"), nil, 0, keep)
	}
	if s.cfg.Dir == nil {
		if string(req.Path) != "/" && string(req.Path) != "/index.html" {
			return s.writeError(c, r, 404, !keep)
		}
		s.body = page.Append(s.body[:0], s.pageInfo(c, r))
		h := http1.Head{Status: 200, ContentType: "text/html; charset=utf-8", ContentLength: int64(len(s.body))}
		return s.writeHead(c, r, &h, s.body, nil, 0, keep)
	}
	res := s.cfg.Dir.Lookup(req.Path)
	switch res.Status {
	case 200:
		if res.File == nil { // a directory listing
			h := http1.Head{Status: 200, ContentType: res.ContentType, ContentLength: int64(len(res.Body))}
			return s.writeHead(c, r, &h, res.Body, nil, 0, keep)
		}
		defer res.File.Close()
		return s.serveFile(c, r, res.File, res.ContentType, keep)
	case 301:
		body := []byte("301 Moved Permanently\n")
		h := http1.Head{Status: 301, ContentType: "text/plain; charset=utf-8", ContentLength: int64(len(body)), Location: res.Location}
		return s.writeHead(c, r, &h, body, nil, 0, keep)
	}
	return s.writeError(c, r, res.Status, !keep)
}

// serveFile answers with a file: whole (200) or in part (206), or not at
// all when the client's copy is still current (304), a precondition fails
// (412) or the range asked for is not in the file (416). The validators are
// the file's Last-Modified and a strong ETag made from its inode, size and
// modification time (RFC 9110, 8.8).
func (s *server) serveFile(c *sock.Conn, r *round, f *sock.File, ctype string, keep bool) bool {
	s.etag = http1.AppendETag(s.etag[:0], f.Ino, f.Size, f.ModTime)
	// A modification time in the future (a skewed clock, a touch -d) must
	// not be sent as one: Last-Modified is at most the response's Date
	// (RFC 9110, 8.8.2.1).
	lm := f.ModTime
	if now := time.Now().Truncate(time.Second); lm.After(now) {
		lm = now
	}
	v := http1.Validators{ETag: s.etag, LastModified: lm}
	switch http1.Preconditions(&s.req, v) {
	case 304:
		// No content, but the validators the 200 would have carried
		// (RFC 9110, 15.4.5).
		h := http1.Head{Status: 304, ContentLength: -1, ETag: s.etag, LastModified: lm}
		return s.writeHead(c, r, &h, nil, nil, 0, keep)
	case 412:
		return s.writeError(c, r, 412, !keep)
	}
	h := http1.Head{Status: 200, ContentType: ctype, ContentLength: f.Size,
		LastModified: lm, ETag: s.etag, AcceptRanges: true}
	rg, status := http1.RangeFor(&s.req, f.Size, v)
	switch status {
	case 206:
		h.Status, h.ContentLength = 206, rg.End-rg.Start
		h.ContentRange, h.RangeSize = rg, f.Size
		return s.writeHead(c, r, &h, nil, f, rg.Start, keep)
	case 416:
		h := s.errorHead(416)
		h.RangeUnsatisfied, h.RangeSize = true, f.Size // "Content-Range: bytes */size"
		return s.writeHead(c, r, &h, s.body, nil, 0, keep)
	}
	return s.writeHead(c, r, &h, nil, f, 0, keep)
}

// errorHead puts a one-line plain-text body ("404 Not Found") in s.body and
// returns the head that goes with it.
func (s *server) errorHead(status int) http1.Head {
	s.body = strconv.AppendInt(s.body[:0], int64(status), 10)
	s.body = append(s.body, ' ')
	s.body = append(s.body, http1.StatusText(status)...)
	s.body = append(s.body, '\n')
	h := http1.Head{Status: status, ContentType: "text/plain; charset=utf-8", ContentLength: int64(len(s.body))}
	if status == 405 {
		h.Allow = allow
	}
	return h
}

// writeError answers with status and its one-line body, closing the
// connection after it if close is set. It reports whether the connection
// may continue.
func (s *server) writeError(c *sock.Conn, r *round, status int, close bool) bool {
	h := s.errorHead(status)
	return s.writeHead(c, r, &h, s.body, nil, 0, !close)
}

// writeHead sends the head h and then the body: bytes in memory, sent in
// the same write(2) as the head, or h.ContentLength bytes of a file from
// off, sent with sendfile(2) after it.
// A HEAD request gets the head alone, with GET's Content-Length. It reports
// whether the connection may continue.
func (s *server) writeHead(c *sock.Conn, r *round, h *http1.Head, body []byte, f *sock.File, off int64, keep bool) bool {
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
		sent, err = c.SendFile(f, off, h.ContentLength)
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
		Story:         s.cfg.Story,
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
