package serve_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A client that sends nothing is cut off at the header timeout, with no
// response: there was no request to answer.
func TestHeaderTimeoutSilent(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		const ht = 300 * time.Millisecond
		ts := m.start(t, settings{HeaderTimeout: ht})
		c := ts.dial(t)
		start := time.Now()
		c.expectClosed(t)
		if d := time.Since(start); d < ht*3/4 || d > ht+2*time.Second {
			t.Errorf("silent client closed after %v, header timeout %v", d, ht)
		}
	})
}

// Slowloris: one header byte every 50ms. Each byte is progress, but the
// head as a whole must arrive within the header timeout: 408, then close.
func TestHeaderTimeoutSlowloris(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		const ht = 500 * time.Millisecond
		ts := m.start(t, settings{HeaderTimeout: ht})
		c := ts.dial(t)
		stop := make(chan struct{})
		defer close(stop)
		trickle(c, get("/healthz"), 0, 50*time.Millisecond, stop)
		start := time.Now()
		resp, _ := c.readResp(t, "GET")
		if resp.StatusCode != 408 || !resp.Close {
			t.Errorf("slowloris: %d close=%v, want 408 and close", resp.StatusCode, resp.Close)
		}
		if d := time.Since(start); d > ht+time.Second {
			t.Errorf("cut off after %v, header timeout %v", d, ht)
		}
	})
}

// The first request's head is bounded from accept, not from its first byte:
// a client that waits before it starts trickling gains nothing.
func TestHeaderTimeoutFromAccept(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		const ht = 600 * time.Millisecond
		ts := m.start(t, settings{HeaderTimeout: ht})
		c := ts.dial(t)
		start := time.Now()
		stop := make(chan struct{})
		defer close(stop)
		trickle(c, get("/healthz"), 400*time.Millisecond, 50*time.Millisecond, stop)
		resp, _ := c.readResp(t, "GET")
		if d := time.Since(start); resp.StatusCode != 408 || d > ht+300*time.Millisecond {
			t.Errorf("status %d after %v; want 408 at the header timeout (%v) after accept", resp.StatusCode, d, ht)
		}
	})
}

// trickle sends req on c from a goroutine of its own, one byte every
// interval after a first wait, until all is sent, a write fails or stop
// closes.
func trickle(c *client, req string, wait, interval time.Duration, stop <-chan struct{}) {
	go func() {
		select {
		case <-stop:
			return
		case <-time.After(wait):
		}
		for i := 0; i < len(req); i++ {
			select {
			case <-stop:
				return
			case <-time.After(interval):
			}
			if _, err := c.Write([]byte{req[i]}); err != nil {
				return
			}
		}
	}()
}

// A client that asks for a big file and never reads is cut off at the
// write timeout; the next client is served right after.
func TestWriteTimeoutFreesServer(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		const wt = 500 * time.Millisecond
		root := t.TempDir()
		sparseFile(t, root, "big", 64<<20)
		ts := m.start(t, settings{Dir: openDir(t, root), WriteTimeout: wt})
		stuck := ts.dial(t)
		io.WriteString(stuck, get("/big")) // and never read
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		next := ts.dial(t)
		io.WriteString(next, get("/healthz"))
		resp, _ := next.readResp(t, "GET")
		if waited := time.Since(start); resp.StatusCode != 200 || waited > wt+2*time.Second {
			t.Errorf("next client: %d after %v; the stuck one should be cut off at %v", resp.StatusCode, waited, wt)
		}
		// The log tells how much the stuck client got: less than the file.
		log := ts.logged("/big")
		if sent := loggedBytes(log, "/big"); sent <= 0 || sent >= 64<<20 {
			t.Errorf("stuck client logged with %d bytes sent (-1: not logged at all); want some, not all:\n%s", sent, log)
		}
	})
}

// load is what keepBusy did.
type load struct {
	n     int           // requests answered
	worst time.Duration // the slowest
	err   error
}

// keepBusy makes requests to addr until stop closes (at most 5,000):
// GET /healthz on one kept-alive connection, and GET path on a new
// connection, in turns, checking every answer (path must hold body).
func keepBusy(addr, path, body string, stop <-chan struct{}) <-chan load {
	out := make(chan load, 1)
	go func() {
		var l load
		defer func() { out <- l }()
		ka, err := dialClient(addr)
		if err != nil {
			l.err = err
			return
		}
		defer ka.Close()
		for i := 0; i < 5000; i++ {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond): // busy, not a CPU hog
			}
			t0 := time.Now()
			if i%2 == 0 {
				err = ka.expect(get("/healthz"), 200, "ok\n")
			} else {
				var c *client
				if c, err = dialClient(addr); err == nil {
					err = c.expect(get(path), 200, body)
					c.Close()
				}
			}
			if err != nil {
				l.err = fmt.Errorf("request %d: %w", i, err)
				return
			}
			l.n++
			l.worst = max(l.worst, time.Since(t0))
		}
	}()
	return out
}

// slowResult is what a slowloris client got.
type slowResult struct {
	resp   *http.Response
	closed error         // nil: the server closed the connection after the response
	after  time.Duration // from the start of its head's clock to the response
	err    error
}

// slowloris sends a request head one byte every 100 ms, on a new
// connection (the head's clock starts at accept: when the dial returns) or,
// if kept, on a kept-alive one after a first request (the clock starts at
// its first byte), until the server answers or stop closes.
func slowloris(addr string, kept bool, stop <-chan struct{}) slowResult {
	var r slowResult
	c, err := dialClient(addr)
	if err != nil {
		r.err = err
		return r
	}
	defer c.Close()
	start := time.Now()
	if kept {
		if r.err = c.expect(get("/healthz"), 200, "ok\n"); r.err != nil {
			return r
		}
	}
	answered := make(chan struct{})
	first := make(chan time.Time, 1)
	trickled := make(chan struct{})
	go func() {
		defer close(trickled)
		req := get("/healthz")
		for i := 0; i < len(req); i++ { // 35 bytes: 3.5 s, far past the timeout
			select {
			case <-stop:
				return
			case <-answered:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if i == 0 {
				first <- time.Now()
			}
			if _, err := c.Write([]byte{req[i]}); err != nil {
				return
			}
		}
	}()
	r.resp, _, r.err = c.fetch("", "GET")
	at := time.Now()
	close(answered)
	<-trickled
	if kept {
		select {
		case start = <-first:
		default:
			start = at // answered before a byte was sent: reported below
		}
	}
	r.after = at.Sub(start)
	if r.err == nil {
		r.closed = c.closedOrReset()
	}
	return r
}

// Slowloris: clients sending a header byte every 100 ms — twenty on new
// connections, five on kept-alive ones — are each answered 408 and cut off
// at the header timeout (from accept for a first request, from the first
// byte for a later one); others are served all the while.
func TestEpollSlowloris(t *testing.T) { forEachLoop(t, testEpollSlowloris) }

func testEpollSlowloris(t *testing.T, m model) {
	const ht = time.Second
	const fresh, kept = 20, 5
	root, files := fileTree(t, 1)
	ts := m.start(t, settings{Dir: openDir(t, root), HeaderTimeout: ht, WriteTimeout: time.Second})

	stop := make(chan struct{})
	defer close(stop)
	results := make(chan slowResult, fresh+kept)
	t0 := time.Now()
	for i := 0; i < fresh+kept; i++ {
		go func() { results <- slowloris(ts.addr, i >= fresh, stop) }()
	}
	busyStop := make(chan struct{})
	others := keepBusy(ts.addr, "/f000", files["/f000"], busyStop)
	var worst time.Duration
	for i := 0; i < fresh+kept; i++ {
		r := <-results
		switch {
		case r.err != nil:
			t.Errorf("slowloris: %v after %v", r.err, r.after)
		case r.resp.StatusCode != 408 || !r.resp.Close:
			t.Errorf("slowloris: %d close=%v after %v, want 408 and Connection: close", r.resp.StatusCode, r.resp.Close, r.after)
		case r.closed != nil:
			t.Errorf("slowloris after its 408: %v", r.closed)
		case r.after < ht*9/10 || r.after > ht+1500*time.Millisecond:
			t.Errorf("slowloris answered 408 %v after its head's clock started; header timeout %v", r.after, ht)
		}
		worst = max(worst, r.after)
	}
	cut := time.Since(t0)
	close(busyStop)
	busy := <-others
	t.Logf("%d slowloris clients cut off, the last %v after its head's clock started; meanwhile (%v) %d requests from others, the slowest %v",
		fresh+kept, worst, cut, busy.n, busy.worst)
	if busy.err != nil {
		t.Fatalf("another client meanwhile: %v", busy.err)
	}
	if busy.n < 20 || busy.worst >= ht {
		t.Errorf("others meanwhile: %d requests, the slowest %v; want many, none waiting for the slowloris clients (%v)", busy.n, busy.worst, ht)
	}
}

// A client that asks for 64 MiB and never reads is cut off at the write
// timeout — the server closes its connection (the narration shows the
// close(2)) — while others are served.
func TestEpollWriteTimeout(t *testing.T) { forEachLoop(t, testEpollWriteTimeout) }

func testEpollWriteTimeout(t *testing.T, m model) {
	const wt = time.Second
	const size = 64 << 20
	root, files := fileTree(t, 1)
	sparseFile(t, root, "big", size)
	trace := narrate(t)
	ts := m.start(t, settings{Dir: openDir(t, root), WriteTimeout: wt, HeaderTimeout: 5 * time.Second})

	stuck := ts.dial(t)
	cport := portOf(t, stuck.LocalAddr().String())
	stop := make(chan struct{})
	others := keepBusy(ts.addr, "/f000", files["/f000"], stop)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
			<-others
		}
	}()
	t0 := time.Now()
	if _, err := io.WriteString(stuck, get("/big")); err != nil { // and never read
		t.Fatal(err)
	}
	at, ok := trace.closedAt(cport, t0.Add(wt+5*time.Second))
	cut := at.Sub(t0)
	close(stop)
	busy := <-others
	if !ok {
		t.Fatalf("the stuck client was not cut off %v after its request; write timeout %v", time.Since(t0), wt)
	}
	t.Logf("stuck client cut off after %v; meanwhile %d requests from others, the slowest %v", cut, busy.n, busy.worst)
	if cut < wt*3/4 || cut > wt+2*time.Second {
		t.Errorf("stuck client cut off %v after its request; write timeout %v", cut, wt)
	}
	if busy.err != nil {
		t.Fatalf("another client meanwhile: %v", busy.err)
	}
	if busy.n < 20 || busy.worst >= wt {
		t.Errorf("others meanwhile: %d requests, the slowest %v; want many, none waiting for the stuck one", busy.n, busy.worst)
	}
	// What was in flight arrives, then the end: not the whole file.
	resp, err := http.ReadResponse(stuck.br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.ContentLength != size {
		t.Fatalf("stuck client's response: %d, Content-Length %d", resp.StatusCode, resp.ContentLength)
	}
	got := drainAll(t, stuck, resp.Body, size)
	t.Logf("the stuck client got %d of %d bytes", got, size)
}

// The access log tells of a response cut short — by the write timeout (as
// in TestWriteTimeoutFreesServer, but known to be cut off before the log is
// read), or by the end of the grace period at shutdown — with its status
// and the bytes sent, some but not all.
func TestEpollCutOffLogged(t *testing.T) { forEachLoop(t, testEpollCutOffLogged) }

func testEpollCutOffLogged(t *testing.T, m model) {
	const size = 64 << 20
	for _, tc := range []struct {
		name string
		cfg  settings
		stop bool // cut off by the shutdown's grace period
	}{
		{"WriteTimeout", settings{WriteTimeout: 500 * time.Millisecond}, false},
		{"GraceEnd", settings{WriteTimeout: 30 * time.Second, Grace: 300 * time.Millisecond}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			sparseFile(t, root, "big", size)
			trace := narrate(t)
			tc.cfg.Dir = openDir(t, root)
			ts := m.start(t, tc.cfg)
			stuck := ts.dial(t)
			io.WriteString(stuck, get("/big"))
			if _, err := stuck.br.Peek(1); err != nil { // the response has started; no more is read
				t.Fatal(err)
			}
			if tc.stop {
				if err := ts.stop(); err != nil {
					t.Fatal(err)
				}
			}
			if _, ok := trace.closedAt(portOf(t, stuck.LocalAddr().String()), time.Now().Add(5*time.Second)); !ok {
				t.Fatal("the stuck client was not cut off")
			}
			if err := ts.stop(); err != nil { // which writes the access log out
				t.Fatal(err)
			}
			if sent := loggedBytes(ts.log.String(), "/big"); sent <= 0 || sent >= size {
				t.Errorf("the client cut off is logged with %d bytes sent (-1: not logged at all); want some, not all. Access log:\n%s", sent, ts.log.String())
			}
		})
	}
}

// loggedBytes is the count of bytes sent that the access log gives for the
// last GET of path answered 200; -1 if there is none.
func loggedBytes(log, path string) int64 {
	sent := int64(-1)
	for _, l := range strings.Split(log, "\n") {
		if f := strings.Fields(l); strings.Contains(l, `"GET `+path+` HTTP/1.1" 200 `) && len(f) > 9 {
			sent, _ = strconv.ParseInt(f[9], 10, 64)
		}
	}
	return sent
}

// drainAll reads c to its end, which must come (EOF, or a reset) before
// limit bytes and before the deadline; it returns the bytes read.
func drainAll(t *testing.T, c net.Conn, r io.Reader, limit int64) int64 {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	n, err := io.Copy(io.Discard, io.LimitReader(r, limit))
	// A body cut short of its Content-Length is io.ErrUnexpectedEOF.
	if err != nil && err != io.ErrUnexpectedEOF && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after %d bytes: %v; want the end (EOF) or a reset", n, err)
	}
	if n >= limit {
		t.Fatalf("read %d bytes and still no end", n)
	}
	return n
}

// A refused request closes politely — shutdown, then read and drop what the
// client still sends until its EOF — but a client that never stops sending
// cannot hold the connection past the linger time.
func TestLingerBound(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		const linger = 200 * time.Millisecond
		ts := m.start(t, settings{Linger: linger})
		c := ts.dial(t)
		if _, err := c.Write([]byte("BAD\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, _ := c.readResp(t, "GET")
		if resp.StatusCode != 400 || !resp.Close {
			t.Fatalf("bad request: %d close=%v, want 400 and close", resp.StatusCode, resp.Close)
		}
		// Our FIN came with the response (shutdown): the client reads EOF
		// while the server still drains what it sends.
		if err := c.closed(); err != nil {
			t.Fatalf("after the 400: %v, want the server's FIN", err)
		}
		start := time.Now()
		chunk := make([]byte, 1024)
		for i := 0; i < 10000; i++ { // 10 s at most
			if _, err := c.Write(chunk); err != nil {
				break // the server closed: the kernel answered with RST
			}
			time.Sleep(time.Millisecond)
		}
		if d := time.Since(start); d > linger+2*time.Second {
			t.Errorf("the server drained a sending client for %v, linger %v", d, linger)
		}
	})
}
