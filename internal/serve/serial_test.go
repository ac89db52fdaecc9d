package serve

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/rawserve/rawserve/internal/httpconn"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/page"
	"github.com/rawserve/rawserve/internal/sock"
	"github.com/rawserve/rawserve/internal/static"
)

// syncBuffer is an access log the test can read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testServer struct {
	addr string
	log  *syncBuffer
	errs *syncBuffer
	stop func() error // wakes the server and waits for Serial to return
}

// start runs a server on a random loopback port until the test ends: the
// serial model, or the epoll model (one loop) when the test runs under
// TestEpoll, which runs the conformance tests again against it.
func start(t *testing.T, cfg Config) *testServer {
	t.Helper()
	if strings.Contains(t.Name(), "TestEpoll/") {
		return startEpoll(t, cfg, 1)
	}
	w, err := sock.NewWaker()
	if err != nil {
		t.Fatal(err)
	}
	p := &sock.Poller{Waker: w}
	a, _ := sock.ParseAddr("127.0.0.1:0")
	l, err := sock.Listen(a, 0, p)
	if err != nil {
		t.Fatal(err)
	}
	return run(t, cfg, w, []*sock.Listener{l}, func(cfg Config) error { return Serial(l, p, cfg) })
}

// startEpoll runs the epoll model with n loops.
func startEpoll(t testing.TB, cfg Config, n int) *testServer {
	t.Helper()
	w, err := sock.NewWaker()
	if err != nil {
		t.Fatal(err)
	}
	polls := make([]*sock.Poller, n)
	for i := range polls {
		polls[i] = &sock.Poller{Waker: w}
	}
	a, _ := sock.ParseAddr("127.0.0.1:0")
	ls, err := sock.ListenGroup(a, 0, polls)
	if err != nil {
		t.Fatal(err)
	}
	return run(t, cfg, w, ls, func(cfg Config) error { return Epoll(ls, w, cfg) })
}

func run(t testing.TB, cfg Config, w *sock.Waker, ls []*sock.Listener, serve func(Config) error) *testServer {
	t.Helper()
	ts := &testServer{addr: ls[0].Addr().String(), log: &syncBuffer{}, errs: &syncBuffer{}}
	cfg.AccessLog, cfg.ErrorLog = ts.log, ts.errs
	done := make(chan error, 1)
	go func() { done <- serve(cfg) }()
	var once sync.Once
	var serr error
	ts.stop = func() error {
		once.Do(func() {
			w.Wake()
			select {
			case serr = <-done:
			case <-time.After(10 * time.Second):
				serr = errors.New("the server did not return 10s after shutdown")
			}
			for _, l := range ls {
				l.Close()
			}
			w.Close()
		})
		return serr
	}
	t.Cleanup(func() {
		if err := ts.stop(); err != nil {
			t.Error(err)
		}
		if e := ts.errs.String(); e != "" {
			t.Errorf("error log:\n%s", e)
		}
	})
	return ts
}

// openDir opens root for serving until the test ends — after the server
// has stopped: cleanups run last-in, first-out, and start registers its own
// after this one.
func openDir(t testing.TB, root string) *static.Dir {
	t.Helper()
	d, err := static.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func (ts *testServer) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

func get(path string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"
}

func readResp(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return resp, string(body)
}

// expectClosed checks the server closed the connection (EOF, no bytes).
func expectClosed(t *testing.T, br *bufio.Reader) {
	t.Helper()
	if b, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("want EOF, got byte %q err %v", b, err)
	}
}

func TestKeepAliveAndPipelining(t *testing.T) {
	ts := start(t, Config{})
	c := ts.dial(t)
	br := bufio.NewReader(c)
	for i := 0; i < 3; i++ {
		io.WriteString(c, get("/healthz"))
		resp, body := readResp(t, br, "GET")
		if resp.StatusCode != 200 || body != "ok\n" || resp.Close {
			t.Fatalf("request %d: %d %q close=%v", i, resp.StatusCode, body, resp.Close)
		}
		if resp.Header.Get("Date") == "" || resp.Header.Get("Server") != "rawserve" || resp.Header.Get("Content-Type") == "" {
			t.Errorf("headers: %v", resp.Header)
		}
	}
	// Pipelined, with a discarded GET body in between: answered in order.
	io.WriteString(c, get("/nope")+"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"+
		"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"+"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	for _, want := range []struct {
		method string
		status int
	}{{"GET", 404}, {"GET", 200}, {"HEAD", 200}, {"GET", 200}} {
		resp, body := readResp(t, br, want.method)
		if resp.StatusCode != want.status {
			t.Fatalf("pipelined %s: status %d (%q), want %d", want.method, resp.StatusCode, body, want.status)
		}
		if want.method == "HEAD" && (body != "" || resp.ContentLength <= 0) {
			t.Errorf("HEAD: body %q, Content-Length %d: want GET's length and no body", body, resp.ContentLength)
		}
	}
	expectClosed(t, br)
}

func TestHTTP10(t *testing.T) {
	ts := start(t, Config{})
	c := ts.dial(t)
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	resp, _ := readResp(t, br, "GET")
	if resp.StatusCode != 200 || resp.Header.Get("Connection") != "keep-alive" {
		t.Fatalf("1.0 keep-alive: %d, Connection %q", resp.StatusCode, resp.Header.Get("Connection"))
	}
	io.WriteString(c, "GET /healthz HTTP/1.0\r\n\r\n") // asks for no keep-alive, so the server closes
	resp, _ = readResp(t, br, "GET")
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	expectClosed(t, br)
}

// Requests the server cannot frame or will not serve get a status and, when
// framing is uncertain, a close.
func TestErrorsAndClose(t *testing.T) {
	ts := start(t, Config{Config: httpconn.Config{MaxBody: 100}})
	for _, tc := range []struct {
		req    string
		status int
		closed bool
	}{
		{"GET / HTTP/1.1\r\n\r\n", 400, true}, // no Host
		{"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400, true},
		{"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, true},
		{"GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 20<<10) + "\r\n\r\n", 431, true},
		{"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: y\r\n\r\n", 200, false},
		{"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, true},
		{"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n", 413, true}, // 101 > MaxBody, refused as announced
		{"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, true},
		{"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n", 413, true},
		{"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("b", 100), 200, false},
		{"PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n", 405, false},
		{"GET / HTTP/1.1\r\nHost: x\r\nExpect: nothing\r\n\r\n", 417, true},
		{"GET /healthz HTTP/1.0\r\nExpect: 100-continue\r\nConnection: keep-alive\r\n\r\n", 200, false}, // RFC 9110 10.1.1: ignored in 1.0
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", 405, false},
		{"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 501, false},
		{"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 204, false},
		{"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\nshort", 400, true}, // EOF mid-body: see halfClose
	} {
		c := ts.dial(t)
		br := bufio.NewReader(c)
		io.WriteString(c, tc.req)
		if strings.HasSuffix(tc.req, "short") {
			c.(*net.TCPConn).CloseWrite() // the body ends early
		}
		method := strings.Fields(tc.req)[0]
		resp, _ := readResp(t, br, method)
		if resp.StatusCode != tc.status {
			t.Errorf("%.40q: status %d, want %d", tc.req, resp.StatusCode, tc.status)
			continue
		}
		if tc.status == 405 && resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" || tc.status == 204 && resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
			t.Errorf("%.40q: Allow %q", tc.req, resp.Header.Get("Allow"))
		}
		if tc.closed {
			if !resp.Close {
				t.Errorf("%.40q: no Connection: close", tc.req)
			}
			expectClosed(t, br)
		} else {
			io.WriteString(c, get("/healthz"))
			if resp, _ := readResp(t, br, "GET"); resp.StatusCode != 200 {
				t.Errorf("%.40q: next request on the connection: %d", tc.req, resp.StatusCode)
			}
		}
		c.Close()
	}
}

// The serial model: while one client holds the server, the next waits in
// the accept queue; the idle timeout bounds how long.
func TestSerialIdleTimeout(t *testing.T) {
	const idle = 400 * time.Millisecond
	ts := start(t, Config{Config: httpconn.Config{IdleTimeout: idle}})
	a := ts.dial(t)
	abr := bufio.NewReader(a)
	io.WriteString(a, get("/healthz"))
	readResp(t, abr, "GET")
	// a now idles on a kept-alive connection.
	b := ts.dial(t)
	start := time.Now()
	io.WriteString(b, get("/healthz"))
	resp, _ := readResp(t, bufio.NewReader(b), "GET")
	waited := time.Since(start)
	if resp.StatusCode != 200 || waited < idle/2 {
		t.Errorf("second client: %d after %v; want 200 only once the first client's idle timeout (%v) passed", resp.StatusCode, waited, idle)
	}
	expectClosed(t, abr) // the idle client was let go, silently
}

// A second client is served as soon as the first one leaves.
func TestSerialSecondAfterFirst(t *testing.T) {
	ts := start(t, Config{Config: httpconn.Config{IdleTimeout: 10 * time.Second}})
	a := ts.dial(t)
	abr := bufio.NewReader(a)
	io.WriteString(a, get("/healthz"))
	readResp(t, abr, "GET")
	b := ts.dial(t)
	io.WriteString(b, get("/healthz"))
	got := make(chan time.Time)
	go func() {
		http.ReadResponse(bufio.NewReader(b), nil)
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

// A client that sends nothing is cut off at the header timeout, with no
// response: there was no request to answer.
func TestHeaderTimeoutSilent(t *testing.T) {
	const ht = 300 * time.Millisecond
	ts := start(t, Config{Config: httpconn.Config{HeaderTimeout: ht}})
	c := ts.dial(t)
	start := time.Now()
	expectClosed(t, bufio.NewReader(c))
	if d := time.Since(start); d < ht*3/4 || d > ht+2*time.Second {
		t.Errorf("silent client closed after %v, header timeout %v", d, ht)
	}
}

// Slowloris: one header byte every 50ms. Each byte is progress, but the
// head as a whole must arrive within the header timeout: 408, then close.
func TestHeaderTimeoutSlowloris(t *testing.T) {
	const ht = 500 * time.Millisecond
	ts := start(t, Config{Config: httpconn.Config{HeaderTimeout: ht}})
	c := ts.dial(t)
	stop := make(chan struct{})
	go func() {
		req := get("/healthz")
		for i := 0; i < len(req); i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := c.Write([]byte{req[i]}); err != nil {
				return
			}
		}
	}()
	defer close(stop)
	start := time.Now()
	resp, _ := readResp(t, bufio.NewReader(c), "GET")
	if resp.StatusCode != 408 || !resp.Close {
		t.Errorf("slowloris: %d close=%v, want 408 and close", resp.StatusCode, resp.Close)
	}
	if d := time.Since(start); d > ht+time.Second {
		t.Errorf("cut off after %v, header timeout %v", d, ht)
	}
}

// The default page tells the client about its own connection, and escapes
// what the client sent.
func TestDefaultPage(t *testing.T) {
	ts := start(t, Config{})
	c := ts.dial(t)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Test: <script>alert(1)</script>\r\nConnection: close\r\n\r\n")
	resp, body := readResp(t, bufio.NewReader(c), "GET")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	_, port, _ := net.SplitHostPort(ts.addr)
	for _, want := range []string{"accept4", "read(2)", "&lt;script&gt;alert(1)&lt;/script&gt;", "local port is <b>" + port + "</b>", c.LocalAddr().String()} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "{{") {
		t.Error("page has unescaped client bytes or an unfilled marker")
	}
	// The steps on the page are the serial model's: under epoll it says so.
	epoll := strings.Contains(t.Name(), "TestEpoll/")
	if strings.Contains(body, "running the epoll model") != epoll {
		t.Errorf("epoll model %v, but the page's note about it is there: %v", epoll, !epoll)
	}
}

func TestAccessLog(t *testing.T) {
	for _, logHealthz := range []bool{false, true} {
		ts := start(t, Config{Config: httpconn.Config{LogHealthz: logHealthz}})
		c := ts.dial(t)
		br := bufio.NewReader(c)
		io.WriteString(c, get("/healthz")+"GET /?probe=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		readResp(t, br, "GET")
		readResp(t, br, "GET")
		// The log is flushed once the server has been idle for a moment.
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(ts.log.String(), "probe=1") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		log := ts.log.String()
		if !strings.HasPrefix(log, "127.0.0.1 - - [") || !strings.Contains(log, `] "GET /?probe=1 HTTP/1.1" 200 `) {
			t.Errorf("access log: %q", log)
		}
		if strings.Contains(log, "/healthz") != logHealthz {
			t.Errorf("LogHealthz %v, access log:\n%s", logHealthz, log)
		}
	}
}

func TestDir(t *testing.T) {
	root := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: several sendfile calls
	os.WriteFile(filepath.Join(root, "big.bin"), big, 0o644)
	os.Mkdir(filepath.Join(root, "sub"), 0o755)
	os.WriteFile(filepath.Join(root, "sub", "index.html"), []byte("<p>sub</p>"), 0o644)
	os.WriteFile(filepath.Join(root, ".secret"), []byte("no"), 0o644)
	ts := start(t, Config{Config: httpconn.Config{Dir: openDir(t, root)}})
	c := ts.dial(t)
	br := bufio.NewReader(c)
	for _, tc := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/big.bin", 200, string(big)},
		{"HEAD", "/big.bin", 200, ""},
		{"GET", "/sub", 301, "301 Moved Permanently\n"},
		{"GET", "/sub/", 200, "<p>sub</p>"},
		{"GET", "/.secret", 404, "404 Not Found\n"},
		{"GET", "/missing", 404, "404 Not Found\n"},
		{"GET", "/%2e%2e/%2e%2e/etc/passwd", 403, "403 Forbidden\n"},
		{"GET", "/healthz", 200, "ok\n"},
	} {
		io.WriteString(c, tc.method+" "+tc.path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, body := readResp(t, br, tc.method)
		if resp.StatusCode != tc.status || body != tc.body {
			t.Errorf("%s %s: %d, %d bytes; want %d, %d bytes", tc.method, tc.path, resp.StatusCode, len(body), tc.status, len(tc.body))
		}
		if tc.path == "/big.bin" && resp.ContentLength != int64(len(big)) {
			t.Errorf("%s %s: Content-Length %d", tc.method, tc.path, resp.ContentLength)
		}
		if tc.status == 301 && resp.Header.Get("Location") != "/sub/" {
			t.Errorf("Location %q", resp.Header.Get("Location"))
		}
		if resp.Close {
			c = ts.dial(t)
			br = bufio.NewReader(c)
		}
	}
}

// Shutdown finishes the response in flight — a large file to a slow
// reader — and then Serial returns.
func TestShutdownFinishesResponse(t *testing.T) {
	root := t.TempDir()
	big := bytes.Repeat([]byte("x"), 8<<20)
	os.WriteFile(filepath.Join(root, "big"), big, 0o644)
	ts := start(t, Config{Config: httpconn.Config{Dir: openDir(t, root)}})
	c := ts.dial(t)
	io.WriteString(c, get("/big"))
	br := bufio.NewReader(c)
	if _, err := br.Peek(1); err != nil { // the response has started
		t.Fatal(err)
	}
	stopped := make(chan error)
	go func() { stopped <- ts.stop() }()
	time.Sleep(100 * time.Millisecond)
	resp, body := readResp(t, br, "GET")
	if resp.StatusCode != 200 || len(body) != len(big) {
		t.Fatalf("in-flight response: %d, %d of %d bytes", resp.StatusCode, len(body), len(big))
	}
	expectClosed(t, br) // and no further request is read
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

// A client that sends its request and then shuts down its sending side
// (a half-close, as `nc -N` does) still gets its response.
func TestHalfClosedClient(t *testing.T) {
	ts := start(t, Config{})
	c := ts.dial(t)
	io.WriteString(c, get("/healthz"))
	c.(*net.TCPConn).CloseWrite()
	br := bufio.NewReader(c)
	resp, body := readResp(t, br, "GET")
	if resp.StatusCode != 200 || body != "ok\n" {
		t.Fatalf("half-closed client: %d %q", resp.StatusCode, body)
	}
	expectClosed(t, br)
}

// A client that asks for a big file and never reads is cut off at the
// write timeout; the next client is served right after.
func TestWriteTimeoutFreesServer(t *testing.T) {
	const wt = 500 * time.Millisecond
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "big"), make([]byte, 64<<20), 0o644)
	ts := start(t, Config{Config: httpconn.Config{Dir: openDir(t, root), WriteTimeout: wt}})
	stuck := ts.dial(t)
	io.WriteString(stuck, get("/big")) // and never read
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	next := ts.dial(t)
	io.WriteString(next, get("/healthz"))
	resp, _ := readResp(t, bufio.NewReader(next), "GET")
	if waited := time.Since(start); resp.StatusCode != 200 || waited > wt+2*time.Second {
		t.Errorf("next client: %d after %v; the stuck one should be cut off at %v", resp.StatusCode, waited, wt)
	}
	// The log, flushed once the server idles, tells how much the stuck
	// client got: less than the file.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(ts.log.String(), "/big") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	var sent int64
	for _, l := range strings.Split(ts.log.String(), "\n") {
		if strings.Contains(l, `"GET /big HTTP/1.1" 200 `) {
			fmt.Sscan(strings.Fields(l)[9], &sent)
		}
	}
	if sent <= 0 || sent >= 64<<20 {
		t.Errorf("stuck client logged with %d bytes sent; want some, not all:\n%s", sent, ts.log.String())
	}
}

// The first request's head is bounded from accept, not from its first byte:
// a client that waits before it starts trickling gains nothing.
func TestHeaderTimeoutFromAccept(t *testing.T) {
	const ht = 600 * time.Millisecond
	ts := start(t, Config{Config: httpconn.Config{HeaderTimeout: ht}})
	c := ts.dial(t)
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		time.Sleep(400 * time.Millisecond)
		for _, b := range []byte(get("/healthz")) {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
		}
	}()
	resp, _ := readResp(t, bufio.NewReader(c), "GET")
	if d := time.Since(start); resp.StatusCode != 408 || d > ht+300*time.Millisecond {
		t.Errorf("status %d after %v; want 408 at the header timeout (%v) after accept", resp.StatusCode, d, ht)
	}
}

// SIGTERM while one client idles on keep-alive and another is queued: the
// idle one is let go, the queued one is not accepted, Serial returns.
func TestShutdownStopsAccepting(t *testing.T) {
	ts := start(t, Config{Config: httpconn.Config{IdleTimeout: 10 * time.Second}})
	a := ts.dial(t)
	abr := bufio.NewReader(a)
	io.WriteString(a, get("/healthz"))
	readResp(t, abr, "GET")
	b := ts.dial(t) // queued behind a
	io.WriteString(b, get("/healthz"))
	time.Sleep(50 * time.Millisecond)
	if err := ts.stop(); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, abr)
	if resp, err := http.ReadResponse(bufio.NewReader(b), nil); err == nil {
		t.Errorf("queued client served during shutdown: %s", resp.Status)
	}
}

// Expect: 100-continue gets 100 Continue when the body will be read — and
// the body is read, and the next request framed right after it. A body too
// large to read gets no 100, but the final 413 and a close.
func TestExpect100(t *testing.T) {
	ts := start(t, Config{Config: httpconn.Config{MaxBody: 1000}})
	c := ts.dial(t)
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("interim response %q, %v", line, err)
	}
	if blank, _ := br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("after 100: %q", blank)
	}
	io.WriteString(c, "hello"+get("/nope"))
	if resp, _ := readResp(t, br, "GET"); resp.StatusCode != 200 {
		t.Fatalf("final response %d", resp.StatusCode)
	}
	if resp, _ := readResp(t, br, "GET"); resp.StatusCode != 404 {
		t.Fatalf("request after the body: %d", resp.StatusCode)
	}
	c.Close() // or it holds the serial server until its idle timeout

	c = ts.dial(t)
	br = bufio.NewReader(c)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n")
	resp, _ := readResp(t, br, "GET")
	if resp.StatusCode != 413 || !resp.Close {
		t.Fatalf("too large with Expect: %d close=%v, want 413 and close, no 100", resp.StatusCode, resp.Close)
	}
}

// Pipelined requests with chunked bodies between them keep their order.
func TestPipelinedChunked(t *testing.T) {
	ts := start(t, Config{})
	c := ts.dial(t)
	br := bufio.NewReader(c)
	chunked := "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
	io.WriteString(c, chunked+get("/a")+chunked+get("/healthz"))
	for i, want := range []int{200, 404, 200, 200} {
		if resp, _ := readResp(t, br, "GET"); resp.StatusCode != want {
			t.Fatalf("response %d: %d, want %d", i, resp.StatusCode, want)
		}
	}
}

// With a Story attached to the narration, the page shows the calls made
// for the visitor's own connection — the client's bytes escaped.
func TestPageStory(t *testing.T) {
	story := new(page.Story)
	sock.SetTrace(story, false)
	defer sock.SetTrace(nil, false)
	ts := start(t, Config{Config: httpconn.Config{Story: story}})
	time.Sleep(50 * time.Millisecond) // idle: the story starts with accept4 = EAGAIN
	c := ts.dial(t)
	// Within the 32 bytes a narrated read shows: hostile markup.
	io.WriteString(c, "GET / HTTP/1.1\r\nX:<b>&\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, body := readResp(t, bufio.NewReader(c), "GET")
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	i := strings.Index(body, `<ol class="trace">`)
	if i < 0 {
		t.Fatalf("no narration on the page")
	}
	trace := body[i:]
	trace = trace[:strings.Index(trace, "</ol>")]
	for _, want := range []string{"accept4(", "= -1 EAGAIN", "ppoll(", "SOCK_CLOEXEC|SOCK_NONBLOCK) = ", `read(`, `&#34;GET / HTTP/1.1\r\nX:&lt;b&gt;&amp;\r\n`} {
		if !strings.Contains(trace, want) {
			t.Errorf("narration on the page lacks %q:\n%s", want, trace)
		}
	}
	if strings.Contains(trace, "<b>") {
		t.Error("the client's bytes reached the page unescaped")
	}
}
