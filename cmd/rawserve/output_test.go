package main

import (
	"bufio"
	"bytes"
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

// Issue #13: whatever happens to the readers of rawserve's stdout and
// stderr, the server goes on serving, and stops cleanly when asked. These
// tests give the binary real pipes, as a shell does for `rawserve | head`.

// outputModels are the models the output tests run against: the serial
// loop, one event loop, two on their own threads, and a uring loop.
var outputModels = [][]string{{"-model", "serial"}, {"-model", "epoll"}, {"-model", "epoll", "-loops", "2"}, {"-model", "uring"}}

func modelName(flags []string) string { return strings.Join(flags[1:], "-") }

// startWith starts the binary on a free port with stdout and stderr as
// given (nil: the server's buffers; an *os.File, such as a pipe's write
// end, becomes the child's fd itself) and waits for its ready file, since a
// stderr in a pipe cannot be watched for the start-up line. The process is
// killed, by its PID, when the test ends.
func startWith(t *testing.T, stdout, stderr io.Writer, args ...string) (s *server, ready string) {
	t.Helper()
	ready = filepath.Join(t.TempDir(), "ready")
	s = &server{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(binary, append([]string{"-addr", "127.0.0.1:0", "-ready-file", ready}, args...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	if stdout != nil {
		s.cmd.Stdout = stdout
	}
	if stderr != nil {
		s.cmd.Stderr = stderr
	}
	s.launch(t)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if b, _ := os.ReadFile(ready); bytes.HasSuffix(b, []byte("\n")) {
			s.addr = strings.TrimSpace(string(b))
			return s, ready
		}
		select {
		case <-s.exited:
			t.Fatalf("exited before it was ready: %v\n%s", s.err, s.stderr)
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatalf("no ready file in 10s\n%s", s.stderr)
	return nil, ""
}

// pipeNobodyReads is a pipe whose write end is for the child; the read end
// is closed when the test ends.
func pipeNobodyReads(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// siteDir is a directory with a small index.html.
func siteDir(t *testing.T) string {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>hi</h1>\n"), 0o644)
	return dir
}

// exchange sends n requests for / on one kept-alive connection, pipelined,
// and checks that each is answered 200 within the time given.
func exchange(t *testing.T, addr string, n int, within time.Duration) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(within))
	go func() {
		w := bufio.NewWriter(c)
		for range n {
			io.WriteString(w, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		}
		w.Flush()
	}()
	br := bufio.NewReader(c)
	for i := range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d of %d: %v", i+1, n, err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("response %d: %s", i+1, resp.Status)
		}
	}
}

// stopWithin sends SIGTERM and checks the server exits 0 within the time
// given, leaving no ready file; it returns how long the exit took.
func (s *server) stopWithin(t *testing.T, ready string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t, 5*time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0\nstderr:\n%s", code, s.stderr)
	}
	took := time.Since(start)
	if took > within {
		t.Errorf("took %v to exit after SIGTERM, want at most %v", took.Round(time.Millisecond), within)
	}
	if _, err := os.Stat(ready); !os.IsNotExist(err) {
		t.Errorf("ready file left behind: %v", err)
	}
	return took
}

// loadThenStop sends the requests, each answered within 10 s in all, stops
// the server within 2 s, and returns what the pipe r holds, read only now,
// when the server has gone.
func (s *server) loadThenStop(t *testing.T, ready string, requests int, r *os.File) []byte {
	t.Helper()
	start := time.Now()
	exchange(t, s.addr, requests, 10*time.Second)
	t.Logf("%d requests answered in %v", requests, time.Since(start).Round(time.Millisecond))
	took := s.stopWithin(t, ready, 2*time.Second)
	t.Logf("exit %v after SIGTERM", took.Round(time.Millisecond))
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// `rawserve | head -c 10`, and `2>&1 | head -c 10`: the reader takes ten
// bytes and goes. Writes to the pipe then fail with EPIPE; the server goes on
// serving and stops cleanly. (Through package os, EPIPE on fd 1 or 2 raises
// SIGPIPE, which killed it: status 141 in a shell, the ready file left
// behind.)
func TestOutputReaderGoes(t *testing.T) {
	for _, flags := range outputModels {
		for _, both := range []bool{false, true} {
			name := modelName(flags) + "/stdout"
			if both {
				name += "+stderr"
			}
			t.Run(name, func(t *testing.T) { testOutputReaderGoes(t, flags, both) })
		}
	}
}

func testOutputReaderGoes(t *testing.T, flags []string, both bool) {
	needModel(t, flags[1])
	r, w := pipeNobodyReads(t)
	var stderr io.Writer // the server's buffer
	if both {
		stderr = w
	}
	s, ready := startWith(t, w, stderr, append([]string{"-dir", siteDir(t)}, flags...)...)
	w.Close()
	// Something in the log (written once the server has been quiet for
	// 100 ms), for head to take its ten bytes from; with 2>&1 they are the
	// start-up line's.
	exchange(t, s.addr, 5, 5*time.Second)
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(r, make([]byte, 10)); err != nil {
		t.Fatalf("reading ten bytes: %v", err)
	}
	r.Close()
	exchange(t, s.addr, 60, 5*time.Second) // 4 KiB of log: written at once
	time.Sleep(300 * time.Millisecond)     // and the rest once quiet
	exchange(t, s.addr, 10, 5*time.Second)
	s.stopWithin(t, ready, 2*time.Second)
	if both {
		return // every line went to the closed pipe
	}
	errs := s.stderr.String()
	if n := strings.Count(errs, "rawserve: stdout: write: broken pipe: no more access-log lines\n"); n != 1 {
		t.Errorf("stderr says %d times that stdout is closed, want once:\n%s", n, errs)
	}
	if !regexp.MustCompile(`(?m)^rawserve: stopped \(\d+ access-log lines dropped: stdout was closed\)$`).MatchString(errs) {
		t.Errorf("no stop line with the lines dropped:\n%s", errs)
	}
}

// A harness that starts rawserve with stdout in a pipe and never reads it:
// the pipe fills after some 700 lines. Every request is still answered, the
// lines that do not fit are dropped and counted, and SIGTERM stops the
// server within a second or so — the time exit gives the log to drain.
func TestStdoutNotRead(t *testing.T) {
	for _, flags := range outputModels {
		t.Run(modelName(flags), func(t *testing.T) { testStdoutNotRead(t, flags) })
	}
}

func testStdoutNotRead(t *testing.T, flags []string) {
	needModel(t, flags[1])
	const requests = 5000
	r, w := pipeNobodyReads(t)
	s, ready := startWith(t, w, nil, append([]string{"-dir", siteDir(t)}, flags...)...)
	w.Close()
	logged := s.loadThenStop(t, ready, requests, r)

	errs := s.stderr.String()
	if n := strings.Count(errs, "rawserve: stdout is not read fast enough: access-log lines are dropped while it is full (counted at exit)\n"); n != 1 {
		t.Errorf("stderr says %d times that lines are dropped, want once:\n%s", n, errs)
	}
	m := regexp.MustCompile(`(?m)^rawserve: stopped \((\d+) access-log lines dropped: stdout was not read in time\)$`).FindStringSubmatch(errs)
	if m == nil {
		t.Fatalf("no stop line with the lines dropped:\n%s", errs)
	}
	dropped, _ := strconv.Atoi(m[1])
	// What the pipe holds and what was dropped are every request's line:
	// none lost uncounted.
	whole := bytes.Count(logged, []byte("\n"))
	if whole+dropped != requests || !bytes.HasPrefix(logged, []byte("127.0.0.1 - - [")) {
		t.Errorf("%d lines in the pipe and %d dropped, want %d in all; the pipe begins %.80q", whole, dropped, requests, logged)
	}
}

// -trace's narration to a stderr nobody reads: five lines or so a request,
// so the pipe is full within some 150 requests. The loops go on serving
// and narrating into the queue; what does not fit is dropped.
func TestTraceNotRead(t *testing.T) {
	const requests = 5000
	r, w := pipeNobodyReads(t)
	s, ready := startWith(t, nil, w, "-trace", "-quiet", "-dir", siteDir(t), "-model", "epoll", "-loops", "2")
	w.Close()
	told := s.loadThenStop(t, ready, requests, r)
	// Whole lines, in order: the narration of the start-up, then the
	// start-up line, then the narration of the requests. With two loops,
	// each line begins with its thread ("[pid TID] "), and a wait may be
	// cut in two halves.
	narrated := regexp.MustCompile(`^\[pid +\d+\] (\w+\(.*(\) = | <unfinished \.\.\.>$)|<\.\.\. \w+ resumed>)`)
	startup, rest, ok := bytes.Cut(told, []byte("rawserve: listening on "))
	if !ok || !bytes.Contains(startup, []byte("] listen(")) {
		t.Fatalf("stderr does not begin with the narrated start-up, then the start-up line:\n%.2000s", told)
	}
	for _, l := range bytes.Split(bytes.TrimSuffix(startup, []byte("\n")), []byte("\n")) {
		if !narrated.Match(l) {
			t.Errorf("not a narrated call: %q", l)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^\[pid +\d+\] \w+\(.*\) = `).FindAll(rest, -1)); n < 300 {
		t.Errorf("%d calls narrated in the pipe after the start-up line, want hundreds:\n%.400s", n, rest)
	}
}

// SIGHUP — a closed terminal, some CI runners — stops the server as SIGTERM
// does: exit 0, the stop line, no ready file left. Under nohup (SIGHUP
// ignored when rawserve starts) it stays ignored.
func TestSIGHUP(t *testing.T) {
	s, ready := startWith(t, nil, nil, "-quiet")
	s.cmd.Process.Signal(syscall.SIGHUP)
	if code := s.wait(t, 2*time.Second); code != 0 {
		t.Errorf("exit %d after SIGHUP, want 0 (%v)\n%s", code, s.err, s.stderr)
	}
	if errs := s.stderr.String(); !strings.Contains(errs, "rawserve: hangup: shutting down\n") || !strings.HasSuffix(errs, "rawserve: stopped\n") {
		t.Errorf("stderr:\n%s", errs)
	}
	if _, err := os.Stat(ready); !os.IsNotExist(err) {
		t.Errorf("ready file left behind: %v", err)
	}
}

func TestSIGHUPIgnoredByNohup(t *testing.T) {
	testIgnoredAtStart(t, "HUP", syscall.SIGHUP)
}

// A shell without job control starts a background job with SIGINT ignored
// (`rawserve &` in a script): a Ctrl-C meant for the script leaves it
// running, as it does any program that keeps the disposition it was given.
func TestSIGINTIgnoredInBackgroundJob(t *testing.T) {
	testIgnoredAtStart(t, "INT", syscall.SIGINT)
}

// testIgnoredAtStart starts rawserve with sig ignored, sends it, and wants
// the server still serving; SIGTERM then stops it as ever.
func testIgnoredAtStart(t *testing.T, trap string, sig syscall.Signal) {
	ready := filepath.Join(t.TempDir(), "ready")
	// The shell execs rawserve in its own process: same PID, sig ignored.
	s := runServer(t, "sh", "-c", `trap "" `+trap+`; exec "$@"`, "sh", binary, "-addr", "127.0.0.1:0", "-ready-file", ready)
	s.cmd.Process.Signal(sig)
	time.Sleep(200 * time.Millisecond)
	select {
	case <-s.exited:
		t.Fatalf("%v, ignored at start, stopped it: %v\n%s", sig, s.err, s.stderr)
	default:
	}
	if code, _ := s.get(t, "/healthz"); code != 200 {
		t.Errorf("after %v: %d", sig, code)
	}
	s.stopWithin(t, ready, 2*time.Second)
}
