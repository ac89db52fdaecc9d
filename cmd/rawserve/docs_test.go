package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/strace"
)

var update = flag.Bool("update", false, "TestDocsTranscripts, TestDiagrams: rewrite docs/ from this run (make docs)")

// TestDocsTranscripts keeps the traces in docs/ true. It runs rawserve
// under real strace through a fixed script — idle, two requests on one
// kept-alive connection, one Connection: close request, SIGTERM — cuts the
// server's own calls into named transcripts, and compares each with the
// block marked `<!-- transcript: NAME -->` in docs/*.md. With -update (make
// docs) it rewrites those blocks instead.
//
// What varies from run to run is normalised: pids (dropped), ports
// (htons(PORT)), pointers (0x...), ppoll's time left (tv_sec/tv_nsec), the
// Date in a response, strace's column padding, and the fd numbers, shifted
// so the waker is fd 5 (how many fds the Go runtime keeps open before main
// depends on the machine's cgroups). The client is a fixed byte script, not
// curl, so sizes do not change with a curl version.
func TestDocsTranscripts(t *testing.T) {
	needStrace(t)
	got := transcripts(t)
	for name, text := range faultTranscripts(t) {
		got[name] = text
	}
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(docs) == 0 {
		t.Fatalf("no docs: %v", err)
	}
	seen := map[string]bool{}
	block := regexp.MustCompile("(?s)(<!-- transcript: ([a-z-]+) -->\n```\n)(.*?)(```)")
	for _, doc := range docs {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		out := block.ReplaceAllStringFunc(text, func(m string) string {
			p := block.FindStringSubmatch(m)
			name, body := p[2], p[3]
			seen[name] = true
			want, ok := got[name]
			if !ok {
				t.Errorf("%s: transcript %q is not one this test makes", doc, name)
				return m
			}
			if body != want && !*update {
				t.Errorf("%s: transcript %q has drifted from what rawserve does; run `make docs`.\n--- in the doc:\n%s--- today:\n%s", doc, name, body, want)
			}
			return p[1] + want + p[4]
		})
		if *update && out != text {
			if err := os.WriteFile(doc, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("rewrote %s", doc)
		}
	}
	for name := range got {
		if !seen[name] {
			t.Errorf("transcript %q appears in no doc", name)
		}
	}
}

// transcripts runs the script and returns each named transcript.
func transcripts(t *testing.T) map[string]string {
	t.Helper()
	s, trace := underStrace(t, []string{"eventfd2", "openat", "read", "write", "close", "socket", "setsockopt", "bind", "listen", "accept4", "ppoll", "shutdown"},
		"-addr", "127.0.0.1:0", "-quiet")
	dial := func() net.Conn {
		c, err := net.Dial("tcp", s.Ready())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	settle := func() { time.Sleep(50 * time.Millisecond) }
	readResp := func(r *bufio.Reader) {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
	}
	// Each client comes when the server is in a known state — idle, or
	// waiting for a known client — so no transcript depends on who is
	// faster.
	time.Sleep(200 * time.Millisecond) // idle: accept4 says EAGAIN, the server sleeps
	a := dial()                        // the kept-alive client
	settle()                           // accepted; its first read says EAGAIN
	io.WriteString(a, "GET /healthz HTTP/1.1\r\nHost: rawserve\r\n\r\n")
	ar := bufio.NewReader(a)
	readResp(ar)
	settle()
	io.WriteString(a, "GET /healthz HTTP/1.1\r\nHost: rawserve\r\n\r\n")
	readResp(ar)
	a.Close() // the server sees a's FIN, closes, and waits for a client
	settle()
	c := dial() // another kept-alive client, idle when the next one comes
	settle()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: rawserve\r\n\r\n")
	cr := bufio.NewReader(c)
	readResp(cr)
	settle()
	b := dial() // comes while c idles: c gives way; request and FIN sent (as nc -N does)
	io.WriteString(b, "GET /healthz HTTP/1.1\r\nHost: rawserve\r\nConnection: close\r\n\r\n")
	b.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, b)
	b.Close()
	if n, err := cr.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("the idle client, after it gave way: read %d, %v; want EOF (FIN)", n, err)
	}
	c.Close()
	settle()
	calls := stopTraced(t, s, trace)
	waker, lfd, start := roles(t, calls)
	norm := normaliser(waker - 5)
	var listening, accepting, keepalive, yield, closing, shutdown []string
	conns, nconn := map[int]int{}, 0
	phase := "listening"
	for _, c := range calls[start:] {
		if strings.HasPrefix(c.Errno(), "ERESTART") {
			// A signal landed during the call (the Go runtime's SIGURG,
			// when it pleases): the kernel restarted it, or the wrapper
			// retried it, and strace shows that call on the next line.
			// Whether it happens is timing, not code: leave it out.
			continue
		}
		fd := c.FD()
		line := norm(c.String())
		switch {
		case phase == "listening":
			if c.Name == "write" { // stderr's listening line: start-up is over
				phase = "accepting"
				continue
			}
			listening = append(listening, line)
		case c.Name == "write" && fd == 2:
			if strings.Contains(c.Args, "shutting") { // strace shows 32 characters: "shutting d"...
				phase = "shutdown"
			}
			continue
		case fd == waker && c.Name == "write":
			// The signal goroutine's write comes first in the story,
			// whichever thread strace saw finish first.
			shutdown = append([]string{line}, shutdown...)
			continue
		case fd == waker || phase == "shutdown" && (fd == lfd || c.Name == "close"):
			if phase == "shutdown" {
				shutdown = append(shutdown, line)
			}
			continue
		case fd == lfd:
			if n := c.Ret(); c.Name == "accept4" && n >= 0 {
				nconn++
				conns[n] = nconn
			}
			switch {
			case nconn <= 1 && len(accepting) < 3:
				accepting = append(accepting, line) // EAGAIN, ppoll, the first connection
			}
			switch {
			case nconn == 1 && c.Name == "accept4":
				keepalive = append(keepalive, line)
			case nconn == 2 && c.Name == "accept4":
				yield = append(yield, line)
			case nconn == 3:
				closing = append(closing, line) // its accept4, and the EAGAIN after it
			}
		case conns[fd] == 1:
			keepalive = append(keepalive, line)
		case conns[fd] == 2:
			yield = append(yield, line)
		case conns[fd] == 3:
			closing = append(closing, line)
		}
		if c.Name == "close" && conns[fd] > 0 {
			delete(conns, fd)
		}
	}
	join := func(lines []string) string { return strings.Join(lines, "\n") + "\n" }
	return map[string]string{
		"listening": join(listening),
		"accepting": join(accepting),
		"keepalive": join(keepalive),
		"yield":     join(yield),
		"closing":   join(closing),
		"shutdown":  join(shutdown),
	}
}

// roles finds the server's own descriptors in a trace: the waker is the
// first eventfd2 (and the server's calls start there), the listener the
// first socket; connections are what accept4 returns.
func roles(t *testing.T, calls []strace.Call) (waker, lfd, start int) {
	t.Helper()
	waker, lfd, start = -1, -1, -1
	for i, c := range calls {
		if c.Name == "eventfd2" && waker < 0 {
			waker = c.Ret()
			start = i
		}
		if c.Name == "socket" && lfd < 0 {
			lfd = c.Ret()
		}
	}
	if waker < 0 || lfd < 0 {
		t.Fatalf("no eventfd2 or socket in the trace")
	}
	return waker, lfd, start
}

// normaliser returns a function that rewrites a strace line so that it is
// the same in every run (see TestDocsTranscripts).
func normaliser(shift int) func(string) string {
	type rule struct {
		re   *regexp.Regexp
		with string
	}
	rules := []rule{
		{regexp.MustCompile(`htons\(\d+\)`), "htons(PORT)"},
		{regexp.MustCompile(`0x[0-9a-f]+`), "0x..."},
		{regexp.MustCompile(`tv_sec=\d+, tv_nsec=\d+`), "tv_sec=S, tv_nsec=N"},
		{regexp.MustCompile(`Date: [A-Z][a-z][a-z], \d\d [A-Za-z]*`), "Date: Tue, 24 N"},
	}
	// An fd is the first argument (sendfile's second too), in a ppoll set,
	// or a result of the calls that make one.
	fdRefs := regexp.MustCompile(`^sendfile\(\d+, \d+|^\w+\(\d+|\{fd=\d+,|= \d+$`)
	makesFD := regexp.MustCompile(`^(socket|accept4|eventfd2|openat2?)\(`)
	num := regexp.MustCompile(`\d+`)
	return func(l string) string {
		for _, r := range rules {
			l = r.re.ReplaceAllString(l, r.with)
		}
		return fdRefs.ReplaceAllStringFunc(l, func(m string) string {
			if strings.HasPrefix(m, "= ") && !makesFD.MatchString(l) {
				return m // a count, not an fd
			}
			name := m[:strings.IndexByte(m, '(')+1] // pread64's digits are no fd
			return name + num.ReplaceAllStringFunc(m[len(name):], func(d string) string {
				if n, _ := strconv.Atoi(d); n >= 3 { // 0, 1 and 2 are stdin, stdout and stderr
					return fmt.Sprint(n - shift)
				}
				return d
			})
		})
	}
}
