package serve_test

// The epoll model's own behaviour with many connections at once: what one
// thread serving them all must get right that the serial model never faces.

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// openKeptAlive opens n connections, eight at a time, and has one GET
// /healthz answered on each, so they are kept alive; they are closed when
// the test ends.
func openKeptAlive(t *testing.T, addr string, n int) []*client {
	t.Helper()
	conns := make([]*client, n)
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	const workers = 8
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			for i := w; i < n; i += workers {
				c, err := dialClient(addr)
				if err == nil {
					conns[i] = c
					err = c.expect(get("/healthz"), 200, "ok\n")
				}
				if err != nil {
					errs <- fmt.Errorf("conn %d: %w", i, err)
					return
				}
			}
			errs <- nil
		}()
	}
	gather(t, "opening kept-alive connections", errs, workers)
	return conns
}

// allAtOnce connects n clients to addr, each from a goroutine of its own,
// and once all are connected has use(i, c) run on each: a test of many
// connections at once. Errors are reported as gather does.
func allAtOnce(t *testing.T, what, addr string, n int, use func(i int, c *client) error) {
	t.Helper()
	var dialed sync.WaitGroup
	dialed.Add(n)
	connected := make(chan struct{})
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			c, err := dialClient(addr)
			dialed.Done()
			if err == nil {
				defer c.Close()
				<-connected
				err = use(i, c)
			}
			if err != nil {
				err = fmt.Errorf("conn %d: %w", i, err)
			}
			errs <- err
		}()
	}
	dialed.Wait()
	close(connected)
	gather(t, what, errs, n)
}

// gather waits for n goroutines' errors and reports the first few.
func gather(t *testing.T, what string, errs <-chan error, n int) {
	t.Helper()
	failed := 0
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			if failed++; failed <= 5 {
				t.Errorf("%s: %v", what, err)
			}
		}
	}
	if failed > 5 {
		t.Errorf("%s: %d failed in all", what, failed)
	}
}

// 1,000 clients connected at once, each making three requests on its
// kept-alive connection — files whose contents name them, and /healthz —
// all answered right.
func TestEpollThousandConns(t *testing.T) { forEachLoop(t, testEpollThousandConns) }

func testEpollThousandConns(t *testing.T, m model) {
	const n = 1000
	needFDs(t, 2*n+100)
	root, files := fileTree(t, 64)
	ts := m.start(t, settings{Dir: openDir(t, root), HeaderTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second})

	// Every request finds 999 other connections open.
	allAtOnce(t, "keep-alive client", ts.addr, n, func(i int, c *client) error {
		a, b := fmt.Sprintf("/f%03d", i%64), fmt.Sprintf("/f%03d", (i*7+3)%64)
		for j, tc := range []struct{ path, body string }{
			{a + "?conn=" + strconv.Itoa(i), files[a]},
			{"/healthz?conn=" + strconv.Itoa(i), "ok\n"},
			{b, files[b]},
		} {
			resp, body, err := c.fetch(get(tc.path), "GET")
			switch {
			case err != nil:
				return fmt.Errorf("request %d (%s): %w", j, tc.path, err)
			case resp.StatusCode != 200 || body != tc.body || resp.Close:
				return fmt.Errorf("request %d (%s): %d %q close=%v, want 200 %q", j, tc.path, resp.StatusCode, body, resp.Close, tc.body)
			}
		}
		return nil
	})
}

// 5,000 idle kept-alive connections cost the loop nothing it must wait
// for: a new client is answered at once, and the idle ones are still
// there afterwards.
func TestEpollIdleConnsDoNotBlock(t *testing.T) { forEachLoop(t, testEpollIdleConnsDoNotBlock) }

func testEpollIdleConnsDoNotBlock(t *testing.T, m model) {
	const n = 5000
	needFDs(t, 2*n+100)
	ts := m.start(t, settings{HeaderTimeout: 10 * time.Second})

	conns := openKeptAlive(t, ts.addr, n)
	if t.Failed() {
		return
	}

	// New clients, one after another, while 5,000 others idle.
	const prompt = 2 * time.Second // loosely: it takes milliseconds; waiting on an idle connection would take a minute
	var worst time.Duration
	for k := 0; k < 5; k++ {
		t0 := time.Now()
		c := ts.dial(t)
		for r := 0; r < 10; r++ {
			if err := c.expect(get("/healthz"), 200, "ok\n"); err != nil {
				t.Fatalf("new client %d: %v", k, err)
			}
		}
		c.Close()
		worst = max(worst, time.Since(t0))
	}
	t.Logf("with %d idle connections, a new client's connect and 10 requests took at most %v", n, worst)
	if worst > prompt {
		t.Errorf("a new client took %v to be served with %d idle connections; want under %v", worst, n, prompt)
	}

	// The idle connections are still open and served: a sample of them.
	for i := 0; i < n; i += 50 {
		if err := conns[i].expect(get("/healthz"), 200, "ok\n"); err != nil {
			t.Fatalf("idle conn %d afterwards: %v", i, err)
		}
	}
}

// Pipelined requests on many connections at once come back in order on
// each: files (sent with sendfile, one of them larger than a socket
// buffer), in-memory answers and a 404, then the close the last asked for.
func TestEpollPipelinedManyConns(t *testing.T) { forEachLoop(t, testEpollPipelinedManyConns) }

func testEpollPipelinedManyConns(t *testing.T, m model) {
	const conns, depth = 200, 16
	needFDs(t, 2*conns+100)
	root, files := fileTree(t, 64)
	big := bytes.Repeat([]byte("0123456789abcdef"), 16<<10) // 256 KiB
	if err := os.WriteFile(filepath.Join(root, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	files["/big"] = string(big)
	ts := m.start(t, settings{Dir: openDir(t, root), HeaderTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second})

	type want struct {
		path   string
		status int
		body   string
	}
	allAtOnce(t, "pipelining client", ts.addr, conns, func(i int, c *client) error {
		var reqs strings.Builder
		wants := make([]want, depth)
		for j := range wants {
			var w want
			switch {
			case j == 5:
				w = want{"/big", 200, files["/big"]}
			case j == 9:
				w = want{fmt.Sprintf("/missing-%d", i), 404, "404 Not Found\n"}
			case j%4 == 3:
				w = want{"/healthz", 200, "ok\n"}
			default:
				p := fmt.Sprintf("/f%03d", (i*depth+j)%64)
				w = want{p, 200, files[p]}
			}
			wants[j] = w
			target := fmt.Sprintf("%s?conn=%d&req=%d", w.path, i, j)
			if j == depth-1 {
				fmt.Fprintf(&reqs, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", target)
			} else {
				reqs.WriteString(get(target))
			}
		}
		if _, err := io.WriteString(c, reqs.String()); err != nil { // all 16 in one write
			return err
		}
		for j, w := range wants {
			resp, body, err := c.fetch("", "GET")
			if err != nil {
				return fmt.Errorf("response %d (%s): %w", j, w.path, err)
			}
			if resp.StatusCode != w.status || body != w.body {
				return fmt.Errorf("response %d: %d %.40q (%d bytes), want %s: %d %.40q (%d bytes)",
					j, resp.StatusCode, body, len(body), w.path, w.status, w.body, len(w.body))
			}
			if resp.Close != (j == depth-1) {
				return fmt.Errorf("response %d: close=%v", j, resp.Close)
			}
		}
		if err := c.closedOrReset(); err != nil {
			return fmt.Errorf("after the last response: %w", err)
		}
		return nil
	})
}

// -loops 2: two loops, each with its own SO_REUSEPORT listener; the
// kernel spreads 200 connections over both. The narration names the
// listener each accept4 was made on.
func TestEpollLoopsSpread(t *testing.T) { forEachLoop(t, testEpollLoopsSpread) }

func testEpollLoopsSpread(t *testing.T, m model) {
	const n = 200
	needFDs(t, 2*n+100)
	trace := narrate(t)
	ts := m.loops(t, settings{HeaderTimeout: 10 * time.Second}, 2)
	conns := openKeptAlive(t, ts.addr, n)
	if t.Failed() {
		return
	}
	_, _, byFD := trace.counts()
	t.Logf("connections accepted by listener fd: %v", byFD)
	total := 0
	for _, k := range byFD {
		total += k
	}
	if total != n {
		t.Errorf("%d connections accepted, want %d", total, n)
	}
	if len(byFD) != 2 {
		t.Fatalf("accepted on %d listeners, want 2: %v", len(byFD), byFD)
	}
	for fd, k := range byFD {
		if k < n/10 {
			t.Errorf("listener fd %d accepted %d of %d connections: load not spread", fd, k, n)
		}
	}
	// Both loops stop on the one Waker, closing their idle connections.
	t0 := time.Now()
	if err := ts.stop(); err != nil {
		t.Fatalf("Epoll with 2 loops: %v", err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("2 loops with %d idle connections took %v to stop", n, d)
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := c.closedOrReset(); err != nil {
			t.Fatalf("idle conn %d after shutdown: %v", i, err)
		}
	}
}
