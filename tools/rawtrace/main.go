// Command rawtrace runs rawserve under strace and shows what it asks of the
// kernel: the classroom demo (make demo), the cost of waiting (make models),
// the calls per request (make syscalls), the scenarios behind the traces
// in docs/walkthrough.md and docs/models.md, and the seed post's loop beside
// rawserve's (make compare).
//
//	go run ./tools/rawtrace [-bin PATH] demo
//	go run ./tools/rawtrace [-bin PATH] models
//	go run ./tools/rawtrace [-bin PATH] syscalls [-n N] [-o FILE]
//	go run ./tools/rawtrace [-bin PATH] walkthrough [NAME]
//	go run ./tools/rawtrace [-bin PATH] compare [-seedpost PATH]
//
// It starts rawserve (the binary -bin names, else a build of ./cmd/rawserve)
// with internal/strace, on 127.0.0.1 and a port the kernel picks, drives it
// with clients of its own over loopback, stops it by PID with SIGTERM, and
// prints the server's calls. It needs strace (apt-get install strace).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rawserve/rawserve/internal/strace"
)

const usage = `usage: rawtrace [-bin PATH] COMMAND
commands:
  demo                  rawserve under strace, three requests, its calls annotated (make demo)
  models                -wait poll, -wait spin and -model epoll on one workload, under strace -c (make models)
  syscalls [-n N] [-o FILE]
                        the calls per request, as Markdown: docs/syscalls.md (make syscalls)
  walkthrough [NAME]    reproduce one trace of docs/walkthrough.md or docs/models.md; no NAME lists them
  compare [-seedpost PATH]
                        the seed post's loop on Go's net beside rawserve's serial model, step by step (make compare)
`

func main() {
	bin := flag.String("bin", "", "the rawserve binary to run (default: build ./cmd/rawserve)")
	flag.Usage = func() { fmt.Fprint(os.Stderr, usage); flag.PrintDefaults() }
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if args[0] == xsysCommand { // the program the accept4-xsys scenario traces
		xsysAccept(args[1:])
		return
	}
	commands := map[string]func(*tool, []string){
		"demo": demo, "models": models, "syscalls": syscalls, "walkthrough": walkthrough,
		"compare": compare,
	}
	run, ok := commands[args[0]]
	if !ok {
		flag.Usage()
		os.Exit(2)
	}
	if args[0] == "walkthrough" {
		if len(args) == 1 {
			listScenarios(os.Stdout)
			return
		}
		if _, ok := scenarioNamed(args[1]); !ok || len(args) > 2 {
			listScenarios(os.Stderr)
			os.Exit(2)
		}
	}
	if err := strace.Available(); err != nil {
		fmt.Fprintf(os.Stderr, "rawtrace: %v (apt-get install strace)\n", err)
		os.Exit(1)
	}
	tl := newTool(os.Stdout)
	defer tl.cleanup()
	tl.bin = *bin
	if tl.bin == "" {
		tl.bin = tl.path("rawserve")
		out, err := exec.Command("go", "build", "-o", tl.bin, "github.com/rawserve/rawserve/cmd/rawserve").CombinedOutput()
		if err != nil {
			tl.die("building rawserve: %v\n%s", err, out)
		}
	}
	run(tl, args[1:])
}

// tool is one run of rawtrace: where it keeps its files, and every process
// it started, so that none outlives it.
type tool struct {
	bin  string // rawserve
	work string // a temporary directory, removed at the end
	out  io.Writer

	mu      sync.Mutex
	running []*strace.Process
}

func newTool(out io.Writer) *tool {
	work, err := os.MkdirTemp("", "rawtrace")
	if err != nil {
		fmt.Fprintln(os.Stderr, "rawtrace:", err)
		os.Exit(1)
	}
	tl := &tool{work: work, out: out}
	// Ctrl-C stops the servers too.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() { tl.die("%v", <-sigs) }()
	// A closed stdout (rawtrace … | head) makes writes fail instead of
	// killing the run before it has cleaned up. (Notify, not Ignore: an
	// ignored SIGPIPE would be rawserve's too, and the rst scenario shows it.)
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	return tl
}

// die stops every process this run started, removes its files, and exits 1.
func (tl *tool) die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "rawtrace: "+format+"\n", args...)
	tl.cleanup()
	os.Exit(1)
}

func (tl *tool) cleanup() {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, p := range tl.running {
		p.Kill()
	}
	tl.running = nil
	os.RemoveAll(tl.work)
}

// path names a file in the work directory.
func (tl *tool) path(name string) string { return filepath.Join(tl.work, name) }

func (tl *tool) printf(format string, args ...any) { fmt.Fprintf(tl.out, format, args...) }

// heading prints a section's title, as "## title" after a blank line.
func (tl *tool) heading(format string, args ...any) {
	tl.printf("\n## "+format+"\n", args...)
}

// server is rawserve, started by trace.
type server struct {
	*strace.Process
	tl    *tool
	trace string // the file strace writes
	addr  string // what the ready file said: 127.0.0.1:PORT, [::]:PORT
	port  int
}

// how is what strace is asked for: the calls to trace (none: all), and
// strace -c's counts instead of lines.
type how struct {
	calls []string
	count bool
}

// trace starts rawserve with flags (and -addr 127.0.0.1:0 unless they
// give one) under strace, and returns it listening. Each run has a trace
// file of its own, named after the scenario.
func (tl *tool) trace(name string, h how, flags ...string) *server {
	return tl.startServer(name, h, false, flags)
}

// untraced starts rawserve without strace, to see what it does without
// strace's cost.
func (tl *tool) untraced(name string, flags ...string) *server {
	return tl.startServer(name, how{}, true, flags)
}

func (tl *tool) startServer(name string, h how, untraced bool, flags []string) *server {
	ready := tl.path(name + ".ready")
	args := []string{"-ready-file", ready}
	if !contains(flags, "-addr") {
		args = append(args, "-addr", "127.0.0.1:0")
	}
	s := &server{tl: tl, trace: tl.path(name + ".strace")}
	s.Process = tl.start(name, strace.Config{
		Program: tl.bin, Args: append(args, flags...),
		Output: s.trace, Calls: h.calls, Count: h.count, Untraced: untraced,
		ReadyFile: ready,
	})
	s.addr = s.Ready()
	port := s.addr[strings.LastIndexByte(s.addr, ':')+1:]
	var err error
	if s.port, err = strconv.Atoi(port); err != nil {
		tl.die("%s: the ready file says %q", name, s.addr)
	}
	return s
}

// start starts a program with internal/strace and keeps it, to be killed
// if the run ends before it does.
func (tl *tool) start(name string, cfg strace.Config) *strace.Process {
	os.Remove(cfg.ReadyFile)
	p, err := strace.Start(cfg)
	if err != nil {
		tl.die("%s: %v", name, err)
	}
	tl.mu.Lock()
	tl.running = append(tl.running, p)
	tl.mu.Unlock()
	return p
}

// stop sends rawserve SIGTERM, by its PID, and waits (at most 10 s) for it
// and strace to finish.
func (s *server) stop() {
	if _, err := s.Stop(10 * time.Second); err != nil {
		s.tl.die("%v", err)
	}
}

// calls is what strace saw, split calls joined.
func (s *server) calls() []strace.Call {
	calls, err := strace.Read(s.trace)
	if err != nil {
		s.tl.die("%v", err)
	}
	return calls
}

// counts is strace -c's table.
func (s *server) counts() map[string]strace.Count {
	n, err := strace.ReadCounts(s.trace)
	if err != nil {
		s.tl.die("%v", err)
	}
	return n
}

// loopback is the server's address for a client on 127.0.0.1, whatever
// address it listens on.
func (s *server) loopback() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cpuTicks is the CPU time process pid has used, user and system, in clock
// ticks, from /proc/PID/stat (fields 14 and 15). A tick is 1/100 s: /proc
// counts in USER_HZ, which Linux fixes at 100 on the architectures Go runs on.
func cpuTicks(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count after it.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.Atoi(f[11])
	stime, err2 := strconv.Atoi(f[12])
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %q %q", pid, f[11], f[12])
	}
	return utime + stime, nil
}
