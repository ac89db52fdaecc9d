package page

import (
	"bytes"
	"slices"
	"strconv"
	"sync"
)

// Story keeps the narration of the calls made for a connection — one line
// per system call, in strace's syntax, as sock's tracer writes them — so
// that the page can show a visitor the calls the server made for them. It
// is an io.Writer; the tracer writes whole lines, from the serving threads
// and, for a signal's wake-up, from another, hence the mutex.
//
// It keeps them one of two ways. The serial model serves one connection at
// a time, so its Story is that connection's: the loop resets it before each
// accept, and it keeps the first StoryLines lines since. The epoll model's
// calls for many connections interleave, so its Story is a journal
// (NewJournal): the last JournalLines calls of them all, from which the page
// picks the visitor's own — those on their descriptor since the accept4 that
// returned it, and each epoll_pwait that reported it (or, before the accept,
// the listener).
type Story struct {
	mu      sync.Mutex
	lines   [][]byte // the first StoryLines lines since Reset; in a journal, a ring
	dropped int      // lines after those
	journal bool
	next    int // in a journal, where the next line goes once the ring is full
}

// StoryLines bounds what one connection's story keeps: a long-lived
// keep-alive connection would otherwise grow it without end.
const StoryLines = 48

// JournalLines is how many of the latest calls a journal keeps.
const JournalLines = 512

// NewJournal returns a Story that keeps the latest calls of every
// connection, for the epoll model.
func NewJournal() *Story { return &Story{journal: true} }

// Write records one narration line (a call may not be split over writes).
func (s *Story) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	line := bytes.TrimRight(p, "\n")
	if bytes.HasPrefix(line, []byte("write(1, ")) || bytes.HasPrefix(line, []byte("write(2, ")) {
		return len(p), nil // the access log and stderr's lines: the server's, but not the visitor's calls
	}
	switch n := len(s.lines); {
	case s.journal && n == JournalLines:
		s.lines[s.next] = append(s.lines[s.next][:0], line...)
		s.next = (s.next + 1) % JournalLines
	case !s.journal && n >= StoryLines:
		s.dropped++
	case n < cap(s.lines):
		s.lines = s.lines[:n+1]
		s.lines[n] = append(s.lines[n][:0], line...)
	default:
		s.lines = append(s.lines, append([]byte(nil), line...))
	}
	return len(p), nil
}

// Reset forgets the story, keeping its buffers. A journal keeps its lines:
// they are other connections' too.
func (s *Story) Reset() {
	s.mu.Lock()
	if !s.journal {
		s.lines, s.dropped = s.lines[:0], 0
	}
	s.mu.Unlock()
}

// forConn is the story of connection fd: all of a serial Story; from a
// journal, the visitor's calls picked out, oldest first, at most StoryLines
// of them. more is how many calls are left out, and whole whether the story
// begins at the accept (a journal may no longer hold it).
func (s *Story) forConn(fd int) (lines [][]byte, more int, whole bool) {
	if !s.journal {
		return s.lines, s.dropped, true
	}
	fdArg := strconv.Itoa(fd)
	reported := []byte("u32=" + fdArg + ",")
	accepted := []byte(") = " + fdArg)
	ring := len(s.lines)
	var picked [][]byte
	for i := 0; i < ring; i++ {
		l := s.lines[(s.next+ring-1-i)%ring] // newest first
		name, args, _ := bytes.Cut(l, []byte("("))
		first, _, _ := bytes.Cut(args, []byte(", "))
		switch {
		case string(name) == "accept4" && bytes.HasSuffix(l, accepted):
			picked = append(picked, l)
			// The wait that reported the listener readable, just before.
			for j := i + 1; j < ring; j++ {
				if w := s.lines[(s.next+ring-1-j)%ring]; bytes.HasPrefix(w, []byte("epoll_pwait(")) {
					picked = append(picked, w)
					break
				}
			}
			whole = true
		case string(name) == "epoll_pwait" && bytes.Contains(l, reported),
			string(first) == fdArg && string(name) != "epoll_pwait",
			string(name) == "epoll_ctl" && bytes.Contains(args, []byte(", "+fdArg+", ")):
			picked = append(picked, l)
		}
		if whole {
			break
		}
	}
	slices.Reverse(picked)
	n := min(len(picked), StoryLines)
	return picked[:n], len(picked) - n, whole
}

// appendHTML renders the story as a list: each call, escaped (a read shows
// the client's own bytes), with a sentence on what it did and a link to
// the walkthrough section that explains it.
func (s *Story) appendHTML(dst []byte, fd int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	lines, more, whole := s.forConn(fd)
	if len(lines) == 0 {
		return append(dst, "<p>(The narration is off: start rawserve without -dir to see the calls here.)</p>\n"...)
	}
	if !whole {
		dst = append(dst, "<p>(Your first calls have left the journal: it keeps the latest "+strconv.Itoa(JournalLines)+" calls of every connection.)</p>\n"...)
	}
	dst = append(dst, "<ol class=\"trace\">\n"...)
	for _, l := range lines {
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
	if more > 0 {
		dst = append(dst, "<li>… and "...)
		dst = strconv.AppendInt(dst, int64(more), 10)
		dst = append(dst, " more calls on this connection.</li>\n"...)
	}
	return append(dst, "</ol>\n"...)
}

const walkthrough = "/docs/walkthrough.md" // served by this binary in demo mode (Doc)

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
	case "epoll_pwait":
		return "The server's one wait for all its connections: it slept here until the kernel reported events — this one among them, for your connection or (before the accept) for the listener.", "waiting"
	case "epoll_ctl":
		return "Your connection joins the loop's epoll set, once for its life, edge-triggered: from now on the kernel reports changes on it.", "waiting"
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
