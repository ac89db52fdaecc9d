package main

import (
	"bufio"
	"bytes"
	"context"
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
	"syscall"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/sock"
	"github.com/rawserve/rawserve/internal/strace"
)

// The tests run the real binary, built once, as a user would.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rawserve-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "rawserve")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type server struct {
	cmd            *exec.Cmd
	addr           string // host:port it listens on
	stdout, stderr *lockedBuffer
	exited         chan struct{}
	err            error // Wait's result, once exited is closed
}

var listening = regexp.MustCompile(`listening on (\S+)`)

// runServer starts argv (the binary, or a wrapper around it) and waits for the
// "listening on" line. The process is killed, by its PID, when the test ends.
func runServer(t *testing.T, argv ...string) *server {
	t.Helper()
	return runServerEnv(t, nil, argv...)
}

// runServerEnv is runServer with env added to the environment.
func runServerEnv(t *testing.T, env []string, argv ...string) *server {
	t.Helper()
	s := &server{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	s.launch(t)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := listening.FindStringSubmatch(s.stderr.String()); m != nil {
			s.addr = m[1]
			return s
		}
		select {
		case <-s.exited:
			t.Fatalf("%v exited before listening: %v\n%s", argv, s.err, s.stderr)
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatalf("%v: no listening line in 10s:\n%s", argv, s.stderr)
	return nil
}

// launch starts s.cmd, made ready to start; the process is killed, by its
// PID, when the test ends.
func (s *server) launch(t *testing.T) {
	t.Helper()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.exited
	})
}

func start(t *testing.T, args ...string) *server {
	t.Helper()
	return runServer(t, append([]string{binary, "-addr", "127.0.0.1:0"}, args...)...)
}

// wait waits for the process to exit and returns its exit code.
func (s *server) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-s.exited:
	case <-time.After(within):
		t.Fatalf("still running %v later\nstderr:\n%s", within, s.stderr)
	}
	var ee *exec.ExitError
	if errors.As(s.err, &ee) {
		return ee.ExitCode()
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	return 0
}

// child returns the PID of the process a wrapper (unshare, sh) started.
func (s *server) child(t *testing.T) int {
	t.Helper()
	pid, err := strace.Child(s.cmd.Process.Pid, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func (s *server) get(t *testing.T, path string) (int, string) {
	t.Helper()
	// No keep-alive: a kept connection would hold the serial server until
	// its idle timeout, and the next client would wait that long.
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + s.addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestServesPageHealthzAndExits0(t *testing.T) {
	s := start(t)
	if code, body := s.get(t, "/"); code != 200 || !strings.Contains(body, "accept4") {
		t.Errorf("GET /: %d, %.80q", code, body)
	}
	if code, body := s.get(t, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("GET /healthz: %d %q", code, body)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t, 2*time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0\n%s", code, s.stderr)
	}
	// The buffered access log is written out at exit; probes are left out.
	if n := strings.Count(s.stdout.String(), "\n"); n != 1 || !strings.Contains(s.stdout.String(), `"GET / HTTP/1.1" 200 `) {
		t.Errorf("access log:\n%s", s.stdout)
	}
}

func TestServesDirQuiet(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>hi</h1>"), 0o644)
	s := start(t, "-dir", dir, "-quiet")
	if code, body := s.get(t, "/"); code != 200 || body != "<h1>hi</h1>" {
		t.Errorf("GET /: %d %q", code, body)
	}
	if code, _ := s.get(t, "/nothing-here"); code != 404 {
		t.Errorf("GET /nothing-here: %d", code)
	}
	s.cmd.Process.Signal(syscall.SIGINT)
	if code := s.wait(t, 2*time.Second); code != 0 {
		t.Errorf("exit %d after SIGINT", code)
	}
	if s.stdout.String() != "" {
		t.Errorf("-quiet, yet stdout has:\n%s", s.stdout)
	}
}

func TestIPv6(t *testing.T) {
	s := runServer(t, binary, "-addr", "[::1]:0")
	if !strings.HasPrefix(s.addr, "[::1]:") {
		t.Fatalf("listening on %s", s.addr)
	}
	if code, _ := s.get(t, "/healthz"); code != 200 {
		t.Errorf("GET over IPv6: %d", code)
	}
}

// SIGTERM while a large response is in flight to a slow reader: the
// response completes, then the process exits 0.
func TestSIGTERMFinishesInFlight(t *testing.T) {
	for _, model := range []string{"serial", "epoll", "uring"} {
		t.Run(model, func(t *testing.T) { testSIGTERMFinishesInFlight(t, model) })
	}
}

func testSIGTERMFinishesInFlight(t *testing.T, model string) {
	needModel(t, model)
	dir := t.TempDir()
	big := bytes.Repeat([]byte("rawserve"), 4<<20) // 32 MiB
	os.WriteFile(filepath.Join(dir, "big"), big, 0o644)
	s := start(t, "-dir", dir, "-model", model)
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	if _, err := br.Peek(1); err != nil {
		t.Fatal(err)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(200 * time.Millisecond) // the server is stopping, the response unfinished
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || !bytes.Equal(body, big) {
		t.Fatalf("in-flight response: %d of %d bytes, %v", len(body), len(big), err)
	}
	if code := s.wait(t, 3*time.Second); code != 0 {
		t.Errorf("exit %d, want 0\n%s", code, s.stderr)
	}
}

// A second signal does not wait for anything — but still removes the
// ready file, which os.Exit in the signal goroutine used to skip.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "big"), make([]byte, 64<<20), 0o644)
	s, ready := startWith(t, nil, nil, "-dir", dir, "-write-timeout", "1m")
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
	time.Sleep(200 * time.Millisecond)
	s.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(100 * time.Millisecond)
	select {
	case <-s.exited:
		t.Fatal("exited on the first signal with a response in flight")
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t, 2*time.Second); code != 1 {
		t.Errorf("exit %d after a forced stop; want 1\n%s", code, s.stderr)
	}
	if _, err := os.Stat(ready); !os.IsNotExist(err) {
		t.Errorf("ready file left behind by the forced exit: %v", err)
	}
	if errs := s.stderr.String(); !strings.HasSuffix(errs, "rawserve: second terminated: exiting now\n") {
		t.Errorf("stderr:\n%s", errs)
	}
}

// A second rawserve on a port that is in use fails to start, whatever the
// model and loops of either: exit 1 and bind's EADDRINUSE. (The epoll model's
// listeners share their port with SO_REUSEPORT among themselves, but its
// first listener binds without it, so no later process joins by mistake —
// a leftover fixture would otherwise answer half the requests.) The first
// goes on answering every request.
func TestAddressInUse(t *testing.T) {
	models := [][]string{{"-model", "serial"}, {"-model", "epoll"}, {"-model", "epoll", "-loops", "2"}}
	if sock.UringUnavailable() == nil {
		models = append(models, []string{"-model", "uring", "-loops", "2"})
	}
	for _, first := range models {
		s := runServer(t, append([]string{binary, "-addr", "127.0.0.1:0", "-quiet"}, first...)...)
		for _, second := range models {
			// A second instance that wrongly starts is killed after 5 s.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, append([]string{"-addr", s.addr}, second...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Errorf("%v after %v: %v, want exit status 1", second, first, err)
				continue
			}
			want := "rawserve: listen on " + s.addr + ": bind: address already in use\n"
			if stderr.String() != want {
				t.Errorf("%v after %v: stderr %q, want %q", second, first, stderr.String(), want)
			}
		}
		for i := 0; i < 10; i++ {
			resp, err := http.Get("http://" + s.addr + "/healthz")
			if err != nil {
				t.Fatalf("%v: request %d: %v", first, i, err)
			}
			resp.Body.Close()
		}
	}
}

// needModel skips a test of model where it cannot run here — the uring
// model, where io_uring is not allowed (a seccomp profile, the sysctl
// kernel.io_uring_disabled, an old kernel) — saying why.
func needModel(t *testing.T, model string) {
	t.Helper()
	if model != "uring" {
		return
	}
	if err := sock.UringUnavailable(); err != nil {
		t.Skipf("the uring model cannot run here: %v", err)
	}
}

func TestBadUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"-wait", "busy"}, 2, `-wait: unknown wait strategy "busy"`},
		{[]string{"-addr", "8080"}, 2, `-addr: address "8080"`},
		{[]string{"-addr", "example.com:80"}, 2, "not resolved"},
		{[]string{"-header-timeout", "0s"}, 2, "-header-timeout must be positive"},
		{[]string{"-backlog", "-1"}, 2, "-backlog must be"},
		{[]string{"-no-such-flag"}, 2, "flag provided but not defined"},
		{[]string{"serve"}, 2, `unexpected argument "serve"`},
		{[]string{"-dir", "/no/such/dir"}, 1, `-dir "/no/such/dir": open`},
		{[]string{"-list"}, 2, "-list needs -dir"},
		{[]string{"-model", "threads"}, 2, `-model: unknown model "threads"`},
		{[]string{"-file-cache-size", "1MiB"}, 2, "-file-cache-size needs -dir"},
		{[]string{"-file-cache-trust", "1s"}, 2, "-file-cache-trust needs -dir"},
		{[]string{"-file-cache-size", "2TiB", "-dir", "."}, 2, `invalid value "2TiB" for flag -file-cache-size: "2TiB" is not a size up to 1TiB`},
		{[]string{"-file-cache-size", "-1", "-dir", "."}, 2, "is not a size up to 1TiB"},
		{[]string{"-file-cache-size", "12 parsecs", "-dir", "."}, 2, "is not a size up to 1TiB"},
		{[]string{"-file-cache-trust", "-1s", "-dir", "."}, 2, "-file-cache-trust must be"},
		// The flag that trusted copies for a time says what replaced it.
		{[]string{"-file-cache", "1s", "-dir", "."}, 2, "-file-cache is replaced: files up to 64 KiB are now kept in memory by default and checked on disk before each use (-file-cache-size, 32MiB; 0 turns it off); to serve them unchecked for a time, as -file-cache did, use -file-cache-trust 1s"},
		{[]string{"-loops", "2"}, 2, "-loops applies to -model epoll and uring only"},
		{[]string{"-max-conns", "10"}, 2, "-max-conns applies to -model epoll and uring only"},
		{[]string{"-grace", "1s"}, 2, "-grace applies to -model epoll and uring only"},
		{[]string{"-model", "epoll", "-wait", "spin"}, 2, "-wait applies to -model serial only"},
		{[]string{"-model", "epoll", "-yield-after", "10ms"}, 2, "-yield-after applies to -model serial only"},
		{[]string{"-model", "uring", "-wait", "spin"}, 2, "-wait applies to -model serial only"},
		{[]string{"-model", "uring", "-yield-after", "10ms"}, 2, "-yield-after applies to -model serial only"},
		{[]string{"-yield-after", "-1s"}, 2, "-yield-after must be"},
		{[]string{"-model", "epoll", "-loops", "-1"}, 2, "-loops must be"},
		{[]string{"-model", "epoll", "-max-conns", "-5"}, 2, "-max-conns must be"},
		{[]string{"-model", "epoll", "-grace", "0s"}, 2, "-grace must be positive"},
		{[]string{"-addr", "127.0.0.1:1", "-backlog", "1"}, 1, "bind: permission denied"},
	} {
		if tc.msg == "bind: permission denied" && os.Geteuid() == 0 {
			continue // root may bind low ports
		}
		cmd := exec.Command(binary, tc.args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != tc.code {
			t.Errorf("%v: %v, want exit %d", tc.args, err, tc.code)
		}
		if !strings.Contains(stderr.String(), tc.msg) || strings.Contains(stderr.String(), "goroutine ") {
			t.Errorf("%v: stderr %q, want %q and no stack trace", tc.args, stderr.String(), tc.msg)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	out, err := exec.Command(binary, "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("-h: %v", err)
	}
	for _, flag := range []string{"-addr", "-dir", "-list", "-wait", "-backlog", "-header-timeout", "-idle-timeout", "-write-timeout", "-quiet", "-log-healthz", "-ready-file", "-version"} {
		if !bytes.Contains(out, []byte("  "+flag)) {
			t.Errorf("-h does not document %s", flag)
		}
	}
	out, err = exec.Command(binary, "-version").Output()
	if err != nil || !strings.HasPrefix(string(out), "rawserve ") {
		t.Errorf("-version: %q %v", out, err)
	}
}

// As PID 1 of a new PID namespace — the container case — the kernel
// ignores signals for which PID 1 has no handler. rawserve installs its own,
// so SIGTERM still stops it cleanly. The client stays on loopback.
func TestPID1(t *testing.T) {
	if err := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "true").Run(); err != nil {
		t.Skipf("cannot make a PID namespace here (unshare: %v)", err)
	}
	s := runServer(t, "unshare", "--pid", "--fork", "--mount-proc", binary, "-addr", "127.0.0.1:0", "-quiet")
	if code, _ := s.get(t, "/healthz"); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	pid := s.child(t) // unshare forks rawserve: its host PID
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if !regexp.MustCompile(`(?m)^NSpid:\s+\d+\s+1$`).Match(status) {
		t.Fatalf("not PID 1 in its namespace:\n%s", status)
	}
	start := time.Now()
	syscall.Kill(pid, syscall.SIGTERM)
	if code := s.wait(t, 2*time.Second); code != 0 {
		t.Errorf("as PID 1: exit %d after SIGTERM\n%s", code, s.stderr)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("as PID 1: took %v to stop", d)
	}
}

// -addr :PORT (the default's form) listens on every address, IPv6 and IPv4.
func TestDualStackDefault(t *testing.T) {
	s := runServer(t, binary, "-addr", ":0", "-quiet")
	_, port, err := net.SplitHostPort(s.addr)
	if err != nil || !strings.HasPrefix(s.addr, "[::]:") {
		t.Fatalf("listening on %q", s.addr)
	}
	for _, host := range []string{"127.0.0.1", "::1"} {
		s.addr = net.JoinHostPort(host, port)
		if code, _ := s.get(t, "/healthz"); code != 200 {
			t.Errorf("via %s: %d", host, code)
		}
	}
}

// Every flag has an environment variable; the command line wins; a bad
// value is a usage error naming the variable.
func TestEnvironment(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("from env"), 0o644)
	ready := filepath.Join(t.TempDir(), "ready")
	cmd := []string{binary, "-quiet"}
	s := runServerEnv(t, []string{"RAWSERVE_ADDR=127.0.0.1:0", "RAWSERVE_DIR=" + dir, "RAWSERVE_QUIET=false",
		"RAWSERVE_READY_FILE=" + ready, "RAWSERVE_LOG_HEALTHZ=true"}, cmd...)
	if code, body := s.get(t, "/"); code != 200 || body != "from env" {
		t.Errorf("GET / with RAWSERVE_DIR: %d %q", code, body)
	}
	s.get(t, "/healthz")
	b, err := os.ReadFile(ready)
	if err != nil || strings.TrimSpace(string(b)) != s.addr {
		t.Errorf("ready file: %q, %v; want %q", b, err, s.addr)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t, 2*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if s.stdout.String() != "" {
		t.Errorf("-quiet on the command line should win over RAWSERVE_QUIET=false; stdout:\n%s", s.stdout)
	}
	if _, err := os.Stat(ready); !os.IsNotExist(err) {
		t.Errorf("ready file left behind after exit: %v", err)
	}

	c := exec.Command(binary)
	c.Env = append(os.Environ(), "RAWSERVE_HEADER_TIMEOUT=soon")
	var stderr bytes.Buffer
	c.Stderr = &stderr
	err = c.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), `RAWSERVE_HEADER_TIMEOUT="soon"`) {
		t.Errorf("bad env value: %v, %q", err, stderr.String())
	}
	out, _ := exec.Command(binary, "-h").CombinedOutput()
	if !bytes.Contains(out, []byte("[$RAWSERVE_WRITE_TIMEOUT]")) {
		t.Errorf("-h does not name the environment variables:\n%s", out)
	}
}

// -model epoll -loops 2: two loops on one port, every client answered.
func TestEpollLoops(t *testing.T) {
	s := start(t, "-model", "epoll", "-loops", "2", "-quiet")
	for i := 0; i < 50; i++ {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		b, err := io.ReadAll(c)
		c.Close()
		if err != nil || !bytes.HasPrefix(b, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.HasSuffix(b, []byte("\r\n\r\nok\n")) {
			t.Fatalf("request %d: %q, %v", i, b, err)
		}
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t, 5*time.Second); code != 0 {
		t.Errorf("exit %d, want 0\n%s", code, s.stderr)
	}
	if !strings.Contains(s.stderr.String(), "(epoll, 2 loop(s) with SO_REUSEPORT)") {
		t.Errorf("start-up line: %s", s.stderr)
	}
}
