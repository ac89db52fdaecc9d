package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rawserve/rawserve/internal/strace"
)

// compare is make compare: the loop of the post "Building a Single Threaded
// Web Server in Golang", written on Go's net package (bench/servers/seedpost),
// and rawserve's serial model, each under strace -f, serving the same three
// requests; their calls printed one after the other, step by step — start,
// then for each request the wait and the service, then the stop — with what
// differs noted under each step.
//
// Only calls about a descriptor are listed (and epoll_pwait, ppoll, the
// signals). The Go runtime's other calls — futex, nanosleep, mmap, clone,
// rt_sigaction and the like — are counted per step, because they are
// there in both programs and say nothing about the socket.
func compare(tl *tool, args []string) {
	fs := flag.NewFlagSet("compare", flag.ExitOnError)
	seedBin := fs.String("seedpost", "", "the seed post's server (default: build bench/servers/seedpost)")
	fs.Parse(args)
	if fs.NArg() > 0 {
		tl.die("compare takes no arguments but -seedpost")
	}
	site := tl.path("site")
	if err := os.Mkdir(site, 0o755); err != nil {
		tl.die("%v", err)
	}
	if err := os.WriteFile(filepath.Join(site, "hello.txt"), []byte("hello, world\n"), 0o644); err != nil {
		tl.die("%v", err)
	}
	if *seedBin == "" {
		*seedBin = tl.buildSeedPost()
	}

	// The same three requests for each, each on a connection of its own
	// that asks to be closed, as the post's server closes every connection.
	paths := []string{"/hello.txt", "/hello.txt", "/missing"}
	drive := func(addr string) {
		for _, p := range paths {
			c := tl.dial(addr)
			c.get(p, "Connection: close")
			c.untilEOF()
			c.Close()
			time.Sleep(100 * time.Millisecond) // each request's calls apart in time
		}
	}

	port := freePort(tl)
	seed := tl.start("seedpost", strace.Config{
		Program: *seedBin, Args: []string{"-addr", fmt.Sprintf("127.0.0.1:%d", port), "-dir", site},
		Output: tl.path("seedpost.strace"),
	})
	waitListening(tl, port, seed)
	time.Sleep(200 * time.Millisecond)
	drive(fmt.Sprintf("127.0.0.1:%d", port))
	time.Sleep(200 * time.Millisecond)
	seedExit, _ := seed.Stop(10 * time.Second) // SIGTERM's default action ends it
	seedCalls, err := strace.Read(tl.path("seedpost.strace"))
	if err != nil {
		tl.die("%v", err)
	}

	rs := tl.trace("compare", how{}, "-quiet", "-dir", site)
	time.Sleep(200 * time.Millisecond)
	drive(rs.addr)
	time.Sleep(200 * time.Millisecond)
	rs.stop()

	a := stepsOf("the seed post", seedCalls)
	b := stepsOf("rawserve", rs.calls())
	if len(a.steps) != len(b.steps) {
		tl.die("the traces do not line up: %d steps and %d", len(a.steps), len(b.steps))
	}
	tl.printf("# The seed post's loop beside rawserve's, under strace -f\n\n")
	tl.printf("The same %d requests — GET %s — each on a connection of its own\n", len(paths), strings.Join(paths, ", GET "))
	tl.printf("with Connection: close, served first by the loop of the post \"Building a\n")
	tl.printf("Single Threaded Web Server in Golang\" on Go's net package\n")
	tl.printf("(bench/servers/seedpost), then by rawserve -dir in the serial model.\n")
	tl.printf("Threads are numbered in the order they first appear: T1 is the one exec\n")
	tl.printf("started. The runtime's calls that are about no descriptor are counted.\n")
	for i := range a.steps {
		tl.heading("%d. %s", i+1, a.steps[i].title)
		for _, t := range []*trace{a, b} {
			t.print(tl, t.steps[i])
		}
		for _, n := range stepNotes(a, b, i) {
			tl.printf("  > %s\n", n)
		}
	}
	tl.heading("In all")
	tl.printf("%-40s %18s %10s\n", "", "the seed post", "rawserve")
	row := func(what string, f func(*trace) string) { tl.printf("%-40s %18s %10s\n", what, f(a), f(b)) }
	row("system calls", func(t *trace) string { return strconv.Itoa(len(t.calls)) })
	row("threads", func(t *trace) string { return strconv.Itoa(len(t.tids)) })
	row("calls per request, accept4 to close", func(t *trace) string { return fmt.Sprintf("%.1f", t.perRequest()) })
	for _, name := range []string{"epoll_pwait", "ppoll", "futex", "nanosleep", "getsockname", "setsockopt"} {
		row(name, func(t *trace) string { return strconv.Itoa(t.count(name)) })
	}
	row("how SIGTERM ended it", func(t *trace) string {
		if t == a {
			return exitText(seedExit)
		}
		return "exit 0"
	})
	if wa, wb := waitCount(a, "nanosleep"), waitCount(b, "nanosleep"); wb > 2*wa {
		tl.printf("\n> rawserve makes fewer calls per request, but its runtime makes more while\n")
		tl.printf("> it waits: %d nanosleep calls between requests, against %d. Its\n", wb, wa)
		tl.printf("> goroutine waits inside a system call (ppoll), and Go's monitor thread\n")
		tl.printf("> (sysmon) checks on such a thread every 20 µs at first, backing off, until\n")
		tl.printf("> it has handed the thread's processor away and the program is idle. The\n")
		tl.printf("> seed post's goroutine parks instead, and the runtime knows at once that\n")
		tl.printf("> nothing runs. The cost is per wait, not per request: a server left idle\n")
		tl.printf("> stops making calls within a second or so.\n")
	}
}

// waitCount is how many of name's calls the trace's wait steps hold.
func waitCount(t *trace, name string) int {
	n := 0
	for _, s := range t.steps {
		if s.kind == "wait" {
			n += countIn(s, name)
		}
	}
	return n
}

// buildSeedPost builds the seed post's server from the benchmark module,
// statically as rawserve is built, so that neither loads a C library.
func (tl *tool) buildSeedPost() string {
	mod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || len(strings.TrimSpace(string(mod))) == 0 {
		tl.die("finding the repository: %v", err)
	}
	bin := tl.path("seedpost")
	cmd := exec.Command("go", "build", "-o", bin, "./servers/seedpost")
	cmd.Dir = filepath.Join(filepath.Dir(strings.TrimSpace(string(mod))), "bench")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tl.die("building bench/servers/seedpost: %v\n%s", err, out)
	}
	return bin
}

// freePort is a port nobody listens on now: the kernel's pick for a
// listener this tool opens and closes at once.
func freePort(tl *tool) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tl.die("%v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitListening waits (at most 10 s) until something listens on port, by
// reading /proc/net/tcp rather than connecting: a probe connection would be
// one more accept in the trace.
func waitListening(tl *tool, port int, p *strace.Process) {
	want := fmt.Sprintf(":%04X 00000000:0000 0A", port) // local port, no peer, LISTEN
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if b, err := os.ReadFile("/proc/net/tcp"); err == nil && strings.Contains(string(b), want) {
			return
		}
		select {
		case <-p.Exited():
			tl.die("the seed post's server exited: %s", p.Stderr())
		case <-time.After(20 * time.Millisecond):
		}
	}
	tl.die("the seed post's server is not listening on port %d after 10 s", port)
}

// exitText is how a program ended, from Stop's status: -1 is a signal.
func exitText(code int) string {
	if code < 0 {
		return "killed by SIGTERM"
	}
	return "exit " + strconv.Itoa(code)
}

// trace is one server's calls, cut into steps.
type trace struct {
	name  string
	calls []strace.Call
	tids  map[int]int // strace's thread id → 1, 2, … in order of appearance
	steps []step
	// The runtime's own descriptors: files it opened at start-up and keeps
	// (its cgroup's CPU limit, re-read now and then).
	runtimeFDs map[int]bool
}

// step is a run of calls: their titles line up across the two traces.
type step struct {
	title string
	kind  string // start, wait, serve, stop
	calls []strace.Call
}

// stepsOf cuts a trace at its connections: the start runs until the first
// accept4; each request is its wait (the accept4 calls that found nothing,
// and the sleep) and its service (from the accept4 that returned the
// connection to that connection's close); the stop is the rest.
func stepsOf(name string, calls []strace.Call) *trace {
	t := &trace{name: name, calls: calls, tids: map[int]int{}, runtimeFDs: map[int]bool{}}
	begun := false
	for _, c := range calls {
		if _, ok := t.tids[c.TID]; !ok {
			t.tids[c.TID] = len(t.tids) + 1
		}
		begun = begun || programs(c)
		switch {
		case begun:
		case c.Name == "openat" && c.Ret() >= 0:
			t.runtimeFDs[c.Ret()] = true
		case c.Name == "close":
			delete(t.runtimeFDs, c.FD())
		}
	}
	i := 0
	take := func(title, kind string, end int) {
		t.steps = append(t.steps, step{title: title, kind: kind, calls: calls[i:end]})
		i = end
	}
	next := func(from int, match func(strace.Call) bool) int {
		for j := from; j < len(calls); j++ {
			if match(calls[j]) {
				return j
			}
		}
		return len(calls)
	}
	isAccept := func(c strace.Call) bool { return c.Name == "accept4" }
	take("Start: from exec to a listening socket", "start", next(0, isAccept))
	for n := 1; i < len(calls); n++ {
		got := next(i, func(c strace.Call) bool { return isAccept(c) && c.Ret() >= 0 })
		if got == len(calls) {
			break
		}
		take(fmt.Sprintf("Request %d: waiting for a client", n), "wait", got)
		fd := calls[got].Ret()
		closed := next(got+1, func(c strace.Call) bool { return c.Name == "close" && c.FD() == fd })
		take(fmt.Sprintf("Request %d: accept, read, respond, close", n), "serve", min(closed+1, len(calls)))
	}
	take("Stop: SIGTERM", "stop", len(calls))
	return t
}

// programs says whether a call is one of the first a program makes of its
// own: the Go runtime makes none of these at start-up (rawserve opens its
// root, a directory; the runtime opens only files).
func programs(c strace.Call) bool {
	return c.Name == "socket" || c.Name == "eventfd2" || strings.Contains(c.Args, "O_DIRECTORY")
}

// listedCall says whether a call is listed rather than counted: calls about a
// descriptor or an address, and the waits.
func listedCall(c strace.Call) bool {
	switch c.Name {
	case "futex", "nanosleep", "mmap", "munmap", "mprotect", "madvise", "clone", "clone3",
		"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "gettid", "getpid",
		"tgkill", "sched_getaffinity", "sched_yield", "arch_prctl", "set_tid_address",
		"set_robust_list", "rseq", "prlimit64", "execve", "brk", "getrandom", "prctl",
		"uname", "exit_group", "fcntl", "getrlimit", "setrlimit":
		return false
	}
	return true
}

// print lists a step's calls, a run of the same call on one descriptor
// folded into its first line, and counts the rest.
func (t *trace) print(tl *tool, s step) {
	var listed []strace.Call
	hidden := map[string]int{}
	threads := map[int]bool{}
	// At the start, what comes before the program's first descriptor of
	// its own is the runtime's start-up (its cgroup, the hugepage size).
	begun := s.kind != "start"
	for _, c := range s.calls {
		threads[c.TID] = true
		begun = begun || programs(c)
		if !begun || !listedCall(c) || t.runtimeFDs[c.FD()] {
			hidden[c.Name]++
			continue
		}
		listed = append(listed, c)
	}
	tl.printf("\n%s (%s):\n", t.name, plural(len(s.calls), "call")+" on "+plural(len(threads), "thread"))
	if len(hidden) > 0 {
		tl.printf("  %s of the runtime's own: %s\n", plural(sum(hidden), "call"), tally(hidden))
	}
	for j := 0; j < len(listed); j++ {
		c := listed[j]
		same := j
		for same+1 < len(listed) && listed[same+1].Name == c.Name && listed[same+1].FD() == c.FD() && c.FD() >= 0 {
			same++
		}
		tl.printf("  T%d %s\n", t.tids[c.TID], fit(c, demoWidth))
		if same > j {
			tl.printf("     … and %d more %s(%d, …)\n", same-j, c.Name, c.FD())
			j = same
		}
	}
}

func (t *trace) count(name string) int {
	n := 0
	for _, c := range t.calls {
		if c.Name == name {
			n++
		}
	}
	return n
}

// perRequest is the calls of the service steps over the requests.
func (t *trace) perRequest() float64 {
	calls, n := 0, 0
	for _, s := range t.steps {
		if s.kind == "serve" {
			calls += len(s.calls)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(calls) / float64(n)
}

// stepNotes says what differs in step i, from what the two traces hold.
func stepNotes(a, b *trace, i int) []string {
	sa, sb := a.steps[i], b.steps[i]
	has := func(s step, name string, argPart string) bool {
		for _, c := range s.calls {
			if c.Name == name && strings.Contains(c.Args, argPart) {
				return true
			}
		}
		return false
	}
	var notes []string
	// add keeps the notes whose condition the traces meet.
	type note struct {
		when bool
		text string
	}
	add := func(list ...note) {
		for _, n := range list {
			if n.when {
				notes = append(notes, n.text)
			}
		}
	}
	switch sa.kind {
	case "start":
		sockets := countIn(sa, "socket")
		add(
			note{sockets > 1, fmt.Sprintf("net.Listen opens %d sockets: the first ones only probe what the kernel supports (IPv6, IPv4-mapped addresses) and are closed at once.", sockets)},
			note{has(sa, "openat", "somaxconn"), "net reads /proc/sys/net/core/somaxconn and asks listen() for that backlog; rawserve asks for its -backlog."},
			note{has(sa, "epoll_create1", ""), "The runtime's netpoller: one epoll set for the process (epoll_create1), and every socket joins it edge-triggered (EPOLLET) as it is made. The post's loop never sees it."},
			note{has(sa, "getsockname", ""), "net asks getsockname for the address it has just bound, for Listener.Addr()."},
			note{has(sb, "openat", "O_DIRECTORY"), "rawserve opens its -dir once, as a descriptor (O_PATH|O_DIRECTORY), and looks every file up beneath it; the seed post joins each path to the directory's name."},
			note{has(sb, "eventfd2", ""), "rawserve makes its waker first (eventfd2: SIGTERM writes to it to end any wait), and no epoll set: the serial model waits with ppoll."},
		)
	case "wait":
		add(
			note{has(sa, "accept4", "") && has(sb, "accept4", ""), "Both ask accept4 first and hear EAGAIN: both listeners are nonblocking. Neither retries in a loop: each sleeps in the kernel until the listener is readable, then calls accept4 once more."},
			note{has(sa, "epoll_pwait", ""), "The seed post's Accept parks its goroutine, and a runtime thread sleeps in epoll_pwait for every parked goroutine at once: the post's \"retries till it receives data\" is one wait and one more accept4."},
			note{has(sb, "ppoll", ""), "rawserve sleeps in ppoll on the listener and its waker: its own thread, in its own call, in the kernel."},
		)
	case "serve":
		conn := sa.calls[0].Ret() // the step begins with the accept4 that made it
		extra := 0
		for _, c := range sa.calls {
			on := c.FD() == conn || c.Name == "epoll_ctl" && strings.Contains(c.Args, fmt.Sprintf(", %d,", conn))
			if on && (c.Name == "getsockname" || c.Name == "setsockopt" || c.Name == "epoll_ctl") {
				extra++
			}
		}
		add(
			note{extra > 0, fmt.Sprintf("net's Accept makes %d calls more on each connection: getsockname for LocalAddr, TCP_NODELAY and the keep-alive probes, and the epoll_ctl that adds it to the netpoller (and removes it before close).", extra)},
			note{failed(sa, "epoll_ctl", "EPERM"), "os.Open tries to add the file to the netpoller too; a regular file cannot wait in epoll, so the kernel says EPERM and Go reads it blocking."},
			note{has(sb, "sendfile", ""), "rawserve opens the file beneath its root (openat2, RESOLVE_BENEATH) and sendfile copies it from the page cache to the socket; the seed post reads it whole into memory, then writes."},
			note{has(sb, "pread64", ""), "rawserve opens the file beneath its root (openat2, RESOLVE_BENEATH) and reads it into its file cache (pread64), noting what statx says of it; the seed post reads it whole into memory too, and throws it away."},
			note{has(sb, "statx", "") && !has(sb, "openat2", ""), "From memory: one statx checks that the file on disk is still the one kept (inode, size, mtime, ctime), and one write sends head and body. The seed post opens, reads and closes the file again."},
			note{has(sa, "read", "GET ") && has(sb, "read", "GET "), "read returns the request as soon as it has arrived, in both: no FIN has come yet (the client sends it after the response), so read does not wait for one, as the post says it does."},
			note{len(threadsOf(sa)) > 1 || len(threadsOf(sb)) > 1, "A goroutine is not a thread: when a call blocks or sysmon preempts it (tgkill SIGURG), the scheduler may carry on on another thread — the T numbers change, in both programs."},
		)
	case "stop":
		add(
			note{!has(sa, "close", ""), "The seed post does not handle SIGTERM: the signal's default action ends it in its wait, with no call of its own; the kernel closes its sockets at exit."},
			note{has(sb, "write", "\\1\\0\\0\\0"), "rawserve's handler writes to the waker, its ppoll returns, and it closes the listener, says so on stderr and exits 0."},
		)
	}
	return notes
}

// failed says whether a call of the step failed with errno.
func failed(s step, name, errno string) bool {
	for _, c := range s.calls {
		if c.Name == name && c.Errno() == errno {
			return true
		}
	}
	return false
}

func countIn(s step, name string) int {
	n := 0
	for _, c := range s.calls {
		if c.Name == name {
			n++
		}
	}
	return n
}

func threadsOf(s step) map[int]bool {
	m := map[int]bool{}
	for _, c := range s.calls {
		if listedCall(c) {
			m[c.TID] = true
		}
	}
	return m
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// tally is "futex×12, nanosleep×3", most frequent first.
func tally(m map[string]int) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if m[names[i]] != m[names[j]] {
			return m[names[i]] > m[names[j]]
		}
		return names[i] < names[j]
	})
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s×%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
