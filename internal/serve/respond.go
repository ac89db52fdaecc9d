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
	"github.com/rawserve/rawserve/internal/static"
)

const allow = "GET, HEAD, OPTIONS"

// reply is a composed response, ready to send: out holds the head and, when
// the body is in memory, the body too, so that one write(2) sends both; a
// body from a file follows with sendfile(2). Composing and sending are apart
// so each model sends in its own way — the serial one waiting for room, the
// event loop when epoll says there is room — and the event loop can gather
// the responses of pipelined requests into one write.
type reply struct {
	out     []byte     // appended to: it may hold earlier responses still unsent
	headLen int        // the last head's length, to count body bytes sent
	file    *sock.File // nil: no file body. The reply owns it: the sender closes it
	off, n  int64      // the section of file to send
	keep    bool       // the connection may carry another request
}

// respond composes the answer to the request in s.req into rep and reports
// whether the connection may carry another request.
func (s *server) respond(c *sock.Conn, r *round, rep *reply) (keep bool) {
	req := &s.req
	keep = !req.Close

	switch string(req.Method) { // no allocation: the compiler sees through it
	case "GET", "HEAD":
	case "OPTIONS":
		return s.writeHead(r, rep, &http1.Head{Status: 204, ContentLength: -1, Allow: allow}, nil, nil, 0, keep)
	case "POST", "PUT", "DELETE", "PATCH", "CONNECT", "TRACE":
		// Methods HTTP defines that this server does not offer on any
		// resource (RFC 9110, 15.5.6). CONNECT would turn the connection
		// into a tunnel: always close after refusing it.
		return s.writeError(r, rep, 405, !keep || string(req.Method) == "CONNECT")
	default:
		return s.writeError(r, rep, 501, !keep)
	}

	if string(req.Path) == "/healthz" {
		r.quiet = !s.cfg.LogHealthz
		return s.writeHead(r, rep, &http1.Head{Status: 200, ContentType: "text/plain; charset=utf-8", ContentLength: 3}, []byte("ok\n"), nil, 0, keep)
	}
	if s.cfg.Dir == nil {
		if string(req.Path) != "/" && string(req.Path) != "/index.html" {
			return s.writeError(r, rep, 404, !keep)
		}
		s.body = page.Append(s.body[:0], s.pageInfo(c, r))
		h := http1.Head{Status: 200, ContentType: "text/html; charset=utf-8", ContentLength: int64(len(s.body))}
		return s.writeHead(r, rep, &h, s.body, nil, 0, keep)
	}
	if s.cache != nil {
		if e := s.cache.Get(req.Path, time.Now()); e != nil {
			return s.serveFile(r, rep, cached(e), e.ContentType, keep)
		}
	}
	res := s.cfg.Dir.Lookup(req.Path)
	switch res.Status {
	case 200:
		f := res.File
		if f == nil { // a directory listing
			h := http1.Head{Status: 200, ContentType: res.ContentType, ContentLength: int64(len(res.Body))}
			return s.writeHead(r, rep, &h, res.Body, nil, 0, keep)
		}
		if s.cache != nil {
			if e := s.cache.Put(req.Path, f, res.ContentType, time.Now()); e != nil {
				f.Close()
				return s.serveFile(r, rep, cached(e), e.ContentType, keep)
			}
		}
		keep = s.serveFile(r, rep, content{ino: f.Ino, size: f.Size, mod: f.ModTime, file: f}, res.ContentType, keep)
		if rep.file != f {
			f.Close() // answered without its bytes (304, 412, 416, HEAD)
		}
		return keep
	case 301:
		body := []byte("301 Moved Permanently\n")
		h := http1.Head{Status: 301, ContentType: "text/plain; charset=utf-8", ContentLength: int64(len(body)), Location: res.Location}
		return s.writeHead(r, rep, &h, body, nil, 0, keep)
	}
	return s.writeError(r, rep, res.Status, !keep)
}

// content is a file to answer with: on disk (file, sent with sendfile) or
// in memory (body, from the cache), and what fstat said about it.
type content struct {
	ino  uint64
	size int64
	mod  time.Time
	file *sock.File
	body []byte
}

// cached is a file answered from the cache's copy.
func cached(e *static.Entry) content {
	return content{ino: e.Ino, size: e.Size, mod: e.ModTime, body: e.Body}
}

// serveFile answers with a file: whole (200) or in part (206), or not at
// all when the client's copy is still current (304), a precondition fails
// (412) or the range asked for is not in the file (416). The validators are
// the file's Last-Modified and a strong ETag made from its inode, size and
// modification time (RFC 9110, 8.8).
func (s *server) serveFile(r *round, rep *reply, f content, ctype string, keep bool) bool {
	s.etag = http1.AppendETag(s.etag[:0], f.ino, f.size, f.mod)
	// A modification time in the future (a skewed clock, a touch -d) must
	// not be sent as one: Last-Modified is at most the response's Date
	// (RFC 9110, 8.8.2.1).
	lm := f.mod
	if now := time.Now().Truncate(time.Second); lm.After(now) {
		lm = now
	}
	v := http1.Validators{ETag: s.etag, LastModified: lm}
	switch http1.Preconditions(&s.req, v) {
	case 304:
		// No content, but the validators the 200 would have carried
		// (RFC 9110, 15.4.5).
		h := http1.Head{Status: 304, ContentLength: -1, ETag: s.etag, LastModified: lm}
		return s.writeHead(r, rep, &h, nil, nil, 0, keep)
	case 412:
		return s.writeError(r, rep, 412, !keep)
	}
	h := http1.Head{Status: 200, ContentType: ctype, ContentLength: f.size,
		LastModified: lm, ETag: s.etag, AcceptRanges: true}
	rg, status := http1.RangeFor(&s.req, f.size, v)
	switch status {
	case 206:
		h.Status, h.ContentLength = 206, rg.End-rg.Start
		h.ContentRange, h.RangeSize = rg, f.size
		if f.file == nil {
			return s.writeHead(r, rep, &h, f.body[rg.Start:rg.End], nil, 0, keep)
		}
		return s.writeHead(r, rep, &h, nil, f.file, rg.Start, keep)
	case 416:
		h := s.errorHead(416)
		h.RangeUnsatisfied, h.RangeSize = true, f.size // "Content-Range: bytes */size"
		return s.writeHead(r, rep, &h, s.body, nil, 0, keep)
	}
	return s.writeHead(r, rep, &h, f.body, f.file, 0, keep)
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
func (s *server) writeError(r *round, rep *reply, status int, close bool) bool {
	h := s.errorHead(status)
	return s.writeHead(r, rep, &h, s.body, nil, 0, !close)
}

// writeHead composes the head h and then the body into rep: bytes in
// memory, appended behind the head so one write(2) sends both, or
// h.ContentLength bytes of a file from off, for sendfile(2) after it.
// A HEAD request gets the head alone, with GET's Content-Length. It reports
// whether the connection may continue.
func (s *server) writeHead(r *round, rep *reply, h *http1.Head, body []byte, f *sock.File, off int64, keep bool) bool {
	parsed := r.line.method != nil // false when answering a request we could not parse
	if s.waker.Woken() {
		keep = false // shutting down: this is the connection's last response
	}
	h.Close = !keep
	if keep && parsed && s.req.Minor == 0 {
		h.KeepAlive10 = true // HTTP/1.0 persistence must be announced (RFC 9112, 9.3)
	}
	noBody := parsed && string(s.req.Method) == "HEAD"
	start := len(rep.out)
	rep.out = http1.AppendHead(rep.out, h, s.clock.Date(time.Now()))
	rep.headLen = len(rep.out) - start
	if !noBody {
		rep.out = append(rep.out, body...)
		if f != nil {
			rep.file, rep.off, rep.n = f, off, h.ContentLength
		}
	}
	rep.keep = keep
	r.line.status = h.Status
	r.line.bytes = int64(len(rep.out) - start - rep.headLen)
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
		Wait:          s.wait,
		Model:         s.model,
		AcceptCalls:   c.Accept.Calls,
		AcceptEAGAINs: c.Accept.EAGAINs,
		AcceptWaits:   c.Accept.Waits,
		Request:       r.n,
		Reads:         r.reads,
		ReadWaits:     r.waits,
		Head:          r.raw,
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
