package sock

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listenLoopback opens a listener on a random loopback port.
func listenLoopback(t *testing.T, host string, p *Poller) *Listener {
	t.Helper()
	a, err := ParseAddr(host + ":0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := Listen(a, 0, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func dialer(t *testing.T, l *Listener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The post claims the accepted socket is "bound to a different port". It is
// not: with no client waiting, accept4 on the nonblocking listener says
// EAGAIN; after a connect it returns a socket whose local port is the
// listener's own. The kernel tells connections apart by the 4-tuple.
func TestAcceptEAGAINThenSamePort(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "[::1]"} {
		t.Run(host, func(t *testing.T) {
			l := listenLoopback(t, host, &Poller{})
			if _, _, err := unix.Accept4(l.fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC); err != unix.EAGAIN {
				t.Fatalf("accept4 with no client: err = %v, want EAGAIN", err)
			}

			done := make(chan *Conn)
			go func() {
				c, err := l.Accept()
				if err != nil {
					t.Error(err)
				}
				done <- c
			}()
			time.Sleep(50 * time.Millisecond) // let Accept reach its wait
			client := dialer(t, l)
			c := <-done
			if c == nil {
				return
			}
			defer c.Abort()
			if c.Accept.EAGAINs < 1 || c.Accept.Waits < 1 || c.Accept.Calls != c.Accept.EAGAINs+1 {
				t.Errorf("accept story %+v: want EAGAIN, wait, then success", c.Accept)
			}
			sa, err := unix.Getsockname(c.fd)
			if err != nil {
				t.Fatal(err)
			}
			if local := AddrFromSockaddr(sa); local.Port != l.Addr().Port {
				t.Errorf("accepted socket's local port = %d, listener's = %d", local.Port, l.Addr().Port)
			}
			_, cport, _ := net.SplitHostPort(client.LocalAddr().String())
			if strconv.Itoa(c.Peer.Port) != cport {
				t.Errorf("peer port %d, client's local port %s", c.Peer.Port, cport)
			}
		})
	}
}

// A wildcard address is one dual-stack socket: IPv4 clients arrive as
// IPv4-mapped IPv6 addresses.
func TestDualStack(t *testing.T) {
	l := listenLoopback(t, "", &Poller{})
	if !l.Addr().Is6 {
		t.Skip("no IPv6 in this kernel: Listen fell back to IPv4")
	}
	v6only, err := unix.GetsockoptInt(l.fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
	if err != nil || v6only != 0 {
		t.Fatalf("IPV6_V6ONLY = %d, %v; want 0", v6only, err)
	}
	port := strconv.Itoa(l.Addr().Port)
	for _, host := range []string{"127.0.0.1", "::1"} {
		client, err := net.Dial("tcp", net.JoinHostPort(host, port))
		if err != nil {
			t.Fatalf("dial %s: %v", host, err)
		}
		l.Deadline = time.Now().Add(5 * time.Second)
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"127.0.0.1": "::ffff:127.0.0.1", "::1": "::1"}[host]
		if got := c.Peer.IPString(); got != want {
			t.Errorf("peer %q, want %q", got, want)
		}
		c.Abort()
		client.Close()
	}
}

// Every socket is born nonblocking and close-on-exec, and the listener
// has SO_REUSEADDR.
func TestSocketFlags(t *testing.T) {
	l := listenLoopback(t, "127.0.0.1", &Poller{})
	dialer(t, l)
	l.Deadline = time.Now().Add(5 * time.Second)
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Abort()
	for name, fd := range map[string]int{"listener": l.fd, "accepted": c.fd} {
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil || fl&unix.O_NONBLOCK == 0 {
			t.Errorf("%s: O_NONBLOCK not set (flags %#x, %v)", name, fl, err)
		}
		fdfl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || fdfl&unix.FD_CLOEXEC == 0 {
			t.Errorf("%s: FD_CLOEXEC not set (%#x, %v)", name, fdfl, err)
		}
	}
	if v, err := unix.GetsockoptInt(l.fd, unix.SOL_SOCKET, unix.SO_REUSEADDR); err != nil || v != 1 {
		t.Errorf("SO_REUSEADDR = %d, %v", v, err)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// A port in use fails at bind, says so in the syscall's own words, and
// leaves no descriptor behind.
func TestBindInUse(t *testing.T) {
	l := listenLoopback(t, "127.0.0.1", &Poller{})
	before := openFDs(t)
	_, err := Listen(l.Addr(), 0, &Poller{})
	if err == nil || !errors.Is(err, unix.EADDRINUSE) || !strings.HasPrefix(err.Error(), "bind: address already in use") {
		t.Fatalf("second Listen: %v; want bind: address already in use", err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("open fds %d before, %d after the failed Listen", before, after)
	}
}

func TestDefaultBacklog(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		t.Skip(err)
	}
	if want, _ := strconv.Atoi(strings.TrimSpace(string(b))); DefaultBacklog() != want {
		t.Errorf("DefaultBacklog() = %d, somaxconn = %d", DefaultBacklog(), want)
	}
}

// ECONNABORTED (a client that reset while queued) and EINTR are retried;
// the kernel will not produce them on demand, so the hook injects them.
func TestAcceptRetries(t *testing.T) {
	l := listenLoopback(t, "127.0.0.1", &Poller{})
	dialer(t, l)
	errs := []error{unix.ECONNABORTED, unix.EINTR, unix.EPROTO}
	accept4Func = func(fd, flags int) (int, Addr, error) {
		if len(errs) > 0 {
			err := errs[0]
			errs = errs[1:]
			return -1, Addr{}, err
		}
		return sysAccept4(fd, flags)
	}
	defer func() { accept4Func = sysAccept4 }()
	l.Deadline = time.Now().Add(5 * time.Second)
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.Abort()
	if c.Accept.Calls < 4 {
		t.Errorf("calls = %d, want the 3 injected errors retried", c.Accept.Calls)
	}

	accept4Func = func(int, int) (int, Addr, error) { return -1, Addr{}, unix.EBADF }
	if _, err := l.Accept(); !errors.Is(err, unix.EBADF) || !strings.HasPrefix(err.Error(), "accept4: ") {
		t.Errorf("EBADF: got %v, want an accept4 error", err)
	}
}

// ppoll interrupted by a signal handler (EINTR) is simply called again.
func TestPollEINTR(t *testing.T) {
	l := listenLoopback(t, "127.0.0.1", &Poller{})
	var eintrs atomic.Int32
	ppollFunc = func(fds []unix.PollFd, ts *unix.Timespec, m *unix.Sigset_t) (int, error) {
		if eintrs.Add(1) <= 2 {
			return -1, unix.EINTR
		}
		return sysPpoll(fds, ts, m)
	}
	defer func() { ppollFunc = sysPpoll }()
	go func() {
		time.Sleep(50 * time.Millisecond)
		net.Dial("tcp", l.Addr().String())
	}()
	l.Deadline = time.Now().Add(5 * time.Second)
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.Abort()
	if eintrs.Load() < 3 {
		t.Errorf("ppoll called %d times, want the EINTRs retried", eintrs.Load())
	}
}

// Out of descriptors, for real: with RLIMIT_NOFILE lowered in-process (the
// Go runtime raised the soft limit at start-up) and every fd taken, a
// queued connection cannot be accepted. Accept must back off — not spin, not
// give up — and serve the client once descriptors free up.
func TestAcceptEMFILE(t *testing.T) {
	l := listenLoopback(t, "127.0.0.1", &Poller{})
	var backoffs atomic.Int32
	l.OnBackoff = func(err error, d time.Duration) {
		if !errors.Is(err, unix.EMFILE) {
			t.Errorf("back-off for %v, want EMFILE", err)
		}
		backoffs.Add(1)
	}
	// The client's fd must exist before the table is full; connect needs none.
	cfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cfd)

	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	low := old
	low.Cur = uint64(openFDs(t) + 64)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	defer unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
	var fill []int
	defer func() {
		for _, fd := range fill {
			unix.Close(fd)
		}
	}()
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == unix.EMFILE {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fill = append(fill, fd)
	}
	if err := unix.Connect(cfd, l.Addr().Sockaddr()); err != nil {
		t.Fatal(err)
	}

	type result struct {
		c   *Conn
		err error
	}
	done := make(chan result)
	l.Deadline = time.Now().Add(10 * time.Second)
	go func() {
		c, err := l.Accept()
		done <- result{c, err}
	}()
	const held = 700 * time.Millisecond
	time.Sleep(held)
	for _, fd := range fill[len(fill)-4:] {
		unix.Close(fd)
	}
	fill = fill[:len(fill)-4]
	r := <-done
	if r.err != nil {
		t.Fatalf("Accept after fds freed: %v", r.err)
	}
	defer r.c.Abort()
	// Backing off 5, 10, 20 … ms, 700 ms of EMFILE take about 8 calls. A
	// spinning loop would have made hundreds of thousands.
	if r.c.Accept.Calls > 15 || backoffs.Load() < 4 {
		t.Errorf("%d accept4 calls and %d back-offs in %v of EMFILE: want a few of each", r.c.Accept.Calls, backoffs.Load(), held)
	}
	// The connection that waited in the queue is the one served.
	if _, err := unix.Write(cfd, []byte("x")); err != nil {
		t.Fatal(err)
	}
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 1)
	if n, err := r.c.Read(b); n != 1 || err != nil {
		t.Errorf("read from the accepted client: %d, %v", n, err)
	}
}

// The Waker ends a wait in ppoll at once: SIGTERM must not have to wait for
// the next client.
func TestAcceptShutdown(t *testing.T) {
	w, err := NewWaker()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	l := listenLoopback(t, "127.0.0.1", &Poller{Waker: w})
	go func() {
		time.Sleep(50 * time.Millisecond)
		w.Wake()
	}()
	start := time.Now()
	if _, err := l.Accept(); err != ErrShutdown {
		t.Fatalf("Accept: %v, want ErrShutdown", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("woke after %v", d)
	}
}

// Spin retries accept4 at once instead of sleeping: many calls, all EAGAIN.
func TestSpinStrategy(t *testing.T) {
	l := listenLoopback(t, "127.0.0.1", &Poller{Strategy: Spin})
	l.Deadline = time.Now().Add(50 * time.Millisecond)
	if _, err := l.Accept(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Accept: %v, want a timeout", err)
	}
	if l.calls < 100 {
		t.Errorf("spin made %d accept4 calls in 50ms; want it to spin", l.calls)
	}
	dialer(t, l)
	l.Deadline = time.Now().Add(5 * time.Second)
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.Abort()
}

func TestParseStrategy(t *testing.T) {
	for in, want := range map[string]Strategy{"poll": Poll, "spin": Spin} {
		if got, err := ParseStrategy(in); err != nil || got != want || got.String() != in {
			t.Errorf("ParseStrategy(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseStrategy("epoll"); err == nil {
		t.Error("ParseStrategy(epoll) succeeded")
	}
}

// Once shutting down, Accept stops taking connections — even ones that are
// already queued.
func TestAcceptShutdownQueued(t *testing.T) {
	w, err := NewWaker()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	l := listenLoopback(t, "127.0.0.1", &Poller{Waker: w})
	dialer(t, l) // queued: the handshake is complete
	w.Wake()
	if c, err := l.Accept(); err != ErrShutdown {
		if c != nil {
			c.Abort()
		}
		t.Fatalf("Accept with a queued client after Wake: %v, want ErrShutdown", err)
	}
}

type fakeFlusher struct {
	since   time.Time
	flushes int
}

func (f *fakeFlusher) Pending() time.Time { return f.since }
func (f *fakeFlusher) Flush()             { f.flushes++; f.since = time.Time{} }

// Spinning never sleeps, so the Flusher is flushed only once its work is IdleDelay
// old — not at every EAGAIN, which would undo the access log's batching.
func TestSpinFlusher(t *testing.T) {
	flusher := &fakeFlusher{since: time.Now()}
	p := &Poller{Strategy: Spin, Flusher: flusher}
	for i := 0; i < 100; i++ {
		p.wait(0, unix.POLLIN, time.Time{}, true)
	}
	if flusher.flushes != 0 {
		t.Fatalf("fresh work flushed %d times while spinning", flusher.flushes)
	}
	flusher.since = time.Now().Add(-2 * IdleDelay)
	p.wait(0, unix.POLLIN, time.Time{}, true)
	if flusher.flushes != 1 {
		t.Fatalf("old work: %d flushes, want 1", flusher.flushes)
	}
}

// With Poll, a wait that lasts IdleDelay flushes the Flusher, then goes on
// waiting until the deadline.
func TestPollFlusher(t *testing.T) {
	flusher := &fakeFlusher{since: time.Now()}
	c, _ := pair(t, &Poller{Flusher: flusher})
	c.SetReadDeadline(time.Now().Add(IdleDelay + 150*time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); err != ErrTimeout {
		t.Fatalf("Read: %v, want a timeout", err)
	}
	if flusher.flushes != 1 {
		t.Fatalf("%d flushes during a quiet wait, want 1", flusher.flushes)
	}
}
