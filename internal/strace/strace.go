// Package strace runs a program under strace and reads what it did.
//
// Start runs the program under `strace -f -o FILE`, waits until it has
// written its ready file (rawserve's -ready-file) or has died, and finds its
// PID: strace's child. Stop sends that PID SIGTERM and waits for strace to
// finish writing. Read parses the file, joining the calls strace split in
// two; Own keeps the calls a program made on descriptors of its own making;
// ReadCounts parses the summary `strace -c` writes instead.
//
// Every wait is bounded, and every process is signalled by its PID. The
// package has no clients of its own: its callers (the tests of cmd/rawserve,
// tools/rawtrace) bring them.
package strace

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Available returns nil when strace is installed and may trace here, or
// what stops it.
func Available() error {
	if _, err := exec.LookPath("strace"); err != nil {
		return errors.New("strace is not installed")
	}
	if out, err := exec.Command("strace", "-o", "/dev/null", "true").CombinedOutput(); err != nil {
		return fmt.Errorf("strace cannot trace here (is ptrace permitted?): %v %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// Config says what to run and how to trace it.
type Config struct {
	Program string   // the program: bin/rawserve, a test's build of it
	Args    []string // its arguments
	Env     []string // added to the environment

	Output string   // the file strace writes (-o FILE)
	Calls  []string // the calls to trace (-e trace=a,b); none: every call
	Count  bool     // strace -c: a table of counts per call instead of one line per call

	// Untraced runs the program without strace, to see what it does
	// without strace's cost (Output, Calls and Count are then unused).
	Untraced bool

	// ReadyFile, when set, is a file the program writes once it is ready
	// (rawserve's -ready-file: the address it listens on); Start waits
	// for it, at most Within (default 10 s).
	ReadyFile string
	Within    time.Duration
}

// Process is a program started by Start.
type Process struct {
	cmd            *exec.Cmd // strace, or the program when untraced
	traced         bool
	pid            int // the program's own PID, once known
	ready          string
	stdout, stderr lockedBuffer
	exited         chan struct{}
	err            error // cmd.Wait's result, once exited is closed
}

// Start starts the program, under strace unless cfg.Untraced, and returns
// once it is ready: its ready file is written (when cfg.ReadyFile is set)
// and its PID is known. If the program dies or takes too long first, Start
// kills what it started and says why, with the program's stderr.
func Start(cfg Config) (*Process, error) {
	within := cfg.Within
	if within == 0 {
		within = 10 * time.Second
	}
	argv := append([]string{cfg.Program}, cfg.Args...)
	if !cfg.Untraced {
		if cfg.Output == "" {
			return nil, errors.New("strace: Config.Output is empty")
		}
		// -qq: no "attached" or "exited with" lines, only calls and signals.
		opts := []string{"strace", "-f", "-qq", "-o", cfg.Output}
		if cfg.Count {
			opts = append(opts, "-c")
		}
		if len(cfg.Calls) > 0 {
			opts = append(opts, "-e", "trace="+strings.Join(cfg.Calls, ","))
		}
		argv = append(opts, argv...)
	}
	p := &Process{traced: !cfg.Untraced, exited: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(os.Environ(), cfg.Env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	if !p.traced {
		p.pid = p.cmd.Process.Pid
	}
	deadline := time.Now().Add(within)

	if cfg.ReadyFile != "" {
		for p.ready == "" {
			if b, err := os.ReadFile(cfg.ReadyFile); err == nil {
				p.ready = strings.TrimSpace(string(b))
			}
			if p.ready != "" {
				break
			}
			if err := p.pause(deadline); err != nil {
				return nil, fmt.Errorf("%s: %v before writing %s\n%s", cfg.Program, err, cfg.ReadyFile, p.Stderr())
			}
		}
	}
	if p.traced {
		pid, err := Child(p.cmd.Process.Pid, time.Until(deadline))
		if err != nil {
			p.Kill()
			return nil, err
		}
		p.pid = pid
	}
	return p, nil
}

// pause sleeps a moment, and says whether the program died or time ran out.
func (p *Process) pause(deadline time.Time) error {
	select {
	case <-p.exited:
		return fmt.Errorf("exited (%v)", p.err)
	case <-time.After(10 * time.Millisecond):
	}
	if time.Now().After(deadline) {
		p.Kill()
		return errors.New("timed out")
	}
	return nil
}

// Child returns the PID of the first child of process pid — the program a
// wrapper such as strace or unshare started — waiting for it at most within.
func Child(pid int, within time.Duration) (int, error) {
	deadline := time.Now().Add(within)
	for {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		var child int
		if _, err := fmt.Sscan(string(b), &child); err == nil {
			return child, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no child of process %d within %v", pid, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// PID is the program's own PID (not strace's).
func (p *Process) PID() int { return p.pid }

// Ready is what the program wrote to its ready file, trimmed: for rawserve,
// the address it listens on.
func (p *Process) Ready() string { return p.ready }

// Stdout and Stderr are what the program has written so far.
func (p *Process) Stdout() string { return p.stdout.String() }
func (p *Process) Stderr() string { return p.stderr.String() }

// Exited is closed once the program and strace have exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Signal sends sig to the program, by its PID, unless it has exited.
func (p *Process) Signal(sig syscall.Signal) error {
	select {
	case <-p.exited:
		return errors.New("the program has exited")
	default:
	}
	return syscall.Kill(p.pid, sig)
}

// Stop sends the program SIGTERM and waits, at most within, for it and
// strace to exit; past that it kills both. It returns the program's exit
// status as strace passes it on: its exit code, or -1 if a signal ended it.
func (p *Process) Stop(within time.Duration) (int, error) {
	p.Signal(syscall.SIGTERM)
	return p.Wait(within)
}

// Wait waits, at most within, for the program and strace to exit, and
// returns the status as Stop does; past that it kills both.
func (p *Process) Wait(within time.Duration) (int, error) {
	select {
	case <-p.exited:
	case <-time.After(within):
		p.Kill()
		return -1, fmt.Errorf("%s still running %v later: killed\n%s", p.cmd.Path, within, p.Stderr())
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode(), nil
	}
	if p.err != nil {
		return -1, p.err
	}
	return 0, nil
}

// Kill ends the program and strace with SIGKILL, by PID, and waits for
// them (at most 5 s). It is safe to call at any time, more than once: a
// test's cleanup calls it whatever happened before.
func (p *Process) Kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	if p.traced && p.pid == 0 {
		p.pid, _ = Child(p.cmd.Process.Pid, 0)
	}
	if p.pid != 0 {
		syscall.Kill(p.pid, syscall.SIGKILL)
	}
	// strace exits once its tracee has; if it does not, it is killed too.
	select {
	case <-p.exited:
		return
	case <-time.After(2 * time.Second):
	}
	p.cmd.Process.Kill()
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
	}
}

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(b)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
