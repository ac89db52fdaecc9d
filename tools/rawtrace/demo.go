package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rawserve/rawserve/internal/strace"
)

// demo is the five-minute classroom demo (make demo): rawserve under
// strace, three requests — the demo page, then two on one kept-alive
// connection — SIGTERM, and the server's own calls in order, each with a
// one-line note. The Go runtime's calls (futex, nanosleep, signals, its
// start-up reads) are left out: only calls on the listener, the waker, the
// accepted sockets, the files and stderr remain. The second act serves a
// directory with a 1 s header timeout to clients that do not go as
// planned: a head in two pieces, a head that never ends (408), and a client
// that resets while a file is sent. The third runs the first act's
// requests against the uring model, and shows what strace cannot: the
// requests and completions in its ring (uring.go).
func demo(tl *tool, args []string) {
	s := tl.trace("demo", demoCalls, "-quiet")
	tl.threeRequests(s)
	tl.annotate(s)

	tl.printf("\n# Act 2: a file, and clients that do not go as planned (-dir, -header-timeout 1s)\n\n")
	site := tl.path("act2")
	if err := os.Mkdir(site, 0o755); err != nil {
		tl.die("%v", err)
	}
	for name, size := range map[string]int{"hello.txt": 13, "big.bin": 8 << 20} {
		if err := os.WriteFile(filepath.Join(site, name), make([]byte, size), 0o644); err != nil {
			tl.die("%v", err)
		}
	}
	s = tl.trace("demo2", demoCalls, "-quiet", "-dir", site, "-header-timeout", "1s")
	time.Sleep(200 * time.Millisecond)
	// A head in two pieces: the second read finds nothing yet (EAGAIN), and
	// the server waits for the rest; the file goes out by sendfile.
	c := tl.dial(s.addr)
	c.send("GET /hello.txt HTTP/1.1\r\nHost: x\r\n")
	time.Sleep(300 * time.Millisecond)
	c.send("Connection: close\r\n\r\n")
	c.response()
	c.untilEOF()
	c.Close()
	time.Sleep(100 * time.Millisecond)
	// A client that starts a head and stops: 408 at the header timeout.
	c = tl.dial(s.addr)
	c.send("GET /hello.txt HTTP/1.1\r\n")
	c.untilEOF()
	c.Close()
	time.Sleep(100 * time.Millisecond)
	// A client that asks for 8 MiB, reads a little and resets: the server's
	// send buffer is full, it waits for room, and the next sendfile hears
	// of the reset.
	tl.resetMidResponse(s.addr, "/big.bin")
	time.Sleep(300 * time.Millisecond)
	s.stop()
	tl.annotate(s)

	tl.uringAct()
}

// threeRequests is the first act's: the demo page, then two requests on
// one kept-alive connection; then s is stopped.
func (tl *tool) threeRequests(s *server) {
	time.Sleep(200 * time.Millisecond)
	tl.fetch(s.addr, "/")
	time.Sleep(200 * time.Millisecond)
	c := tl.dial(s.addr) // one connection, two requests
	c.get("/healthz")
	c.get("/healthz")
	c.Close()
	time.Sleep(300 * time.Millisecond)
	s.stop()
}

// demoCalls are the calls make demo shows: the server's, not the runtime's.
var demoCalls = how{calls: []string{"socket", "setsockopt", "bind", "listen", "getsockname", "accept4", "read", "write",
	"ppoll", "shutdown", "close", "eventfd2", "openat2", "fstat", "sendfile"}}

// annotate prints the server's calls, each with its note.
func (tl *tool) annotate(s *server) {
	n := notes{addr: s.addr, waker: -1, listener: -1, conns: map[int]bool{}, wrote: map[int]bool{},
		shut: map[int]bool{}, files: map[int]bool{}, partHead: map[int]bool{}, broken: map[int]bool{}}
	var lines, said []string
	width := 0
	calls := s.calls()
	for i, c := range calls {
		n.partial = c.Name == "read" && c.Ret() > 0 && readsOnFirst(calls[i+1:], c.FD())
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

// readsOnFirst says whether the next of calls on fd reads or waits rather
// than writes: the read before it brought part of a head, not a request.
func readsOnFirst(calls []strace.Call, fd int) bool {
	for _, c := range calls {
		if c.FD() == fd {
			return c.Name == "read" || c.Name == "ppoll"
		}
	}
	return false
}

// demoWidth is how wide a call may be before its arguments are cut.
const demoWidth = 120

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
	files              map[int]bool // files opened for a response
	broken             map[int]bool // connections the client reset
	partHead           map[int]bool // connections whose head came in pieces
	partial            bool         // the call being noted is a read the response did not follow
}

// note is the note for a call, or "" for a call that is not the server's.
func (n *notes) note(c strace.Call) string {
	fd := c.FD()
	switch {
	case c.Name == "ppoll" && strings.HasPrefix(c.Errno(), "ERESTART") && (fd == n.listener || n.conns[fd]):
		return "a signal interrupted the wait (the Go runtime's SIGURG): the kernel restarts it"
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
	case c.Name == "openat2" && c.Ret() >= 0:
		n.files[c.Ret()] = true
		return "the file, opened beneath the root (RESOLVE_BENEATH: no .. or symlink out)"
	case c.Name == "openat2" && c.Errno() != "":
		return "no such file: the answer will be 404"
	case c.Name == "openat2":
		return "" // the root, opened at start-up
	case n.files[fd] && c.Name == "fstat":
		return "its size, for Content-Length; and is it a regular file?"
	case n.files[fd] && c.Name == "close":
		delete(n.files, fd)
		return "the file is sent (or given up): close it"
	}
	return ""
}

func (n *notes) onListener(c strace.Call) string {
	switch {
	case c.Name == "setsockopt" && strings.Contains(c.Args, "SO_REUSEADDR"):
		return "SO_REUSEADDR: restart without waiting out TIME_WAIT"
	case c.Name == "setsockopt" && strings.Contains(c.Args, "TCP_NODELAY"):
		return "TCP_NODELAY: a small body is not held back for an ACK"
	case c.Name == "bind" && strings.Contains(c.Args, "htons(0)"):
		return "port 0: any free port, the kernel's choice"
	case c.Name == "bind":
		return "the address: " + n.addr
	case c.Name == "getsockname":
		return "which port the kernel chose: " + n.addr
	case c.Name == "listen":
		return "the kernel now queues finished handshakes (the backlog)"
	case c.Name == "accept4" && c.Errno() == "EAGAIN":
		return `no connection queued: the kernel says "not now"`
	case c.Name == "accept4" && c.Ret() >= 0:
		n.conns[c.Ret()] = true
		return fmt.Sprintf("a connection: fd %d, on the listener's own port", c.Ret())
	case c.Name == "ppoll" && strings.Contains(c.Args, "{tv_sec=0, tv_nsec=0}"):
		return "a glance at the accept queue (timeout 0): does a client wait behind this one?"
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
	case c.Name == "ppoll" && strings.Contains(c.Args, "POLLOUT") && strings.Contains(c.Result, "POLLERR"):
		return "woken by the client's RST: POLLERR|POLLHUP"
	case c.Name == "ppoll" && strings.Contains(c.Args, "POLLOUT"):
		return "sleep until the send buffer has room"
	case c.Name == "ppoll" && strings.Contains(c.Result, "Timeout") && !n.wrote[fd]:
		return "the header timeout passed with the head unfinished"
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
	case c.Name == "read" && c.Errno() == "EAGAIN" && shut:
		return "the drain: nothing more from the client yet"
	case c.Name == "read" && c.Errno() == "EAGAIN" && n.partHead[fd]:
		return "EAGAIN: the rest of the head has not arrived yet, so wait"
	case c.Name == "read" && c.Errno() == "EAGAIN":
		return "the request has not arrived yet"
	case c.Name == "read" && c.Ret() > 0 && !shut && n.partial:
		n.partHead[fd] = true
		return "part of a head: read returns what has arrived, even without the blank line"
	case c.Name == "read" && c.Ret() > 0 && n.partHead[fd]:
		delete(n.partHead, fd)
		return "the rest of the head: now the request is whole"
	case c.Name == "read" && c.Ret() == 0 && shut:
		return "the drain: EOF, the client has closed too"
	case c.Name == "read" && c.Ret() == 0:
		return "EOF: the client closed its side"
	case c.Name == "read" && shut:
		return "the drain: what the client still sent, discarded"
	case c.Name == "read":
		return "the request, as sent: read returns what has arrived, it does not wait for FIN"
	case c.Name == "write" && strings.Contains(c.Args, "408 Request Timeout"):
		n.wrote[fd] = true
		return "408: the head did not arrive within -header-timeout"
	case c.Name == "write" && c.Errno() != "":
		n.broken[fd] = true
		return c.Errno() + ": the client is gone; the response is given up"
	case c.Name == "write" && len(n.files) > 0:
		n.wrote[fd] = true
		return "the response head; the body follows by sendfile"
	case c.Name == "write":
		n.wrote[fd] = true
		return "the whole response in one write"
	case c.Name == "sendfile" && c.Errno() == "EAGAIN":
		return "EAGAIN: the send buffer is full (the client reads slowly)"
	case c.Name == "sendfile" && (c.Errno() == "ECONNRESET" || c.Errno() == "EPIPE"):
		n.broken[fd] = true
		return c.Errno() + ": the client reset the connection (RST) mid-response"
	case c.Name == "sendfile":
		return "the file's bytes, page cache to socket: no read, no copy through rawserve"
	case c.Name == "shutdown":
		n.shut[fd] = true
		return "our FIN, after the last byte; then drain what the client still sends"
	case c.Name == "close":
		delete(n.conns, fd)
		delete(n.wrote, fd)
		delete(n.shut, fd)
		delete(n.partHead, fd)
		if n.broken[fd] {
			delete(n.broken, fd)
			return "close what the reset left: the kernel has dropped the connection already"
		}
		if shut {
			return "closed politely: no unread bytes, so no RST"
		}
		return "closed at once: nothing unread, so no RST"
	}
	return ""
}
