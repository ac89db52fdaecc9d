package serve_test

// The serial model's own behaviour: it serves one connection at a time.

import (
	"io"
	"testing"
	"time"
)

// The serial model, unfair (it never yields): while one client holds the
// server, the next waits in the accept queue; the idle timeout bounds how
// long.
func TestSerialIdleTimeout(t *testing.T) {
	const idle = 400 * time.Millisecond
	ts := serialModel.start(t, settings{IdleTimeout: idle, YieldAfter: -1})
	a := ts.dial(t)
	io.WriteString(a, get("/healthz"))
	a.readResp(t, "GET")
	// a now idles on a kept-alive connection.
	b := ts.dial(t)
	start := time.Now()
	io.WriteString(b, get("/healthz"))
	resp, _ := b.readResp(t, "GET")
	waited := time.Since(start)
	if resp.StatusCode != 200 || waited < idle/2 {
		t.Errorf("second client: %d after %v; want 200 only once the first client's idle timeout (%v) passed", resp.StatusCode, waited, idle)
	}
	a.expectClosed(t) // the idle client was let go, silently
}

// Unfair, a second client is served as soon as the first one leaves, and
// not before.
func TestSerialSecondAfterFirst(t *testing.T) {
	ts := serialModel.start(t, settings{IdleTimeout: 10 * time.Second, YieldAfter: -1})
	a := ts.dial(t)
	io.WriteString(a, get("/healthz"))
	a.readResp(t, "GET")
	b := ts.dial(t)
	io.WriteString(b, get("/healthz"))
	got := make(chan time.Time)
	go func() {
		b.fetch("", "GET")
		got <- time.Now()
	}()
	select {
	case <-got:
		t.Fatal("second client served while the first still held the serial server")
	case <-time.After(300 * time.Millisecond):
	}
	left := time.Now()
	a.Close()
	if d := (<-got).Sub(left); d > 2*time.Second {
		t.Errorf("second client served %v after the first left", d)
	}
}
