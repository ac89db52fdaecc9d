package strace

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the program to trace, chosen by
// STRACE_TEST_PROGRAM: "ready" writes its ready file, then waits for
// SIGTERM, says "bye" and exits 3; "dies" exits 1 at once; "silent" waits
// for SIGTERM without writing a ready file.
func TestMain(m *testing.M) {
	switch os.Getenv("STRACE_TEST_PROGRAM") {
	case "":
		os.Exit(m.Run())
	case "dies":
		fmt.Fprintln(os.Stderr, "cannot start")
		os.Exit(1)
	case "ready", "silent":
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		if os.Getenv("STRACE_TEST_PROGRAM") == "ready" {
			tmp := os.Args[1] + ".tmp"
			os.WriteFile(tmp, []byte("here\n"), 0o644)
			os.Rename(tmp, os.Args[1])
		}
		select {
		case <-term:
		case <-time.After(30 * time.Second):
		}
		os.Stdout.WriteString("bye\n")
		os.Exit(3)
	}
}

func needStrace(t *testing.T) {
	if err := Available(); err != nil {
		t.Skipf("%v (.ci/run installs it)", err)
	}
}

func helper(t *testing.T, mode string, cfg Config) Config {
	cfg.Program = os.Args[0]
	cfg.Env = []string{"STRACE_TEST_PROGRAM=" + mode}
	cfg.ReadyFile = filepath.Join(t.TempDir(), "ready")
	cfg.Args = []string{cfg.ReadyFile}
	if !cfg.Untraced {
		cfg.Output = filepath.Join(t.TempDir(), "trace")
	}
	return cfg
}

// Start waits for the ready file and finds the traced program's PID; Stop
// signals that PID, and strace passes on its exit status; the trace holds
// the program's calls, joined.
func TestStartStop(t *testing.T) {
	needStrace(t)
	cfg := helper(t, "ready", Config{Calls: []string{"write", "renameat", "exit_group"}})
	p, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	if p.Ready() != "here" {
		t.Errorf("Ready() = %q", p.Ready())
	}
	comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.PID()))
	if strings.TrimSpace(string(comm)) == "strace" || p.PID() == p.cmd.Process.Pid {
		t.Errorf("PID() %d is strace's, not the program's", p.PID())
	}
	code, err := p.Stop(10 * time.Second)
	if err != nil || code != 3 {
		t.Fatalf("Stop: %d, %v; want 3", code, err)
	}
	if p.Stdout() != "bye\n" {
		t.Errorf("stdout %q", p.Stdout())
	}
	calls, err := Read(cfg.Output)
	if err != nil {
		t.Fatal(err)
	}
	var said bool
	for _, c := range calls {
		said = said || c.Name == "write" && c.FD() == 1 && c.Args == `1, "bye\n", 4` && c.Ret() == 4
	}
	if !said || calls[len(calls)-1].String() != "exit_group(3) = ?" {
		t.Errorf("the trace lacks the write of bye or ends elsewhere:\n%v", calls)
	}
}

// A program that dies before it is ready: Start says so at once, with its
// stderr, and does not wait out its time.
func TestStartNoticesDeath(t *testing.T) {
	needStrace(t)
	begin := time.Now()
	_, err := Start(helper(t, "dies", Config{}))
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "cannot start") {
		t.Errorf("Start: %v", err)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("took %v to notice", d)
	}
}

// A program that never gets ready: Start gives up after Within and leaves
// nothing running.
func TestStartGivesUp(t *testing.T) {
	needStrace(t)
	cfg := helper(t, "silent", Config{Within: 300 * time.Millisecond})
	_, err := Start(cfg)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("Start: %v", err)
	}
	// Any thread of this process may have forked strace.
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, task := range tasks {
		if out, _ := os.ReadFile(task); strings.TrimSpace(string(out)) != "" {
			t.Errorf("%s: children left running: %s", task, out)
		}
	}
}

// Untraced runs the program itself: its PID is the process started.
func TestUntraced(t *testing.T) {
	p, err := Start(helper(t, "ready", Config{Untraced: true}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	if p.PID() != p.cmd.Process.Pid {
		t.Errorf("PID() %d, started %d", p.PID(), p.cmd.Process.Pid)
	}
	if code, err := p.Stop(10 * time.Second); code != 3 || err != nil {
		t.Errorf("Stop: %d, %v", code, err)
	}
}
