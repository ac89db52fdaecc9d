package serve_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Shutdown finishes the response in flight — a large file to a slow
// reader — and then the server returns.
func TestShutdownFinishesResponse(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		root := t.TempDir()
		big := bytes.Repeat([]byte("x"), 8<<20)
		os.WriteFile(filepath.Join(root, "big"), big, 0o644)
		ts := m.start(t, settings{Dir: openDir(t, root)})
		c := ts.dial(t)
		io.WriteString(c, get("/big"))
		if _, err := c.br.Peek(1); err != nil { // the response has started
			t.Fatal(err)
		}
		stopped := make(chan error)
		go func() { stopped <- ts.stop() }()
		time.Sleep(100 * time.Millisecond)
		resp, body := c.readResp(t, "GET")
		if resp.StatusCode != 200 || len(body) != len(big) {
			t.Fatalf("in-flight response: %d, %d of %d bytes", resp.StatusCode, len(body), len(big))
		}
		c.expectClosed(t) // and no further request is read
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
	})
}

// SIGTERM while one client idles on keep-alive and another is queued: the
// idle one is let go, the queued one is not accepted, Serial returns. (The
// first does not yield to the second here, or the second would be served
// before the signal.)
func TestShutdownStopsAccepting(t *testing.T) {
	ts := serialModel.start(t, settings{IdleTimeout: 10 * time.Second, YieldAfter: -1})
	a := ts.dial(t)
	io.WriteString(a, get("/healthz"))
	a.readResp(t, "GET")
	b := ts.dial(t) // queued behind a
	io.WriteString(b, get("/healthz"))
	time.Sleep(50 * time.Millisecond)
	if err := ts.stop(); err != nil {
		t.Fatal(err)
	}
	a.expectClosed(t)
	if resp, _, _ := b.fetch("", "GET"); resp != nil {
		t.Errorf("queued client served during shutdown: %s", resp.Status)
	}
}

// Shutdown (what SIGTERM does: the Waker fires) drains: idle kept-alive
// connections are closed at once, nothing new is accepted, a response in
// flight to a slow reader is finished, and then Epoll returns nil.
func TestEpollShutdownDrains(t *testing.T) { forEachLoop(t, testEpollShutdownDrains) }

func testEpollShutdownDrains(t *testing.T, m model) {
	const size = 32 << 20 // more than the socket buffers hold: in flight at the Wake
	root := t.TempDir()
	sparseFile(t, root, "big", size)
	ts := m.start(t, settings{Dir: openDir(t, root), Grace: 10 * time.Second, WriteTimeout: 20 * time.Second})

	idle := openKeptAlive(t, ts.addr, 3)
	if t.Failed() {
		return
	}
	slow := ts.dial(t)
	io.WriteString(slow, get("/big"))
	if _, err := slow.br.Peek(1); err != nil { // the response has started
		t.Fatal(err)
	}

	t0 := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- ts.stop() }()
	for i, c := range idle {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := c.closedOrReset(); err != nil {
			t.Fatalf("idle conn %d at shutdown: %v", i, err)
		}
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("idle connections closed %v after the Wake; want at once", d)
	}
	// Not accepted now: the kernel queues it, and resets it when the
	// listener closes after Epoll returns.
	late, err := dialClient(ts.addr)
	if err == nil {
		defer late.Close()
		io.WriteString(late, get("/healthz"))
	}

	// The slow reader gets all of its response, read slowly, then EOF.
	resp, err := http.ReadResponse(slow.br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256<<10)
	var got int64
	for reads := 0; reads < 100000; reads++ {
		n, err := resp.Body.Read(buf)
		got += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("slow reader after %d of %d bytes: %v", got, size, err)
		}
		if reads%4 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	if resp.StatusCode != 200 || got != size {
		t.Fatalf("response in flight at shutdown: %d, %d of %d bytes", resp.StatusCode, got, size)
	}
	if err := slow.closedOrReset(); err != nil {
		t.Errorf("slow reader after its response: %v", err)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Epoll after the drain: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not return after the drain")
	}
	if late != nil {
		late.SetReadDeadline(time.Now().Add(5 * time.Second))
		if resp, _, err := late.fetch("", "GET"); err == nil {
			t.Errorf("a client that connected during the drain was served: %s", resp.Status)
		}
	}
}

// With a short grace period, a client that stops reading its response is
// cut off when the grace period ends, and Epoll returns nil.
func TestEpollShutdownGrace(t *testing.T) { forEachLoop(t, testEpollShutdownGrace) }

func testEpollShutdownGrace(t *testing.T, m model) {
	const grace = 300 * time.Millisecond
	const size = 64 << 20
	root := t.TempDir()
	sparseFile(t, root, "big", size)
	ts := m.start(t, settings{Dir: openDir(t, root), Grace: grace, WriteTimeout: 30 * time.Second})
	c := ts.dial(t)
	io.WriteString(c, get("/big"))
	if _, err := c.br.Peek(1); err != nil { // the response has started; no more is read
		t.Fatal(err)
	}
	t0 := time.Now()
	err := ts.stop()
	d := time.Since(t0)
	if err != nil {
		t.Fatalf("Epoll: %v", err)
	}
	t.Logf("Epoll returned %v after the Wake, grace %v", d, grace)
	if d < grace*3/4 || d > grace+3*time.Second {
		t.Errorf("Epoll returned %v after the Wake; grace %v", d, grace)
	}
	resp, err := http.ReadResponse(c.br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	got := drainAll(t, c, resp.Body, size)
	t.Logf("the client that stopped reading got %d of %d bytes", got, size)
}
