package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/rawserve/rawserve/internal/strace"
	"golang.org/x/sys/unix"
)

// The walkthrough's scenarios: each reproduces a trace captured by hand for
// docs/walkthrough.md or docs/models.md. It starts rawserve under strace,
// makes the situation the doc describes, stops the server and prints its
// relevant calls (with the thread id, as strace -f does). Thread ids, fds,
// ports, sizes and timings differ from the doc's: the shape is what
// reproduces.
type scenario struct {
	name, about string
	run         func(tl *tool)
}

var scenarios = []scenario{
	{"dualstack", "-addr :0: one IPv6 socket, IPV6_V6ONLY 0, an IPv4 client as ::ffff:127.0.0.1; getsockname", dualstack},
	{"queue", "ss -ltn / ss -tn while one silent client holds the server (-yield-after 0) and another waits queued", queue},
	{"accept4-xsys", "a small Go program using unix.Accept4: one getsockopt(SO_PROTOCOL) per accept", accept4XSys},
	{"spin", "-wait spin: accept4 EAGAIN lines; strace -c counts for poll and spin; CPU without strace", spin},
	{"readwait", "two requests on one connection: write, then ppoll first, read after", readwait},
	{"write", "the demo page in one write(2)", write},
	{"slowloris", "a client sending a byte every 0.3 s: one byte per read, then EAGAIN", slowloris},
	{"sendfile", "-dir: openat2, fstat, the head's write, sendfile of a 1 MiB file", sendfile},
	{"sendfile-eagain", "a 64 MiB file to a client reading 64 MiB/s: short sendfiles, EAGAIN, ppoll POLLOUT", sendfileEAGAIN},
	{"rst", "two pipelined requests, client closes at once: EPIPE, SIGPIPE, close", rst},
	{"drain413", "a 100 KB body answered with 413: shutdown, the drain's reads, close", drain413},
	{"timeouts", "-header-timeout 1s -idle-timeout 1s: silent client, slow client (408), silent kept-alive client", timeouts},
	{"emfile", "soft RLIMIT_NOFILE lowered under a running server: accept4 EMFILE, sleeping ppolls, then served", emfile},
	{"eintr", "ppoll ERESTARTNOHAND / sendfile ERESTARTSYS, when a signal lands during a call (not every run)", eintr},
	{"idle-flush", "the access log written when ppoll times out after 100 ms", idleFlush},
	{"runtime", "the Go runtime's own calls: futex, nanosleep, SIGURG, start-up reads, no epoll", goRuntime},
	{"three-serial", "three clients at once, one request each (Connection: close), -model serial (docs/models.md)", threeSerial},
	{"three-epoll", "the same three clients against -model epoll (docs/models.md)", threeEpoll},
	{"three-keepalive", "three keep-alive clients, two requests each, at once, against -model epoll (docs/models.md)", threeKeepalive},
	{"uring-keepalive", "-model uring -dir: two keep-alive requests for a small file, the narration's ring entries (docs/models.md)", uringKeepalive},
}

func listScenarios(w io.Writer) {
	fmt.Fprintln(w, "usage: go run ./tools/rawtrace walkthrough NAME")
	fmt.Fprintln(w, "scenarios:")
	for _, s := range scenarios {
		fmt.Fprintf(w, "  %-16s %s\n", s.name, s.about)
	}
}

func scenarioNamed(name string) (scenario, bool) {
	for _, s := range scenarios {
		if s.name == name {
			return s, true
		}
	}
	return scenario{}, false
}

// walkthrough runs the scenario named by args[0] (main has checked it).
func walkthrough(tl *tool, args []string) {
	s, _ := scenarioNamed(args[0])
	s.run(tl)
}

// named picks the calls with one of the names given.
func named(calls []strace.Call, names ...string) []strace.Call {
	var picked []strace.Call
	for _, c := range calls {
		if contains(names, c.Name) {
			picked = append(picked, c)
		}
	}
	return picked
}

// onConn picks, from the first accept4 on, the calls with one of the names
// given that are made on a descriptor accept4 returned (a ppoll: the first
// of its set).
func onConn(calls []strace.Call, names ...string) []strace.Call {
	conns := map[int]bool{}
	var picked []strace.Call
	for _, c := range calls {
		if c.Name == "accept4" && c.Ret() >= 0 {
			conns[c.Ret()] = true
			continue
		}
		if conns[c.FD()] && contains(names, c.Name) {
			picked = append(picked, c)
		}
	}
	return picked
}

// from is calls from the first for which is says yes on, at most n of
// them (n < 0: all).
func from(calls []strace.Call, n int, is func(strace.Call) bool) []strace.Call {
	for i, c := range calls {
		if is(c) {
			if n < 0 || i+n > len(calls) {
				return calls[i:]
			}
			return calls[i : i+n]
		}
	}
	return nil
}

// print prints calls as strace -f does, each after its thread id.
func (tl *tool) print(calls []strace.Call) {
	for _, c := range calls {
		tl.printf("%s\n", c.Line())
	}
}

// rawLines is the trace as strace wrote it, unjoined: for the lines Read
// leaves out (signals) and those shown as they are.
func (s *server) rawLines() []string {
	b, err := os.ReadFile(s.trace)
	if err != nil {
		s.tl.die("%v", err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// firstLine is the first of lines containing every one of parts, or "".
func firstLine(lines []string, parts ...string) string {
	for _, l := range lines {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			return l
		}
	}
	return ""
}

// mkfile makes a file of size zero bytes (sparse: sendfile reads its holes
// as zeros like any others) in a fresh directory, and returns the directory.
func (tl *tool) mkfile(name string, size int64) string {
	dir := tl.path("www")
	os.RemoveAll(dir)
	if err := os.Mkdir(dir, 0o755); err != nil {
		tl.die("%v", err)
	}
	f, err := os.Create(dir + "/" + name)
	if err == nil {
		err = f.Truncate(size)
		f.Close()
	}
	if err != nil {
		tl.die("%v", err)
	}
	return dir
}

// inBackground runs f in a goroutine; the function it returns waits for f,
// at most within.
func (tl *tool) inBackground(within time.Duration, f func()) (wait func()) {
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	return func() {
		select {
		case <-done:
		case <-time.After(within):
			tl.die("a client still running %v later", within)
		}
	}
}

func dualstack(tl *tool) {
	s := tl.trace("dualstack", how{calls: []string{"socket", "setsockopt", "bind", "getsockname", "accept4"}}, "-addr", ":0")
	tl.fetch(s.loopback(), "/healthz")
	time.Sleep(200 * time.Millisecond)
	s.stop()
	tl.heading("rawserve -addr :0 (ready file said %s); GET http://%s/healthz", s.addr, s.loopback())
	for _, c := range s.calls() {
		if c.Name == "socket" && strings.HasPrefix(c.Args, "AF_INET6") || contains([]string{"setsockopt", "bind", "getsockname"}, c.Name) ||
			c.Name == "accept4" && c.Ret() >= 0 {
			tl.printf("%s\n", c.Line())
		}
	}
}

func queue(tl *tool) {
	// -yield-after 0: the serial model does not give way to the queued
	// client, so the silent one holds it for as long as the demonstration
	// needs (see the walkthrough's "Giving way").
	s := tl.trace("queue", how{calls: []string{"accept4", "read", "close"}}, "-quiet", "-yield-after", "0")
	holder := tl.dial(s.addr) // connected, and silent: the serial server is held
	releaseHolder := tl.inBackground(10*time.Second, func() {
		time.Sleep(2500 * time.Millisecond)
		holder.Close()
	})
	time.Sleep(200 * time.Millisecond)
	var answer string
	waitQueued := tl.inBackground(10*time.Second, func() {
		code, _, took := tl.fetch(s.addr, "/")
		answer = fmt.Sprintf("client: %d after %.3fs", code, took.Seconds())
	})
	time.Sleep(500 * time.Millisecond)
	tl.heading("one silent client holds the server; another client is queued behind it")
	ss := func(args ...string) {
		tl.printf("$ ss %s\n", strings.Join(quoteArgs(args), " "))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "ss", args...).Output()
		if err != nil {
			tl.printf("(ss: %v; it comes with iproute2)\n", err)
		}
		tl.printf("%s", out)
	}
	ss("-ltn", fmt.Sprintf("sport = :%d", s.port))
	ss("-tn", fmt.Sprintf("( sport = :%d or dport = :%d )", s.port, s.port))
	releaseHolder()
	waitQueued()
	tl.printf("%s\n", answer)
	s.stop()
}

// quoteArgs quotes the arguments that hold spaces, as a shell would need.
func quoteArgs(args []string) []string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = a
		if strings.Contains(a, " ") {
			q[i] = strconv.Quote(a)
		}
	}
	return q
}

// xsysCommand is the hidden command that runs xsysAccept: rawtrace runs
// itself under strace for the accept4-xsys scenario.
const xsysCommand = "xsys-accept"

// xsysAccept accepts one connection with unix.Accept4, as x/sys offers it,
// on a listener on 127.0.0.1; it writes the port to the file named by its
// argument once listening.
func xsysAccept(args []string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "xsys-accept:", err)
		os.Exit(1)
	}
	if len(args) != 1 {
		fail(fmt.Errorf("usage: %s READY-FILE", xsysCommand))
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		fail(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		fail(err)
	}
	if err := unix.Listen(fd, 8); err != nil {
		fail(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		fail(err)
	}
	tmp := args[0] + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(sa.(*unix.SockaddrInet4).Port)), 0o644); err != nil {
		fail(err)
	}
	if err := os.Rename(tmp, args[0]); err != nil {
		fail(err)
	}
	nfd, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
	if err != nil {
		fail(err)
	}
	unix.Close(nfd)
}

func accept4XSys(tl *tool) {
	self, err := os.Executable()
	if err != nil {
		tl.die("%v", err)
	}
	ready, trace := tl.path("xsys.ready"), tl.path("xsys.strace")
	p := tl.start("accept4-xsys", strace.Config{
		Program: self, Args: []string{xsysCommand, ready},
		Output: trace, Calls: []string{"accept4", "getsockopt"}, ReadyFile: ready,
	})
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+p.Ready(), 5*time.Second)
	if err != nil {
		tl.die("connect: %v", err)
	}
	c.Close()
	if code, err := p.Wait(5 * time.Second); code != 0 || err != nil {
		tl.die("the x/sys program: exit %d, %v\n%s", code, err, p.Stderr())
	}
	calls, err := strace.Read(trace)
	if err != nil {
		tl.die("%v", err)
	}
	tl.heading("unix.Accept4 on a listener, one client")
	tl.print(calls)
}

func spin(tl *tool) {
	s := tl.trace("spin", how{calls: []string{"accept4"}}, "-quiet", "-wait", "spin")
	time.Sleep(time.Second)
	s.stop()
	tl.heading("-wait spin, one idle second: accept4 retried at once")
	var again []strace.Call
	for _, c := range s.calls() {
		if c.Name == "accept4" && c.Errno() == "EAGAIN" {
			again = append(again, c)
		}
	}
	tl.print(again[:min(2, len(again))])
	tl.printf("accept4 EAGAIN in this second, under strace: %d\n", len(again))

	for _, mode := range []string{"poll", "spin"} {
		s := tl.trace("count-"+mode, how{count: true}, "-quiet", "-wait", mode)
		time.Sleep(time.Second)
		s.stop()
		tl.heading("strace -f -c, -wait %s, one idle second, no client (calls column; errors column for accept4)", mode)
		for _, l := range s.rawLines() {
			f := strings.Fields(l)
			if len(f) > 0 && (f[0] == "%" || strings.HasPrefix(f[0], "-----") ||
				contains([]string{"accept4", "ppoll", "futex", "nanosleep", "total"}, f[len(f)-1])) {
				tl.printf("%s\n", l)
			}
		}
	}

	tl.heading("without strace: CPU after one idle second (clock ticks, utime+stime; /proc/PID/stat)")
	for _, mode := range []string{"poll", "spin"} {
		s := tl.untraced("cpu-"+mode, "-quiet", "-wait", mode)
		time.Sleep(time.Second)
		ticks, err := cpuTicks(s.PID())
		if err != nil {
			tl.die("%v", err)
		}
		tl.printf("-wait %s: %d ticks\n", mode, ticks)
		s.stop()
	}
}

func readwait(tl *tool) {
	s := tl.trace("readwait", how{calls: []string{"accept4", "read", "write", "ppoll"}}, "-quiet")
	c := tl.dial(s.addr)
	c.get("/")
	c.get("/healthz")
	c.Close()
	time.Sleep(200 * time.Millisecond)
	s.stop()
	tl.heading("GET / and /healthz on one connection: after the first response, ppoll first, read after")
	calls := onConn(s.calls(), "read", "write", "ppoll")
	tl.print(from(calls, 3, func(c strace.Call) bool { return c.Name == "write" }))
}

func write(tl *tool) {
	s := tl.trace("write", how{calls: []string{"accept4", "write"}}, "-quiet")
	tl.fetch(s.addr, "/")
	time.Sleep(200 * time.Millisecond)
	s.stop()
	tl.heading("GET /: the head and the demo page in one write")
	tl.print(onConn(s.calls(), "write"))
}

func slowloris(tl *tool) {
	s := tl.trace("slowloris", how{calls: []string{"accept4", "read", "ppoll"}}, "-quiet")
	c := tl.dial(s.addr)
	for _, b := range "GET /" {
		c.send(string(b))
		time.Sleep(300 * time.Millisecond)
	}
	c.Close()
	time.Sleep(200 * time.Millisecond)
	s.stop()
	tl.heading(`a client sending "GET /" a byte every 0.3 s, then closing`)
	tl.print(onConn(s.calls(), "read", "ppoll"))
}

func sendfile(tl *tool) {
	dir := tl.mkfile("big.bin", 1<<20)
	s := tl.trace("sendfile", how{calls: []string{"accept4", "openat2", "fstat", "write", "sendfile", "close"}}, "-quiet", "-dir", dir)
	tl.fetch(s.addr, "/big.bin")
	time.Sleep(200 * time.Millisecond)
	s.stop()
	tl.heading("-dir with a 1 MiB big.bin; GET /big.bin")
	conn, file := -1, -1
	for _, c := range s.calls() {
		switch {
		case c.Name == "accept4" && c.Ret() >= 0 && conn < 0:
			conn = c.Ret()
		case c.Name == "openat2" && strings.Contains(c.Args, `"big.bin"`):
			file = c.Ret()
			tl.printf("%s\n", c.Line())
		case file < 0:
		case c.Name == "fstat" && c.FD() == file, (c.Name == "write" || c.Name == "sendfile") && c.FD() == conn:
			tl.printf("%s\n", c.Line())
		case c.Name == "close" && c.FD() == file:
			tl.printf("%s\n", c.Line())
			return
		}
	}
}

func sendfileEAGAIN(tl *tool) {
	dir := tl.mkfile("big.bin", 64<<20)
	s := tl.trace("sendfile-eagain", how{calls: []string{"accept4", "sendfile", "ppoll"}}, "-quiet", "-dir", dir)
	n, took := tl.fetchSlowly(s.addr, "/big.bin", 64<<20)
	tl.printf("client: %d bytes in %.3fs\n", n, took.Seconds())
	time.Sleep(200 * time.Millisecond)
	s.stop()
	tl.heading("a 64 MiB file to a client reading 64 MiB/s: short sendfiles, then EAGAIN and a wait for POLLOUT")
	calls := onConn(s.calls(), "sendfile", "ppoll")
	for i, c := range calls {
		if c.Errno() == "EAGAIN" {
			tl.print(calls[:min(i+2, len(calls))])
			break
		}
	}
	sendfiles, again, waits := 0, 0, 0
	for _, c := range calls {
		switch {
		case c.Name == "sendfile":
			sendfiles++
			if c.Errno() == "EAGAIN" {
				again++
			}
		case strings.Contains(c.Args, "POLLOUT"):
			waits++
		}
	}
	tl.printf("in all: %d sendfile calls, %d EAGAIN, %d POLLOUT waits\n", sendfiles, again, waits)
}

func rst(tl *tool) {
	s := tl.trace("rst", how{calls: []string{"accept4", "read", "write", "close"}}, "-log-healthz")
	// A first, silent client holds the serial server for 0.3 s, so that the
	// second has sent its two requests and closed before the server reads
	// them: its first response then meets a closed socket (RST), every time.
	holder := tl.dial(s.addr)
	time.Sleep(100 * time.Millisecond)
	c := tl.dial(s.addr)
	c.send(request("/healthz") + request("/healthz"))
	c.Close()
	time.Sleep(200 * time.Millisecond)
	holder.Close()
	time.Sleep(300 * time.Millisecond)
	s.stop()
	tl.heading("two pipelined requests, then the client closes at once")
	calls := onConn(s.calls(), "read", "write", "close")
	tl.print(from(calls, -1, func(c strace.Call) bool { return strings.Contains(c.Args, "GET /healthz") }))
	if l := firstLine(s.rawLines(), "--- SIGPIPE"); l != "" {
		tl.printf("%s\n", l)
	} else {
		tl.printf("(no SIGPIPE this run: the second write came before the RST)\n")
	}
	tl.heading("access log (stdout)")
	tl.printf("%s", s.Stdout())
}

func drain413(tl *tool) {
	s := tl.trace("drain413", how{calls: []string{"accept4", "read", "write", "shutdown", "close"}}, "-quiet")
	c := tl.dial(s.addr)
	const size = 100000
	c.send(fmt.Sprintf("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n%s", size, make([]byte, size)))
	c.Conn.(*net.TCPConn).CloseWrite()
	status, err := c.br.ReadString('\n')
	if err != nil {
		tl.die("reading the status line: %v", err)
	}
	tl.printf("client got: %s\n", strings.TrimSpace(status))
	c.Close()
	time.Sleep(200 * time.Millisecond)
	s.stop()
	tl.heading("a 100 KB body: 413, then shutdown and the drain")
	tl.print(onConn(s.calls(), "read", "write", "shutdown", "close"))
}

func timeouts(tl *tool) {
	s := tl.trace("timeouts", how{calls: []string{"accept4", "read", "write", "ppoll", "shutdown", "close"}},
		"-quiet", "-header-timeout", "1s", "-idle-timeout", "1s")
	buf := make([]byte, 4096)
	read := func(c *client) string {
		n, _ := c.Read(buf)
		return string(buf[:n])
	}

	c := tl.dial(s.addr)
	tl.printf("silent client:     got %q\n", read(c))
	c.Close()

	c = tl.dial(s.addr)
	time.Sleep(600 * time.Millisecond)
	for _, b := range []byte(request("/")) {
		if _, err := c.Write([]byte{b}); err != nil {
			tl.printf("slow client:       send failed: %v\n", err)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	first, _, _ := strings.Cut(read(c), "\r\n")
	tl.printf("slow client:       got %q\n", first)
	c.Close()

	c = tl.dial(s.addr)
	c.send(request("/healthz"))
	read(c)
	begin := time.Now()
	tl.printf("kept-alive client: next read %q %.2f s after the response\n", read(c), time.Since(begin).Seconds())
	c.Close()

	time.Sleep(200 * time.Millisecond)
	s.stop()
	tl.heading("the server's side, all three connections")
	tl.print(onConn(s.calls(), "read", "write", "ppoll", "shutdown", "close"))
}

func emfile(tl *tool) {
	s := tl.trace("emfile", how{calls: []string{"accept4", "ppoll"}}, "-quiet")
	var limit unix.Rlimit
	if err := unix.Prlimit(s.PID(), unix.RLIMIT_NOFILE, nil, &limit); err != nil {
		tl.die("prlimit: %v", err)
	}
	lowest := 0
	for {
		if _, err := os.Lstat(fmt.Sprintf("/proc/%d/fd/%d", s.PID(), lowest)); err != nil {
			break
		}
		lowest++
	}
	setSoft := func(soft uint64) {
		if err := unix.Prlimit(s.PID(), unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: soft, Max: limit.Max}, nil); err != nil {
			tl.die("prlimit: %v", err)
		}
	}
	setSoft(uint64(lowest))
	tl.printf("soft RLIMIT_NOFILE lowered to %d (the lowest free fd)\n", lowest)
	var answer string
	wait := tl.inBackground(10*time.Second, func() {
		code, _, took := tl.fetch(s.addr, "/")
		answer = fmt.Sprintf("client: %d after %.3fs", code, took.Seconds())
	})
	time.Sleep(1500 * time.Millisecond)
	setSoft(limit.Max)
	tl.printf("raised again after 1.5 s\n")
	wait()
	tl.printf("%s\n", answer)
	s.stop()
	tl.heading("accept4 EMFILE, then ppoll on the waker alone, until the limit is raised")
	emfiles := 0
	for _, c := range s.calls() {
		switch {
		case c.Name == "accept4" && c.Errno() == "EMFILE":
			if emfiles++; emfiles > 1 {
				continue
			}
		case c.Name == "ppoll" && strings.Contains(c.Args, "}], 1, ") && !strings.HasPrefix(c.Errno(), "ERESTART"):
		case c.Name == "accept4" && c.Ret() >= 0:
		default:
			continue
		}
		tl.printf("%s\n", c.Line())
	}
	tl.heading("stderr")
	tl.printf("%s", s.Stderr())
}

func eintr(tl *tool) {
	// A signal landing during a call is luck; this makes the luck: SIGURG
	// (the signal the Go runtime uses to preempt, and handles with
	// SA_RESTART), sent with tgkill(2) to whichever server thread is in
	// ppoll or sendfile at that moment (/proc/PID/task/TID/syscall).
	dir := tl.mkfile("big.bin", 16<<20)
	s := tl.trace("eintr", how{calls: []string{"ppoll", "sendfile"}}, "-quiet", "-dir", dir)
	kick := func() {
		for until := time.Now().Add(3 * time.Second); time.Now().Before(until); time.Sleep(2 * time.Millisecond) {
			tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", s.PID()))
			for _, task := range tasks {
				b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/syscall", s.PID(), task.Name()))
				nr, _, _ := strings.Cut(string(b), " ")
				tid, _ := strconv.Atoi(task.Name())
				if err == nil && (nr == strconv.Itoa(unix.SYS_PPOLL) || nr == strconv.Itoa(unix.SYS_SENDFILE)) {
					unix.Tgkill(s.PID(), tid, unix.SIGURG)
				}
			}
		}
	}
	wait := tl.inBackground(10*time.Second, kick)
	for i := 0; i < 20; i++ {
		tl.fetchSlowly(s.addr, "/big.bin", 200<<20)
	}
	wait()
	s.stop()
	tl.heading("SIGURG sent to the server thread in ppoll or sendfile, during 20 downloads of a 16 MiB file")
	var nohand, restartsys []strace.Call
	restarted := ""
	for _, c := range s.calls() {
		switch {
		case c.Name == "ppoll" && c.Errno() == "ERESTARTNOHAND":
			nohand = append(nohand, c)
		case c.Name == "sendfile" && c.Errno() == "ERESTARTSYS":
			restartsys = append(restartsys, c)
		case c.Name == "sendfile" && restarted == "" && len(restartsys) > 0 && c.TID == restartsys[0].TID:
			restarted = c.Line()
		}
	}
	tl.print(nohand[:min(2, len(nohand))])
	tl.print(restartsys[:min(2, len(restartsys))])
	if restarted != "" {
		tl.printf("restarted: %s\n", restarted)
	}
	tl.printf("ppoll ERESTARTNOHAND: %d, sendfile ERESTARTSYS: %d\n", len(nohand), len(restartsys))
}

func idleFlush(tl *tool) {
	s := tl.trace("idle-flush", how{calls: []string{"accept4", "ppoll", "write"}})
	tl.fetch(s.addr, "/")
	time.Sleep(400 * time.Millisecond)
	s.stop()
	tl.heading("after the response: the listener's ppoll capped at 100 ms times out, the log is written to fd 1")
	calls := s.calls()
	conns := map[int]bool{}
	var picked []strace.Call
	for _, c := range calls {
		switch {
		case c.Name == "accept4" && c.Ret() >= 0:
			conns[c.Ret()] = true
		case c.Name == "ppoll" && strings.Contains(c.Args, "}], 2, ") && !conns[c.FD()], c.Name == "write" && c.FD() == 1:
			picked = append(picked, c)
		}
	}
	tl.print(from(picked, 3, func(c strace.Call) bool { return strings.Contains(c.Result, "Timeout") }))
}

func goRuntime(tl *tool) {
	s := tl.trace("runtime", how{calls: []string{"openat", "futex", "nanosleep", "rt_sigreturn",
		"epoll_create1", "epoll_create", "epoll_ctl", "epoll_pwait", "epoll_wait"}})
	for i := 0; i < 300; i++ {
		tl.fetch(s.addr, "/")
	}
	s.stop()
	lines := s.rawLines()
	tl.heading("one line of each kind from the Go runtime (raw, unjoined)")
	for _, parts := range [][]string{{" nanosleep("}, {" futex(", "FUTEX_WAIT"}, {"--- SIGURG"}, {" rt_sigreturn("}} {
		if l := firstLine(lines, parts...); l != "" {
			tl.printf("%s\n", l)
		} else {
			tl.printf("(no %s this run)\n", strings.Trim(parts[0], " -("))
		}
	}
	tl.heading("the runtime's start-up reads")
	epolls, threads := 0, map[string]bool{}
	for _, l := range lines {
		if strings.Contains(l, " openat(") && !strings.Contains(l, "somaxconn") && !strings.Contains(l, ".ready.tmp") {
			tl.printf("%s\n", l)
		}
		if strings.Contains(l, " epoll_") {
			epolls++
		}
		tid, _, _ := strings.Cut(l, " ")
		threads[tid] = true
	}
	tl.printf("epoll_* calls: %d\n", epolls)
	tl.printf("threads that made a call: %d\n", len(threads))
}

func threeSerial(tl *tool) { three(tl, "-model", "serial") }
func threeEpoll(tl *tool)  { three(tl, "-model", "epoll") }

// three: three clients connect at once and each sends one request with
// Connection: close; the server's calls from the first accept4 on.
func three(tl *tool, flags ...string) {
	calls := []string{"accept4", "read", "write", "shutdown", "close", "ppoll", "epoll_pwait", "epoll_ctl"}
	s := tl.trace("three", how{calls: calls}, append([]string{"-quiet"}, flags...)...)
	time.Sleep(300 * time.Millisecond)
	var cs []*client
	for i := 0; i < 3; i++ {
		cs = append(cs, tl.dial(s.addr))
	}
	for i, c := range cs {
		c.send(request(fmt.Sprintf("/healthz?client=%d", i), "Connection: close"))
	}
	for _, c := range cs {
		c.untilEOF()
		c.Close()
	}
	time.Sleep(200 * time.Millisecond)
	s.stop()
	tl.heading("three clients at once against rawserve %s", strings.Join(flags, " "))
	tl.printServed(s.calls(), "ppoll", "epoll_pwait")
}

func threeKeepalive(tl *tool) {
	s := tl.trace("three-keepalive", how{calls: []string{"accept4", "read", "write", "shutdown", "close", "epoll_pwait", "epoll_ctl"}},
		"-quiet", "-model", "epoll")
	time.Sleep(300 * time.Millisecond)
	var cs []*client
	for i := 0; i < 3; i++ {
		cs = append(cs, tl.dial(s.addr))
	}
	ask := func(path string) {
		for _, c := range cs {
			c.send(request(path))
		}
		for _, c := range cs {
			c.response()
		}
	}
	ask("/healthz?round=1")
	time.Sleep(100 * time.Millisecond)
	ask("/healthz?round=2")
	for _, c := range cs {
		c.Close()
	}
	time.Sleep(200 * time.Millisecond)
	s.stop()
	tl.heading("three keep-alive clients, two requests each, against rawserve -model epoll")
	tl.printServed(s.calls(), "epoll_pwait")
}

// printServed prints, without thread ids, the calls from the first accept4
// on, and the wait before it if it is one of waits; reads and writes on
// stdin, stdout and stderr are left out.
func (tl *tool) printServed(calls []strace.Call, waits ...string) {
	for i, c := range calls {
		if c.Name != "accept4" {
			continue
		}
		if i > 0 && contains(waits, calls[i-1].Name) {
			i--
		}
		for _, c := range calls[i:] {
			if (c.Name == "read" || c.Name == "write") && c.FD() <= 2 {
				continue
			}
			tl.printf("%s\n", c)
		}
		return
	}
}
