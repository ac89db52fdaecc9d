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
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/rawserve/rawserve/internal/httpconn"
	"github.com/rawserve/rawserve/internal/outq"
	"github.com/rawserve/rawserve/internal/page"
	"github.com/rawserve/rawserve/internal/serve"
	"github.com/rawserve/rawserve/internal/sock"
	"github.com/rawserve/rawserve/internal/static"
)

// Output goes to fd 1 and 2 in raw write(2) calls (outq.FD), never through
// os.Stdout and os.Stderr: package os turns EPIPE on those into SIGPIPE,
// which kills the process when the reader of its output goes away.
func main() {
	if len(os.Args) > 1 && os.Args[1] == "probe" {
		os.Exit(runProbe(os.Args[2:], outq.Stdout, outq.Stderr))
	}
	os.Exit(run(os.Args[1:], outq.Stdout, outq.Stderr))
}

const usage = `Usage: rawserve [flags]

rawserve is an HTTP/1.1 server built on raw Linux system calls. By default
(-model serial) it serves one connection at a time: while one client is
served, the others wait in the kernel's accept queue. -model epoll serves
many at once from one thread per event loop (-loops). With no -dir it serves
a page that explains the system calls it made to answer you. GET /healthz
answers 200 "ok".

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
	fileCache := fs.Duration("file-cache", 0, "with -dir: keep files up to 64 KiB in memory, and check each on disk again once its copy is this old (0: off; a changed file is served stale until then)")
	model := fs.String("model", "serial", "serving model: serial (one connection at a time) or epoll (many, from event loops; pick it for concurrent clients)")
	loops := fs.Int("loops", 1, "with -model epoll: event loops, one thread and SO_REUSEPORT listener each; 0 means one per CPU")
	maxConns := fs.Int("max-conns", 0, "with -model epoll: most connections open at once, split evenly over the loops; beyond it clients wait in the accept queue (0: no limit but the descriptor limit)")
	grace := fs.Duration("grace", serve.DefaultGrace, "with -model epoll: after SIGTERM, how long responses in flight may take to finish")
	yieldAfter := fs.Duration("yield-after", serve.DefaultYieldAfter, "with -model serial: while other clients wait, the connection being served gives way once it has been silent this long (its responses say Connection: close); 0 never gives way")
	wait := fs.String("wait", "poll", "with -model serial, what to do on EAGAIN: poll (sleep in ppoll until ready) or spin (retry at once, burning a core; for demonstrations)")
	backlog := fs.Int("backlog", 0, "accept queue length passed to listen(2); 0 means the kernel's maximum, net.core.somaxconn")
	headerTimeout := fs.Duration("header-timeout", httpconn.DefaultHeaderTimeout, "longest time a request head may take to arrive")
	idleTimeout := fs.Duration("idle-timeout", 0, fmt.Sprintf("longest wait for the next request on a kept-alive connection (default %v serial, %v epoll)", serve.DefaultIdleTimeout, serve.DefaultEpollIdleTimeout))
	writeTimeout := fs.Duration("write-timeout", httpconn.DefaultWriteTimeout, "longest time to write one response")
	quiet := fs.Bool("quiet", false, "no access log")
	logHealthz := fs.Bool("log-healthz", false, "log requests for /healthz too (probes are left out of the access log by default)")
	readyFile := fs.String("ready-file", "", "once listening, write the address to `file` (atomically); it is removed at exit")
	trace := fs.Bool("trace", false, "print every system call the server makes, as strace does, on stderr")
	traceFile := fs.String("trace-file", "", "with -trace: write the system calls to `file` instead of stderr")
	traceTime := fs.Bool("trace-time", false, "with -trace: append each call's duration, as strace -T does")
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
		if *model == "epoll" {
			*idleTimeout = serve.DefaultEpollIdleTimeout
		}
	}
	for name, d := range map[string]time.Duration{"header-timeout": *headerTimeout, "idle-timeout": *idleTimeout, "write-timeout": *writeTimeout, "grace": *grace} {
		if d <= 0 {
			return fail(2, "%s must be positive, not %v", opt(name), d)
		}
	}
	switch *model {
	case "serial":
		for _, name := range []string{"loops", "max-conns", "grace"} {
			if set[name] {
				return fail(2, "-%s applies to -model epoll only", name)
			}
		}
	case "epoll":
		if strategy != sock.Poll {
			return fail(2, "-wait applies to -model serial only: an event loop waits in epoll_wait")
		}
		if set["yield-after"] {
			return fail(2, "-yield-after applies to -model serial only: an event loop never makes one client wait for another")
		}
	default:
		return fail(2, "%s: unknown model %q (want serial or epoll)", opt("model"), *model)
	}
	if *loops < 0 {
		return fail(2, "%s must be 0 (one per CPU) or positive, not %d", opt("loops"), *loops)
	}
	if *loops == 0 {
		*loops = runtime.NumCPU()
	}
	if *yieldAfter < 0 {
		return fail(2, "%s must be 0 (never give way) or positive, not %v", opt("yield-after"), *yieldAfter)
	}
	if *yieldAfter == 0 {
		*yieldAfter = -1 // serve.Config's "never"
	}
	if *maxConns < 0 {
		return fail(2, "%s must be 0 (no limit) or positive, not %d", opt("max-conns"), *maxConns)
	}
	if *list && *dir == "" {
		return fail(2, "-list needs -dir: there is no directory to list")
	}
	if *fileCache < 0 {
		return fail(2, "%s must be 0 (off) or positive, not %v", opt("file-cache"), *fileCache)
	}
	if *fileCache > 0 && *dir == "" {
		return fail(2, "-file-cache needs -dir: there are no files to cache")
	}
	if *backlog < 0 {
		return fail(2, "%s must be 0 (the kernel's maximum) or positive, not %d", opt("backlog"), *backlog)
	}
	if (*traceFile != "" || *traceTime) && !*trace {
		return fail(2, "-trace-file and -trace-time need -trace")
	}
	// The narration goes to -trace's output and, when the demo page is
	// served (no -dir), into the story of the connection being served,
	// which the page shows its visitor.
	var story *page.Story
	var narrate []io.Writer
	if *dir == "" && *model == "serial" {
		story = new(page.Story)
		narrate = append(narrate, story)
	}
	if *trace {
		var w io.Writer = stderr
		if *traceFile != "" {
			f, err := out.traceTo(*traceFile)
			if err != nil {
				return fail(1, "%s: %v", opt("trace-file"), err)
			}
			w = f
		}
		narrate = append(narrate, w)
	}
	if len(narrate) > 0 {
		sock.SetTrace(io.MultiWriter(narrate...), *traceTime) // before the first call to narrate
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
		},
		Grace:      *grace,
		MaxConns:   *maxConns,
		YieldAfter: *yieldAfter,
	}
	if !*quiet {
		cfg.AccessLog = stdout
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
		d.List = *list
		cfg.Dir = d
		cfg.FileCache = *fileCache
	}

	waker, err := sock.NewWaker()
	if err != nil {
		return fail(1, "%v", err)
	}
	defer waker.Close()
	// One listener for the serial model; for epoll, one per loop, sharing
	// the port with SO_REUSEPORT.
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

	// SIGINT, SIGTERM or SIGHUP stops the server; a second one exits at
	// once (signals.go).
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
	if *model == "epoll" {
		how = fmt.Sprintf("epoll, %d loop(s)", *loops)
		if *loops > 1 {
			how += " with SO_REUSEPORT"
		}
	}
	fmt.Fprintf(stderr, "rawserve: listening on %s (%s%s)\n", where, family, how)
	out.settle() // on stderr before the ready file, and before the first accept4
	if *readyFile != "" {
		// Written only now that listen(2) has succeeded: a client that
		// waits for the file can connect at once.
		if err := stop.writeReadyFile(*readyFile, []byte(where+"\n")); err != nil {
			return fail(1, "%s: %v", opt("ready-file"), err)
		}
		defer sock.Remove(*readyFile)
	}

	if *model == "serial" {
		err = serve.Serial(l, poller, cfg)
	} else {
		err = serve.Epoll(ls, waker, cfg)
	}
	if err != nil {
		return fail(1, "%v", err)
	}
	out.sayStopped()
	return 0
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
