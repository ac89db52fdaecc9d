package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rawserve/rawserve/bench/internal/ref"
)

// A model is one way of running rawserve: its flags, how many serving
// loops they make (each has pools of its own), and whether it keeps the
// file cache (on by default: -file-cache-size, 32 MiB for all the loops).
type model struct {
	name    string
	flags   []string
	loops   int
	noCache bool
}

var models = []model{
	{"serial", nil, 1, false},
	{"epoll", []string{"-model", "epoll"}, 1, false},
	{"epoll -loops 2", []string{"-model", "epoll", "-loops", "2"}, 2, false},
	{"uring", []string{"-model", "uring"}, 1, false},
	{"epoll -file-cache-size 0", []string{"-model", "epoll", "-file-cache-size", "0"}, 1, true},
}

func (m model) serial() bool { return m.name == "serial" }

// A server is one rawserve process. Its stdout (the access log) goes to a
// pipe that the soak reads slowly, or not at all while paused — a careless
// host; its stderr is read promptly and kept.
type server struct {
	cmd   *exec.Cmd
	addr  string
	ready string

	exited   chan struct{} // closed once the process has been waited for
	exitErr  error
	paused   atomic.Bool  // the log's reader is not reading
	logBytes atomic.Int64 // bytes of access log read

	mu     sync.Mutex
	stderr []string // lines the server wrote to stderr, all of them
}

// running lists the servers started and not yet stopped, for an
// interrupted soak to stop them on its way out.
var running sync.Map // *server → struct{}

// start runs rawserve on 127.0.0.1 with a port the kernel picks, serving
// s.dir with listings, and returns once its ready file names the address.
func start(bin string, m model, s *site, logRate int) (*server, error) {
	ready := filepath.Join(s.root, "ready-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	args := append([]string{"-addr", "127.0.0.1:0", "-dir", s.dir, "-list", "-ready-file", ready}, m.flags...)
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	srv := &server{cmd: exec.Command(bin, args...), ready: ready, exited: make(chan struct{})}
	srv.cmd.Stdout, srv.cmd.Stderr = outW, errW
	err = srv.cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		return nil, err
	}
	running.Store(srv, struct{}{})
	go func() { srv.exitErr = srv.cmd.Wait(); close(srv.exited) }()
	go srv.readLog(outR, logRate)
	go srv.readStderr(errR)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(ready); err == nil && len(b) > 0 {
			srv.addr = strings.TrimSpace(string(b))
			ref.MustLoopback("soak", srv.addr)
			return srv, nil
		}
		if !srv.alive() {
			break
		}
	}
	srv.stop(time.Second)
	return nil, fmt.Errorf("rawserve %s did not write its ready file within 10 s: %s", strings.Join(args, " "), srv.stderrTail())
}

// readLog reads the access log at most rate bytes a second, in 4 KiB
// reads, and not at all while paused: the pipe fills, as it does when a
// host starts a server with stdout=PIPE and forgets to read it.
func (srv *server) readLog(r *os.File, rate int) {
	defer r.Close()
	buf := make([]byte, 4<<10)
	pause := time.Duration(float64(len(buf)) / float64(rate) * float64(time.Second))
	for {
		for srv.paused.Load() {
			time.Sleep(20 * time.Millisecond)
		}
		n, err := r.Read(buf)
		srv.logBytes.Add(int64(n))
		if err != nil {
			return
		}
		time.Sleep(pause)
	}
}

func (srv *server) readStderr(r *os.File) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		srv.mu.Lock()
		srv.stderr = append(srv.stderr, sc.Text())
		srv.mu.Unlock()
	}
}

// stderrLines returns how many lines the server has written to stderr.
func (srv *server) stderrLines() int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return len(srv.stderr)
}

// stderrSince returns the lines from the n-th on.
func (srv *server) stderrSince(n int) []string {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return append([]string(nil), srv.stderr[min(n, len(srv.stderr)):]...)
}

func (srv *server) stderrTail() string {
	lines := srv.stderrSince(max(srv.stderrLines()-3, 0))
	return strings.Join(lines, " / ")
}

func (srv *server) alive() bool {
	select {
	case <-srv.exited:
		return false
	default:
		return true
	}
}

// exitText says how the process ended.
func (srv *server) exitText() string {
	var ee *exec.ExitError
	if errors.As(srv.exitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by " + ws.Signal().String()
		}
		return fmt.Sprintf("exit %d", ee.ExitCode())
	}
	if srv.exitErr != nil {
		return srv.exitErr.Error()
	}
	return "exit 0"
}

// stop sends SIGTERM and waits up to bound for the process to exit; then
// SIGKILL. It returns how long the exit took after SIGTERM and whether it
// came within bound.
func (srv *server) stop(bound time.Duration) (time.Duration, bool) {
	defer running.Delete(srv)
	t0 := time.Now()
	if !srv.alive() {
		return 0, false
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-srv.exited:
		return time.Since(t0), true
	case <-time.After(bound):
	}
	srv.cmd.Process.Kill()
	<-srv.exited
	return time.Since(t0), false
}

// stopAll stops every server still running: the soak was interrupted.
func stopAll() {
	running.Range(func(k, _ any) bool {
		k.(*server).stop(2 * time.Second)
		return true
	})
}

// fds counts the process's open descriptors by kind: "socket", "pipe",
// "file", or the anon_inode they are ("anon_inode:[eventpoll]"). It
// returns nil if /proc could not be read.
func (srv *server) fds() fdCount {
	dir := fmt.Sprintf("/proc/%d/fd", srv.cmd.Process.Pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	c := fdCount{}
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		switch {
		case err != nil:
			continue // closed since the listing
		case strings.HasPrefix(target, "socket:"):
			c["socket"]++
		case strings.HasPrefix(target, "pipe:"):
			c["pipe"]++
		case strings.HasPrefix(target, "anon_inode:"):
			c[target]++
		default:
			c["file"]++
		}
	}
	return c
}

type fdCount map[string]int

func (c fdCount) total() int {
	n := 0
	for _, k := range c {
		n += k
	}
	return n
}

// The Go runtime's own poller: an epoll instance and an eventfd that the
// runtime opens once, the first time its memory scavenger sleeps on a
// timer (netpollGenericInit), and keeps. They come with the first load
// that grows the heap, whatever the load is, and are no leak.
var runtimePoller = fdCount{"anon_inode:[eventpoll]": 1, "anon_inode:[eventfd]": 1}

// backTo reports whether c has no more descriptors of any kind than base,
// or exactly the runtime's poller more (poller: true).
func (c fdCount) backTo(base fdCount) (ok, poller bool) {
	if c == nil {
		return false, false
	}
	extra := fdCount{}
	for k, n := range c {
		if n > base[k] {
			extra[k] = n - base[k]
		}
	}
	if len(extra) == 0 {
		return true, false
	}
	if len(extra) == len(runtimePoller) && extra["anon_inode:[eventpoll]"] == 1 && extra["anon_inode:[eventfd]"] == 1 {
		return true, true
	}
	return false, false
}

// rss returns the process's resident memory (VmRSS) in bytes.
func (srv *server) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", srv.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 10, 64)
			return kb << 10
		}
	}
	return -1
}

// waitFor polls cond every 100 ms until it holds or bound has passed, and
// returns whether it held and how long that took.
func waitFor(bound time.Duration, cond func() bool) (bool, time.Duration) {
	t0 := time.Now()
	for {
		if cond() {
			return true, time.Since(t0)
		}
		if time.Since(t0) >= bound {
			return false, time.Since(t0)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
