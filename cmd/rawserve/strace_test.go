package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needStrace skips the test, saying why, unless strace can trace here.
func needStrace(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skip("strace is not installed (.ci/run installs it)")
	}
	if out, err := exec.Command("strace", "-o", "/dev/null", "true").CombinedOutput(); err != nil {
		t.Skipf("ptrace is not permitted here: %v %s", err, out)
	}
}

// call is one completed system call from strace's output.
type call struct {
	name, args, result string
	fd                 int // the first argument, when it is a number
	line               string
}

var (
	straceLine = regexp.MustCompile(`^\d+\s+(\w+)\((.*)\)\s+= (.*)$`)
	unfinished = regexp.MustCompile(`^(\d+)\s+(.*) <unfinished \.\.\.>$`)
	resumed    = regexp.MustCompile(`^(\d+)\s+<\.\.\. \w+ resumed>(.*)$`)
)

// parseStrace reads `strace -f` output, joining calls that strace split
// across threads ("<unfinished ...>" … "<... ppoll resumed>").
func parseStrace(t *testing.T, path string) []call {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pending := map[string]string{}
	var calls []call
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if m := unfinished.FindStringSubmatch(l); m != nil {
			pending[m[1]] = m[1] + " " + m[2]
			continue
		}
		if m := resumed.FindStringSubmatch(l); m != nil {
			l = pending[m[1]] + m[2]
			delete(pending, m[1])
		}
		m := straceLine.FindStringSubmatch(l)
		if m == nil {
			continue // signals, exits
		}
		c := call{name: m[1], args: m[2], result: m[3], fd: -1, line: l}
		if first, _, _ := strings.Cut(c.args, ","); first != "" {
			if n, err := strconv.Atoi(first); err == nil {
				c.fd = n
			}
		}
		calls = append(calls, c)
	}
	return calls
}

// TestStrace runs rawserve under real strace and checks what it asks of the
// kernel: the sequence the docs teach, and the cost per request the issue
// sets (keep-alive: one read, one write, at most one wait; close: accept4,
// read, write, close, plus waits) — no per-request setsockopt,
// getsockopt, getsockname or fstat. Only the server's own calls are counted:
// those on the listener's and the connections' fds.
func TestStrace(t *testing.T) {
	needStrace(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f.txt"), []byte("file body\n"), 0o644)
	trace := filepath.Join(t.TempDir(), "strace.out")
	s := runServer(t, "strace", "-f", "-o", trace, binary, "-addr", "127.0.0.1:0", "-quiet", "-dir", dir)

	const keepAlive, closing = 20, 10
	// Let the server go idle first: its accept4 says EAGAIN and it waits
	// in ppoll before the first client comes, whatever the machine's load.
	time.Sleep(200 * time.Millisecond)
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for i := 0; i < keepAlive; i++ {
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
	}
	c.Close()
	for i := 0; i < closing; i++ {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		io.Copy(io.Discard, c) // until the server's FIN
		c.Close()
	}
	time.Sleep(100 * time.Millisecond)
	syscall.Kill(s.child(t), syscall.SIGTERM) // rawserve, not strace
	if code := s.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d under strace\n%s", code, s.stderr)
	}
	calls := parseStrace(t, trace)

	// The serial model has no poller of its own but ppoll, and wakes no
	// other (os.ReadFile, for one, would start the Go runtime's epoll).
	for _, c := range calls {
		if strings.HasPrefix(c.name, "epoll_") {
			t.Errorf("an epoll call in the serial model: %s", c.line)
		}
	}

	// Start-up: the listener is born nonblocking and close-on-exec.
	lfd := -1
	var i int
	for i = range calls {
		if calls[i].name == "socket" && strings.Contains(calls[i].args, "AF_INET, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_TCP") {
			lfd, _ = strconv.Atoi(calls[i].result)
			break
		}
	}
	if lfd < 0 {
		t.Fatalf("no nonblocking socket() call in the trace")
	}
	// The listener's next calls (other threads' calls interleave).
	var setup []string
	for _, c := range calls[i+1:] {
		if c.fd == lfd && len(setup) < 4 {
			setup = append(setup, c.text())
		}
	}
	for j, w := range []string{
		fmt.Sprintf("setsockopt(%d, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0", lfd),
		fmt.Sprintf("setsockopt(%d, SOL_TCP, TCP_NODELAY, [1], 4) = 0", lfd),
		fmt.Sprintf("bind(%d, {sa_family=AF_INET, sin_port=htons(", lfd),
		fmt.Sprintf("listen(%d, ", lfd),
	} {
		if j >= len(setup) || !strings.Contains(setup[j], w) {
			t.Errorf("start-up: listener call %d is %q, want %q", j+1, setup[min(j, len(setup)-1)], w)
		}
	}

	// From the first accept4 on, every call on the listener or on an
	// accepted socket, and every ppoll on one of them.
	conns := map[int]bool{}
	var served []call
	accepting := false
	for _, c := range calls[i+1:] {
		if c.name == "accept4" && c.fd == lfd {
			accepting = true
			if n, err := strconv.Atoi(c.result); err == nil {
				conns[n] = true
			}
		}
		if !accepting {
			continue
		}
		if c.fd == lfd || conns[c.fd] || c.name == "ppoll" && conns[pollFD(c.args)] || c.name == "ppoll" && pollFD(c.args) == lfd {
			served = append(served, c)
			switch c.name {
			case "setsockopt", "getsockopt", "getsockname", "getpeername", "fstat", "newfstatat", "fcntl":
				t.Errorf("per-connection %s: %s", c.name, c.line)
			}
		}
	}

	// The teaching sequence, in order: accept4 says EAGAIN, the server
	// waits in ppoll, accept4 returns a socket, then read, write, close on
	// it (the client closes first, so there is nothing to drain).
	seq := []*regexp.Regexp{
		regexp.MustCompile(fmt.Sprintf(`^accept4\(%d, .*SOCK_CLOEXEC\|SOCK_NONBLOCK\) = -1 EAGAIN`, lfd)),
		regexp.MustCompile(fmt.Sprintf(`^ppoll\(\[\{fd=%d, events=POLLIN\}`, lfd)),
		regexp.MustCompile(fmt.Sprintf(`^accept4\(%d, \{sa_family=AF_INET, .*SOCK_CLOEXEC\|SOCK_NONBLOCK\) = (\d+)$`, lfd)),
		regexp.MustCompile(`^read\(CONN, "GET /healthz HTTP/1.1\\r\\n`),
		regexp.MustCompile(`^write\(CONN, "HTTP/1.1 200 OK\\r\\n`),
		regexp.MustCompile(`^close\(CONN\) = 0`),
	}
	k, conn := 0, ""
	for _, c := range served {
		if k == len(seq) {
			break
		}
		text := c.text()
		re := seq[k]
		if conn != "" {
			re = regexp.MustCompile(strings.ReplaceAll(re.String(), "CONN", conn))
		}
		if m := re.FindStringSubmatch(text); m != nil {
			if len(m) > 1 {
				conn = m[1]
			}
			k++
		}
	}
	if k < len(seq) {
		t.Errorf("the sequence stops matching at step %d (%v); trace of served calls:\n%s", k+1, seq[k], lines(served))
	}

	// Cost per request, connection by connection (fd numbers are reused,
	// so a count belongs to an accept, not to a number).
	// A read that says EAGAIN is counted apart: it comes with a wait, and
	// how many there are depends on whether the client's bytes (or FIN)
	// arrived before the server looked — timing, not code.
	type count struct{ accept4, read, again, write, ppoll, shutdown, close int }
	var all []*count
	live := map[int]*count{}
	pending := 0
	for _, c := range served {
		switch {
		case c.name == "accept4":
			pending++
			if n, err := strconv.Atoi(c.result); err == nil {
				live[n] = &count{accept4: pending}
				all = append(all, live[n])
				pending = 0
			}
		case c.name == "ppoll":
			if p := live[pollFD(c.args)]; p != nil {
				p.ppoll++
			}
		case live[c.fd] != nil:
			p := live[c.fd]
			switch c.name {
			case "read":
				if strings.Contains(c.result, "EAGAIN") {
					p.again++
				} else {
					p.read++
				}
			case "write":
				p.write++
			case "shutdown":
				p.shutdown++
			case "close":
				p.close++
				delete(live, c.fd)
			}
		}
	}
	if len(all) != 1+closing {
		t.Fatalf("%d connections accepted, want %d", len(all), 1+closing)
	}
	ka := all[0]
	t.Logf("keep-alive, %d requests: %+v", keepAlive, *ka)
	// A read, a write and at most one wait per request; the last read sees
	// EOF, and the close follows at once.
	if ka.write != keepAlive || ka.read > keepAlive+2 || ka.again > ka.ppoll || ka.ppoll > keepAlive+2 {
		t.Errorf("keep-alive connection, %d requests: %+v; want %d writes, <= 1 read and 1 wait each", keepAlive, *ka, keepAlive)
	}
	for _, p := range all[1:] {
		// The client asked to close and sent nothing more: close(2) at
		// once sends FIN after the response, with no shutdown and no drain.
		if p.write != 1 || p.shutdown != 0 || p.close != 1 || p.accept4 > 2 || p.read > 1 || p.again > p.ppoll || p.ppoll > 1 {
			t.Errorf("Connection: close request: %+v; want accept4 (and one EAGAIN), read, write, close, and a wait at most before the read", *p)
		}
	}
}

// text is the call as strace prints it, without the pid and without the
// padding strace adds before " = " to align short lines.
func (c call) text() string { return c.name + "(" + c.args + ") = " + c.result }

// pollFD is the first fd in a ppoll's set: the one the server waits on.
func pollFD(args string) int {
	var fd int
	if _, err := fmt.Sscanf(args, "[{fd=%d,", &fd); err != nil {
		return -1
	}
	return fd
}

func lines(cs []call) string {
	var b strings.Builder
	for _, c := range cs {
		if len(c.line) > 160 {
			c.line = c.line[:160]
		}
		b.WriteString(c.line + "\n")
	}
	return b.String()
}
