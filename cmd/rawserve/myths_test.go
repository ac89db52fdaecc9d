package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/strace"
)

// The post says Go's accept "is blocking": the net package "continues to
// poll the file descriptor" and "simply retries till it receives data". What
// a net/http server (testdata/hello) really does, under strace: after
// accept4 says EAGAIN, the goroutine parks and a runtime thread sleeps in
// epoll_pwait with no timeout (-1) until the kernel reports the listener
// readable; then accept4 once more. A handful of accept4 calls, not a spin.
// And on a kernel with MPTCP enabled, recent Go's net.Listen opens the
// listener as IPPROTO_MPTCP, not IPPROTO_TCP.
func TestGoNetParksInEpoll(t *testing.T) {
	needStrace(t)
	hello := filepath.Join(t.TempDir(), "hello")
	if out, err := exec.Command("go", "build", "-o", hello, "./testdata/hello").CombinedOutput(); err != nil {
		t.Fatalf("building testdata/hello: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	trace := filepath.Join(t.TempDir(), "strace.out")
	p, err := strace.Start(strace.Config{Program: hello, Args: []string{addr}, Output: trace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	served := 0
	for deadline := time.Now().Add(10 * time.Second); served < 3 && time.Now().Before(deadline); {
		if resp, err := client.Get("http://" + addr + "/"); err == nil {
			resp.Body.Close()
			served++
			time.Sleep(100 * time.Millisecond) // idle between clients: the server must wait
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if served < 3 {
		t.Fatalf("net/http hello answered %d requests", served)
	}
	p.Signal(syscall.SIGKILL)
	p.Wait(10 * time.Second)
	calls, err := strace.Read(trace)
	if err != nil {
		t.Fatal(err)
	}
	lfd := -1
	var accepts, eagains, parked int
	for _, c := range calls {
		if c.Name == "accept4" {
			if lfd < 0 {
				lfd = c.FD()
			}
			if c.FD() == lfd {
				accepts++
				if c.Errno() == "EAGAIN" {
					eagains++
				}
			}
		}
		if c.Name == "epoll_pwait" && strings.Contains(c.Args, ", -1, ") && eagains > 0 {
			parked++
		}
	}
	t.Logf("%d requests: %d accept4 calls, %d said EAGAIN, %d epoll_pwait with no timeout", served, accepts, eagains, parked)
	if eagains == 0 || parked == 0 {
		t.Errorf("want accept4 = EAGAIN followed by a sleep in epoll_pwait(..., -1)")
	}
	if accepts > 3*served+3 {
		t.Errorf("%d accept4 calls for %d connections: that would be retrying, not waiting", accepts, served)
	}

	t.Run("MPTCP", func(t *testing.T) {
		b, err := os.ReadFile("/proc/sys/net/mptcp/enabled")
		if err != nil || strings.TrimSpace(string(b)) != "1" {
			t.Skip("this kernel has MPTCP off or absent: Go falls back to IPPROTO_TCP")
		}
		// The listener is the last socket() to return its fd before the
		// first accept4: Go probes with sockets of its own first, and fd
		// numbers are reused once those are closed.
		var listener *strace.Call
		for i := range calls {
			c := &calls[i]
			if c.Name == "accept4" {
				break
			}
			if c.Name == "socket" && c.Ret() == lfd {
				listener = c
			}
		}
		if listener == nil {
			t.Fatalf("no socket() call returned the listener's fd %d", lfd)
		}
		if !strings.Contains(listener.Args, "IPPROTO_MPTCP") {
			t.Errorf("the listener: %s; want IPPROTO_MPTCP", listener.Line())
		}
	})
}
