package page

import (
	"bytes"
	"strconv"
	"sync"
)

// Story keeps the narration of the connection being served — one line per
// system call, in strace's syntax, as sock's tracer writes them — so that
// the page can show a visitor the calls the server made for them. The
// serving loop resets it before each accept. It is an io.Writer; the tracer
// writes whole lines, from the serving goroutine and, for a signal's wake-up,
// from another, hence the mutex.
type Story struct {
	mu      sync.Mutex
	lines   [][]byte // the first StoryLines lines since Reset
	dropped int      // lines after those
}

// StoryLines bounds what one connection's story keeps: a long-lived
// keep-alive connection would otherwise grow it without end.
const StoryLines = 48

// Write records one narration line (a call may not be split over writes).
func (s *Story) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lines) >= StoryLines {
		s.dropped++
		return len(p), nil
	}
	n := len(s.lines)
	if n < cap(s.lines) {
		s.lines = s.lines[:n+1]
		s.lines[n] = append(s.lines[n][:0], bytes.TrimRight(p, "\n")...)
	} else {
		s.lines = append(s.lines, append([]byte(nil), bytes.TrimRight(p, "\n")...))
	}
	return len(p), nil
}

// Reset forgets the story, keeping its buffers.
func (s *Story) Reset() {
	s.mu.Lock()
	s.lines, s.dropped = s.lines[:0], 0
	s.mu.Unlock()
}

// appendHTML renders the story as a list: each call, escaped (a read shows
// the client's own bytes), with a sentence on what it did and a link to
// the walkthrough section that explains it.
func (s *Story) appendHTML(dst []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lines) == 0 {
		return append(dst, "<p>(The narration is off: start rawserve without -dir to see the calls here.)</p>\n"...)
	}
	dst = append(dst, "<ol class=\"trace\">\n"...)
	for _, l := range s.lines {
		dst = append(dst, "<li><code>"...)
		dst = AppendEscaped(dst, string(l))
		dst = append(dst, "</code>"...)
		if why, anchor := explain(l); why != "" {
			dst = append(dst, "<br>"...)
			dst = append(dst, why...)
			dst = append(dst, ` <a href="`+walkthrough+`#`...)
			dst = append(dst, anchor...)
			dst = append(dst, "\">More</a>"...)
		}
		dst = append(dst, "</li>\n"...)
	}
	if s.dropped > 0 {
		dst = append(dst, "<li>… and "...)
		dst = strconv.AppendInt(dst, int64(s.dropped), 10)
		dst = append(dst, " more calls on this connection.</li>\n"...)
	}
	return append(dst, "</ol>\n"...)
}

const walkthrough = "https://github.com/rawserve/rawserve/blob/main/docs/walkthrough.md"

// explain says in a sentence what a narrated call did, by its name and
// result, and which walkthrough section tells more.
func explain(l []byte) (string, string) {
	name, _, _ := bytes.Cut(l, []byte("("))
	eagain := bytes.Contains(l, []byte("= -1 EAGAIN"))
	switch string(name) {
	case "accept4":
		if eagain {
			return "No connection was waiting yet. The listener is nonblocking, so the kernel answered “not now” (EAGAIN) instead of putting the server to sleep.", "accepting"
		}
		return "Your connection, taken off the kernel's accept queue: the number after “=” is its new file descriptor. Its local port is the listener's own.", "accepting"
	case "ppoll":
		return "The server slept here, using no CPU, until a descriptor in the set was ready (your bytes or your handshake), its deadline passed, or SIGTERM's eventfd fired.", "waiting"
	case "read":
		if eagain {
			return "Nothing had arrived yet: EAGAIN, “not now”.", "reading"
		}
		if bytes.HasSuffix(l, []byte("= 0")) {
			return "0 bytes: the end of the stream, the peer's FIN.", "reading"
		}
		return "Your request's bytes, as many as had arrived: read returns what is there, it does not wait for your FIN.", "reading"
	case "write":
		return "A response on this connection, status line, headers and body in one call.", "writing"
	case "sendfile":
		return "A file's bytes, copied by the kernel from the page cache to the socket.", "writing"
	}
	return "", ""
}
