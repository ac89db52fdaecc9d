package main

import (
	"bufio"
	"bytes"
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

	"github.com/rawserve/rawserve/internal/strace"
)

// narrated is the set of system calls -trace narrates (x/sys makes unlink
// and rename as unlinkat and renameat, and Fstatat as newfstatat).
var narrated = map[string]bool{
	"socket": true, "setsockopt": true, "bind": true, "listen": true, "getsockname": true,
	"accept4": true, "read": true, "write": true, "sendfile": true, "ppoll": true,
	"shutdown": true, "close": true, "eventfd2": true, "openat": true, "openat2": true,
	"fstat": true, "newfstatat": true, "getdents64": true, "connect": true,
	"getsockopt": true, "getpeername": true, "unlinkat": true, "renameat": true,
	"epoll_create1": true, "epoll_ctl": true, "epoll_pwait": true, "pread64": true, "dup3": true,
	"statx": true, "ioctl": true, "io_uring_setup": true, "io_uring_enter": true, "io_uring_register": true,
	"mmap": true, "munmap": true,
}

// decodedApart are the calls whose structures strace and the narration
// decode each their own way: an older strace prints the io_uring_setup
// flags and features it does not know in hex, and decodes
// IORING_REGISTER_PROBE's whole table. They are compared by name, first
// argument and result, not by text.
var decodedApart = map[string]bool{"io_uring_setup": true, "io_uring_register": true}

// key is what must agree between strace and the narration for each call:
// its name, its first argument (the fd, or AT_FDCWD, AF_INET...; for ppoll
// the first fd of the set) and its result, a number or an errno name.
func key(c strace.Call) string {
	first, _, _ := strings.Cut(c.Args, ",")
	if c.Name == "ppoll" {
		first = strconv.Itoa(c.FD())
	}
	return c.Name + " " + first + " " + res(c)
}

// res is the result without strace's explanation: "7", "0", "EAGAIN". A
// signal that interrupts ppoll shows in strace as "? ERESTARTNOHAND (To be
// restarted if no handler)", the kernel's internal code; the Go runtime has
// a handler for every signal, so the program gets EINTR, which is what the
// narration says.
func res(c strace.Call) string {
	switch e := c.Errno(); e {
	case "ERESTARTNOHAND":
		return "EINTR"
	case "":
		v, _, _ := strings.Cut(c.Result, " ")
		return v
	default:
		return e
	}
}

// serverCalls applies the filter rule to strace's calls (already joined
// across "<unfinished ...>" and "<... resumed>" by strace.Read):
//
//  1. Everything before the openat of the -trace-file is dropped: the Go
//     runtime's start-up (reads of /sys/kernel/mm/transparent_hugepage and of
//     the cgroup files under /proc and /sys, before main) and flag parsing.
//     SetTrace comes right after that open.
//  2. Only the narrated system calls are kept: the runtime's futex,
//     nanosleep, rt_sig*, mmap, madvise, clone, sched_*, sigaltstack... go.
//  3. Of those, a call is kept only when it makes a server fd (socket,
//     eventfd2, accept4, openat, openat2 — an openat from AT_FDCWD or from a
//     server fd) or its first argument is one (for ppoll, the first fd of
//     its set), counted from the call that returned it to its close: the
//     rule of strace.Own. That drops the writes to the trace file's own fd,
//     which is never a server fd, and those to stderr (the start-up and
//     shutdown lines). A ppoll over no fd, a fault's pause, is kept.
//  4. A call that strace shows ending in "? ERESTARTSYS" or
//     "? ERESTARTNOINTR" is dropped: a signal arrived during it (the
//     runtime's SIGURG, often) and, the runtime's handlers being
//     SA_RESTART, the kernel made the call again without the program ever
//     seeing it return. strace shows the restarted call on a line of its
//     own; the narration, which sees calls return, has only that one.
//     ("? ERESTARTNOHAND" does reach the program, as EINTR: see res.)
//
// Connections the uring model accepted through its ring (given) count as
// the server's from the start: strace sees no call return them.
func serverCalls(t *testing.T, calls []strace.Call, traceFile string, given ...int) []strace.Call {
	t.Helper()
	start := -1
	for i, c := range calls {
		if c.Name == "openat" && strings.Contains(c.Args, strconv.Quote(traceFile)) {
			start = i + 1
			break
		}
	}
	if start < 0 {
		t.Fatalf("strace shows no openat of %s", traceFile)
	}
	var narratable []strace.Call
	for _, c := range calls[start:] {
		if narrated[c.Name] && c.Errno() != "ERESTARTSYS" && c.Errno() != "ERESTARTNOINTR" {
			narratable = append(narratable, c)
		}
	}
	return strace.OwnWith(narratable, given...)
}

// ringAccepted are the descriptors the uring model's accept completions
// returned ("← cqe accept(6) = 8 […]").
func ringAccepted(entries []string) []int {
	var fds []int
	for _, e := range entries {
		if rest, ok := strings.CutPrefix(e, "← cqe accept("); ok {
			_, ret, _ := strings.Cut(rest, ") = ")
			ret, _, _ = strings.Cut(ret, " ")
			if fd, err := strconv.Atoi(ret); err == nil {
				fds = append(fds, fd)
			}
		}
	}
	return fds
}

// threadPrefix is strace -f's "[pid TID] ", as the narration prints it
// with -loops N.
var threadPrefix = regexp.MustCompile(`^\[pid +\d+\] `)

// parseNarration reads -trace output with strace's parser: the lines are
// strace's, without a thread id — but for the uring model's ring entries
// ("→ sqe …", "← cqe …"), which strace cannot see: those are returned
// apart.
func parseNarration(t *testing.T, path string) (calls []strace.Call, entries []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rest bytes.Buffer
	for _, l := range strings.SplitAfter(string(b), "\n") {
		// With -loops N, "[pid TID] " comes first; entries are kept
		// without it.
		e := l
		if m := threadPrefix.FindString(l); m != "" {
			e = l[len(m):]
		}
		if strings.HasPrefix(e, "→ sqe ") || strings.HasPrefix(e, "← cqe ") {
			entries = append(entries, strings.TrimSuffix(e, "\n"))
		} else {
			rest.WriteString(l)
		}
	}
	// A call cut in two by another thread's line (-loops N) is one call in
	// two lines.
	n := bytes.Count(rest.Bytes(), []byte("\n")) - bytes.Count(rest.Bytes(), []byte(" <unfinished ...>\n"))
	calls, err = strace.Parse(&rest)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != n {
		t.Errorf("%d of the %d narrated calls parse as strace lines", len(calls), n)
	}
	return calls, entries
}

// apart takes the waker's write out of the sequence: it is made by the
// signal goroutine while the serving loop sits in ppoll, so whether strace
// and the narration see the write or the ppoll's return first is a race.
func apart(cs []strace.Call, wakerFD int) (rest, wakes []strace.Call) {
	for _, c := range cs {
		if c.Name == "write" && c.FD() == wakerFD {
			wakes = append(wakes, c)
		} else {
			rest = append(rest, c)
		}
	}
	return rest, wakes
}

// outputWrites takes the writes to stdout and stderr out of the sequence.
func outputWrites(cs []strace.Call) (rest, out []strace.Call) {
	for _, c := range cs {
		if c.Name == "write" && (c.FD() == 1 || c.FD() == 2) {
			out = append(out, c)
		} else {
			rest = append(rest, c)
		}
	}
	return rest, out
}

// TestTraceAgreesWithStrace runs rawserve under strace -f with -trace to a
// file, drives a fixed script, and compares what the server narrated with
// what strace saw, call by call: the same names, first fds and results in
// the same order — and, beyond that, the same text.
//
// It runs for every model: the serial one with -file-cache-size 0, so that
// every file comes from disk; the epoll and uring ones with the cache, as
// by default, so that the script's second request for f.txt is answered
// from memory after a statx. For the uring model it compares the calls
// strace can see — io_uring_enter and the ring's setup among them — and
// checks that the ring entries narrated between them carried the script's
// accepts, receives, sends and closes.
func TestTraceAgreesWithStrace(t *testing.T) {
	for _, model := range []string{"serial", "epoll", "uring"} {
		t.Run(model, func(t *testing.T) { testTraceAgreesWithStrace(t, model) })
	}
}

func testTraceAgreesWithStrace(t *testing.T, model string) {
	needStrace(t)
	needModel(t, model)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f.txt"), []byte("file body\n"), 0o644)
	big := make([]byte, 300<<10)
	for i := range big {
		big[i] = byte(i * 7)
	}
	os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644)
	tmp := t.TempDir()
	narration := filepath.Join(tmp, "trace.out")
	args := []string{"-trace", "-trace-file", narration, "-dir", dir, "-addr", "127.0.0.1:0", "-quiet", "-model", model, "-faults"}
	if model == "serial" {
		args = append(args, "-file-cache-size", "0")
	}
	s, straceOut := underStrace(t, nil, args...)

	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", s.Ready())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c, bufio.NewReader(c)
	}
	expect := func(br *bufio.Reader, method string, status int) {
		t.Helper()
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != status {
			t.Errorf("%s: status %d, want %d", method, resp.StatusCode, status)
		}
	}
	const get = "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n"
	const closing = "Connection: close\r\n"
	// A keep-alive pair: two requests on one connection, then the client
	// closes it.
	c, br := dial()
	fmt.Fprintf(c, get, "/f.txt", "")
	expect(br, "GET", 200)
	fmt.Fprintf(c, get, "/healthz", "")
	expect(br, "GET", 200)
	c.Close()
	// One request each with Connection: close: a plain one, a 404, a
	// 300 KiB file by sendfile, a HEAD; the client reads until the
	// server's FIN.
	for _, r := range []struct {
		method, path string
		status       int
	}{{"GET", "/healthz", 200}, {"GET", "/nope", 404}, {"GET", "/big.bin", 200}, {"HEAD", "/f.txt", 200}} {
		c, br := dial()
		fmt.Fprintf(c, strings.Replace(get, "GET", r.method, 1), r.path, closing)
		expect(br, r.method, r.status)
		io.Copy(io.Discard, br)
		c.Close()
	}
	// A request the server refuses (400): it closes politely, with
	// shutdown and a drain, since the client may still be sending.
	c, br = dial()
	fmt.Fprintf(c, "BAD REQUEST\r\n\r\n")
	expect(br, "GET", 400)
	io.Copy(io.Discard, br)
	c.Close()
	// A pipelined pair in one write.
	c, br = dial()
	fmt.Fprintf(c, get+get, "/healthz", "", "/f.txt", closing)
	expect(br, "GET", 200)
	expect(br, "GET", 200)
	io.Copy(io.Discard, br)
	c.Close()
	// Faults (-faults): a reset after 1,000 body bytes (ioctl, setsockopt
	// SO_LINGER), a truncated body (shutdown), a delay and a drip (the
	// serial model's ppoll over no descriptor), no response at all.
	for _, path := range []string{"/_faults/reset/after/1000/big.bin", "/_faults/truncate/1000/big.bin",
		"/_faults/delay/30ms/drip/4/20ms/bytes/12", "/_faults/close-before-response"} {
		c, br := dial()
		fmt.Fprintf(c, get, path, closing)
		io.Copy(io.Discard, br) // to the FIN, or the RST
		c.Close()
	}

	time.Sleep(100 * time.Millisecond)
	all := stopTraced(t, s, straceOut)
	told, entries := parseNarration(t, narration)
	epfd := -1
	for _, c := range told {
		if c.Name == "epoll_create1" {
			epfd = c.Ret()
		}
	}
	for _, c := range all {
		if strings.HasPrefix(c.Name, "epoll_") && c.Name != "epoll_create1" && c.FD() != epfd {
			t.Errorf("narrating woke the Go runtime's epoll poller: %s", c.Line())
		}
	}
	seen := serverCalls(t, all, narration, ringAccepted(entries)...)
	wakerFD := -1
	for _, c := range told {
		if c.Name == "eventfd2" {
			wakerFD = c.Ret()
		}
	}
	told, toldWakes := apart(told, wakerFD)
	seen, seenWakes := apart(seen, wakerFD)
	if len(toldWakes) != 1 || len(seenWakes) != 1 || toldWakes[0].String() != seenWakes[0].String() {
		t.Errorf("the waker's write: narrated %v, strace %v", lines(toldWakes), lines(seenWakes))
	}
	// The writes to stdout and stderr — the start-up and stop lines here
	// (the narration goes to a file, whose own writes are not narrated) —
	// are made by the output's writer goroutine, on a thread of its own,
	// while the loop goes on: where they fall among the loop's calls is a
	// race, so they are compared apart, in their own order.
	told, toldOut := outputWrites(told)
	var seenOut []strace.Call
	for _, c := range all {
		if c.Name == "write" && (c.FD() == 1 || c.FD() == 2) && c.Errno() == "" {
			seenOut = append(seenOut, c)
		}
	}
	if len(toldOut) < 2 || len(toldOut) != len(seenOut) {
		t.Errorf("writes to stdout and stderr: narrated %d, strace %d:\n%s\nstrace:\n%s", len(toldOut), len(seenOut), lines(toldOut), lines(seenOut))
	} else {
		for i := range toldOut {
			if toldOut[i].String() != seenOut[i].String() {
				t.Errorf("output write %d: narrated %s, strace %s", i+1, toldOut[i], seenOut[i])
			}
		}
	}

	// The script must have exercised every call it is meant to.
	names := map[string]int{}
	for _, c := range told {
		names[c.Name]++
	}
	want := []string{"eventfd2", "openat", "openat2", "socket", "setsockopt", "bind", "listen",
		"getsockname", "read", "write", "fstat", "sendfile", "close", "pread64", "ioctl"}
	switch model {
	case "serial":
		want = append(want, "accept4", "ppoll", "shutdown")
	case "epoll":
		want = append(want, "accept4", "epoll_create1", "epoll_ctl", "epoll_pwait", "statx", "shutdown")
	case "uring":
		want = append(want, "io_uring_setup", "io_uring_register", "mmap", "munmap", "io_uring_enter", "getpeername", "statx")
	}
	for _, n := range want {
		if names[n] == 0 {
			t.Errorf("no %s narrated", n)
		}
	}
	// f.txt is read with pread64, into the cache or, without one, behind
	// its head; big.bin goes by sendfile.
	accepts := names["accept4"]
	if model == "uring" {
		// The ring's accept is a request, not a call: each connection is
		// a completion of it.
		accepts = 1 + countEntries(entries, "← cqe accept(")
		for _, e := range []string{"→ sqe accept(", "→ sqe recv(", "← cqe recv(", "→ sqe send(", "← cqe send(", "→ sqe shutdown(", "→ sqe close(", "← cqe close("} {
			if countEntries(entries, e) == 0 {
				t.Errorf("no %s…) narrated among the ring's entries", e)
			}
		}
	}
	if accepts < 11 || names["sendfile"] < 3 {
		t.Errorf("narrated %d accepts (want at least 11: ten connections and an EAGAIN, or the accept's request), %d sendfile", accepts, names["sendfile"])
	}

	for i := 0; i < max(len(told), len(seen)); i++ {
		var tk, sk string
		if i < len(told) {
			tk = key(told[i])
		}
		if i < len(seen) {
			sk = key(seen[i])
		}
		if tk != sk {
			lo, hi := max(0, i-5), i+5
			t.Fatalf("call %d: narrated %q, strace %q\nnarrated:\n%s\nstrace (filtered):\n%s",
				i+1, tk, sk, lines(told[lo:min(hi, len(told))]), lines(seen[lo:min(hi, len(seen))]))
		}
		// The same text too — arguments as decoded, results with their
		// explanation — but for the interrupted ppoll (see res).
		tc, sc := told[i], seen[i]
		if decodedApart[tc.Name] {
			continue
		}
		if tc.Name+"("+tc.Args+")" != sc.Name+"("+sc.Args+")" || tc.Result != sc.Result && res(tc) != "EINTR" {
			t.Errorf("call %d differs in text:\nnarrated %s\nstrace   %s", i+1, tc, sc)
		}
	}
	t.Logf("%d calls agree (plus the waker's write)", len(told))
}

// countEntries counts the ring entries that begin with prefix.
func countEntries(entries []string, prefix string) int {
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e, prefix) {
			n++
		}
	}
	return n
}

// -trace alone narrates to stderr; -trace-time adds " <seconds>"; the two
// other flags need -trace.
func TestTraceFlags(t *testing.T) {
	for _, args := range [][]string{{"-trace-time"}, {"-trace-file", filepath.Join(t.TempDir(), "x")}} {
		out, err := exec.Command(binary, args...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "need -trace") {
			t.Errorf("%v: %v %s", args, err, out)
		}
	}
	s := start(t, "-trace", "-trace-time", "-quiet")
	if code, _ := s.get(t, "/healthz"); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t, 5*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	accepted := regexp.MustCompile(`(?m)^accept4\(\d+, \{sa_family=AF_INET, sin_port=htons\(\d+\), sin_addr=inet_addr\("127\.0\.0\.1"\)\}, \[112 => 16\], SOCK_CLOEXEC\|SOCK_NONBLOCK\) = \d+ <\d+\.\d{6}>$`)
	if !accepted.MatchString(s.stderr.String()) || !strings.Contains(s.stderr.String(), `read(`) {
		t.Errorf("stderr has no timed narration:\n%s", s.stderr)
	}
}

// With -loops 2 the narration tells the threads apart as strace -f does:
// every line begins "[pid TID] ", the thread's id as the kernel knows it,
// and a wait that another thread's line interrupts is printed in two
// halves. Joined again (internal/strace.Parse), each thread's calls are
// the ones strace saw that thread make, in the same order and text; and at
// SIGTERM, the waker's write comes before the loops' waits return. In
// each event-loop model: the uring model's ring entries get the prefix too.
func TestTraceThreadsAgreesWithStrace(t *testing.T) {
	needStrace(t)
	for _, model := range []string{"epoll", "uring"} {
		t.Run(model, func(t *testing.T) {
			needModel(t, model)
			testTraceThreads(t, model)
		})
	}
}

func testTraceThreads(t *testing.T, model string) {
	wait := map[string]string{"epoll": "epoll_pwait", "uring": "io_uring_enter"}[model]
	narration := filepath.Join(t.TempDir(), "trace.out")
	s, straceOut := underStrace(t, nil, "-trace", "-trace-file", narration, "-addr", "127.0.0.1:0",
		"-quiet", "-model", model, "-loops", "2")
	// Enough connections that the kernel's SO_REUSEPORT hash gives both
	// loops some.
	for i := 0; i < 12; i++ {
		c, err := net.Dial("tcp", s.Ready())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		io.Copy(io.Discard, c)
		c.Close()
	}
	time.Sleep(100 * time.Millisecond)
	all := stopTraced(t, s, straceOut)
	raw, err := os.ReadFile(narration)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		if !threadPrefix.MatchString(l) {
			t.Fatalf("a line without its thread: %q", l)
		}
	}
	if !strings.Contains(string(raw), wait+"(") || !strings.Contains(string(raw), " <unfinished ...>\n") ||
		!strings.Contains(string(raw), "<... "+wait+" resumed>") {
		t.Errorf("no wait cut in two by another thread's line:\n%s", raw)
	}
	told, entries := parseNarration(t, narration)
	seen := serverCalls(t, all, narration, ringAccepted(entries)...)
	wakerFD := -1
	for _, c := range told {
		if c.Name == "eventfd2" {
			wakerFD = c.Ret()
		}
	}

	told, _ = apart(told, wakerFD)
	seen, _ = apart(seen, wakerFD)
	told, _ = outputWrites(told)
	// Each thread's own sequence. The waker's write and the output's come
	// from goroutines that are not locked to a thread, so only the loops'
	// threads — those that wait — are held to their TID.
	loops := map[int]bool{}
	for _, c := range told {
		if c.Name == wait {
			loops[c.TID] = true
		}
	}
	if len(loops) != 2 {
		t.Fatalf("%d threads waited in %s, want 2 loops", len(loops), wait)
	}
	byThread := func(cs []strace.Call, tid int) []strace.Call {
		var out []strace.Call
		for _, c := range cs {
			if c.TID == tid {
				out = append(out, c)
			}
		}
		return out
	}
	for tid := range loops {
		tt, st := byThread(told, tid), byThread(seen, tid)
		if len(tt) == 0 || len(tt) != len(st) {
			t.Errorf("thread %d: narrated %d calls, strace %d:\n%s\nstrace:\n%s", tid, len(tt), len(st), lines(tt), lines(st))
			continue
		}
		for i := range tt {
			same := tt[i].String() == st[i].String()
			if decodedApart[tt[i].Name] {
				same = key(tt[i]) == key(st[i])
			}
			if !same {
				t.Errorf("thread %d, call %d:\nnarrated %s\nstrace   %s", tid, i+1, tt[i], st[i])
			}
		}
	}
	// At SIGTERM: the waker's write begun (whole, or its first half), then
	// each loop's wait returning with the waker's event — in the lines as
	// printed, where a call cut in two shows where it began. (The uring
	// model learns of it from the completion of its poll on the waker.)
	wake := fmt.Sprintf("] write(%d, ", wakerFD)
	woken := fmt.Sprintf("{u32=%d,", wakerFD)
	if model == "uring" {
		woken = fmt.Sprintf("← cqe poll_add(%d)", wakerFD)
	}
	began := false
	for _, l := range strings.Split(string(raw), "\n") {
		switch {
		case strings.Contains(l, wake):
			began = true
		case strings.Contains(l, woken) && (model == "uring" || strings.Contains(l, "epoll_pwait")) && !began:
			t.Errorf("a loop learned of the waker's event before the waker's write began:\n%s", raw)
		}
	}
	if !began {
		t.Error("no waker write narrated")
	}
}
