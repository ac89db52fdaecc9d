// Package ref holds what the hand-written reference servers (seedpost and
// gnet) share: the body every server answers GET / with, a strict enough
// parser for one request head, the response head, and the mapping from a
// URL path to a file beneath the served directory.
//
// It is deliberately small: enough HTTP/1.1 to be correct for the
// benchmark's clients (keep-alive, pipelining, Connection: close, HTTP/1.0),
// not a general server.
package ref

import (
	"bytes"
	"errors"
	"io"
	"log"
	"mime"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// Body is what every server in the benchmark answers GET / with: 13 bytes.
const Body = "Hello, World!"

// ContentType is the Content-Type of Body.
const ContentType = "text/plain"

// slashFields are the fields the hand-written servers (gnet, the seed
// post's loop) add to their answer to GET /, beside Date, Content-Type and
// Content-Length: those of a file's answer, as rawserve and nginx send for
// the index.html that holds Body — the server, the validators (the time
// the server started, and a strong tag of Body), and Accept-Ranges, which
// says "none": these servers do not answer ranges. The pipelined scenario
// keeps its one wrk thread busy on its whole CPU, so that the rate it
// measures is in part the client's cost of reading each answer; with the
// same fields the heads are of a size (within a few bytes), and the
// comparison is of the servers.
var slashFields = []byte("Server: gnet-ref\r\n" +
	"Last-Modified: " + time.Now().UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT") + "\r\n" +
	"ETag: \"" + strconv.FormatUint(fnv64(Body), 16) + "\"\r\n" +
	"Accept-Ranges: none\r\n")

// fnv64 is FNV-1a, a strong enough tag for one constant body.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// MaxHead is the largest request head accepted; a longer one is refused.
const MaxHead = 16 << 10

// MaxBody is the largest request body accepted (and discarded).
const MaxBody = 64 << 10

// Errors from ParseHead. Each ends the connection after its response.
var (
	ErrTooLarge    = errors.New("request head too large")          // 431
	ErrMalformed   = errors.New("malformed request")               // 400
	ErrUnsupported = errors.New("transfer coding not implemented") // 501
	ErrBodyTooBig  = errors.New("request body too large")          // 413
)

// Request is one parsed request head. Method and Path alias the buffer
// that was parsed: they are valid until it is reused.
type Request struct {
	Method        []byte
	Path          []byte // without the query
	KeepAlive     bool   // per the version and the Connection field
	ContentLength int
}

// ParseHead parses the request head at the start of b. It returns the
// head's length n, or n == 0 and no error when b does not hold a whole
// head yet.
func ParseHead(b []byte) (req Request, n int, err error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if len(b) > MaxHead {
			return req, 0, ErrTooLarge
		}
		return req, 0, nil
	}
	if end+4 > MaxHead {
		return req, 0, ErrTooLarge
	}
	n = end + 4
	head := b[:end+2] // every line, each with its CRLF

	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	method, line, ok1 := bytes.Cut(line, []byte(" "))
	target, version, ok2 := bytes.Cut(line, []byte(" "))
	if !ok1 || !ok2 || len(method) == 0 || len(target) == 0 || target[0] != '/' {
		return req, 0, ErrMalformed
	}
	switch string(version) {
	case "HTTP/1.1":
		req.KeepAlive = true
	case "HTTP/1.0":
		req.KeepAlive = false
	default:
		return req, 0, ErrMalformed
	}
	req.Method = method
	req.Path, _, _ = bytes.Cut(target, []byte("?"))

	for len(rest) > 0 {
		var field []byte
		field, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(field, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			return req, 0, ErrMalformed
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Connection")):
			for _, tok := range bytes.Split(value, []byte(",")) {
				tok = bytes.TrimSpace(tok)
				if bytes.EqualFold(tok, []byte("close")) {
					req.KeepAlive = false
				} else if bytes.EqualFold(tok, []byte("keep-alive")) && string(version) == "HTTP/1.0" {
					req.KeepAlive = true
				}
			}
		case bytes.EqualFold(name, []byte("Content-Length")):
			cl, err := strconv.Atoi(string(value))
			if err != nil || cl < 0 {
				return req, 0, ErrMalformed
			}
			if cl > MaxBody {
				return req, 0, ErrBodyTooBig
			}
			req.ContentLength = cl
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return req, 0, ErrUnsupported
		}
	}
	return req, n, nil
}

// Status is the status code ParseHead's error calls for.
func Status(err error) int {
	switch err {
	case ErrTooLarge:
		return 431
	case ErrUnsupported:
		return 501
	case ErrBodyTooBig:
		return 413
	}
	return 400
}

var reasons = map[int]string{
	200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
	413: "Content Too Large", 431: "Request Header Fields Too Large",
	500: "Internal Server Error", 501: "Not Implemented",
}

// AppendHead appends a response head to dst. A non-nil date is sent as
// the Date field (see Date).
func AppendHead(dst []byte, status int, contentType string, contentLength int, keepAlive bool, date []byte) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, reasons[status]...)
	dst = append(dst, "\r\n"...)
	if date != nil {
		dst = append(dst, "Date: "...)
		dst = append(dst, date...)
		dst = append(dst, "\r\n"...)
	}
	if contentType != "" {
		dst = append(dst, "Content-Type: "...)
		dst = append(dst, contentType...)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(contentLength), 10)
	if !keepAlive {
		dst = append(dst, "\r\nConnection: close"...)
	}
	return append(dst, "\r\n\r\n"...)
}

type dateCache struct {
	sec  int64
	text []byte
}

var cachedDate atomic.Pointer[dateCache]

// Date returns the current time in HTTP's format, made at most once a
// second. Safe for concurrent use; the result must not be modified.
func Date() []byte {
	now := time.Now()
	if d := cachedDate.Load(); d != nil && d.sec == now.Unix() {
		return d.text
	}
	d := &dateCache{sec: now.Unix(), text: now.UTC().AppendFormat(nil, "Mon, 02 Jan 2006 15:04:05 GMT")}
	cachedDate.Store(d)
	return d.text
}

// File maps a URL path to a file name beneath root. Paths are cleaned as
// net/http.FileServer cleans them, so ".." never climbs above root; a path
// with a NUL byte is refused.
func File(root string, urlPath []byte) (string, bool) {
	if len(urlPath) == 0 || urlPath[0] != '/' || bytes.IndexByte(urlPath, 0) >= 0 {
		return "", false
	}
	return filepath.Join(root, filepath.FromSlash(path.Clean(string(urlPath)))), true
}

// TypeOf is the Content-Type for a file name, by its extension.
func TypeOf(name string) string {
	if t := mime.TypeByExtension(filepath.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Respond appends the whole response to req to dst: Body for GET /, the
// file's bytes, read whole, for any other path beneath root, 404 when
// there is no such file, 405 for methods other than GET and HEAD. It
// reports whether the connection may stay open: keepAlive, unless a read
// failed after the head was made (then a 500 that closes replaces it).
func Respond(dst []byte, root string, req Request, keepAlive bool) ([]byte, bool) {
	date := Date()
	get := string(req.Method) == "GET"
	if !get && string(req.Method) != "HEAD" {
		return AppendHead(dst, 405, "", 0, keepAlive, date), keepAlive
	}
	if string(req.Path) == "/" {
		dst = AppendHead(dst, 200, ContentType+"; charset=utf-8", len(Body), keepAlive, date)
		dst = append(dst[:len(dst)-2], slashFields...) // before the empty line
		dst = append(dst, "\r\n"...)
		if get {
			dst = append(dst, Body...)
		}
		return dst, keepAlive
	}
	name, ok := File(root, req.Path)
	if !ok {
		return AppendHead(dst, 404, "", 0, keepAlive, date), keepAlive
	}
	f, err := os.Open(name)
	if err != nil {
		return AppendHead(dst, 404, "", 0, keepAlive, date), keepAlive
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return AppendHead(dst, 404, "", 0, keepAlive, date), keepAlive
	}
	size := int(st.Size())
	headStart := len(dst)
	dst = AppendHead(dst, 200, TypeOf(name), size, keepAlive, date)
	if !get {
		return dst, keepAlive
	}
	start := len(dst)
	dst = slices.Grow(dst, size)[:start+size]
	if _, err := io.ReadFull(f, dst[start:]); err != nil {
		// The head is promised; a file that shrank cannot keep the promise.
		return AppendHead(dst[:headStart], 500, "", 0, false, date), false
	}
	return dst, keepAlive
}

// MustLoopback exits unless addr (host:port) is on the loopback network:
// the benchmark's clients send traffic to this machine only.
func MustLoopback(prog, addr string) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("%s: the address must be a loopback one (127.0.0.1:PORT), not %q", prog, addr)
	}
}

// Get is a keep-alive GET request for path, as the clients send it.
func Get(path, addr string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\n\r\n")
}
