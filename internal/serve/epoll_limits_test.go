package serve_test

// The epoll model at its limits: out of descriptors (EMFILE), and at
// -max-conns.

import (
	"errors"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

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

// Out of descriptors: with RLIMIT_NOFILE lowered and every descriptor
// taken while a few connections are held open, a queued client cannot be
// accepted. The loop must back off, not spin on accept4 — the listener is
// edge-triggered, but a loop that retried at every wake-up, or kept the
// listener level-triggered, would — and must serve the queued client once
// one of its connections closes.
func TestEpollEMFILE(t *testing.T) { forEachLoop(t, testEpollEMFILE) }

func testEpollEMFILE(t *testing.T, m model) {
	// Narration from the start: turned off after the server has stopped
	// (cleanups run last-in, first-out), not while its loop is in
	// epoll_wait — SetTrace(nil) would wait a second for that call.
	trace := narrate(t)
	// A socket an earlier test dropped without closing is closed by its
	// finalizer when the garbage collector gets to it: that would free a
	// descriptor in the middle of this test. Let it happen now.
	// Finalizers run on a goroutine of their own, after the collection:
	// wait until the count of open descriptors has held still for a while
	// (on a busy machine 20 ms was sometimes not enough).
	runtime.GC()
	runtime.GC()
	for n, still, end := countFDs(t), 0, time.Now().Add(time.Second); still < 5 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
		if m := countFDs(t); m != n {
			n, still = m, 0
			runtime.GC()
		} else {
			still++
		}
	}
	// The limit is lowered before the server starts, with room for what
	// it and the test's clients need: an io_uring accept takes the limit
	// when it is armed, not when it accepts, and the uring model arms one
	// accept for its life.
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	low := old
	low.Cur = uint64(countFDs(t) + 96)
	if low.Cur >= old.Cur {
		t.Skipf("soft limit %d too low to lower", old.Cur)
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &old) })
	ts := m.start(t, settings{HeaderTimeout: 10 * time.Second})
	// The Go runtime's own poller (for net.Dial) is set up now, not when
	// there is no descriptor left for it.
	warm := ts.dial(t)
	if err := warm.expect(get("/healthz"), 200, "ok\n"); err != nil {
		t.Fatal(err)
	}
	warm.Close()

	// Raw clients: their sockets are made while descriptors are free, and
	// connect needs none.
	req, ok := []byte(get("/healthz")), []byte("\r\n\r\nok\n")
	held := make([]*rawClient, 3)
	for i := range held {
		held[i] = newRawClient(t, ts.addr)
		if err := held[i].connect(); err != nil {
			t.Fatal(err)
		}
		if err := held[i].roundTrip(req, ok); err != nil {
			t.Fatalf("held conn %d: %v", i, err)
		}
	}
	queued, queued2 := newRawClient(t, ts.addr), newRawClient(t, ts.addr)

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

	if err := queued.connect(); err != nil {
		t.Fatal(err)
	}
	if err := queued.send(req); err != nil {
		t.Fatal(err)
	}
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
	if n, _, err := unix.Recvfrom(queued.fd, b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT); err != unix.EAGAIN {
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
	held[0].close()
	if err := queued.readResponse(ok); err != nil {
		t.Fatalf("queued client after a held connection closed: %v", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("queued client served %v after a held connection closed", d)
	}
	// The others held are still served.
	for _, c := range held[1:] {
		if err := c.roundTrip(req, ok); err != nil {
			t.Errorf("held connection after the recovery: %v", err)
		}
	}

	// Out of descriptors again; this time they free up elsewhere, not in
	// the loop: its next retry, when the back-off passes, serves the client.
	topUp()
	_, emfile0, _ := trace.counts()
	if err := queued2.connect(); err != nil {
		t.Fatal(err)
	}
	if err := queued2.send(req); err != nil {
		t.Fatal(err)
	}
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
	if err := queued2.readResponse(ok); err != nil {
		t.Fatalf("queued client after descriptors freed elsewhere: %v", err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("queued client served %v after descriptors freed elsewhere; the back-off is at most 1s", d)
	}
}

// -max-conns 2: with two connections open, a third waits in the kernel's
// queue, unanswered, until one of the two closes; then it is served.
func TestEpollMaxConns(t *testing.T) { forEachLoop(t, testEpollMaxConns) }

func testEpollMaxConns(t *testing.T, m model) {
	ts := m.start(t, settings{MaxConns: 2, HeaderTimeout: 10 * time.Second})
	open := openKeptAlive(t, ts.addr, 2)
	if t.Failed() {
		return
	}
	third := ts.dial(t) // the kernel completes the handshake
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
