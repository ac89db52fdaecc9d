package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/rawserve/rawserve/internal/strace"
)

// syscalls is what one request costs in system calls, measured (make
// syscalls writes docs/syscalls.md with it): rawserve under strace -f -c
// once per scenario, a fixed number of requests from one client, SIGTERM,
// and the counts as Markdown.
func syscalls(tl *tool, args []string) {
	fs := flag.NewFlagSet("syscalls", flag.ExitOnError)
	n := fs.Int("n", 1000, "requests per scenario")
	out := fs.String("o", "", "write the page to this file, once it is complete (default: stdout)")
	fs.Parse(args)
	if *n <= 0 {
		tl.die("-n must be positive, not %d", *n)
	}
	N := *n

	// run starts rawserve with flags under strace -c, makes N requests for
	// path (each on a connection of its own when closing), stops it and
	// returns the counts and how many connections the client opened.
	run := func(name, path string, closing bool, flags ...string) (map[string]strace.Count, int) {
		s := tl.trace(name, how{count: true}, append([]string{"-quiet"}, flags...)...)
		conns := 0
		if path == "" { // start and stop: what every run pays once
			time.Sleep(500 * time.Millisecond)
		}
		deadline := time.Now().Add(2 * time.Minute)
		var c *client
		for i := 1; path != "" && i <= N; i++ {
			if time.Now().After(deadline) {
				tl.die("%s: %d of %d requests in 2 minutes", name, i-1, N)
			}
			if c == nil {
				c = tl.dial(s.addr)
				conns++
			}
			var code int
			if closing {
				code, _ = c.get(fmt.Sprintf("%s?%d", path, i), "Connection: close")
				c.Close()
				c = nil
			} else {
				code, _ = c.get(fmt.Sprintf("%s?%d", path, i))
			}
			if code != 200 {
				tl.die("%s: request %d answered %d", name, i, code)
			}
		}
		if c != nil {
			c.Close()
		}
		s.stop()
		return s.counts(), conns
	}

	idle, _ := run("idle", "", false)
	keepalive, connsKeepalive := run("keepalive", "/healthz", false)
	closing, connsClose := run("close", "/healthz", true)
	www := tl.path("www")
	if err := os.Mkdir(www, 0o755); err != nil {
		tl.die("%v", err)
	}
	if err := os.WriteFile(www+"/1mib.bin", make([]byte, 1<<20), 0o644); err != nil {
		tl.die("%v", err)
	}
	file, connsFile := run("file", "/1mib.bin", false, "-dir", www)
	epoll, connsEpoll := run("epoll", "/healthz", false, "-model", "epoll")
	if err := os.WriteFile(www+"/index.html", []byte("Hello, World!"), 0o644); err != nil {
		tl.die("%v", err)
	}
	time.Sleep(50 * time.Millisecond) // older than the cache's racy margin when first read
	small, connsSmall := run("small", "/index.html", false, "-model", "epoll", "-dir", www)
	uring, connsUring := run("uring", "/index.html", false, "-model", "uring", "-dir", www)

	// per is a scenario's calls (or errors) of one kind per request, less
	// those of the run without requests.
	per := func(m map[string]strace.Count, call string) float64 {
		return float64(m[call].Calls-idle[call].Calls) / float64(N)
	}
	perErr := func(m map[string]strace.Count, call string) float64 {
		return float64(m[call].Errors-idle[call].Errors) / float64(N)
	}
	total := func(call string) int {
		t := 0
		for _, m := range []map[string]strace.Count{idle, keepalive, closing, file, epoll, small, uring} {
			t += m[call].Calls
		}
		return t
	}
	f := func(v float64) string { return fmt.Sprintf("%.3f", v) }

	// The figures' width hardly changes from run to run, so the lines are
	// laid out for them: a new run changes numbers, not line breaks.
	intro := fmt.Sprintf(`This page counts, with %[1]sstrace -c%[1]s, the system calls rawserve makes to serve
%[2]d requests in each of six scenarios, and divides by %[2]d; the figures
in this paragraph subtract a run that served nothing. The expectation,
per request: on a kept-alive connection one read, one write and at most
one wait (ppoll); with %[1]sConnection: close%[1]s, one each of accept4, read,
write and close, plus waits: the client asked to close and sent nothing
more, so there is no shutdown and no drain ([walkthrough](walkthrough.md#closing)).
Keep-alive measured read %[3]s, write %[4]s and ppoll %[5]s: what exceeds
1 comes from the single connection's accept (an accept4 that says EAGAIN,
then a ppoll) and its close (the EOF read), and from any ppoll a signal
interrupted, which is retried (the errors column). Connection: close
measured accept4 %[6]s, read %[7]s, write %[8]s, shutdown %[9]s, close
%[10]s and ppoll %[11]s: the accept4 calls beyond one (%[12]s) and the
reads beyond one (%[13]s) said EAGAIN, because the next client or its
request had not arrived yet, and each EAGAIN leads to one ppoll (their sum: %[14]s),
so those three figures follow timing, which strace itself slows, not the
code. The 1 MiB file adds openat2 %[15]s (one of them OpenRoot's probe
at start-up), fstat %[16]s, sendfile %[17]s (more than 1 when a call came
back short and the loop sent the rest, or a signal interrupted one and the
kernel restarted it) and a close for the file, and no read or write of the
file's bytes. The epoll model on the same keep-alive connection measured
read %[18]s, write %[19]s and epoll_pwait %[20]s: one wait per request,
since one client's next request comes only after its response; with many
connections one epoll_pwait serves many requests ([models.md](models.md)).
A 13-byte file with the defaults of %[1]s-dir%[1]s, in the epoll model, came
from the file cache: read %[22]s, statx %[23]s and write %[24]s, with
epoll_pwait %[25]s — three calls and the wait, the statx checking that the
file on disk is still the one in memory ([static.md](static.md#small-files-from-memory-checked-every-time)).
The same file from the uring model: io_uring_enter %[26]s and statx %[27]s,
and no read or write — the request and the response go through the ring; with
one client there is nothing to batch, so each request costs an enter that
hands the kernel the send and one that waits for the next request, and a
statx. With many connections one enter carries many
([models.md](models.md#the-uring-models-numbers)).
getsockopt was called %[21]d times in all seven runs together; setsockopt twice
per run (SO_REUSEADDR, TCP_NODELAY; SO_REUSEPORT only with -loops above 1)
and getsockname once, at start-up.`, "`", N,
		f(per(keepalive, "read")), f(per(keepalive, "write")), f(per(keepalive, "ppoll")),
		f(per(closing, "accept4")), f(per(closing, "read")), f(per(closing, "write")),
		f(per(closing, "shutdown")), f(per(closing, "close")), f(per(closing, "ppoll")),
		f(perErr(closing, "accept4")), f(perErr(closing, "read")),
		f(perErr(closing, "accept4")+perErr(closing, "read")),
		f(per(file, "openat2")), f(per(file, "fstat")), f(per(file, "sendfile")),
		f(per(epoll, "read")), f(per(epoll, "write")), f(per(epoll, "epoll_pwait")),
		total("getsockopt"),
		f(per(small, "read")), f(per(small, "statx")), f(per(small, "write")), f(per(small, "epoll_pwait")),
		f(per(uring, "io_uring_enter")), f(per(uring, "statx")))

	var page strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&page, format, args...) }
	p("<!-- Generated by tools/rawtrace (make syscalls): edit tools/rawtrace/syscalls.go, not this file. -->\n")
	p("# System calls per request\n\n%s\n", intro)
	p(`
## Measurements

- date: %s
- kernel: %suname -r%s = %s
- %s; the client: Go's net package (tools/rawtrace), over loopback
- N = %d requests per scenario, one after another, from one client per scenario
- each run: %sstrace -f -qq -c -o FILE ./bin/rawserve -ready-file FILE -addr 127.0.0.1:0 -quiet [-dir DIR]%s,
  stopped with SIGTERM sent to rawserve (not to strace)
`, time.Now().UTC().Format("2006-01-02 15:04:05 UTC"), "`", "`", kernel(), straceVersion(), N, "`", "`")
	p(`
strace -c counts every thread of the process: the serving goroutine's calls
and the Go runtime's (futex, nanosleep, rt_sigaction, mmap, …), start-up and
shutdown included. "per request" is calls ÷ N; "less start/stop" first
subtracts the counts of the first run, which started and stopped rawserve
with no request at all. "errors" are calls that returned -1: EAGAIN for
accept4 and read; for ppoll, EINTR (a signal handler ran; %[1]sPoller.ppoll%[1]s
retries with the time left); for sendfile, EAGAIN (send buffer full: a ppoll
for POLLOUT follows) or a call a signal interrupted and the kernel restarted
by itself (ERESTARTSYS: strace counts it, the server never sees it).

### Start and stop, no requests

The one-time cost in every run: the Go runtime's start-up reads, an fstat
of stdout and of stderr (a pipe is written PIPE_BUF at a time, a file in
larger writes: internal/outq), the backlog read from
/proc/sys/net/core/somaxconn, the listener, the ready file, one accept4
that says EAGAIN and the ppoll that SIGTERM ends.

%[2]s
### Keep-alive: GET /healthz, %[3]d requests on %[4]d connection(s)

%[1]sGET /healthz?1%[1]s … %[1]s?%[3]d%[1]s, one after another on one connection

%[5]s
### Connection: close — GET /healthz, %[3]d requests on %[6]d connections

The same %[3]d requests with %[1]sConnection: close%[1]s, each on a connection of its own

%[7]s
### A 1 MiB file over keep-alive (sendfile), %[3]d requests on %[8]d connection(s)

%[1]srawserve -dir DIR%[1]s, %[1]sGET /1mib.bin?1%[1]s … %[1]s?%[3]d%[1]s on one connection

%[9]s
### The epoll model: keep-alive, %[3]d requests on %[10]d connection(s)

%[1]srawserve -model epoll%[1]s, %[1]sGET /healthz?1%[1]s … %[1]s?%[3]d%[1]s on one connection

%[11]s
### A small file, default flags, epoll: keep-alive, %[3]d requests on %[12]d connection(s)

%[1]srawserve -model epoll -dir DIR%[1]s, %[1]sGET /index.html?1%[1]s … %[1]s?%[3]d%[1]s (13 bytes) on one connection

%[13]s
### The same small file, the uring model: keep-alive, %[3]d requests on %[14]d connection(s)

%[1]srawserve -model uring -dir DIR%[1]s, %[1]sGET /index.html?1%[1]s … %[1]s?%[3]d%[1]s (13 bytes) on one connection

%[15]s`, "`", table(N, idle, nil), N, connsKeepalive, table(N, keepalive, idle),
		connsClose, table(N, closing, idle), connsFile, table(N, file, idle),
		connsEpoll, table(N, epoll, idle), connsSmall, table(N, small, idle), connsUring, table(N, uring, idle))

	if *out == "" {
		tl.printf("%s", page.String())
		return
	}
	if err := os.WriteFile(*out, []byte(page.String()), 0o644); err != nil {
		tl.die("%v", err)
	}
}

// shown are the rows of a table, in order; the rest is summed into "other".
var shown = []string{"accept4", "read", "write", "sendfile", "ppoll", "epoll_pwait", "epoll_ctl", "io_uring_enter", "shutdown",
	"close", "openat2", "openat", "fstat", "statx", "pread64", "newfstatat", "setsockopt", "getsockopt", "getsockname", "getpeername"}

// table is strace -c's counts as a Markdown table, a row per call in shown
// (a 0 is a finding too) and one for the rest; with base (the counts of a
// run without requests) a last column shows (calls − base) ÷ n.
func table(n int, counts, base map[string]strace.Count) string {
	var b strings.Builder
	row := func(name string, c strace.Count, baseCalls int) {
		fmt.Fprintf(&b, "| %s | %d | %d | %.3f |", name, c.Calls, c.Errors, float64(c.Calls)/float64(n))
		if base != nil {
			fmt.Fprintf(&b, " %.3f |", float64(c.Calls-baseCalls)/float64(n))
		}
		b.WriteString("\n")
	}
	if base != nil {
		b.WriteString("| system call | calls | of which errors | per request | per request, less start/stop |\n|---|--:|--:|--:|--:|\n")
	} else {
		b.WriteString("| system call | calls | of which errors | per request |\n|---|--:|--:|--:|\n")
	}
	for _, name := range shown {
		row(name, counts[name], base[name].Calls)
	}
	var other strace.Count
	otherBase := 0
	for name, c := range counts {
		if !contains(shown, name) {
			other.Calls += c.Calls
			other.Errors += c.Errors
		}
	}
	for name, c := range base {
		if !contains(shown, name) {
			otherBase += c.Calls
		}
	}
	row("other (Go runtime: futex, nanosleep, …)", other, otherBase)
	return b.String()
}

// straceVersion is strace -V's first line.
func straceVersion() string {
	out, err := exec.Command("strace", "-V").Output()
	if err != nil {
		return "strace (version unknown)"
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return first
}
