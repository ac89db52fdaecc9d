package sock

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// dialAccept dials l and accepts the connection on the other side.
func dialAccept(t *testing.T, l *Listener, p *Poller) (client, server *Conn) {
	t.Helper()
	client, err := Dial(l.Addr(), time.Now().Add(5*time.Second), p)
	if err != nil {
		t.Fatalf("Dial %s: %v", l.Addr(), err)
	}
	t.Cleanup(func() { client.Abort() })
	l.Deadline = time.Now().Add(5 * time.Second)
	server, err = l.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { server.Abort() })
	return client, server
}

// exchange sends one message each way.
func exchange(t *testing.T, client, server *Conn) {
	t.Helper()
	dl := time.Now().Add(5 * time.Second)
	client.SetWriteDeadline(dl)
	client.SetReadDeadline(dl)
	server.SetWriteDeadline(dl)
	server.SetReadDeadline(dl)
	buf := make([]byte, 16)
	if _, err := client.Write([]byte("ping")); err != nil {
		t.Fatalf("client Write: %v", err)
	}
	if _, err := io.ReadFull(server, buf[:4]); err != nil || string(buf[:4]) != "ping" {
		t.Fatalf("server read %q, %v; want ping", buf[:4], err)
	}
	if _, err := server.Write([]byte("pong")); err != nil {
		t.Fatalf("server Write: %v", err)
	}
	if _, err := io.ReadFull(client, buf[:4]); err != nil || string(buf[:4]) != "pong" {
		t.Fatalf("client read %q, %v; want pong", buf[:4], err)
	}
	server.Abort()
	if n, err := client.Read(buf); err != io.EOF {
		t.Fatalf("client read after the server closed: %d, %v; want EOF", n, err)
	}
}

// A dialled Conn is an ordinary Conn: bytes go both ways, Peer is the
// listener, and the descriptor was born nonblocking and close-on-exec. With
// Spin, wait returns before the handshake is done, and getpeername's
// ENOTCONN is what keeps Dial from returning a half-open socket.
func TestDialExchange(t *testing.T) {
	for _, s := range []Strategy{Poll, Spin} {
		t.Run(s.String(), func(t *testing.T) {
			p := &Poller{Strategy: s}
			l := listenLoopback(t, "127.0.0.1", p)
			client, server := dialAccept(t, l, p)
			if client.Peer != l.Addr() {
				t.Errorf("Peer %v, want %v", client.Peer, l.Addr())
			}
			if local, err := sysGetsockname(client.FD()); err != nil || local != server.Peer {
				t.Errorf("client's local address %v (%v); the server saw %v", local, err, server.Peer)
			}
			fl, err := unix.FcntlInt(uintptr(client.FD()), unix.F_GETFL, 0)
			if err != nil || fl&unix.O_NONBLOCK == 0 {
				t.Errorf("F_GETFL %#x, %v: want O_NONBLOCK", fl, err)
			}
			fdfl, err := unix.FcntlInt(uintptr(client.FD()), unix.F_GETFD, 0)
			if err != nil || fdfl&unix.FD_CLOEXEC == 0 {
				t.Errorf("F_GETFD %#x, %v: want FD_CLOEXEC", fdfl, err)
			}
			exchange(t, client, server)
		})
	}
}

func TestDialIPv6(t *testing.T) {
	a, _ := ParseAddr("[::1]:0")
	l, err := Listen(a, 0, &Poller{})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	client, server := dialAccept(t, l, &Poller{})
	if client.Peer != l.Addr() {
		t.Errorf("Peer %v, want %v", client.Peer, l.Addr())
	}
	exchange(t, client, server)
}

// closedPort returns a loopback address where nothing listens: a port the
// kernel gave us a moment ago, closed again.
func closedPort(t *testing.T) Addr {
	t.Helper()
	a, _ := ParseAddr("127.0.0.1:0")
	l, err := Listen(a, 0, &Poller{})
	if err != nil {
		t.Fatal(err)
	}
	a = l.Addr()
	l.Close()
	return a
}

// Nobody listens: the kernel answers the SYN with RST, the wait ends with
// POLLERR, and SO_ERROR says ECONNREFUSED — reported as connect's error,
// since it is connect's result.
func TestDialRefused(t *testing.T) {
	a := closedPort(t)
	for _, s := range []Strategy{Poll, Spin} {
		t.Run(s.String(), func(t *testing.T) {
			before := openFDs(t)
			c, err := Dial(a, time.Now().Add(5*time.Second), &Poller{Strategy: s})
			if err == nil {
				c.Abort()
				t.Fatalf("Dial %v succeeded; want connection refused", a)
			}
			if !errors.Is(err, unix.ECONNREFUSED) || err.Error() != "connect: connection refused" {
				t.Errorf("Dial: %q; want connect: connection refused", err)
			}
			var se *os.SyscallError
			if !errors.As(err, &se) || se.Syscall != "connect" {
				t.Errorf("Dial: %#v; want an *os.SyscallError naming connect", err)
			}
			if after := openFDs(t); after != before {
				t.Errorf("open fds %d before, %d after the refused Dial", before, after)
			}
		})
	}
}

// fullListener returns a listener whose accept queue is full, so that the
// next connect to it hangs. With backlog 1 the kernel queues two
// connections; nobody accepts them, and a SYN to a listener with a full
// queue is dropped without an answer (the client would retransmit it after
// a second). Dial's deadline is all that ends the wait.
func fullListener(t *testing.T) *Listener {
	t.Helper()
	a, _ := ParseAddr("127.0.0.1:0")
	l, err := Listen(a, 1, &Poller{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for i := 0; i < 16; i++ {
		c, err := Dial(l.Addr(), time.Now().Add(200*time.Millisecond), &Poller{})
		if errors.Is(err, ErrTimeout) {
			return l
		}
		if err != nil {
			t.Fatalf("filling the queue, Dial %d: %v", i, err)
		}
		t.Cleanup(func() { c.Abort() })
	}
	t.Skip("16 connections and the accept queue is not full: cannot make a connect hang here")
	return nil
}

func TestDialTimeout(t *testing.T) {
	l := fullListener(t)
	before := openFDs(t)
	const d = 300 * time.Millisecond
	start := time.Now()
	c, err := Dial(l.Addr(), start.Add(d), &Poller{})
	took := time.Since(start)
	if err == nil {
		c.Abort()
		t.Fatal("Dial to a full accept queue succeeded")
	}
	if err != ErrTimeout || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Dial: %v; want ErrTimeout", err)
	}
	if took < d || took > d+time.Second {
		t.Errorf("Dial took %v; want about %v", took, d)
	}
	if after := openFDs(t); after != before {
		t.Errorf("open fds %d before, %d after the Dial that timed out", before, after)
	}
}

// The Waker ends a hanging connect, as it ends every interruptible wait.
func TestDialShutdown(t *testing.T) {
	l := fullListener(t)
	w, err := NewWaker()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	before := openFDs(t)
	go func() {
		time.Sleep(50 * time.Millisecond)
		w.Wake()
	}()
	c, err := Dial(l.Addr(), time.Now().Add(5*time.Second), &Poller{Waker: w})
	if err == nil {
		c.Abort()
	}
	if err != ErrShutdown {
		t.Errorf("Dial: %v; want ErrShutdown", err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("open fds %d before, %d after the interrupted Dial", before, after)
	}
}

// EINTR from connect leaves the attempt running. Dial must wait for it, not
// call connect again (which would say EALREADY).
func TestDialEINTR(t *testing.T) {
	l := listenLoopback(t, "127.0.0.1", &Poller{})
	calls := 0
	connectFunc = func(fd int, a Addr) error {
		calls++
		if err := sysConnect(fd, a); err != unix.EINPROGRESS {
			return err
		}
		return unix.EINTR
	}
	defer func() { connectFunc = sysConnect }()
	client, server := dialAccept(t, l, &Poller{})
	if calls != 1 {
		t.Errorf("connect called %d times; want 1", calls)
	}
	exchange(t, client, server)
}

func TestDialErrorsLeaveNoFD(t *testing.T) {
	l := listenLoopback(t, "127.0.0.1", &Poller{})
	wild, _ := ParseAddr(":8080")
	before := openFDs(t)
	if _, err := Dial(wild, time.Now().Add(time.Second), nil); err != ErrWildcardDial || !strings.Contains(err.Error(), "wildcard") {
		t.Errorf("Dial %v: %v; want ErrWildcardDial", wild, err)
	}
	// A deadline already past: no socket is made, no SYN sent.
	if _, err := Dial(l.Addr(), time.Now().Add(-time.Second), nil); err != ErrTimeout {
		t.Errorf("Dial with a past deadline: %v; want ErrTimeout", err)
	}
	// Port 0 is refused by the kernel before any packet is sent, or by
	// the RST: connect's error either way.
	zero, _ := ParseAddr("127.0.0.1:0")
	if _, err := Dial(zero, time.Now().Add(time.Second), nil); err == nil || !strings.HasPrefix(err.Error(), "connect: ") {
		t.Errorf("Dial %v: %v; want a connect error", zero, err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("open fds %d before, %d after the failed Dials", before, after)
	}
}
