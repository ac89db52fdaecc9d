//go:build !race

// (The race detector's shadow memory makes RSS say nothing about the server.)

package serve_test

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rss is the process's resident set, in KiB: the server runs in it.
func rss(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// A spike of connections, each in the middle of a 16 KB head, makes the
// epoll loop borrow an input buffer for each; when they are gone, the
// loop's pools keep only their working set and the memory goes back to the
// kernel: RSS returns to within twice its idle figure within 10 s.
func TestMemoryAfterSpike(t *testing.T) { forEachLoop(t, testMemoryAfterSpike) }

func testMemoryAfterSpike(t *testing.T, m model) {
	ts := m.start(t, settings{HeaderTimeout: time.Minute})
	needFDs(t, 2*2000+100)
	warm := ts.dial(t) // the loop's working set, once
	warm.Write([]byte(get("/healthz")))
	warm.readResp(t, "GET")
	time.Sleep(200 * time.Millisecond)
	idle := rss(t)
	head := "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("a", 16<<10-40) // no end: the head goes on
	var conns []net.Conn
	for range 2000 {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		c.Write([]byte(head))
	}
	time.Sleep(500 * time.Millisecond) // read, and held in their buffers
	peak := rss(t)
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	var now int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if now = rss(t); now <= 2*idle {
			break
		}
	}
	t.Logf("RSS: idle %d KiB, 2000 connections in mid-head %d KiB, after they left %d KiB", idle, peak, now)
	if peak < idle+20000 {
		t.Fatalf("the spike did not show (%d → %d KiB): the test proves nothing", idle, peak)
	}
	if now > 2*idle {
		t.Errorf("RSS %d KiB 10 s after the spike, idle %d KiB: want at most twice idle", now, idle)
	}
}
