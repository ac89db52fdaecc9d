package httpconn

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/rawserve/rawserve/internal/http1"
	"github.com/rawserve/rawserve/internal/page"
	"github.com/rawserve/rawserve/internal/sock"
	"github.com/rawserve/rawserve/internal/static"
)

// What this server answers, composed into the connection's output: the
// head and, when the body is in memory, the body too, so that one write(2)
// sends both; a body from a file is left as sections of c.file for
// sendfile(2).

const allow = "GET, HEAD, OPTIONS"

// compose appends the answer to the request in hand to c.out and reports
// whether the connection may carry another request.
func (c *Conn) compose() (keep bool) {
	req := &c.in.req
	keep = !req.Close

	switch string(req.Method) { // no allocation: the compiler sees through it
	case "GET", "HEAD":
	case "OPTIONS":
		return c.respond(&http1.Head{Status: 204, ContentLength: -1, Allow: allow}, nil, nil, 0, keep)
	case "POST", "PUT", "DELETE", "PATCH", "CONNECT", "TRACE":
		// Methods HTTP defines that this server does not offer on any
		// resource (RFC 9110, 15.5.6). CONNECT would turn the connection
		// into a tunnel: always close after refusing it.
		return c.errorResponse(405, !keep || string(req.Method) == "CONNECT")
	default:
		return c.errorResponse(501, !keep)
	}

	srv := c.srv
	if string(req.Path) == "/healthz" {
		c.r.quiet = !srv.cfg.LogHealthz
		return c.respond(&http1.Head{Status: 200, ContentType: "text/plain; charset=utf-8", ContentLength: 3}, []byte("ok\n"), nil, 0, keep)
	}
	if srv.cfg.Dir == nil {
		if bytes.HasPrefix(req.Path, []byte("/docs/")) {
			// The docs the demo page links to, served from the binary.
			body, ctype, ok := page.Doc(string(req.Path))
			if !ok {
				return c.errorResponse(404, !keep)
			}
			h := http1.Head{Status: 200, ContentType: ctype, ContentLength: int64(len(body))}
			return c.respond(&h, body, nil, 0, keep)
		}
		if string(req.Path) != "/" && string(req.Path) != "/index.html" {
			return c.errorResponse(404, !keep)
		}
		srv.body = page.Append(srv.body[:0], c.pageInfo())
		h := http1.Head{Status: 200, ContentType: "text/html; charset=utf-8", ContentLength: int64(len(srv.body))}
		return c.respond(&h, srv.body, nil, 0, keep)
	}
	if srv.cache != nil {
		if e := srv.cache.Get(req.Path, srv.batch, c.now); e != nil {
			return c.fileResponse(cached(e), e.ContentType, keep)
		}
	}
	res := srv.cfg.Dir.Lookup(req.Path)
	switch res.Status {
	case 200:
		f := res.File
		if f == nil { // a directory listing
			h := http1.Head{Status: 200, ContentType: res.ContentType, ContentLength: int64(len(res.Body))}
			return c.respond(&h, res.Body, nil, 0, keep)
		}
		if srv.cache != nil {
			if e := srv.cache.Put(res, c.now); e != nil {
				f.Close()
				return c.fileResponse(cached(e), e.ContentType, keep)
			}
		}
		srv.etag = http1.AppendETag(srv.etag[:0], f.Ino, f.Size, f.ChangeTime)
		keep = c.fileResponse(content{size: f.Size, mod: f.ModTime, file: f, etag: srv.etag}, res.ContentType, keep)
		if c.file != f {
			f.Close() // answered without its bytes (304, 412, 416, HEAD)
		}
		return keep
	case 301:
		body := []byte("301 Moved Permanently\n")
		h := http1.Head{Status: 301, ContentType: "text/plain; charset=utf-8", ContentLength: int64(len(body)), Location: res.Location}
		return c.respond(&h, body, nil, 0, keep)
	}
	return c.errorResponse(res.Status, !keep)
}

// content is a file to answer with: on disk (file, sent with sendfile) or
// in memory (body, from the cache), its modification time and its
// entity-tag.
type content struct {
	size  int64
	mod   time.Time
	file  *sock.File
	body  []byte
	etag  []byte
	entry *static.Entry // the cache's, when the body is its copy
}

// cached is a file answered from the cache's copy.
func cached(e *static.Entry) content {
	return content{size: int64(len(e.Body)), mod: e.ModTime, body: e.Body, etag: e.ETag, entry: e}
}

// fileResponse answers with a file: whole (200) or in part (206), or not at
// all when the client's copy is still current (304), a precondition fails
// (412) or the range asked for is not in the file (416). The validators are
// the file's Last-Modified and a strong ETag (RFC 9110, 8.8): for a copy in
// the cache a hash of its bytes, for a file from disk its inode, size and
// ctime.
func (c *Conn) fileResponse(f content, ctype string, keep bool) bool {
	srv, req := c.srv, &c.in.req
	// A modification time in the future (a skewed clock, a touch -d) must
	// not be sent as one: Last-Modified is at most the response's Date
	// (RFC 9110, 8.8.2.1).
	lm := f.mod
	if s, now := lm.Unix(), c.now.Unix(); s > now || s == now && lm.Nanosecond() > 0 {
		lm = time.Unix(now, 0) // the response's Date, to the second
	}
	v := http1.Validators{ETag: f.etag, LastModified: lm}
	var lmText []byte // Last-Modified written once per copy in the cache, not per response
	if e := f.entry; e != nil {
		if e.LastModified == nil {
			e.LastModified = http1.AppendIMFFixdate(nil, lm)
		}
		lmText = e.LastModified
	}
	switch http1.Preconditions(req, v) {
	case 304:
		// No content, but the validators the 200 would have carried
		// (RFC 9110, 15.4.5).
		h := http1.Head{Status: 304, ContentLength: -1, ETag: f.etag, LastModified: lm, LastModifiedText: lmText}
		return c.respond(&h, nil, nil, 0, keep)
	case 412:
		return c.errorResponse(412, !keep)
	}
	h := http1.Head{Status: 200, ContentType: ctype, ContentLength: f.size,
		LastModified: lm, LastModifiedText: lmText, ETag: f.etag, AcceptRanges: true}
	var buf [http1.MaxRanges]http1.Range
	ranges, status := http1.RangeFor(req, f.size, v, &buf)
	switch status {
	case 206:
		if len(ranges) > 1 {
			return c.byteranges(h, f, ranges, keep)
		}
		rg := ranges[0]
		h.Status, h.ContentLength = 206, rg.End-rg.Start
		h.ContentRange, h.RangeSize = rg, f.size
		if f.file == nil {
			return c.respond(&h, f.body[rg.Start:rg.End], nil, 0, keep)
		}
		return c.fromDisk(&h, f.file, rg.Start, keep)
	case 416:
		h := srv.errorHead(416)
		h.RangeUnsatisfied, h.RangeSize = true, f.size // "Content-Range: bytes */size"
		return c.respond(&h, srv.body, nil, 0, keep)
	}
	if f.entry != nil {
		return c.respondEntry(&h, f.entry, keep)
	}
	if f.file == nil {
		return c.respond(&h, f.body, nil, 0, keep)
	}
	return c.fromDisk(&h, f.file, 0, keep)
}

// respondEntry is respond for a whole copy in the cache. Kept alive over
// HTTP/1.1 — the response a busy client asks for again and again — its head
// differs from the last one's at most by the Date: it is composed once and
// kept with the entry, and when the second has changed only the date is
// written over.
func (c *Conn) respondEntry(h *http1.Head, e *static.Entry, keep bool) bool {
	req := &c.in.req
	if !keep || c.wrapUp || req.Minor == 0 || string(req.Method) != "GET" {
		return c.respond(h, e.Body, nil, 0, keep)
	}
	date := c.srv.clock.Date(c.now)
	if len(e.Head) == 0 {
		head := http1.AppendHead(nil, h, date)
		at := bytes.Index(head, []byte("\r\nDate: "))
		if at < 0 {
			return c.respond(h, e.Body, nil, 0, keep) // no Date to keep current
		}
		e.Head, e.HeadDate = head, at+len("\r\nDate: ")
	} else if d := e.Head[e.HeadDate : e.HeadDate+len(date)]; !bytes.Equal(d, date) {
		copy(d, date) // an IMF-fixdate is always 29 bytes
	}
	c.out = append(c.out, e.Head...)
	c.headEnd = len(c.out)
	c.out = append(c.out, e.Body...)
	c.r.line.status, c.r.line.bytes = 200, int64(len(e.Body))
	return true
}

// inlineBody is the largest body from disk read into the output behind its
// head, so that one write(2) sends both — one segment, one wake-up for the
// client — rather than sent by sendfile(2) after the head. Measured here
// (BenchmarkSmallBody, internal/sock): the read and copy win up to 16 KiB
// (1.6 µs against 4.3 µs a response for 512 bytes, 6.0 against 8.6 for
// 16 KiB); from 32 KiB on, sendfile does as well or better.
const inlineBody = 16 << 10

// fromDisk answers with h.ContentLength bytes of f from off: read behind
// the head when they are few (inlineBody), else by sendfile.
func (c *Conn) fromDisk(h *http1.Head, f *sock.File, off int64, keep bool) bool {
	if h.ContentLength > inlineBody || string(c.in.req.Method) == "HEAD" {
		return c.respond(h, nil, f, off, keep)
	}
	srv := c.srv
	srv.body = slices.Grow(srv.body[:0], int(h.ContentLength))[:h.ContentLength]
	if err := f.ReadFullAt(srv.body, off); err != nil {
		srv.Errorf("%v", err) // the file shrank, or the disk failed: nothing is sent yet
		return c.errorResponse(500, true)
	}
	return c.respond(h, srv.body, nil, 0, keep)
}

// byteranges answers a GET for several ranges of a file with one
// multipart/byteranges body (RFC 9110 §14.6), whose length is known before
// it is written. A file in memory gets the whole body composed behind the
// head. A file on disk gets the part heads composed in the output, with a
// section of the file due after each: the model writes the output up to the
// first section, sends that with sendfile(2), writes on up to the next, and
// so on (Output, Wrote, SentFile), so no part passes through memory.
func (c *Conn) byteranges(h http1.Head, f content, ranges []http1.Range, keep bool) bool {
	var boundary [http1.BoundaryLen]byte
	b := http1.Byteranges{Boundary: http1.AppendBoundary(boundary[:0], rand.Uint64()),
		ContentType: h.ContentType, Size: f.size, Ranges: ranges}
	h.Status, h.Boundary, h.ContentLength = 206, b.Boundary, b.Length()
	if f.file == nil {
		c.srv.body = b.AppendBody(c.srv.body[:0], f.body)
		return c.respond(&h, c.srv.body, nil, 0, keep)
	}
	keep = c.respond(&h, nil, nil, 0, keep)
	c.bodyAt = len(c.out)
	for i, rg := range ranges {
		c.out = b.AppendPartHead(c.out, i)
		c.addSection(f.file, rg.Start, rg.End-rg.Start)
	}
	c.out = b.AppendEnd(c.out)
	return keep
}

// errorHead puts a one-line plain-text body ("404 Not Found") in s.body and
// returns the head that goes with it.
func (s *Server) errorHead(status int) http1.Head {
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

// errorResponse answers with status and its one-line body, closing the
// connection after it if close is set. It reports whether the connection
// may continue.
func (c *Conn) errorResponse(status int, close bool) bool {
	h := c.srv.errorHead(status)
	return c.respond(&h, c.srv.body, nil, 0, !close)
}

// respond appends the head h and then the body to the output: bytes in
// memory, appended behind the head so one write(2) sends both, or
// h.ContentLength bytes of a file from off, for sendfile(2) after it. A
// HEAD request gets the head alone, with GET's Content-Length. It reports
// whether the connection may continue.
func (c *Conn) respond(h *http1.Head, body []byte, f *sock.File, off int64, keep bool) bool {
	parsed := c.r.line.method != nil // false when answering a request we could not parse
	if c.wrapUp {
		keep = false // the connection's last response
	}
	h.Close = !keep
	noBody := false
	if parsed {
		req := &c.in.req
		if keep && req.Minor == 0 {
			h.KeepAlive10 = true // HTTP/1.0 persistence must be announced (RFC 9112, 9.3)
		}
		noBody = string(req.Method) == "HEAD"
	}
	c.out = http1.AppendHead(c.out, h, c.srv.clock.Date(c.now))
	c.headEnd = len(c.out)
	c.r.line.status = h.Status
	c.r.line.bytes = 0
	if !noBody {
		c.out = append(c.out, body...)
		c.r.line.bytes = int64(len(body))
		if f != nil {
			c.addSection(f, off, h.ContentLength)
		}
	}
	return keep
}

// addSection has n bytes of f, from off, sent with sendfile(2) once the
// output composed so far is written. The first section is the Conn's to
// hold; the further ones of a multipart/byteranges body wait in a list from
// the server's pool.
func (c *Conn) addSection(f *sock.File, off, n int64) {
	s := section{end: len(c.out), off: off, n: n}
	if c.file == nil {
		c.file, c.section = f, s
		return
	}
	if c.more == nil {
		c.more = c.srv.getSections()
	}
	c.more.list = append(c.more.list, s)
}

// pageInfo gathers what the default page tells the visitor.
func (c *Conn) pageInfo() *page.Info {
	r := &c.r
	return &page.Info{
		Peer:          c.addr.String(),
		Listener:      c.accept.Listener.String(),
		ListenerPort:  c.accept.Listener.Port,
		FD:            c.fd,
		ListenFD:      c.srv.model.ListenFD,
		Wait:          c.srv.model.Wait,
		Model:         c.srv.model.Name,
		AcceptCalls:   c.accept.Calls,
		AcceptEAGAINs: c.accept.EAGAINs,
		AcceptWaits:   c.accept.Waits,
		Request:       r.n,
		Reads:         r.reads,
		ReadWaits:     r.waits,
		Head:          r.raw,
		Story:         c.srv.cfg.Story,
	}
}

// isPeerGone reports the ordinary ways a client disappears.
func isPeerGone(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ENOTCONN) || errors.Is(err, sock.ErrTimeout) || err == io.EOF
}
