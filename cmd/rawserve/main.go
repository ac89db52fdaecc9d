// Command rawserve is an HTTP server that talks to the Linux kernel through
// raw system calls — socket, bind, listen, accept4, read, write, sendfile,
// ppoll, epoll, shutdown, close. It serves one connection at a time (the
// serial model), or many from one thread with epoll (-model epoll).
//
// This file only reads flags and wires the packages together; output.go
// says where output goes, signals.go how a signal stops the server. Every
// system call is made in internal/sock, but output's, in internal/outq.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rawserve/rawserve/internal/httpconn"
	"github.com/rawserve/rawserve/internal/page"
	"github.com/rawserve/rawserve/internal/serve"
	"github.com/rawserve/rawserve/internal/sock"
	"github.com/rawserve/rawserve/internal/static"
)

// Output goes to fd 1 and 2 in write(2) calls of its own (sock.Output),
// never through os.Stdout and os.Stderr: package os turns EPIPE on those
// into SIGPIPE, which kills the process when the reader of its output goes
// away.
// init keeps the main goroutine on the process's main thread for its whole
// life, as a C program's main runs: the listeners are made there, the
// serial model serves there, and under strace -f all of it shows under the
// process's own id. Unlocked, the Go scheduler may move it to another
// thread between any two calls — and between the gettid that -trace's
// "[pid TID]" takes and the call it names (sock/trace.go).
func init() { runtime.LockOSThread() }

func main() {
	if len(os.Args) > 1 && os.Args[1] == "probe" {
		os.Exit(runProbe(os.Args[2:], sock.Stdout, sock.Stderr))
	}
	os.Exit(run(os.Args[1:], sock.Stdout, sock.Stderr))
}

const usage = `Usage: rawserve [flags]

rawserve is an HTTP/1.1 server built on raw Linux system calls. By default
(-model serial) it serves one connection at a time: while one client is
served, the others wait in the kernel's accept queue. -model epoll serves
many at once from one thread per event loop (-loops). With no -dir it serves
a page that explains the system calls it made to answer you. GET /healthz
answers 200 "ok". With -faults, requests under /_faults/ misbehave on
purpose, to test HTTP clients (GET /_faults/ lists the faults).

  rawserve [flags]              serve
  rawserve probe [flags] [URL]  check a running rawserve (exit 0 if healthy)

Every flag can also be set in the environment, as RAWSERVE_ and its name in
capitals with _ for - (RAWSERVE_ADDR, RAWSERVE_HEADER_TIMEOUT, ...); a flag
on the command line wins.

Flags:
`

// run is main without the exit, so tests can call it. It returns the exit
// status: 0 after a clean shutdown, 1 when serving fails, 2 for bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	// Output, first and last: no serving loop waits for its readers (see
	// output.go), and whatever run writes is written out before it returns.
	out := newOutput(stdout, stderr)
	rawStderr := stderr
	defer out.close()
	stdout, stderr = out.log, out.errs

	fs := flag.NewFlagSet("rawserve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	addr := fs.String("addr", ":8080", "listen `address`: IPv4:port, [IPv6]:port, or :port for all addresses (IPv6 and IPv4)")
	dir := fs.String("dir", "", "serve files from `directory` (default: the embedded demo page)")
	list := fs.Bool("list", false, "with -dir: list directories that have no index.html (default: 403)")
	allowSystemRoot := fs.Bool("allow-system-root", false, "with -dir: serve / itself, the whole file system (/etc, /proc...), which is refused otherwise")
	cacheSize := sizeFlag(static.DefaultCacheBytes)
	fs.Var(&cacheSize, "file-cache-size", "with -dir: memory for `size` in all of files up to 64 KiB kept in memory, each checked on disk (statx) before it is served: 32MiB, 512KiB, 0 (off)")
	cacheTrust := fs.Duration("file-cache-trust", 0, "with -dir: serve a kept file unchecked for this long after its last check (0: check every time; a changed file may be served stale until then)")
	oldCache := fs.String("file-cache", "", "replaced: files are cached and checked by default (-file-cache-size); -file-cache-trust serves them unchecked for a time")
	model := fs.String("model", "serial", "serving model: serial (one connection at a time), epoll (many, from event loops; pick it for concurrent clients) or uring (many, from event loops that submit their calls through io_uring)")
	loops := fs.Int("loops", 1, "with -model epoll or uring: event loops, one thread and SO_REUSEPORT listener each; 0 means one per CPU")
	maxConns := fs.Int("max-conns", 0, "with -model epoll or uring: most connections open at once, split evenly over the loops; beyond it clients wait in the accept queue (0: no limit but the descriptor limit)")
	grace := fs.Duration("grace", serve.DefaultGrace, "with -model epoll or uring: after SIGTERM, how long responses in flight may take to finish")
	yieldAfter := fs.Duration("yield-after", serve.DefaultYieldAfter, "with -model serial: while other clients wait, the connection being served gives way once it has been silent this long (its responses say Connection: close); 0 never gives way")
	wait := fs.String("wait", "poll", "with -model serial, what to do on EAGAIN: poll (sleep in ppoll until ready) or spin (retry at once, burning a core; for demonstrations)")
	backlog := fs.Int("backlog", 0, "accept queue length passed to listen(2); 0 means the kernel's maximum, net.core.somaxconn")
	headerTimeout := fs.Duration("header-timeout", httpconn.DefaultHeaderTimeout, "longest time a request head may take to arrive")
	idleTimeout := fs.Duration("idle-timeout", 0, fmt.Sprintf("longest wait for the next request on a kept-alive connection (default %v serial, %v epoll and uring)", serve.DefaultIdleTimeout, serve.DefaultEpollIdleTimeout))
	writeTimeout := fs.Duration("write-timeout", httpconn.DefaultWriteTimeout, "longest time to write one response")
	faultsOn := fs.Bool("faults", false, "answer requests under /_faults/ with the faults they ask for — a status, a delay, a drip, a reset, a truncated body, a hang... — to test HTTP clients (docs/faults.md); off, /_faults/ is an ordinary path")
	faultsMaxDelay := fs.Duration("faults-max-delay", httpconn.DefaultFaultMaxDelay, "with -faults: the most a fault may hold a response back, its delays together (less than -write-timeout in any case)")
	faultsHang := fs.Duration("faults-hang", 0, "with -faults: how long /_faults/hang holds a connection before it closes it (default: the idle timeout)")
	quiet := fs.Bool("quiet", false, "no access log")
	logHealthz := fs.Bool("log-healthz", false, "log requests for /healthz too (probes are left out of the access log by default)")
	readyFile := fs.String("ready-file", "", "once listening, write the address to `file` (atomically); it is removed at exit")
	trace := fs.Bool("trace", false, "print every system call the server makes, as strace does, on stderr")
	traceFile := fs.String("trace-file", "", "with -trace: write the system calls to `file` instead of stderr")
	traceTime := fs.Bool("trace-time", false, "with -trace: append each call's duration, as strace -T does")
	countSyscalls := fs.Bool("count-syscalls", false, "count the system calls the server makes, and say at exit, on stderr, how many of each and how many per request answered")
	showVersion := fs.Bool("version", false, "print the version and exit")
	// The environment first, so that flags on the command line win.
	// fromEnv remembers which values came from there, so that a message
	// about a bad one names the variable the user set, not a flag they
	// never typed.
	var envErr error
	fromEnv := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "version" {
			return // a command, not a setting
		}
		name := envName(f.Name)
		f.Usage += " [$" + name + "]"
		if v, ok := os.LookupEnv(name); ok && envErr == nil {
			fromEnv[f.Name] = fmt.Sprintf("%s=%q", name, v)
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s=%q: %v", name, v, err)
			}
		}
	})
	if envErr != nil {
		fmt.Fprintf(stderr, "rawserve: %v\n", envErr)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2 // flag has printed the error and the usage
	}
	fail := func(status int, format string, a ...any) int {
		fmt.Fprintf(stderr, "rawserve: "+format+"\n", a...)
		return status
	}
	set := map[string]bool{} // the flags given on the command line
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	// opt names a setting as the user gave it: "-addr", or
	// `RAWSERVE_ADDR="nonsense"` when it came from the environment.
	opt := func(name string) string {
		if e, ok := fromEnv[name]; ok && !set[name] {
			return e
		}
		return "-" + name
	}
	if *showVersion {
		fmt.Fprintln(stdout, "rawserve", version())
		return 0
	}
	if fs.NArg() > 0 {
		return fail(2, "unexpected argument %q (flags start with -; see rawserve -h)", fs.Arg(0))
	}
	a, err := sock.ParseAddr(*addr)
	if err != nil {
		return fail(2, "%s: %v", opt("addr"), err)
	}
	strategy, err := sock.ParseStrategy(*wait)
	if err != nil {
		return fail(2, "%s: %v", opt("wait"), err)
	}
	if !set["idle-timeout"] && fromEnv["idle-timeout"] == "" {
		*idleTimeout = serve.DefaultIdleTimeout
		if *model != "serial" {
			*idleTimeout = serve.DefaultEpollIdleTimeout
		}
	}
	// Every number is checked against its range before it is used: a
	// value the kernel would silently cut short (listen(2) takes an int: a
	// backlog of 4294967296 became 0) or that cannot mean anything is a
	// usage error that names the setting and says what it may be.
	for _, n := range []struct {
		name   string
		v      int
		lo, hi int
		what   string
	}{
		{"loops", *loops, 0, maxLoops, "0 (one per CPU) to 1024"},
		{"max-conns", *maxConns, 0, math.MaxInt32, "0 (no limit) to 2147483647"},
		{"backlog", *backlog, 0, math.MaxInt32, "0 (the kernel's maximum) to 2147483647"},
	} {
		if n.v < n.lo || n.v > n.hi {
			return fail(2, "%s must be %s, not %d", opt(n.name), n.what, n.v)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		zero string // what 0 means; "": it is not allowed
	}{
		{"header-timeout", *headerTimeout, ""},
		{"idle-timeout", *idleTimeout, ""},
		{"write-timeout", *writeTimeout, ""},
		{"grace", *grace, ""},
		{"yield-after", *yieldAfter, "never give way"},
		{"file-cache-trust", *cacheTrust, "check every time"},
		{"faults-max-delay", *faultsMaxDelay, ""},
		{"faults-hang", *faultsHang, "the idle timeout"},
	} {
		switch {
		case d.zero == "" && (d.v <= 0 || d.v > maxDuration):
			return fail(2, "%s must be positive, at most 8760h (a year), not %v", opt(d.name), d.v)
		case d.zero != "" && (d.v < 0 || d.v > maxDuration):
			return fail(2, "%s must be 0 (%s) or positive, at most 8760h (a year), not %v", opt(d.name), d.zero, d.v)
		}
	}
	switch *model {
	case "serial":
		for _, name := range []string{"loops", "max-conns", "grace"} {
			if set[name] {
				return fail(2, "-%s applies to -model epoll and uring only", name)
			}
		}
	case "epoll", "uring":
		if strategy != sock.Poll {
			return fail(2, "-wait applies to -model serial only: an event loop waits in epoll_wait or io_uring_enter")
		}
		if set["yield-after"] {
			return fail(2, "-yield-after applies to -model serial only: an event loop never makes one client wait for another")
		}
	default:
		return fail(2, "%s: unknown model %q (want serial, epoll or uring)", opt("model"), *model)
	}
	if *loops == 0 {
		*loops = runtime.NumCPU()
	}
	if *yieldAfter == 0 {
		*yieldAfter = -1 // serve.Config's "never"
	}
	if *list && *dir == "" {
		return fail(2, "-list needs -dir: there is no directory to list")
	}
	if *oldCache != "" {
		return fail(2, "%s is replaced: files up to 64 KiB are now kept in memory by default and checked on disk before each use "+
			"(-file-cache-size, 32MiB; 0 turns it off); to serve them unchecked for a time, as -file-cache did, use -file-cache-trust %s", opt("file-cache"), *oldCache)
	}
	if cacheSize > maxCacheSize {
		return fail(2, "%s must be 0 (off) to 1TiB, not %d bytes", opt("file-cache-size"), int64(cacheSize))
	}
	for _, name := range []string{"file-cache-size", "file-cache-trust"} {
		if *dir == "" && (set[name] || fromEnv[name] != "") {
			return fail(2, "%s needs -dir: there are no files to cache", opt(name))
		}
	}
	for _, name := range []string{"faults-max-delay", "faults-hang"} {
		if !*faultsOn && (set[name] || fromEnv[name] != "") {
			return fail(2, "%s needs -faults", opt(name))
		}
	}
	if (*traceFile != "" || *traceTime) && !*trace {
		return fail(2, "-trace-file and -trace-time need -trace")
	}
	// The narration goes to -trace's output and, when the demo page is
	// served (no -dir), into a story the page shows its visitor: the serial
	// model's of the one connection it serves, the event loops' a journal
	// of the latest calls, from which the page picks the visitor's own.
	var story *page.Story
	var narrate []io.Writer
	if *dir == "" {
		story = new(page.Story)
		if *model != "serial" {
			story = page.NewJournal()
		}
		narrate = append(narrate, story)
	}
	own := -1 // where the narration is written: its writes are not narrated
	if *trace {
		var w io.Writer = stderr
		if o, ok := rawStderr.(sock.Output); ok {
			own = o.FD()
		}
		if *traceFile != "" {
			f, err := out.traceTo(*traceFile)
			if err != nil {
				return fail(1, "%s: %v", opt("trace-file"), err)
			}
			w, own = f, out.traceFile.FD()
		}
		narrate = append(narrate, w)
	}
	if *countSyscalls {
		sock.CountCalls() // before the first call to count
	}
	if len(narrate) > 0 {
		// With several loops, the lines of their threads interleave: each
		// gets strace -f's "[pid TID] ", and a wait cut by another thread's
		// line is printed in two halves, as strace prints it.
		threads := *model != "serial" && *loops > 1
		sock.SetTraceWith(io.MultiWriter(narrate...), sock.TraceOptions{Own: own, Timed: *traceTime, Threads: threads}) // before the first call to narrate
		defer sock.SetTrace(nil, false)
	}

	cfg := serve.Config{
		Config: httpconn.Config{
			HeaderTimeout: *headerTimeout,
			IdleTimeout:   *idleTimeout,
			WriteTimeout:  *writeTimeout,
			ErrorLog:      stderr,
			LogHealthz:    *logHealthz,
			Story:         story,
			Faults:        *faultsOn,
			FaultMaxDelay: *faultsMaxDelay,
			FaultHang:     *faultsHang,
		},
		Grace:      *grace,
		MaxConns:   *maxConns,
		YieldAfter: *yieldAfter,
	}
	if !*quiet {
		cfg.AccessLog = stdout
	}
	if *countSyscalls {
		cfg.Answered = new(atomic.Uint64)
	}
	if *dir != "" {
		d, err := static.Open(*dir)
		if err != nil {
			name := opt("dir")
			if set["dir"] || fromEnv["dir"] == "" {
				name += " " + strconv.Quote(*dir) // the variable's text shows it already
			}
			return fail(1, "%s: %v", name, err)
		}
		defer d.Close()
		if d.IsFileSystemRoot() && !*allowSystemRoot {
			return fail(2, "%s names /, the whole file system (/etc/shadow, /proc...): refused without -allow-system-root", opt("dir"))
		}
		d.List = *list
		d.Log = stderr // a line when the directory is replaced or goes, or root serves a private file
		cfg.Dir = d
		cfg.FileCacheSize = int64(cacheSize)
		cfg.FileCacheTrust = *cacheTrust
	}

	if *model == "uring" {
		// Where io_uring is not allowed, say so now, with the cause and
		// the remedy: never fall back to another model unasked.
		if err := sock.UringUnavailable(); err != nil {
			return fail(1, "-model uring: %v", err)
		}
	}
	waker, err := sock.NewWaker()
	if err != nil {
		return fail(1, "%v", err)
	}
	defer waker.Close()
	// One listener for the serial model; for the event loops, one per loop,
	// sharing the port with SO_REUSEPORT.
	poller := &sock.Poller{Strategy: strategy, Waker: waker}
	var ls []*sock.Listener
	if *model == "serial" {
		l, err := sock.Listen(a, *backlog, poller)
		if err != nil {
			return fail(1, "listen on %s: %v", a, err)
		}
		ls = append(ls, l)
	} else {
		polls := make([]*sock.Poller, *loops)
		for i := range polls {
			polls[i] = &sock.Poller{Waker: waker}
		}
		ls, err = sock.ListenGroup(a, *backlog, polls)
		if err != nil {
			return fail(1, "listen on %s: %v", a, err)
		}
	}
	for _, l := range ls {
		defer l.Close()
		l.OnBackoff = func(err error, d time.Duration) {
			fmt.Fprintf(stderr, "rawserve: %v; retrying in %v\n", err, d)
		}
	}
	l := ls[0]

	// SIGTERM, SIGINT or SIGHUP stops the server (but for one ignored at
	// start); a second one exits at once (signals.go).
	stop := stopOnSignals(waker, out)

	where, family := l.Addr().String(), ""
	if a.Wildcard {
		where = fmt.Sprintf("[::]:%d", l.Addr().Port)
		family = "all addresses, IPv6 and IPv4; "
		if !l.Addr().Is6 {
			where = fmt.Sprintf("0.0.0.0:%d", l.Addr().Port)
			family = "all addresses, IPv4 only: no IPv6 here; "
		}
	}
	how := fmt.Sprintf("serial, wait=%s", strategy)
	if *model != "serial" {
		how = fmt.Sprintf("%s, %d loop(s)", *model, *loops)
		if *loops > 1 {
			how += " with SO_REUSEPORT"
		}
	}
	fmt.Fprintf(stderr, "rawserve: listening on %s (%s%s)\n", where, family, how)
	if *faultsOn {
		fmt.Fprintf(stderr, "rawserve: -faults: requests under /_faults/ misbehave on purpose (docs/faults.md)\n")
		if cfg.Dir != nil && cfg.Dir.Has("_faults") {
			fmt.Fprintf(stderr, "rawserve: -faults: %s/_faults is not served: /_faults/ is the faults' prefix\n", strings.TrimSuffix(*dir, "/"))
		}
	}
	out.settle() // on stderr before the ready file, and before the first accept4
	if *readyFile != "" {
		// Written only now that listen(2) has succeeded: a client that
		// waits for the file can connect at once.
		if err := stop.writeReadyFile(*readyFile, []byte(where+"\n")); err != nil {
			return fail(1, "%s: %v", opt("ready-file"), err)
		}
		defer sock.Remove(*readyFile)
	}

	switch *model {
	case "serial":
		err = serve.Serial(l, poller, cfg)
	case "epoll":
		err = serve.Epoll(ls, waker, cfg)
	case "uring":
		err = serve.Uring(ls, waker, cfg)
	}
	if err != nil {
		return fail(1, "%v", err)
	}
	if *countSyscalls {
		fmt.Fprintln(stderr, countsLine(sock.CallCounts(), cfg.Answered.Load()))
	}
	out.sayStopped()
	return 0
}

// countsLine says what -count-syscalls counted:
//
//	rawserve: 1234 system calls for 10000 requests, 0.123 per request: io_uring_enter 1100, statx 98, …
func countsLine(counts []sock.CallCount, requests uint64) string {
	var total uint64
	var each []string
	for _, c := range counts {
		total += c.Calls
		each = append(each, fmt.Sprintf("%s %d", c.Name, c.Calls))
	}
	per := "no requests"
	if requests > 0 {
		per = fmt.Sprintf("%.3f per request", float64(total)/float64(requests))
	}
	return fmt.Sprintf("rawserve: %d system calls for %d requests, %s: %s", total, requests, per, strings.Join(each, ", "))
}

// The ranges of the settings that have no natural bound: a thousand loops
// is more threads than any machine here has cores for, and a year-long
// timeout is as good as none (a longer one is surely a slip of the finger).
const (
	maxLoops     = 1024
	maxDuration  = 365 * 24 * time.Hour
	maxCacheSize = 1 << 40
)

// sizeFlag is a number of bytes, given as 32MiB, 512KiB, 1GiB, 4096 (bytes)
// or 0; the units are powers of 1024, and K, M and G mean the same.
type sizeFlag int64

func (s *sizeFlag) String() string {
	v := int64(*s)
	for _, u := range []struct {
		n    int64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if v >= u.n && v%u.n == 0 {
			return strconv.FormatInt(v/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(v, 10)
}

func (s *sizeFlag) Set(v string) error {
	num := strings.TrimRightFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.TrimSpace(v[len(num):])
	mult := map[string]int64{"": 1, "B": 1, "K": 1 << 10, "KiB": 1 << 10, "M": 1 << 20, "MiB": 1 << 20, "G": 1 << 30, "GiB": 1 << 30}[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || mult == 0 || n < 0 || n > maxCacheSize/mult {
		return fmt.Errorf("%q is not a size up to 1TiB (32MiB, 512KiB, 4096, 0)", v)
	}
	*s = sizeFlag(n * mult)
	return nil
}

// envName is the environment variable for a flag: header-timeout is
// RAWSERVE_HEADER_TIMEOUT.
func envName(flag string) string {
	return "RAWSERVE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// version is the module version the go command stamped into the binary: a
// pseudo-version naming the commit (make build asks for VCS stamping), or
// "devel" under go run.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return "devel"
	}
	return bi.Main.Version
}
