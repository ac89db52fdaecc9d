package sock

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pair returns a Conn on one end of a socketpair and the other end as a
// blocking fd for the test to play the peer with.
func pair(t *testing.T, p *Poller) (*Conn, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		t.Fatal(err)
	}
	c := &Conn{fd: fds[0], poller: p}
	t.Cleanup(func() { c.Abort(); unix.Close(fds[1]) })
	return c, fds[1]
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// A socket takes what fits in its send buffer: with a tiny SO_SNDBUF and a
// slow reader, one Write is many short write(2)s and EAGAIN waits, and
// every byte still arrives, in order.
func TestShortWrites(t *testing.T) {
	for _, s := range []Strategy{Poll, Spin} {
		t.Run(s.String(), func(t *testing.T) {
			c, peer := pair(t, &Poller{Strategy: s})
			if err := unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4096); err != nil {
				t.Fatal(err)
			}
			want := pattern(1 << 20)
			got := make(chan []byte)
			go func() {
				var all []byte
				buf := make([]byte, 3000)
				for {
					n, err := unix.Read(peer, buf)
					if err == unix.EINTR {
						continue
					}
					if n <= 0 || err != nil {
						break
					}
					all = append(all, buf[:n]...)
					if len(all) < 64<<10 {
						time.Sleep(time.Millisecond) // slow at first: make the writer wait
					}
				}
				got <- all
			}()
			c.SetWriteDeadline(time.Now().Add(30 * time.Second))
			n, err := c.Write(want)
			if err != nil || n != len(want) {
				t.Fatalf("Write = %d, %v", n, err)
			}
			unix.Shutdown(c.fd, unix.SHUT_WR)
			if g := <-got; !bytes.Equal(g, want) {
				t.Fatalf("peer got %d bytes, not the %d written in order", len(g), len(want))
			}
			if c.Stats.Writes < 2 || c.Stats.EAGAINs < 1 {
				t.Errorf("stats %+v: want several short writes and EAGAINs", c.Stats)
			}
		})
	}
}

// A read with nothing to read waits until its deadline, then says so in a
// way errors.Is(err, os.ErrDeadlineExceeded) understands.
func TestReadDeadline(t *testing.T) {
	c, _ := pair(t, &Poller{})
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	start := time.Now()
	_, err := c.Read(make([]byte, 10))
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Read: %v, want a timeout", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Errorf("timed out after %v, want about 100ms", d)
	}
	if c.Stats.Reads != 1 || c.Stats.EAGAINs != 1 {
		t.Errorf("stats %+v: want one read that said EAGAIN", c.Stats)
	}
}

func TestReadEOFAndData(t *testing.T) {
	c, peer := pair(t, &Poller{})
	unix.Write(peer, []byte("hello"))
	unix.Shutdown(peer, unix.SHUT_WR)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 10)
	if n, err := c.Read(b); n != 5 || err != nil || string(b[:5]) != "hello" {
		t.Fatalf("Read = %d %q %v", n, b[:n], err)
	}
	if _, err := c.Read(b); err != io.EOF {
		t.Fatalf("Read after peer's shutdown: %v, want io.EOF", err)
	}
}

// ReadWait waits first: for a peer expected to be silent it saves the
// read that would only say EAGAIN.
func TestReadWait(t *testing.T) {
	c, peer := pair(t, &Poller{})
	go func() {
		time.Sleep(20 * time.Millisecond)
		unix.Write(peer, []byte("x"))
	}()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.ReadWait(make([]byte, 4)); n != 1 || err != nil {
		t.Fatalf("ReadWait = %d, %v", n, err)
	}
	if c.Stats.Reads != 1 || c.Stats.EAGAINs != 0 || c.Stats.Waits != 1 {
		t.Errorf("stats %+v: want one wait and one read", c.Stats)
	}
}

// Writing to a peer that is gone is an error — EPIPE here — and not the end
// of the process: SIGPIPE does not kill a Go program for this fd.
func TestWriteEPIPE(t *testing.T) {
	c, peer := pair(t, &Poller{})
	unix.Close(peer)
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Write([]byte("anyone there?"))
	if !errors.Is(err, syscall.EPIPE) || err.Error() != "write: broken pipe" {
		t.Fatalf("Write to a closed peer: %v, want write: broken pipe", err)
	}
}

// A peer that never reads cannot hold a writer past its deadline.
func TestWriteDeadline(t *testing.T) {
	c, _ := pair(t, &Poller{})
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	n, err := c.Write(make([]byte, 16<<20))
	if !errors.Is(err, ErrTimeout) || n <= 0 || n >= 16<<20 {
		t.Fatalf("Write = %d, %v; want some bytes, then a timeout", n, err)
	}
}

// Shutdown interrupts a read's wait, but not a write's: a response that
// has started is finished.
func TestWakeInterruptsReadsOnly(t *testing.T) {
	w, err := NewWaker()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	c, peer := pair(t, &Poller{Waker: w})
	go func() {
		time.Sleep(30 * time.Millisecond)
		w.Wake()
	}()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != ErrShutdown {
		t.Fatalf("Read during shutdown: %v, want ErrShutdown", err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		drain(peer)
	}()
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Write(make([]byte, 4<<20)); err != nil || n != 4<<20 {
		t.Fatalf("Write during shutdown = %d, %v; want it finished", n, err)
	}
}

// drain reads fd until EOF or error. (Not os.NewFile: its finalizer would
// close the fd number later, when it may belong to another test's socket.)
func drain(fd int) {
	b := make([]byte, 64<<10)
	for {
		n, err := unix.Read(fd, b)
		if err == unix.EINTR {
			continue
		}
		if n <= 0 {
			return
		}
	}
}

// tcpPair accepts one loopback TCP connection.
func tcpPair(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	l := listenLoopback(t, "127.0.0.1", &Poller{})
	client := dialer(t, l)
	l.Deadline = time.Now().Add(5 * time.Second)
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Abort() })
	return c, client
}

// The reason for the polite close. The client sends more than the server
// reads (a request body it ignores), the server answers and closes. Closed
// politely — shutdown, drain, close — the client gets the whole response.
// Closed at once with bytes unread, the kernel answers with RST (RFC 1122,
// 4.2.2.13), and the client's read fails with ECONNRESET.
func TestPoliteClose(t *testing.T) {
	resp := pattern(256 << 10)
	for _, polite := range []bool{true, false} {
		c, client := tcpPair(t)
		client.Write(make([]byte, 8<<10)) // unread by the server
		time.Sleep(20 * time.Millisecond)
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(resp); err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() {
			if polite {
				done <- politeClose(c, time.Second)
			} else {
				done <- c.Abort()
			}
		}()
		time.Sleep(50 * time.Millisecond) // the close happens before the client reads
		client.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(client)
		client.Close()
		if cerr := <-done; cerr != nil {
			t.Errorf("polite=%v: close: %v", polite, cerr)
		}
		if polite && (err != nil || !bytes.Equal(got, resp)) {
			t.Errorf("polite close: client read %d of %d bytes, err %v", len(got), len(resp), err)
		}
		if !polite && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("abortive close with unread data: client err %v after %d bytes; want ECONNRESET", err, len(got))
		}
	}
}

// The post says read "blocks until the FIN message is received from the
// client". It does not: read returns what has arrived, as soon as anything
// has. The client here never sends FIN, and the read still returns.
func TestReadDoesNotWaitForFIN(t *testing.T) {
	c, client := tcpPair(t)
	client.Write([]byte("GET / HTTP/1.1\r\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 4096)
	n, err := c.Read(b)
	if err != nil || string(b[:n]) != "GET / HTTP/1.1\r\n" {
		t.Fatalf("Read = %q, %v; want the bytes sent, without waiting for a FIN", b[:n], err)
	}
}

// The post says the response is written "along with a FIN". write(2) sends
// no FIN: the connection stays open for more (keep-alive) until shutdown or
// close ends our side.
func TestWriteSendsNoFIN(t *testing.T) {
	c, client := tcpPair(t)
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("HTTP/1.1 200 OK\r\n\r\n"))
	b := make([]byte, 64)
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := client.Read(b)
	if err != nil || n != 19 {
		t.Fatalf("client read %d, %v", n, err)
	}
	client.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := client.Read(b); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("after write alone, client read: %v; want a timeout (no FIN yet)", err)
	}
	unix.Shutdown(c.fd, unix.SHUT_WR)
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := client.Read(b); err != io.EOF {
		t.Fatalf("after shutdown(SHUT_WR), client read: %v; want EOF (the FIN)", err)
	}
}

// politeClose is the server's polite close, step by step: shutdown(SHUT_WR),
// read and drop until the client's EOF (or linger), then close(2).
func politeClose(c *Conn, linger time.Duration) error {
	if err := c.CloseWrite(); err != nil {
		c.Abort()
		return err
	}
	c.SetReadDeadline(time.Now().Add(linger))
	b := make([]byte, 4096)
	for {
		if _, err := c.ReadUnwoken(b); err != nil {
			break // EOF: the client has closed too; or the deadline
		}
	}
	return c.Abort()
}
