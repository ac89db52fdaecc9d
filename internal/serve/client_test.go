package serve_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/sock"
	"golang.org/x/sys/unix"
)

// client is the tests' client: Go's net package for the connection and
// net/http's parser for the responses — an oracle the server did not write.
// Its methods report errors rather than fail the test, so it may be used
// from any goroutine; readResp and expectClosed are shorthands for the
// test's own goroutine.
type client struct {
	net.Conn
	br *bufio.Reader
}

// dialClient connects to addr. Every read and write on the connection
// gives up 30 s after the dial: a test that hangs fails instead.
func dialClient(addr string) (*client, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	// Small, for the tests that hold thousands of connections open.
	return &client{c, bufio.NewReaderSize(c, 1024)}, nil
}

// dial connects a client to the server; it is closed when the test ends.
func (ts *testServer) dial(t testing.TB) *client {
	t.Helper()
	c, err := dialClient(ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get is a request for path with nothing but the Host header it must have.
func get(path string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"
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

// expect sends req (a GET; none if empty) and checks the response's status
// and body.
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

// readResp reads one response to method, or fails the test.
func (c *client) readResp(t testing.TB, method string) (*http.Response, string) {
	t.Helper()
	resp, body, err := c.fetch("", method)
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	return resp, body
}

// closeWrite half-closes the connection (shutdown(2) with SHUT_WR), as
// `nc -N` does at the end of its input.
func (c *client) closeWrite() error {
	return c.Conn.(*net.TCPConn).CloseWrite()
}

// closed returns nil if the server has closed the connection with a FIN:
// EOF, with no byte before it. A reset is an error (ECONNRESET).
func (c *client) closed() error {
	b, err := c.br.ReadByte()
	switch {
	case err == nil:
		return fmt.Errorf("want EOF, got byte %q", b)
	case err == io.EOF:
		return nil
	default:
		return fmt.Errorf("want EOF: %w", err)
	}
}

// closedOrReset returns nil if the server has closed the connection either
// way — a FIN or a reset — with no byte before it.
func (c *client) closedOrReset() error {
	if err := c.closed(); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		return err
	}
	return nil
}

// expectClosed fails the test unless the server has closed the connection
// with a FIN.
func (c *client) expectClosed(t testing.TB) {
	t.Helper()
	if err := c.closed(); err != nil {
		t.Fatal(err)
	}
}

// rawClient is a blocking IPv4 client made of bare system calls. Two kinds
// of test need it rather than client: the allocation tests, because
// testing.AllocsPerRun counts every allocation in the process and client's
// net/http parser makes many; and TestEpollEMFILE, which makes its sockets
// while descriptors are free and connects them once none is, with no help
// from the Go runtime's poller.
type rawClient struct {
	fd  int // -1: closed
	sa  unix.Sockaddr
	buf []byte
}

// newRawClient makes a socket for addr, not yet connected. It is closed
// when the test ends, if it is open then.
func newRawClient(t testing.TB, addr string) *rawClient {
	t.Helper()
	a, err := sock.ParseAddr(addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &rawClient{fd: -1, sa: a.Sockaddr(), buf: make([]byte, 64<<10)}
	t.Cleanup(c.close)
	if err := c.open(); err != nil {
		t.Fatal(err)
	}
	return c
}

// open makes a new socket in place of the one before, whose reads and
// writes block for at most 10 s.
func (c *rawClient) open() error {
	c.close()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	c.fd = fd
	tv := unix.Timeval{Sec: 10}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	return nil
}

// close closes the socket, once: a second close(2) could close a
// descriptor the process has since been given the same number for.
func (c *rawClient) close() {
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
}

// The blocking calls below may be interrupted by the signals the Go
// runtime sends its threads (EINTR): they are made again.

// connect connects the socket to the server.
func (c *rawClient) connect() error {
	err := unix.Connect(c.fd, c.sa)
	for tries := 0; (err == unix.EINTR || err == unix.EALREADY) && tries < 1000; tries++ {
		time.Sleep(time.Millisecond)
		err = unix.Connect(c.fd, c.sa) // EISCONN once the first call's handshake is done
	}
	if err != nil && err != unix.EISCONN {
		return os.NewSyscallError("connect", err)
	}
	return nil
}

// send writes all of p.
func (c *rawClient) send(p []byte) error {
	for tries := 0; len(p) > 0; tries++ {
		n, err := unix.Write(c.fd, p)
		if err == unix.EINTR && tries < 1000 {
			continue
		}
		if err != nil {
			return os.NewSyscallError("write", err)
		}
		p = p[n:]
	}
	return nil
}

// roundTrip sends req and reads its response (see readResponse).
func (c *rawClient) roundTrip(req, body []byte) error {
	if err := c.send(req); err != nil {
		return err
	}
	return c.readResponse(body)
}

// readResponse reads until what came ends in body; it must be a 200
// response.
func (c *rawClient) readResponse(body []byte) error {
	return c.readUntil(status200, body)
}

var status200 = []byte("HTTP/1.1 200 ")

// readUntil reads until what came ends in end; it must begin with start.
func (c *rawClient) readUntil(start, end []byte) error {
	n := 0
	for !bytes.HasSuffix(c.buf[:n], end) {
		m, err := unix.Read(c.fd, c.buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || m <= 0 {
			return fmt.Errorf("read: %d, %v after %q", m, err, c.buf[:n])
		}
		n += m
	}
	if !bytes.HasPrefix(c.buf[:n], start) {
		return fmt.Errorf("response %q", c.buf[:n])
	}
	return nil
}

// readToEOF reads until the server closes the connection.
func (c *rawClient) readToEOF() error {
	for {
		n, err := unix.Read(c.fd, c.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("read", err)
		}
		if n == 0 {
			return nil
		}
	}
}
