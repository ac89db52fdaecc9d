package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/rawserve/rawserve/internal/strace"
)

// demo is the five-minute classroom demo (make demo): rawserve under
// strace, three requests — the demo page, then two on one kept-alive
// connection — SIGTERM, and the server's own calls in order, each with a
// one-line note. The Go runtime's calls (futex, nanosleep, signals, its
// start-up reads) are left out: only calls on the listener, the waker, the
// accepted sockets and stderr remain.
func demo(tl *tool, args []string) {
	s := tl.trace("demo", how{calls: []string{"socket", "setsockopt", "bind", "listen", "accept4",
		"read", "write", "ppoll", "shutdown", "close", "eventfd2"}}, "-quiet")
	time.Sleep(200 * time.Millisecond)
	tl.fetch(s.addr, "/")
	time.Sleep(200 * time.Millisecond)
	c := tl.dial(s.addr) // one connection, two requests
	c.get("/healthz")
	c.get("/healthz")
	c.Close()
	time.Sleep(300 * time.Millisecond)
	s.stop()

	n := notes{addr: s.addr, waker: -1, listener: -1, conns: map[int]bool{}, wrote: map[int]bool{}, shut: map[int]bool{}}
	var lines, said []string
	width := 0
	for _, c := range s.calls() {
		note := n.note(c)
		if note == "" {
			continue
		}
		line := fit(c, demoWidth)
		lines, said = append(lines, line), append(said, note)
		width = max(width, len(line))
	}
	for i, line := range lines {
		tl.printf("%-*s  # %s\n", width, line, said[i])
	}
}

// demoWidth is how wide a call may be before its arguments are cut.
const demoWidth = 96

// fit cuts a call's arguments, never its result, so that the line is at
// most width long: `accept4(6, 0x7ffd4e24, [112], ...) = -1 EAGAIN
// (Resource temporarily unavailable)`. It keeps whole arguments where it
// can, and at least 24 bytes of them: a result too long for that makes the
// line longer instead.
func fit(c strace.Call, width int) string {
	line := c.String()
	if len(line) <= width {
		return line
	}
	const more = "..."
	room := max(width-len(c.Name+"(")-len(") = "+c.Result), 24)
	kept := ""
	for _, end := range argEnds(c.Args) {
		if end+len(", "+more) <= room {
			kept = c.Args[:end] + ", " + more
		}
	}
	if kept == "" {
		kept = c.Args[:min(room-len(more), len(c.Args))] + more
	}
	return c.Name + "(" + kept + ") = " + c.Result
}

// argEnds is where each of strace's arguments but the last ends: the
// commas outside brackets, braces and strings.
func argEnds(args string) []int {
	var ends []int
	depth, quoted := 0, false
	for i := 0; i < len(args); i++ {
		switch ch := args[i]; {
		case quoted && ch == '\\':
			i++ // an escaped character, \" for one
		case ch == '"':
			quoted = !quoted
		case quoted:
		case ch == '(' || ch == '[' || ch == '{':
			depth++
		case ch == ')' || ch == ']' || ch == '}':
			depth--
		case ch == ',' && depth == 0:
			ends = append(ends, i)
		}
	}
	return ends
}

// notes says what each of the server's calls is for, knowing the roles of
// the descriptors so far: the waker, the listener, the connections (and
// which of those have answered a request, and been shut down, so that a
// read is the drain's).
type notes struct {
	addr               string
	waker, listener    int
	conns, wrote, shut map[int]bool
}

// note is the note for a call, or "" for a call that is not the server's.
func (n *notes) note(c strace.Call) string {
	fd := c.FD()
	switch {
	case c.Name == "eventfd2":
		n.waker = c.Ret()
		return "the waker: SIGTERM writes here to end any wait"
	case c.Name == "socket":
		n.listener = c.Ret()
		return "the listener, nonblocking and close-on-exec from birth"
	case n.listener < 0:
		return ""
	case fd == n.listener:
		return n.onListener(c)
	case fd == n.waker && c.Name == "write":
		return "SIGTERM arrived: wake the server"
	case fd == n.waker && c.Name == "close":
		return "done"
	case fd == 2 && c.Name == "write":
		return "a line on stderr"
	case n.conns[fd]:
		return n.onConn(c, fd)
	}
	return ""
}

func (n *notes) onListener(c strace.Call) string {
	switch {
	case c.Name == "setsockopt" && strings.Contains(c.Args, "SO_REUSEADDR"):
		return "SO_REUSEADDR: restart without waiting out TIME_WAIT"
	case c.Name == "setsockopt" && strings.Contains(c.Args, "TCP_NODELAY"):
		return "TCP_NODELAY: a small body is not held back for an ACK"
	case c.Name == "bind":
		return "the address: " + n.addr
	case c.Name == "listen":
		return "the kernel now queues finished handshakes (the backlog)"
	case c.Name == "accept4" && c.Errno() == "EAGAIN":
		return `no connection queued: the kernel says "not now"`
	case c.Name == "accept4" && c.Ret() >= 0:
		n.conns[c.Ret()] = true
		return fmt.Sprintf("a connection: fd %d, on the listener's own port", c.Ret())
	case c.Name == "ppoll" && strings.Contains(c.Args, fmt.Sprintf("{fd=%d,", n.waker)):
		return "sleep until a client, or SIGTERM"
	case c.Name == "ppoll":
		return "sleep until a client"
	case c.Name == "close":
		return "stop listening"
	}
	return ""
}

func (n *notes) onConn(c strace.Call, fd int) string {
	shut := n.shut[fd]
	switch {
	case c.Name == "ppoll" && strings.Contains(c.Args, "POLLOUT"):
		return "sleep until the send buffer has room"
	case c.Name == "ppoll" && shut:
		return "sleep until the client's FIN (the drain)"
	case c.Name == "ppoll" && strings.Contains(c.Result, "Timeout"):
		return "quiet for a moment"
	case c.Name == "ppoll" && strings.Contains(c.Args, "], 3,"):
		if !n.wrote[fd] {
			return "sleep until the request arrives, or another client waits (then give way)"
		}
		return "sleep until the client sends (keep-alive), or another client waits"
	case c.Name == "ppoll" && !n.wrote[fd]:
		return "sleep until the request arrives"
	case c.Name == "ppoll":
		return "sleep until the client sends (keep-alive)"
	case c.Name == "read" && c.Errno() == "EAGAIN":
		return "the request has not arrived yet"
	case c.Name == "read" && c.Ret() == 0 && shut:
		return "the drain: EOF, the client has closed too"
	case c.Name == "read" && c.Ret() == 0:
		return "EOF: the client closed its side"
	case c.Name == "read" && shut:
		return "the drain: what the client still sent, discarded"
	case c.Name == "read":
		return "the request, as sent: read returns what has arrived, it does not wait for FIN"
	case c.Name == "write":
		n.wrote[fd] = true
		return "the whole response in one write"
	case c.Name == "shutdown":
		n.shut[fd] = true
		return "our FIN, after the last byte; then drain what the client still sends"
	case c.Name == "close":
		delete(n.conns, fd)
		delete(n.wrote, fd)
		delete(n.shut, fd)
		if shut {
			return "closed politely: no unread bytes, so no RST"
		}
		return "closed at once: nothing unread, so no RST"
	}
	return ""
}
