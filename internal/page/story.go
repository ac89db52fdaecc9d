package page

import (
	"bytes"
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
//
// The visitor's calls are those since the one that returned their
// descriptor (accept4; in the uring model the accept's completion), on
// that descriptor — and the waits that concern it: the epoll_pwait that
// reported the listener before the accept and each that reported the
// connection after; in the uring model, each io_uring_enter that submitted
// one of the connection's requests or brought back a completion of one.
func (s *Story) forConn(fd int) (lines [][]byte, more int, whole bool) {
	if !s.journal {
		return s.lines, s.dropped, true
	}
	ring := len(s.lines)
	at := func(i int) []byte { return s.lines[(s.next+i)%ring] } // 0: the oldest
	fdArg := []byte(strconv.Itoa(fd))
	start := 0
	for i := ring - 1; i >= 0; i-- {
		if accepted(at(i), fdArg) {
			start, whole = i, true
			break
		}
	}
	reported := []byte("u32=" + string(fdArg) + ",")
	picked := make([]bool, ring)
	// nearest marks the wait nearest to line i, before it (step -1) or after.
	nearest := func(i, step int) {
		for j := i + step; j >= 0 && j < ring; j += step {
			if name, _, _ := call(at(j)); string(name) == "epoll_pwait" || string(name) == "io_uring_enter" {
				picked[j] = true
				return
			}
		}
	}
	if whole {
		picked[start] = true
		nearest(start, -1) // the wait that reported the listener, or reaped the accept
	}
	for i := start; i < ring; i++ {
		l := at(i)
		name, first, entry := call(l)
		switch {
		case string(name) == "epoll_pwait" && bytes.Contains(l, reported),
			string(name) == "epoll_ctl" && bytes.Contains(l, []byte(", "+string(fdArg)+", ")):
			picked[i] = true
		case bytes.Equal(first, fdArg) && string(name) != "epoll_pwait" && string(name) != "io_uring_enter":
			picked[i] = true
			switch entry {
			case "→ sqe ":
				nearest(i, +1) // the enter that submitted it
			case "← cqe ":
				nearest(i, -1) // the enter after which it was reaped
			}
		}
	}
	var all [][]byte
	for i, p := range picked {
		if p {
			all = append(all, at(i))
		}
	}
	n := min(len(all), StoryLines)
	return all[:n], len(all) - n, whole
}

// The marks the narration puts before a ring entry: a submission the
// io_uring_enter after it hands to the kernel, a completion the loop reaped.
var entryMarks = []string{"→ sqe ", "← cqe "}

// call cuts a narrated line into its call's name, its first argument and,
// for a ring entry, its mark ("→ sqe ", "← cqe ", or "").
func call(l []byte) (name, first []byte, entry string) {
	for _, m := range entryMarks {
		if bytes.HasPrefix(l, []byte(m)) {
			l, entry = l[len(m):], m
		}
	}
	name, args, _ := bytes.Cut(l, []byte("("))
	if end := bytes.IndexAny(args, ",)"); end >= 0 {
		args = args[:end]
	}
	return name, args, entry
}

// accepted reports a line that returned descriptor fd as a new connection:
// accept4's, or the completion of a ring's accept.
func accepted(l, fd []byte) bool {
	name, _, entry := call(l)
	ret := append([]byte(") = "), fd...)
	switch {
	case string(name) == "accept4" && entry == "":
		return bytes.HasSuffix(l, ret)
	case string(name) == "accept" && entry == "← cqe ":
		return bytes.Contains(l, append(ret, " ["...))
	}
	return false
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
		if why, link := explain(l); why != "" {
			dst = append(dst, "<br>"...)
			dst = append(dst, why...)
			dst = append(dst, ` <a href="`...)
			dst = append(dst, link...)
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

// The docs the page links to, served by this binary in demo mode (Doc).
const (
	walkthrough = "/docs/walkthrough.md#"
	uringDoc    = "/docs/models.md#the-uring-model"
)

// explain says in a sentence what a narrated call did, by its name and
// result, and links the section of the docs that tells more.
func explain(l []byte) (why, link string) {
	why, anchor := explainCall(l)
	if anchor == "" {
		return why, uringDoc
	}
	return why, walkthrough + anchor
}

// explainCall is explain's sentence, and the walkthrough's anchor that
// goes with it ("" for the uring model's chapter).
func explainCall(l []byte) (string, string) {
	name, _, entry := call(l)
	eagain := bytes.Contains(l, []byte("= -1 EAGAIN"))
	switch entry {
	case "→ sqe ":
		return explainSQE(string(name)), ""
	case "← cqe ":
		return explainCQE(string(name), l), ""
	}
	switch string(name) {
	case "io_uring_enter":
		return "The uring loop's one system call: it handed the kernel the requests written into the ring since the last (the first number) and slept until at least one had completed (the second). The lines marked → are the requests it carried, those marked ← the completions reaped after it.", ""
	case "getpeername":
		return "Your address, asked of the kernel: a multishot accept returns each new connection's descriptor, but cannot write each one's address to a place of its own.", ""
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

// explainSQE says what a request the uring loop wrote into the ring asks.
func explainSQE(op string) string {
	switch op {
	case "accept":
		return "A request written into the ring, not a system call: accept every connection that arrives on the listener, one completion each, until cancelled (multishot). No accept4 is made for yours."
	case "recv":
		return "A request for your bytes whenever they arrive, into a buffer the kernel picks from a ring of buffers the loop lends it: armed once, for the connection's whole life."
	case "send":
		return "The response, written into the ring as a request — status line, headers and body — for the kernel to send during the next io_uring_enter."
	case "shutdown", "close", "async_cancel":
		return "The end of the connection, submitted like everything else: no system call of its own."
	}
	return "A request written into the ring, for the next io_uring_enter to hand the kernel."
}

// explainCQE says what a completion the uring loop reaped tells it.
func explainCQE(op string, l []byte) string {
	switch op {
	case "accept":
		return "The completion that brought your connection: the number after “=” is its new file descriptor, as accept4 would have returned it. F_MORE: the accept stays armed."
	case "recv":
		if bytes.Contains(l, []byte(") = 0 ")) {
			return "0 bytes: the end of the stream, the peer's FIN. The recv is over (no F_MORE)."
		}
		return "Your request's bytes, in the buffer the kernel picked (buf=): the loop copies them to your connection's input and gives the buffer back. F_MORE: the recv stays armed."
	case "send":
		return "How many bytes of the response the kernel sent."
	}
	return "A completion, reaped from the ring: what the request's system call would have returned."
}
