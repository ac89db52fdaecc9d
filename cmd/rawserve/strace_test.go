package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/strace"
)

// needStrace skips the test, saying why, unless strace can trace here.
func needStrace(t *testing.T) {
	t.Helper()
	if err := strace.Available(); err != nil {
		t.Skipf("%v (.ci/run installs it)", err)
	}
}

// underStrace starts the test's rawserve with args under strace -f, tracing
// the calls named (none: every call), and returns it once it listens (its
// address is p.Ready()), with the path of the trace. It is killed, if still
// running, when the test ends.
func underStrace(t *testing.T, calls []string, args ...string) (p *strace.Process, trace string) {
	t.Helper()
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	trace = filepath.Join(dir, "strace.out")
	p, err := strace.Start(strace.Config{
		Program: binary, Args: append([]string{"-ready-file", ready}, args...),
		Output: trace, Calls: calls, ReadyFile: ready,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p, trace
}

// stopTraced sends rawserve (not strace) SIGTERM, wants it to exit 0, and
// returns the calls strace saw.
func stopTraced(t *testing.T, p *strace.Process, trace string) []strace.Call {
	t.Helper()
	if code, err := p.Stop(10 * time.Second); code != 0 || err != nil {
		t.Fatalf("exit %d under strace (%v)\n%s", code, err, p.Stderr())
	}
	calls, err := strace.Read(trace)
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

// TestStrace runs rawserve under real strace and checks what it asks of the
// kernel: the sequence the docs teach, and the cost per request the issue
// sets (keep-alive: one read, one write, at most one wait; close: accept4,
// read, write, close, plus waits) — no per-request setsockopt,
// getsockopt, getsockname or fstat. Only the server's own calls are counted:
// those on the descriptors it made (strace.Own).
func TestStrace(t *testing.T) {
	needStrace(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f.txt"), []byte("file body\n"), 0o644)
	s, trace := underStrace(t, nil, "-addr", "127.0.0.1:0", "-quiet", "-dir", dir)

	const keepAlive, closing = 20, 10
	// Let the server go idle first: its accept4 says EAGAIN and it waits
	// in ppoll before the first client comes, whatever the machine's load.
	time.Sleep(200 * time.Millisecond)
	c, err := net.Dial("tcp", s.Ready())
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
		c, err := net.Dial("tcp", s.Ready())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		io.Copy(io.Discard, c) // until the server's FIN
		c.Close()
	}
	time.Sleep(100 * time.Millisecond)
	calls := stopTraced(t, s, trace)

	// The serial model has no poller of its own but ppoll, and wakes no
	// other (os.ReadFile, for one, would start the Go runtime's epoll).
	for _, c := range calls {
		if strings.HasPrefix(c.Name, "epoll_") {
			t.Errorf("an epoll call in the serial model: %s", c.Line())
		}
	}

	// Start-up: the listener is born nonblocking and close-on-exec.
	lfd := -1
	var i int
	for i = range calls {
		if calls[i].Name == "socket" && strings.Contains(calls[i].Args, "AF_INET, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_TCP") {
			lfd = calls[i].Ret()
			break
		}
	}
	if lfd < 0 {
		t.Fatalf("no nonblocking socket() call in the trace")
	}
	// The listener's next calls (other threads' calls interleave).
	var setup []string
	for _, c := range calls[i+1:] {
		if c.FD() == lfd && len(setup) < 4 {
			setup = append(setup, c.String())
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

	// From the first accept4 on, the server's own calls: on the listener,
	// the waker, an accepted socket (a ppoll: the first fd of its set).
	var served []strace.Call
	for _, c := range strace.Own(calls) {
		if len(served) == 0 && (c.Name != "accept4" || c.FD() != lfd) {
			continue
		}
		served = append(served, c)
		switch c.Name {
		case "setsockopt", "getsockopt", "getsockname", "getpeername", "fstat", "newfstatat", "fcntl":
			t.Errorf("per-connection %s: %s", c.Name, c.Line())
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
		text := c.String()
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
		case c.Name == "accept4":
			pending++
			if n := c.Ret(); n >= 0 {
				live[n] = &count{accept4: pending}
				all = append(all, live[n])
				pending = 0
			}
		case live[c.FD()] != nil:
			p := live[c.FD()]
			switch c.Name {
			case "ppoll":
				p.ppoll++
			case "read":
				if c.Errno() == "EAGAIN" {
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
				delete(live, c.FD())
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

// lines lists calls for a failure message, each cut at 160 bytes.
func lines(cs []strace.Call) string {
	var b strings.Builder
	for _, c := range cs {
		l := c.Line()
		if len(l) > 160 {
			l = l[:160]
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}
