package serve_test

// The serial model is fair: one connection at a time still, but the one
// being served gives way to clients waiting in the accept queue — without
// making a client fail that sends its next request in time.

import (
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A client idles on a kept-alive connection; a second one arrives. The
// first gives way within the yield time, not its idle timeout, and its
// connection ends with FIN, not RST.
func TestSerialYieldsIdleConnection(t *testing.T) {
	const yield = 100 * time.Millisecond
	ts := serialModel.start(t, settings{IdleTimeout: 10 * time.Second, YieldAfter: yield})
	a := ts.dial(t)
	io.WriteString(a, get("/healthz"))
	if resp, _ := a.readResp(t, "GET"); resp.Close {
		t.Fatal("nobody waited, yet the first response said Connection: close")
	}
	b := ts.dial(t)
	start := time.Now()
	io.WriteString(b, get("/healthz"))
	resp, _ := b.readResp(t, "GET")
	if d := time.Since(start); resp.StatusCode != 200 || d > yield+time.Second {
		t.Errorf("second client: %d after %v, behind an idle client; yield after %v", resp.StatusCode, d, yield)
	}
	a.expectClosed(t) // FIN: a reset would be an error
}

// A client connects and says nothing (a browser's preconnect does this); a
// second one arrives. The silent one gives way once it has been silent for
// the yield time since accept, not at its header timeout.
func TestSerialYieldsSilentConnection(t *testing.T) {
	const yield = 100 * time.Millisecond
	ts := serialModel.start(t, settings{HeaderTimeout: 10 * time.Second, YieldAfter: yield})
	c := ts.dial(t)
	time.Sleep(20 * time.Millisecond) // c is accepted, and waited on
	d := ts.dial(t)
	start := time.Now()
	io.WriteString(d, get("/healthz"))
	resp, _ := d.readResp(t, "GET")
	if took := time.Since(start); resp.StatusCode != 200 || took > yield+time.Second {
		t.Errorf("second client: %d after %v, behind a silent client; yield after %v", resp.StatusCode, took, yield)
	}
	c.expectClosed(t)
}

// A request that arrives while another client waits is answered — the
// grace is there for it — and its response says Connection: close, so the
// client knows not to send another on this connection.
func TestSerialAnnouncesClose(t *testing.T) {
	ts := serialModel.start(t, settings{IdleTimeout: 10 * time.Second, YieldAfter: 2 * time.Second})
	a := ts.dial(t)
	io.WriteString(a, get("/healthz"))
	a.readResp(t, "GET")
	b := ts.dial(t)
	io.WriteString(b, get("/healthz"))
	time.Sleep(100 * time.Millisecond) // b is queued, well within a's grace
	io.WriteString(a, get("/healthz"))
	resp, _ := a.readResp(t, "GET")
	if resp.StatusCode != 200 || !resp.Close {
		t.Errorf("request sent while another client waited: %d close=%v; want 200 and Connection: close", resp.StatusCode, resp.Close)
	}
	a.expectClosed(t)
	if resp, _ := b.readResp(t, "GET"); resp.StatusCode != 200 {
		t.Errorf("queued client: %d", resp.StatusCode)
	}
}

// A client that pipelines a long burst never lets the server wait on its
// connection — every read finds more requests — so no wait can see the
// queue; the server looks now and then all the same (a ppoll with no
// timeout), serves the next client, and tells the busy one, in a response,
// to close. The requests left unanswered are drained, and the busy client
// gets FIN, not a reset. (The burst stays under what a polite close
// drains, 256 KiB.)
func TestSerialYieldsBusyConnection(t *testing.T) {
	ts := serialModel.start(t, settings{YieldAfter: 2 * time.Millisecond, Linger: time.Second})
	a := ts.dial(t)
	// The demo page, rendered for each request: 7,000 of them keep the
	// server busy far longer than the next client takes to come.
	const requests = 7000
	go io.WriteString(a, strings.Repeat(get("/"), requests))
	answered := make(chan error, 1)
	busy := make(chan struct{})
	go func() { // a reads the answers, until one says close
		for n := 1; n <= requests; n++ {
			resp, _, err := a.fetch("", "GET")
			if n == 1 {
				close(busy)
			}
			switch {
			case err != nil:
				answered <- fmt.Errorf("after %d answers: %w", n-1, err)
				return
			case resp.Close:
				answered <- a.closed() // then FIN
				return
			}
		}
		answered <- fmt.Errorf("all %d requests answered, none with Connection: close: the server never yielded", requests)
	}()
	select {
	case <-busy: // the server is in a's burst
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to the busy client")
	}
	b := ts.dial(t)
	start := time.Now()
	io.WriteString(b, get("/healthz"))
	resp, _ := b.readResp(t, "GET")
	if took := time.Since(start); resp.StatusCode != 200 || took > 2*time.Second {
		t.Errorf("second client: %d after %v, behind a pipelining client", resp.StatusCode, took)
	}
	select {
	case err := <-answered:
		if err != nil {
			t.Errorf("the busy client: %v; want a response that says Connection: close, then FIN", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("the busy client got neither all its answers nor Connection: close")
	}
}

// Clients that do not retry — Python's http.client — lose no request:
// eight threads, keep-alive, one after another on the serial server. Each
// sends its next request right after its answer, well within the grace,
// and a response that says Connection: close makes it reconnect.
func TestSerialNoRetryClients(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the no-retry client test needs it")
	}
	ts := serialModel.start(t, settings{})
	const script = `
import http.client, sys, threading
host, port = sys.argv[1].rsplit(":", 1)
errors, done = [], [0]
lock = threading.Lock()
def worker():
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    for i in range(60):
        try:
            conn.request("GET", "/healthz")
            r = conn.getresponse()
            body = r.read()
            assert r.status == 200 and body == b"ok\n", (r.status, body)
            with lock: done[0] += 1
        except Exception as e:
            with lock: errors.append(repr(e))
            conn.close()
threads = [threading.Thread(target=worker) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(done[0], len(errors), errors[:3])
`
	cmd := exec.Command(py, "-c", script, ts.addr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	var ok, failed int
	fmt.Sscan(string(out), &ok, &failed)
	if ok != 480 || failed != 0 {
		t.Errorf("8 threads × 60 requests: %s", out)
	}
}
