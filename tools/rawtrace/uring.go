package main

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/rawserve/rawserve/internal/sock"
	"github.com/rawserve/rawserve/internal/strace"
)

// uringAct is make demo's third act: the first act's requests against
// -model uring, under strace and with -trace. strace sees the
// io_uring_enter calls and little else; the narration shows what the ring
// carried between them, each line with a note. Where io_uring is not
// allowed, the act says so and is skipped.
func (tl *tool) uringAct() {
	tl.printf("\n# Act 3: the same requests through io_uring (-model uring)\n\n")
	if err := sock.UringUnavailable(); err != nil {
		tl.printf("(skipped: the uring model cannot run here: %v)\n", err)
		return
	}
	narration := tl.path("demo3.narration")
	s := tl.trace("demo3", how{}, "-quiet", "-model", "uring", "-trace", "-trace-file", narration)
	tl.threeRequests(s)

	b, err := os.ReadFile(narration)
	if err != nil {
		tl.die("%v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	var given []int
	for _, l := range lines {
		if m := ringAccept.FindStringSubmatch(l); m != nil {
			var fd int
			fmt.Sscan(m[1], &fd)
			given = append(given, fd)
		}
	}
	// What strace saw of the server while it served: from the enter that
	// armed the accept to SIGTERM's write to the waker, but for the
	// narration's own writes to its file.
	counts := map[string]int{}
	serving, waker, traceFD := false, -1, -1
	for _, c := range strace.OwnWith(s.calls(), given...) {
		switch {
		case c.Name == "eventfd2":
			waker = c.Ret()
		case c.Name == "openat" && strings.Contains(c.Args, narration):
			traceFD = c.Ret()
		case c.Name == "io_uring_enter" && strings.Contains(c.Args, ", 2, 1,"):
			serving = true // the enter that submitted the waker's poll and the accept
		case c.FD() == waker && c.Name == "write":
			serving = false
		}
		if serving && c.FD() != traceFD {
			counts[c.Name]++
		}
	}
	var names []string
	total := 0
	for name, n := range counts {
		names = append(names, fmt.Sprintf("%s ×%d", name, n))
		total += n
	}
	sort.Strings(names)
	tl.printf("While it served them, strace saw %d of the server's system calls: %s — no accept4, read, write or close.\n", total, strings.Join(names, ", "))
	tl.printf("The narration (-trace) shows the requests (→ sqe) and completions (← cqe) between them:\n\n")
	n := ringNotes{}
	var shown, said []string
	width := 0
	start := false
	for _, l := range lines {
		if strings.HasPrefix(l, "→ sqe poll_add(") {
			start = true
		}
		note := n.note(l)
		if !start || note == "" {
			continue
		}
		l = shortEntry(l)
		shown, said = append(shown, l), append(said, note)
		width = max(width, len(l))
	}
	for i, l := range shown {
		tl.printf("%-*s  # %s\n", width, l, said[i])
	}
}

// ringAccept matches an accept's completion, and the descriptor it gave.
var ringAccept = regexp.MustCompile(`^← cqe accept\(\d+\) = (\d+) `)

// userData matches the user_data in a ring entry's brackets.
var userData = regexp.MustCompile(`(, )?user_data=0x[0-9a-f]+`)

// shortEntry is a narrated line as the demo shows it: a ring entry without
// its user_data (the note says whose it is), and with nothing left between
// the brackets, no brackets; a long line cut in its middle.
func shortEntry(l string) string {
	l = strings.Replace(userData.ReplaceAllString(l, ""), " []", "", 1)
	if len(l) > 2*demoWidth {
		l = l[:demoWidth] + " ... " + l[len(l)-demoWidth/2:]
	}
	return l
}

// ringNotes says what each line of the uring model's narration is for.
type ringNotes struct {
	waker, listener int
}

func (n *ringNotes) note(l string) string {
	entry, name, ok := "", l, false
	for _, mark := range []string{"→ sqe ", "← cqe "} {
		if name, ok = strings.CutPrefix(l, mark); ok {
			entry = mark
			break
		}
	}
	name, _, _ = strings.Cut(name, "(")
	switch entry + name {
	case "io_uring_enter":
		if strings.Contains(l, ", 0, 1, ") {
			return "the one system call: sleep until a request completes"
		}
		return "the one system call: hand the kernel the requests above, sleep until one completes"
	case "getpeername":
		return "the client's address: a multishot accept cannot give each connection its own"
	case "→ sqe poll_add":
		if strings.Contains(l, "POLLOUT") {
			return "wait for room in the send buffer"
		}
		return "the waker: SIGTERM will complete this request"
	case "← cqe poll_add":
		return "SIGTERM arrived: stop"
	case "→ sqe accept":
		return "one accept request for every connection to come (multishot): no accept4"
	case "← cqe accept":
		return "a connection: its descriptor is the result; F_MORE, the accept stays armed"
	case "→ sqe recv":
		return "receive whatever arrives, into a buffer the kernel picks from the loop's ring: armed once"
	case "← cqe recv":
		switch {
		case strings.Contains(l, ") = 0 "):
			return "EOF: the client closed its side; the recv is over"
		case strings.Contains(l, "ECANCELED"):
			return "the recv, cancelled as the connection closes"
		}
		return "the request, in the buffer the kernel picked (buf=): copied, and the buffer given back"
	case "→ sqe send":
		return "the whole response, as a request"
	case "← cqe send":
		return "sent: the bytes the send took"
	case "→ sqe timeout":
		return "the timer: one request, due at the nearest deadline"
	case "→ sqe timeout_remove":
		return "a deadline came sooner: move the timer"
	case "← cqe timeout":
		return "the timer fired: see what is overdue"
	case "→ sqe async_cancel":
		return "end what is in flight on the connection (its recv), then:"
	case "← cqe async_cancel":
		return "what the cancel found"
	case "→ sqe close":
		return "close the connection, as a request"
	case "← cqe close":
		return "closed"
	case "close":
		return "at exit: the ring, the listener, the waker"
	}
	return ""
}

// uringKeepalive is docs/models.md's trace of the uring model: one client,
// two keep-alive requests for a 13-byte file, then its close, as -trace
// narrates them — the calls strace sees and the ring entries between them.
func uringKeepalive(tl *tool) {
	if err := sock.UringUnavailable(); err != nil {
		tl.die("the uring model cannot run here: %v", err)
	}
	www := tl.path("uring-www")
	if err := os.Mkdir(www, 0o755); err != nil {
		tl.die("%v", err)
	}
	if err := os.WriteFile(www+"/index.html", []byte("Hello, World!"), 0o644); err != nil {
		tl.die("%v", err)
	}
	narration := tl.path("uring-keepalive.narration")
	s := tl.untraced("uring-keepalive", "-quiet", "-model", "uring", "-dir", www, "-trace", "-trace-file", narration)
	time.Sleep(200 * time.Millisecond)
	c := tl.dial(s.addr)
	c.get("/index.html")
	time.Sleep(100 * time.Millisecond)
	c.get("/index.html")
	c.Close()
	time.Sleep(200 * time.Millisecond)
	s.stop()
	b, err := os.ReadFile(narration)
	if err != nil {
		tl.die("%v", err)
	}
	tl.heading("two keep-alive requests for a small file against rawserve -model uring -dir DIR -trace")
	_, from, ok := strings.Cut(string(b), "→ sqe accept(")
	if !ok {
		tl.die("no accept request in the narration:\n%s", b)
	}
	for _, l := range strings.Split("→ sqe accept("+from, "\n") {
		if strings.HasPrefix(l, "← cqe poll_add(") {
			break // SIGTERM: the exit follows
		}
		if l != "" && !strings.HasPrefix(l, "write(") { // stderr's lines
			tl.printf("%s\n", l)
		}
	}
}
