package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/strace"
)

// The tests run the tool as make does, against a build of rawserve, so that
// make demo, make models, make syscalls and every walkthrough scenario
// cannot rot. They need strace; without it they skip, and say so.
var rawtrace, rawserve string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rawtrace-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rawtrace, rawserve = filepath.Join(dir, "rawtrace"), filepath.Join(dir, "rawserve")
	for bin, pkg := range map[string]string{rawtrace: ".", rawserve: "../../cmd/rawserve"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", pkg, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run runs rawtrace -bin rawserve with args, at most two minutes, and
// returns what it printed.
func run(t *testing.T, args ...string) string {
	t.Helper()
	if err := strace.Available(); err != nil {
		t.Skipf("%v (.ci/run installs it)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, rawtrace, append([]string{"-bin", rawserve}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("rawtrace %v: %v\n%s\nstdout:\n%s", args, err, stderr.String(), out)
	}
	return string(out)
}

// make demo: each of the server's calls, whole result and all, with a note;
// every note the story needs is there.
func TestDemo(t *testing.T) {
	out := run(t, "demo")
	var calls []string
	out, act3, ok := strings.Cut(out, "\n# Act 3: ")
	if !ok {
		t.Fatalf("no third act:\n%s", out)
	}
	act1, act2, ok := strings.Cut(out, "\n# Act 2: ")
	if !ok {
		t.Fatalf("no second act:\n%s", out)
	}
	for _, line := range strings.Split(strings.TrimSuffix(strings.TrimSuffix(act1, "\n")+"\n"+act2[strings.Index(act2, "\n\n")+2:], "\n"), "\n") {
		call, note, ok := strings.Cut(line, "  # ")
		if !ok || note == "" {
			t.Fatalf("a line without a note: %q", line)
		}
		call = strings.TrimRight(call, " ")
		parsed, err := strace.Parse(strings.NewReader(call))
		if err != nil || len(parsed) != 1 || parsed[0].Result == "" {
			t.Errorf("not a call with its result: %q", call)
		}
		calls = append(calls, call)
	}
	for _, note := range []string{
		"the waker", "the listener, nonblocking", "SO_REUSEADDR", "TCP_NODELAY", "port 0: any free port", "which port the kernel chose: 127.0.0.1:",
		"the backlog", `the kernel says "not now"`, "sleep until a client, or SIGTERM", "a connection: fd",
		"the request, as sent", "the whole response in one write", "sleep until the client sends (keep-alive), or another client waits",
		"EOF: the client closed its side", "closed ", "SIGTERM arrived: wake the server", "stop listening", "# done",
	} {
		if !strings.Contains(out, note) {
			t.Errorf("no note %q in:\n%s", note, out)
		}
	}
	if n := strings.Count(act1, "the whole response in one write"); n != 3 {
		t.Errorf("%d responses, want 3:\n%s", n, out)
	}
	if n := strings.Count(act1, "a connection: fd"); n != 2 {
		t.Errorf("%d connections, want 2:\n%s", n, out)
	}
	// The second act: a head in two pieces, a 408, a reset mid-response,
	// and files sent with sendfile — each call with its result and note.
	for _, note := range []string{
		"part of a head", "EAGAIN: the rest of the head has not arrived yet", "the rest of the head: now the request is whole",
		"the file, opened beneath the root", "its size, for Content-Length", "the response head; the body follows by sendfile",
		"the file's bytes, page cache to socket", "the header timeout passed", "408: the head did not arrive",
		"EAGAIN: the send buffer is full", "the client reset the connection (RST) mid-response", "close what the reset left",
	} {
		if !strings.Contains(act2, note) {
			t.Errorf("no note %q in the second act:\n%s", note, act2)
		}
	}
	if !strings.HasPrefix(calls[0], "eventfd2(") || !strings.HasPrefix(calls[len(calls)-1], "close(") {
		t.Errorf("the demo runs from %q to %q", calls[0], calls[len(calls)-1])
	}
	// The third act: the same requests through io_uring — strace's count,
	// then the narration's requests and completions, each with its note;
	// or, where io_uring is not allowed, why it was skipped.
	if strings.Contains(act3, "(skipped: the uring model cannot run here: ") {
		t.Logf("the third act was skipped:\n%s", act3)
		return
	}
	for _, want := range []string{"strace saw ", "getpeername ×2, io_uring_enter ×", "no accept4, read, write or close",
		"→ sqe accept(", "# one accept request for every connection to come", "← cqe accept(", "# a connection: its descriptor",
		"→ sqe recv(", "← cqe recv(", "# the request, in the buffer the kernel picked", "→ sqe send(", "# the whole response, as a request",
		"# EOF: the client closed its side", "→ sqe close(", "# the one system call: hand the kernel the requests above", "# SIGTERM arrived: stop"} {
		if !strings.Contains(act3, want) {
			t.Errorf("no %q in the third act:\n%s", want, act3)
		}
	}
	if n := strings.Count(act3, "# the whole response, as a request"); n != 3 {
		t.Errorf("%d responses in the third act, want 3:\n%s", n, act3)
	}
}

// fit cuts arguments, whole ones where it can, and never the result.
func TestFit(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`1 close(7) = 0`, `close(7) = 0`},
		{`1 accept4(6, 0x29c3d2432e24, [112], SOCK_CLOEXEC|SOCK_NONBLOCK) = -1 EAGAIN (Resource temporarily unavailable)`,
			`accept4(6, 0x29c3d2432e24, [112], ...) = -1 EAGAIN (Resource temporarily unavailable)`},
		{`1 ppoll([{fd=6, events=POLLIN}, {fd=5, events=POLLIN}], 2, NULL, NULL, 0) = 1 ([{fd=6, revents=POLLIN}])`,
			`ppoll([{fd=6, events=POLLIN}, {fd=5, events=POLLIN}], 2, ...) = 1 ([{fd=6, revents=POLLIN}])`},
		{`1 ppoll([{fd=7, events=POLLIN}, {fd=5, events=POLLIN}], 2, {tv_sec=1, tv_nsec=999999216}, NULL, 0) = 1 ([{fd=7, revents=POLLIN}], left {tv_sec=1, tv_nsec=999997055})`,
			`ppoll([{fd=7, events=POLLIN...) = 1 ([{fd=7, revents=POLLIN}], left {tv_sec=1, tv_nsec=999997055})`},
		{`1 write(7, "a, \"b\", {c, d}, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u, v, w, x, y, z, 1, 2, 3, 4, 5", 90) = 90`,
			`write(7, ...) = 90`},
	} {
		calls, err := strace.Parse(strings.NewReader(tc.line))
		if err != nil || len(calls) != 1 {
			t.Fatalf("%s: %v", tc.line, err)
		}
		if got := fit(calls[0], 96); got != tc.want {
			t.Errorf("fit:\n got %s\nwant %s", got, tc.want)
		}
	}
}

// make models: the table of docs/models.md, spin failing far more often
// than poll.
func TestModels(t *testing.T) {
	out := run(t, "models")
	failed := func(column int) int {
		m := regexp.MustCompile(`(?m)^\| accept4 \| (.*) \|$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no accept4 row:\n%s", out)
		}
		cells := strings.Split(m[1], " | ")
		f := regexp.MustCompile(`\((\d+) failed\)`).FindStringSubmatch(cells[column])
		if f == nil {
			return 0
		}
		n, _ := strconv.Atoi(f[1])
		return n
	}
	for _, row := range []string{"| system call | serial, -wait poll | serial, -wait spin | -model epoll |",
		"| read |", "| write | 405 | 405 | 405 |", "| ppoll |", "| epoll_pwait | 0 | 0 |", "| epoll_ctl |",
		"| shutdown |", "| close |", "| **CPU time used** (user + system) |", "\nMeasured "} {
		if !strings.Contains(out, row) {
			t.Errorf("no %q in:\n%s", row, out)
		}
	}
	if poll, spin := failed(0), failed(1); spin < 10*poll || spin < 1000 {
		t.Errorf("accept4 failed %d times with -wait poll, %d with spin:\n%s", poll, spin, out)
	}
}

// make syscalls, with fewer requests: the page, whole.
func TestSyscalls(t *testing.T) {
	page := filepath.Join(t.TempDir(), "syscalls.md")
	run(t, "syscalls", "-n", "50", "-o", page)
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, want := range []string{
		"# System calls per request", "serve\n50 requests in each of six scenarios",
		"### Start and stop, no requests",
		"### Keep-alive: GET /healthz, 50 requests on 1 connection(s)",
		"### Connection: close — GET /healthz, 50 requests on 50 connections",
		"### A 1 MiB file over keep-alive (sendfile), 50 requests on 1 connection(s)",
		"### The epoll model: keep-alive, 50 requests on 1 connection(s)",
		"### A small file, default flags, epoll: keep-alive, 50 requests on 1 connection(s)",
		"### The same small file, the uring model: keep-alive, 50 requests on 1 connection(s)", "| io_uring_enter | ",
		"| sendfile | ", "| statx | ", "| other (Go runtime: futex, nanosleep, …) |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	// Every scenario but the uring model's wrote each response in one
	// write: 1.000 per request; the small file's came from the cache, after
	// one statx each. The uring model's went through the ring.
	if n := strings.Count(out, "| write | "); n != 7 || strings.Count(out, " | 1.000 |\n| sendfile |") != 5 {
		t.Errorf("%d write rows, or not one write per request:\n%s", n, out)
	}
}

// Each walkthrough scenario runs and shows what the doc says it shows. A
// scenario whose point is luck (eintr) need only run.
func TestWalkthrough(t *testing.T) {
	want := map[string][]string{
		"dualstack":       {"socket(AF_INET6,", "IPV6_V6ONLY, [0], 4) = 0", `inet_pton(AF_INET6, "::ffff:127.0.0.1"`, "getsockname("},
		"queue":           {"$ ss -ltn", "client: 200 after "},
		"accept4-xsys":    {"SO_PROTOCOL, [6], [4]) = 0", "SOCK_CLOEXEC) = "},
		"spin":            {"EAGAIN (Resource temporarily unavailable)", "accept4 EAGAIN in this second", "-wait spin: "},
		"readwait":        {"write(", "ppoll(", `read(`},
		"write":           {`"HTTP/1.1 200 OK\r\n`},
		"slowloris":       {`, "G", 20480) = 1`, `, "/", 20476) = 1`, "EAGAIN"},
		"sendfile":        {`openat2(`, `"big.bin"`, "fstat(", "st_size=1048576", "sendfile(", "= 1048576"},
		"sendfile-eagain": {"client: 67108864 bytes", "EAGAIN", "events=POLLOUT"},
		"rst":             {`"GET /healthz HTTP/1.1`, "## access log (stdout)", `"GET /healthz HTTP/1.1" 200`},
		"drain413":        {"client got: HTTP/1.1 413 Content Too Large", "413 Content Too Large", `"", 20480) = 0`},
		"timeouts":        {"408 Request Timeout", "= 0 (Timeout)", `kept-alive client: next read ""`},
		"emfile":          {"EMFILE (Too many open files)", "client: 200 after", "retrying in 5ms", "events=POLLIN}], 1, "},
		"eintr":           {"ppoll ERESTARTNOHAND: "},
		"idle-flush":      {"= 0 (Timeout)", `write(1, "127.0.0.1 - - [`},
		"runtime":         {"nanosleep(", "futex(", "epoll_* calls: 0", "threads that made a call: "},
		"three-serial":    {"client=0", "client=1", "client=2"},
		"three-epoll":     {"epoll_pwait(", "client=0", "client=1", "client=2"},
		"three-keepalive": {"EPOLL_CTL_ADD", "round=1", "round=2", "EPOLLRDHUP"},
		"uring-keepalive": {"→ sqe accept(", "← cqe accept(", "getpeername(", "→ sqe recv(", `← cqe recv(`, `"GET /index.html HTTP/1.1\r\n`,
			"openat2(", "statx(", "→ sqe send(", "← cqe send(", "io_uring_enter(", "← cqe recv(", ") = 0 [", "→ sqe close(", "← cqe close("},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			if want[s.name] == nil {
				t.Fatalf("no expectations for %s", s.name)
			}
			out := run(t, "walkthrough", s.name)
			for _, w := range want[s.name] {
				if !strings.Contains(out, w) {
					t.Errorf("no %q in:\n%s", w, out)
				}
			}
			accepted := regexp.MustCompile(`(?m)^accept4\(.*\) = \d+$`)
			if strings.HasPrefix(s.name, "three-") && len(accepted.FindAllString(out, -1)) != 3 {
				t.Errorf("want three connections accepted:\n%s", out)
			}
		})
	}
}

// Every scenario is one the docs point to, and every one they point to
// exists: the docs and the tool cannot drift apart.
func TestDocsNameTheScenarios(t *testing.T) {
	named := map[string]bool{}
	for _, doc := range []string{"../../docs/walkthrough.md", "../../docs/models.md", "../../README.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile("`go run ./tools/rawtrace walkthrough ([a-z0-9-]+)`").FindAllStringSubmatch(string(b), -1) {
			named[m[1]] = true
			if _, ok := scenarioNamed(m[1]); !ok {
				t.Errorf("%s names scenario %q, which rawtrace does not have", doc, m[1])
			}
		}
	}
	for _, s := range scenarios {
		if !named[s.name] {
			t.Errorf("no doc names scenario %s", s.name)
		}
	}
}

// make compare: both servers served the three requests, step by step, and
// the notes that say where they differ are there — each is printed only
// when the traces show what it claims.
func TestCompare(t *testing.T) {
	out := run(t, "compare")
	for _, want := range []string{
		"## 1. Start: from exec to a listening socket",
		"## 7. Request 3: accept, read, respond, close",
		"## 8. Stop: SIGTERM",
		"The runtime's netpoller", "hear EAGAIN", "sleeps in epoll_pwait for every parked goroutine",
		"rawserve sleeps in ppoll", "getsockname for LocalAddr", "regular file cannot wait in epoll",
		"reads it into its file cache", "From memory: one statx checks", "read does not wait for one", "default action ends it",
		"rawserve's handler writes to the waker",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	// Each request's service, in each server, is a successful accept4 and
	// the close of what it returned.
	if n := strings.Count(out, "accept4(5, {sa_family=AF_INET"); n != 3 {
		t.Errorf("the seed post accepted %d connections, want 3:\n%s", n, out)
	}
	if !regexp.MustCompile(`(?m)^how SIGTERM ended it +killed by SIGTERM +exit 0$`).MatchString(out) {
		t.Errorf("no line on how each ended:\n%s", out)
	}
}
