package serve

// The epoll model's own behaviour: what one thread serving many connections
// must get right that the serial model never faces — thousands of
// connections at once, clients that trickle or never read, running out of
// descriptors, draining on shutdown, spreading load over loops, limits. All
// of it over real loopback sockets, against startEpoll.
//
// Every wait here is bounded, in count and in time, and waits for a
// condition where there is one; the few fixed pauses prove a negative ("not
// served yet") or measure a rate ("few accept4 calls in 700 ms").

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
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/sock"
	"golang.org/x/sys/unix"
)

// client is a test client that may be used from any goroutine: it reports
// errors rather than failing the test.
type client struct {
	net.Conn
	br *bufio.Reader
}

func dialClient(addr string) (*client, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return &client{c, bufio.NewReaderSize(c, 1024)}, nil
}

// fetch sends req (none if empty) and reads one response to method.
func (c *client) fetch(req, method string) (*http.Response, string, error) {
	if req != "" {
		if _, err := io.WriteString(c, req); err != nil {
			return nil, "", err
		}
	}
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		return nil, "", err
	}
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// expect sends req (a GET) and checks the response's status and body.
func (c *client) expect(req string, status int, body string) error {
	resp, got, err := c.fetch(req, "GET")
	if err != nil {
		return fmt.Errorf("%.30q: %w", req, err)
	}
	if resp.StatusCode != status || got != body {
		return fmt.Errorf("%.30q: %d %.40q, want %d %.40q", req, resp.StatusCode, got, status, body)
	}
	return nil
}

// closed reports nil if the server has closed the connection: EOF (or a
// reset) with no byte before it.
func (c *client) closed() error {
	b, err := c.br.ReadByte()
	if err == nil {
		return fmt.Errorf("want EOF, got byte %q", b)
	}
	if err == io.EOF || errors.Is(err, syscall.ECONNRESET) {
		return nil
	}
	return err
}

// countFDs counts this process's open descriptors.
func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// needFDs makes room for n more descriptors (both ends of every loopback
// connection are ours): it raises RLIMIT_NOFILE's soft limit to the hard
// one if it must, and skips the test if even that is too low.
func needFDs(t *testing.T, n int) {
	t.Helper()
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	need := uint64(countFDs(t) + n)
	if lim.Cur >= need {
		return
	}
	if lim.Max < need {
		t.Skipf("needs %d descriptors; RLIMIT_NOFILE hard limit is %d (raise it with ulimit -Hn)", need, lim.Max)
	}
	old := lim
	lim.Cur = lim.Max
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("cannot raise RLIMIT_NOFILE to %d: %v", lim.Max, err)
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &old) })
}

// fileTree writes n small files, /f000 to /f(n-1), whose contents name
// them, and returns the root and the contents by path.
func fileTree(t *testing.T, n int) (string, map[string]string) {
	t.Helper()
	root := t.TempDir()
	files := make(map[string]string, n)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("f%03d", i)
		body := strings.Repeat(name+"\n", 1+i%7)
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		files["/"+name] = body
	}
	return root, files
}

// sparseFile makes a file of size bytes (zeros) that takes no disk space.
func sparseFile(t *testing.T, root, name string, size int64) {
	t.Helper()
	f, err := os.Create(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

// gather waits for n goroutines' errors and reports the first few.
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

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
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

// traceLines counts lines of the sock narration, for the tests that
// count system calls, and notes when the server closes a connection.
type traceLines struct {
	mu      sync.Mutex
	accepts int               // accept4 calls
	emfile  int               // of them, those that said EMFILE
	byFD    map[int]int       // accept4 calls that returned a connection, by listener fd
	peerOf  map[int]int       // the client port of each connection open, by fd
	closed  map[int]time.Time // when the server closed its connection, by client port
}

func (w *traceLines) Write(p []byte) (int, error) {
	isAccept, isClose := bytes.HasPrefix(p, []byte("accept4(")), bytes.HasPrefix(p, []byte("close("))
	if !isAccept && !isClose {
		return len(p), nil
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	line := strings.TrimSpace(string(p))
	i := strings.LastIndex(line, " = ")
	if i < 0 {
		return len(p), nil
	}
	ret := line[i+3:]
	if isClose {
		fd, err := strconv.Atoi(between(line, "close(", ")"))
		if port, ok := w.peerOf[fd]; ok && err == nil {
			delete(w.peerOf, fd)
			w.closed[port] = now
		}
		return len(p), nil
	}
	w.accepts++
	switch {
	case strings.HasPrefix(ret, "-1 EMFILE"):
		w.emfile++
	case !strings.HasPrefix(ret, "-1"):
		if lfd, err := strconv.Atoi(between(line, "accept4(", ",")); err == nil {
			w.byFD[lfd]++
		}
		fd, err1 := strconv.Atoi(ret)
		port, err2 := strconv.Atoi(between(line, "sin_port=htons(", ")"))
		if err1 == nil && err2 == nil {
			w.peerOf[fd] = port
		}
	}
	return len(p), nil
}

// between is what s has between the first start and the next end after
// it; "" if it has not.
func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	in, _, ok := strings.Cut(rest, end)
	if !ok {
		return ""
	}
	return in
}

func (w *traceLines) counts() (accepts, emfile int, byFD map[int]int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	byFD = make(map[int]int, len(w.byFD))
	for k, v := range w.byFD {
		byFD[k] = v
	}
	return w.accepts, w.emfile, byFD
}

// closedAt tells when the server closed the connection from client port
// port, waiting for it until the deadline.
func (w *traceLines) closedAt(port int, deadline time.Time) (time.Time, bool) {
	for {
		w.mu.Lock()
		at, ok := w.closed[port]
		w.mu.Unlock()
		if ok || time.Now().After(deadline) {
			return at, ok
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// narrate turns the sock narration on into a traceLines until the test
// ends. The narration is process-wide: the tests in this package do not run
// in parallel, and the other tests' servers have stopped.
func narrate(t *testing.T) *traceLines {
	w := &traceLines{byFD: map[int]int{}, peerOf: map[int]int{}, closed: map[int]time.Time{}}
	sock.SetTrace(w, false)
	t.Cleanup(func() { sock.SetTrace(nil, false) })
	return w
}

// 1,000 clients connected at once, each making three requests on its
// kept-alive connection — files whose contents name them, and /healthz —
// all answered right.
func TestEpollThousandConns(t *testing.T) {
	const n = 1000
	needFDs(t, 2*n+100)
	root, files := fileTree(t, 64)
	ts := startEpoll(t, Config{Config: httpconn.Config{Dir: openDir(t, root), HeaderTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}}, 1)

	var dialed sync.WaitGroup
	dialed.Add(n)
	go1 := make(chan struct{})
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			c, err := dialClient(ts.addr)
			dialed.Done()
			if err != nil {
				errs <- fmt.Errorf("conn %d: %w", i, err)
				return
			}
			defer c.Close()
			<-go1 // all connected: every request finds 999 other connections open
			a, b := fmt.Sprintf("/f%03d", i%64), fmt.Sprintf("/f%03d", (i*7+3)%64)
			for j, tc := range []struct{ path, body string }{
				{a + "?conn=" + strconv.Itoa(i), files[a]},
				{"/healthz?conn=" + strconv.Itoa(i), "ok\n"},
				{b, files[b]},
			} {
				resp, body, err := c.fetch(get(tc.path), "GET")
				switch {
				case err != nil:
					err = fmt.Errorf("conn %d, request %d (%s): %w", i, j, tc.path, err)
				case resp.StatusCode != 200 || body != tc.body || resp.Close:
					err = fmt.Errorf("conn %d, request %d (%s): %d %q close=%v, want 200 %q", i, j, tc.path, resp.StatusCode, body, resp.Close, tc.body)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	dialed.Wait()
	close(go1)
	gather(t, "keep-alive client", errs, n)
}

// 5,000 idle kept-alive connections cost the loop nothing it must wait
// for: a new client is answered at once, and the idle ones are still
// there afterwards.
func TestEpollIdleConnsDoNotBlock(t *testing.T) {
	const n = 5000
	needFDs(t, 2*n+100)
	ts := startEpoll(t, Config{Config: httpconn.Config{HeaderTimeout: 10 * time.Second}}, 1)

	conns := openKeptAlive(t, ts.addr, n)
	if t.Failed() {
		return
	}

	// New clients, one after another, while 5,000 others idle.
	const prompt = 2 * time.Second // loosely: it takes milliseconds; waiting on an idle connection would take a minute
	var worst time.Duration
	for k := 0; k < 5; k++ {
		t0 := time.Now()
		c, err := dialClient(ts.addr)
		if err != nil {
			t.Fatal(err)
		}
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
		r.closed = c.closed()
	}
	return r
}

// Slowloris: clients sending a header byte every 100 ms — twenty on new
// connections, five on kept-alive ones — are each answered 408 and cut off
// at the header timeout (from accept for a first request, from the first
// byte for a later one); others are served all the while.
func TestEpollSlowloris(t *testing.T) {
	const ht = time.Second
	const fresh, kept = 20, 5
	root, files := fileTree(t, 1)
	ts := startEpoll(t, Config{Config: httpconn.Config{Dir: openDir(t, root), HeaderTimeout: ht, WriteTimeout: time.Second}}, 1)

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
func TestEpollWriteTimeout(t *testing.T) {
	const wt = time.Second
	const size = 64 << 20
	root, files := fileTree(t, 1)
	sparseFile(t, root, "big", size)
	trace := narrate(t)
	ts := startEpoll(t, Config{Config: httpconn.Config{Dir: openDir(t, root), WriteTimeout: wt, HeaderTimeout: 5 * time.Second}}, 1)

	stuck, err := dialClient(ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
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

// Pipelined requests on many connections at once come back in order on
// each: files (sent with sendfile, one of them larger than a socket
// buffer), in-memory answers and a 404, then the close the last asked for.
func TestEpollPipelinedManyConns(t *testing.T) {
	const conns, depth = 200, 16
	needFDs(t, 2*conns+100)
	root, files := fileTree(t, 64)
	big := bytes.Repeat([]byte("0123456789abcdef"), 16<<10) // 256 KiB
	if err := os.WriteFile(filepath.Join(root, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	files["/big"] = string(big)
	ts := startEpoll(t, Config{Config: httpconn.Config{Dir: openDir(t, root), HeaderTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}}, 1)

	type want struct {
		path   string
		status int
		body   string
	}
	errs := make(chan error, conns)
	var dialed sync.WaitGroup
	dialed.Add(conns)
	go1 := make(chan struct{})
	for i := 0; i < conns; i++ {
		go func() {
			c, err := dialClient(ts.addr)
			dialed.Done()
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
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
			<-go1
			if _, err := io.WriteString(c, reqs.String()); err != nil { // all 16 in one write
				errs <- fmt.Errorf("conn %d: %w", i, err)
				return
			}
			for j, w := range wants {
				resp, body, err := c.fetch("", "GET")
				if err != nil {
					errs <- fmt.Errorf("conn %d, response %d (%s): %w", i, j, w.path, err)
					return
				}
				if resp.StatusCode != w.status || body != w.body {
					errs <- fmt.Errorf("conn %d, response %d: %d %.40q (%d bytes), want %s: %d %.40q (%d bytes)",
						i, j, resp.StatusCode, body, len(body), w.path, w.status, w.body, len(w.body))
					return
				}
				if resp.Close != (j == depth-1) {
					errs <- fmt.Errorf("conn %d, response %d: close=%v", i, j, resp.Close)
					return
				}
			}
			if err := c.closed(); err != nil {
				errs <- fmt.Errorf("conn %d after the last response: %w", i, err)
				return
			}
			errs <- nil
		}()
	}
	dialed.Wait()
	close(go1)
	gather(t, "pipelining client", errs, conns)
}

// Out of descriptors: with RLIMIT_NOFILE lowered and every descriptor
// taken while a few connections are held open, a queued client cannot be
// accepted. The loop must back off, not spin on accept4 — the listener is
// edge-triggered, but a loop that retried at every wake-up, or kept the
// listener level-triggered, would — and must serve the queued client once
// one of its connections closes.
func TestEpollEMFILE(t *testing.T) {
	// Narration from the start: turned off after the server has stopped
	// (cleanups run last-in, first-out), not while its loop is in
	// epoll_wait — SetTrace(nil) would wait a second for that call.
	trace := narrate(t)
	ts := startEpoll(t, Config{Config: httpconn.Config{HeaderTimeout: 10 * time.Second}}, 1)
	// The Go runtime's own poller (for net.Dial) is set up now, not when
	// there is no descriptor left for it.
	warm, err := dialClient(ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := warm.expect(get("/healthz"), 200, "ok\n"); err != nil {
		t.Fatal(err)
	}
	warm.Close()

	a, _ := sock.ParseAddr(ts.addr)
	sa := a.Sockaddr()
	// rawConn is a blocking client socket with bounded reads and writes:
	// it needs no help from the Go runtime once made.
	// Each is closed once: a second close could close a descriptor the
	// server has been given the number of since.
	var raws []int
	t.Cleanup(func() {
		for _, fd := range raws {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	})
	rawConn := func() int {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, fd)
		tv := unix.Timeval{Sec: 10}
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
		return fd
	}
	// Blocking calls on these sockets may be interrupted by the signals
	// the Go runtime sends its threads (EINTR): retried, boundedly.
	connect := func(fd int) {
		t.Helper()
		err := unix.Connect(fd, sa)
		for tries := 0; err == unix.EINTR || err == unix.EALREADY; tries++ {
			if tries > 1000 {
				t.Fatalf("connect: %v", err)
			}
			time.Sleep(time.Millisecond)
			err = unix.Connect(fd, sa) // EISCONN once the first call's handshake is done
		}
		if err != nil && err != unix.EISCONN {
			t.Fatalf("connect: %v", err)
		}
	}
	send := func(fd int, p []byte) {
		t.Helper()
		for tries := 0; len(p) > 0; tries++ {
			n, err := unix.Write(fd, p)
			if err == unix.EINTR && tries < 1000 {
				continue
			}
			if err != nil {
				t.Fatalf("write: %v", err)
			}
			p = p[n:]
		}
	}
	closeRaw := func(fd int) {
		for i, r := range raws {
			if r == fd {
				unix.Close(fd)
				raws[i] = -1
			}
		}
	}
	req := []byte(get("/healthz"))
	readOK := func(fd int) error {
		buf := make([]byte, 4096)
		n := 0
		for !bytes.HasSuffix(buf[:n], []byte("\r\n\r\nok\n")) {
			m, err := unix.Read(fd, buf[n:])
			if err == unix.EINTR {
				continue
			}
			if err != nil || m <= 0 {
				return fmt.Errorf("read: %d, %v after %q", m, err, buf[:n])
			}
			n += m
		}
		if !bytes.HasPrefix(buf, []byte("HTTP/1.1 200 ")) {
			return fmt.Errorf("response %q", buf[:n])
		}
		return nil
	}
	held := make([]int, 3)
	for i := range held {
		held[i] = rawConn()
		connect(held[i])
		send(held[i], req)
		if err := readOK(held[i]); err != nil {
			t.Fatalf("held conn %d: %v", i, err)
		}
	}
	// The queued clients' descriptors must exist before the table is
	// full; connect needs none.
	queued, queued2 := rawConn(), rawConn()

	// A socket an earlier test dropped without closing is closed by its
	// finalizer when the garbage collector gets to it: that would free a
	// descriptor in the middle of this test. Let it happen now.
	runtime.GC()
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	low := old
	low.Cur = uint64(countFDs(t) + 64)
	if low.Cur >= old.Cur {
		t.Skipf("soft limit %d too low to lower", old.Cur)
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &old) })
	var fill []int
	t.Cleanup(func() {
		for _, fd := range fill {
			unix.Close(fd)
		}
	})
	// topUp takes every descriptor that is free, so that none is left for
	// the server's accept4.
	topUp := func() {
		for len(fill) < 1<<17 {
			fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err == unix.EMFILE {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fill = append(fill, fd)
		}
	}
	topUp()

	connect(queued)
	send(queued, req)
	// The loop tries, and finds no descriptor.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, emfile, _ := trace.counts(); emfile > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no accept4 = EMFILE 5s after a client queued with no descriptor free")
		}
	}
	before, _, _ := trace.counts()
	const held700 = 700 * time.Millisecond
	// Meanwhile, any descriptor the rest of the process frees (the Go
	// runtime, a late finalizer) is taken back at once.
	filled := len(fill)
	for end := time.Now().Add(held700); time.Now().Before(end); time.Sleep(time.Millisecond) {
		topUp()
	}
	stray := len(fill) - filled // descriptors freed meanwhile by someone else
	after, emfile, _ := trace.counts()
	calls := after - before
	// Backing off 5, 10, 20 … ms, 700 ms of EMFILE take about 8 calls; a
	// spinning loop would make hundreds of thousands.
	t.Logf("%d accept4 calls in %v out of descriptors (%d EMFILE in all)", calls, held700, emfile)
	if calls >= 30 {
		t.Errorf("%d accept4 calls in %v of EMFILE: the loop spins", calls, held700)
	}
	if calls < 2 {
		t.Errorf("%d accept4 calls in %v of EMFILE: want a few retries as the back-off passes", calls, held700)
	}
	var b [64]byte
	if n, _, err := unix.Recvfrom(queued, b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT); err != unix.EAGAIN {
		if stray == 0 {
			t.Fatalf("queued client before any descriptor freed: %d bytes %q, %v; want nothing yet", n, b[:max(n, 0)], err)
		}
		// The process freed a descriptor of its own and the loop's retry
		// took it before the test could: that is the back-off working.
		t.Logf("%d descriptors were freed elsewhere meanwhile, and the queued client was served", stray)
	}

	// One held connection closes: its descriptor on the server's side
	// frees, and the queued client is served.
	t0 := time.Now()
	closeRaw(held[0])
	if err := readOK(queued); err != nil {
		t.Fatalf("queued client after a held connection closed: %v", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("queued client served %v after a held connection closed", d)
	}
	// The others held are still served.
	for _, fd := range held[1:] {
		send(fd, req)
		if err := readOK(fd); err != nil {
			t.Errorf("held connection after the recovery: %v", err)
		}
	}

	// Out of descriptors again; this time they free up elsewhere, not in
	// the loop: its next retry, when the back-off passes, serves the client.
	topUp()
	_, emfile0, _ := trace.counts()
	connect(queued2)
	send(queued2, req)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, emfile, _ := trace.counts(); emfile > emfile0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no accept4 = EMFILE 5s after a second client queued with no descriptor free")
		}
	}
	t0 = time.Now()
	for _, fd := range fill[len(fill)-4:] {
		unix.Close(fd)
	}
	fill = fill[:len(fill)-4]
	if err := readOK(queued2); err != nil {
		t.Fatalf("queued client after descriptors freed elsewhere: %v", err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("queued client served %v after descriptors freed elsewhere; the back-off is at most 1s", d)
	}
}

// Shutdown (what SIGTERM does: the Waker fires) drains: idle kept-alive
// connections are closed at once, nothing new is accepted, a response in
// flight to a slow reader is finished, and then Epoll returns nil.
func TestEpollShutdownDrains(t *testing.T) {
	const size = 32 << 20 // more than the socket buffers hold: in flight at the Wake
	root := t.TempDir()
	sparseFile(t, root, "big", size)
	ts := startEpoll(t, Config{Config: httpconn.Config{Dir: openDir(t, root), WriteTimeout: 20 * time.Second}, Grace: 10 * time.Second}, 1)

	var idle []*client
	for i := 0; i < 3; i++ {
		c, err := dialClient(ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.expect(get("/healthz"), 200, "ok\n"); err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	slow, err := dialClient(ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	io.WriteString(slow, get("/big"))
	if _, err := slow.br.Peek(1); err != nil { // the response has started
		t.Fatal(err)
	}

	t0 := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- ts.stop() }()
	for i, c := range idle {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := c.closed(); err != nil {
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
	if err := slow.closed(); err != nil {
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
func TestEpollShutdownGrace(t *testing.T) {
	const grace = 300 * time.Millisecond
	const size = 64 << 20
	root := t.TempDir()
	sparseFile(t, root, "big", size)
	ts := startEpoll(t, Config{Config: httpconn.Config{Dir: openDir(t, root), WriteTimeout: 30 * time.Second}, Grace: grace}, 1)
	c, err := dialClient(ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, get("/big"))
	if _, err := c.br.Peek(1); err != nil { // the response has started; no more is read
		t.Fatal(err)
	}
	t0 := time.Now()
	err = ts.stop()
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

// -loops 2: two loops, each with its own SO_REUSEPORT listener; the
// kernel spreads 200 connections over both. The narration names the
// listener each accept4 was made on.
func TestEpollLoopsSpread(t *testing.T) {
	const n = 200
	needFDs(t, 2*n+100)
	trace := narrate(t)
	ts := startEpoll(t, Config{Config: httpconn.Config{HeaderTimeout: 10 * time.Second}}, 2)
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
		if err := c.closed(); err != nil {
			t.Fatalf("idle conn %d after shutdown: %v", i, err)
		}
	}
}

// Half-close: a client that pipelines two requests and shuts down its
// sending side gets both responses — one of them larger than the socket
// buffers, so it is still being sent when the EOF has been seen — then EOF.
func TestEpollHalfClose(t *testing.T) {
	root, files := fileTree(t, 2)
	big := bytes.Repeat([]byte("half-close "), 200<<10) // 2.2 MB
	if err := os.WriteFile(filepath.Join(root, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	files["/big"] = string(big)
	files["/healthz"] = "ok\n"
	ts := startEpoll(t, Config{Config: httpconn.Config{Dir: openDir(t, root)}}, 1)
	for _, pair := range [][2]string{
		{"/f000", "/f001"},
		{"/healthz", "/big"},
		{"/big", "/f001"},
		{"/healthz", "/healthz"},
	} {
		c, err := dialClient(ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, get(pair[0])+get(pair[1]))
		c.Conn.(*net.TCPConn).CloseWrite()
		for i, p := range pair {
			if err := c.expect("", 200, files[p]); err != nil {
				t.Fatalf("%v: response %d: %v", pair, i, err)
			}
		}
		if err := c.closed(); err != nil {
			t.Errorf("%v after both responses: %v", pair, err)
		}
		c.Close()
	}
}

// -max-conns 2: with two connections open, a third waits in the kernel's
// queue, unanswered, until one of the two closes; then it is served.
func TestEpollMaxConns(t *testing.T) {
	ts := startEpoll(t, Config{Config: httpconn.Config{HeaderTimeout: 10 * time.Second}, MaxConns: 2}, 1)
	var open []*client
	for i := 0; i < 2; i++ {
		c, err := dialClient(ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.expect(get("/healthz"), 200, "ok\n"); err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	third, err := dialClient(ts.addr) // the kernel completes the handshake
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if _, err := io.WriteString(third, get("/healthz")); err != nil {
		t.Fatal(err)
	}
	third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var b [1]byte
	if n, err := third.Conn.Read(b[:]); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("third connection while two are open: %d bytes, %v; want nothing yet", n, err)
	}
	t0 := time.Now()
	open[0].Close()
	third.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := third.expect("", 200, "ok\n"); err != nil {
		t.Fatalf("third connection after one closed: %v", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("third connection served %v after one closed", d)
	}
	if err := open[1].expect(get("/healthz"), 200, "ok\n"); err != nil {
		t.Errorf("the connection left open: %v", err)
	}
}

// The access log tells of a response cut short — by the write timeout, or
// by the end of the grace period at shutdown — with its status and the
// bytes sent, some but not all, as the serial model's does
// (TestWriteTimeoutFreesServer).
func TestEpollCutOffLogged(t *testing.T) {
	const size = 64 << 20
	for _, tc := range []struct {
		name string
		cfg  Config
		stop bool // cut off by the shutdown's grace period
	}{
		{"WriteTimeout", Config{Config: httpconn.Config{WriteTimeout: 500 * time.Millisecond}}, false},
		{"GraceEnd", Config{Config: httpconn.Config{WriteTimeout: 30 * time.Second}, Grace: 300 * time.Millisecond}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			sparseFile(t, root, "big", size)
			trace := narrate(t)
			tc.cfg.Dir = openDir(t, root)
			ts := startEpoll(t, tc.cfg, 1)
			stuck, err := dialClient(ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer stuck.Close()
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
			var sent int64 = -1
			for _, l := range strings.Split(ts.log.String(), "\n") {
				if f := strings.Fields(l); strings.Contains(l, `"GET /big HTTP/1.1" 200 `) && len(f) > 9 {
					sent, _ = strconv.ParseInt(f[9], 10, 64)
				}
			}
			if sent <= 0 || sent >= size {
				t.Errorf("the client cut off is logged with %d bytes sent (-1: not logged at all); want some, not all. Access log:\n%s", sent, ts.log.String())
			}
		})
	}
}
