package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// -faults as a user meets it: the flag and its variable, the start-up
// lines, what clients make of the malformed responses (the table in
// docs/faults.md), and the traces of docs/faults.md (faultTranscripts, for
// TestDocsTranscripts).

func TestFaultsFlag(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "_faults"), 0o755)
	os.WriteFile(filepath.Join(dir, "f.txt"), []byte("file body\n"), 0o644)
	// Off: /_faults/ is a path like any other.
	s := start(t, "-dir", dir, "-quiet")
	if code, _ := s.get(t, "/_faults/status/418"); code != 404 {
		t.Errorf("without -faults: %d, want 404", code)
	}
	if strings.Contains(s.stderr.String(), "faults") {
		t.Errorf("without -faults, stderr speaks of them:\n%s", s.stderr)
	}
	// On, from the flag and from the environment; the start-up lines say
	// so, and that the directory _faults is not served.
	for _, how := range []string{"flag", "env"} {
		var s *server
		if how == "flag" {
			s = start(t, "-faults", "-dir", dir, "-quiet")
		} else {
			s = runServerEnv(t, []string{"RAWSERVE_FAULTS=true"}, binary, "-addr", "127.0.0.1:0", "-dir", dir, "-quiet")
		}
		if code, body := s.get(t, "/_faults/status/418"); code != 418 || body != "418 I'm a teapot\n" {
			t.Errorf("%s: %d %q", how, code, body)
		}
		if code, body := s.get(t, "/_faults/delay/10ms/f.txt"); code != 200 || body != "file body\n" {
			t.Errorf("%s: %d %q", how, code, body)
		}
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(s.stderr.String(), "_faults is not served"); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no line about the _faults directory:\n%s", how, s.stderr)
			}
		}
		if !strings.Contains(s.stderr.String(), "rawserve: -faults: requests under /_faults/ misbehave on purpose") {
			t.Errorf("%s: no start-up line:\n%s", how, s.stderr)
		}
	}
	// The bounds need -faults, and are checked like every duration.
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"-faults-hang", "1s"}, "", "-faults-hang needs -faults"},
		{nil, "RAWSERVE_FAULTS_MAX_DELAY=5s", `RAWSERVE_FAULTS_MAX_DELAY="5s" needs -faults`},
		{[]string{"-faults", "-faults-max-delay", "0"}, "", "-faults-max-delay must be positive"},
		{[]string{"-faults", "-faults-hang", "-1s"}, "", "-faults-hang must be 0 (the idle timeout) or positive"},
	} {
		cmd := exec.Command(binary, tc.args...)
		if tc.env != "" {
			cmd.Env = append(os.Environ(), tc.env)
		}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v %s: %v %s; want exit 2 and %q", tc.args, tc.env, err, out, tc.want)
		}
	}
}

// malformedTable marks the table of docs/faults.md that TestMalformedTable
// checks: one row per kind, a cell per client.
const malformedTable = "<!-- malformed: checked by TestMalformedTable -->"

// TestMalformedTable asks for each malformed response with Go's net/http,
// curl and Python's http.client, and checks that docs/faults.md says what
// each did. A client that is not installed is skipped, by name.
func TestMalformedTable(t *testing.T) {
	doc, err := os.ReadFile("../../docs/faults.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, found := strings.Cut(string(doc), malformedTable+"\n")
	if !found {
		t.Fatalf("docs/faults.md has no %s", malformedTable)
	}
	table, _, _ = strings.Cut(table, "\n\n")
	rows := strings.Split(table, "\n")[2:] // the header and its rule
	cell := regexp.MustCompile("`([^`]*)`")
	_, noCurl := exec.LookPath("curl")
	_, noPython := exec.LookPath("python3")
	if noCurl != nil || noPython != nil {
		t.Logf("not checked: curl (%v), python3 (%v)", noCurl, noPython)
	}
	s := start(t, "-faults", "-quiet", "-model", "epoll")
	kinds := 0
	for _, row := range rows {
		cells := strings.Split(strings.Trim(row, "|"), "|")
		if len(cells) != 5 {
			t.Fatalf("a row of %d cells: %q", len(cells), row)
		}
		var said []string
		for _, c := range append(cells[:1:1], cells[2:]...) {
			m := cell.FindStringSubmatch(c)
			if m == nil {
				t.Fatalf("a cell with no `outcome`: %q", c)
			}
			said = append(said, m[1])
		}
		kind, url := said[0], "http://"+s.addr+"/_faults/malformed/"+said[0]
		kinds++
		if got := goSees(url); got != said[1] {
			t.Errorf("%s: Go's net/http: %s; the table says %s", kind, got, said[1])
		}
		if noCurl == nil {
			if got := curlSees(t, url); got != said[2] {
				t.Errorf("%s: curl: %s; the table says %s", kind, got, said[2])
			}
		}
		if noPython == nil {
			if got := pythonSees(t, url); got != said[3] {
				t.Errorf("%s: Python: %s; the table says %s", kind, got, said[3])
			}
		}
	}
	if kinds != 6 {
		t.Errorf("%d kinds in the table, want 6", kinds)
	}
}

// goSees is what Go's client made of url, as the table writes it.
func goSees(url string) string {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		msg := err.Error()
		if _, after, ok := strings.Cut(msg, "connection broken: "); ok {
			msg = after
		}
		return "error: " + msg
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Sprintf("%d, then reading the body: %v", resp.StatusCode, err)
	}
	return fmt.Sprintf("%d, body %q", resp.StatusCode, body)
}

// curlSees is curl's exit code and, when it failed, its message.
func curlSees(t *testing.T, url string) string {
	out, err := exec.Command("curl", "-sS", "--max-time", "10", url).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return fmt.Sprintf("exit 0, body %q", out)
	case errors.As(err, &ee):
		msg := string(out)
		if i := strings.LastIndex(msg, "curl: "); i >= 0 {
			msg = msg[i:]
		}
		return fmt.Sprintf("exit %d: %s", ee.ExitCode(), strings.TrimSpace(msg))
	}
	t.Fatal(err)
	return ""
}

const pythonClient = `
import http.client, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
try:
    c.request("GET", u.path)
    r = c.getresponse()
    print("%d, body %r" % (r.status, r.read()))
except Exception as e:
    print("%s: %s" % (type(e).__name__, e))
`

// pythonSees is what Python's http.client made of url.
func pythonSees(t *testing.T, url string) string {
	out, err := exec.Command("python3", "-c", pythonClient, url).CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// faultTranscripts runs rawserve -faults under strace, one client per
// fault, and returns what the server did for each — from the read that
// brought the request to the close — as the transcripts "fault-NAME" of
// docs/faults.md.
//
// What the server reads must not depend on when the client's bytes come,
// so the clients wait in the accept queue, their requests and FINs sent (as
// nc -N does), while the serial server is held by the first, a hang (bound
// 500 ms; -yield-after 0, so that it does not give way to them): each is
// then accepted with all it will send already there.
func faultTranscripts(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f.txt"), []byte("file body\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "big.bin"), make([]byte, 300<<10), 0o644)
	s, trace := underStrace(t, []string{"eventfd2", "openat", "openat2", "fstat", "pread64", "read", "write", "close", "socket",
		"setsockopt", "bind", "listen", "accept4", "ppoll", "shutdown", "sendfile", "ioctl"},
		"-addr", "127.0.0.1:0", "-quiet", "-faults", "-faults-hang", "500ms", "-yield-after", "0",
		"-dir", dir, "-file-cache-size", "0")
	script := []struct{ name, path string }{
		{"fault-hang", "/_faults/hang"},
		{"fault-reset", "/_faults/reset/after/1000/big.bin"},
		{"fault-reset-now", "/_faults/reset"},
		{"fault-truncate", "/_faults/truncate/1000/big.bin"},
		{"fault-close", "/_faults/close-before-response"},
		{"fault-delay", "/_faults/delay/100ms/f.txt"},
		{"fault-drip", "/_faults/drip/4/50ms/bytes/12?seed=1"},
	}
	var wg sync.WaitGroup
	for i, step := range script {
		c, err := net.Dial("tcp", s.Ready())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if i == 0 {
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: rawserve\r\n\r\n", step.path)
			time.Sleep(100 * time.Millisecond) // it hangs
		} else {
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: rawserve\r\nConnection: close\r\n\r\n", step.path)
			c.(*net.TCPConn).CloseWrite()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			io.Copy(io.Discard, c) // to the server's FIN, or its RST
			c.Close()
		}()
	}
	wg.Wait()
	time.Sleep(50 * time.Millisecond) // the server has closed the last
	calls := stopTraced(t, s, trace)
	waker, lfd, start := roles(t, calls)
	norm := normaliser(waker - 5)
	got := map[string]string{}
	conn, n := -1, 0 // the connection being followed, and how many there were
	var lines []string
	for _, c := range calls[start:] {
		switch {
		case strings.HasPrefix(c.Errno(), "ERESTART"): // see transcripts
		case c.Name == "accept4" && c.Ret() >= 0:
			conn, lines = c.Ret(), nil
		case conn < 0 || c.FD() == lfd || c.FD() == waker:
		case lines == nil && !(c.Name == "read" && c.FD() == conn && c.Ret() > 0):
			// Before the request came (an EAGAIN, a wait): not the fault's.
		default:
			lines = append(lines, norm(c.String()))
			if c.Name == "close" && c.FD() == conn {
				if n < len(script) {
					got[script[n].name] = strings.Join(lines, "\n") + "\n"
				}
				n++
				conn = -1
			}
		}
	}
	if n != len(script) {
		t.Fatalf("%d connections closed in the trace, want %d", n, len(script))
	}
	return got
}
