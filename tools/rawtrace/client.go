package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// The clients: plain TCP connections to 127.0.0.1, requests written as
// bytes, responses read with net/http's parser. Every connection has a
// deadline, so no scenario waits for ever.
const clientDeadline = 30 * time.Second

// client is one connection to rawserve.
type client struct {
	net.Conn
	br *bufio.Reader
	tl *tool
}

// dial connects to addr; a failure ends the run.
func (tl *tool) dial(addr string) *client {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		tl.die("connect: %v", err)
	}
	c.SetDeadline(time.Now().Add(clientDeadline))
	return &client{Conn: c, br: bufio.NewReader(c), tl: tl}
}

// request is a GET for path with Host and the header lines given.
func request(path string, header ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: x\r\n", path)
	for _, h := range header {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// send writes raw bytes, the deadline renewed; a failure ends the run.
func (c *client) send(s string) {
	c.SetDeadline(time.Now().Add(clientDeadline))
	if _, err := io.WriteString(c, s); err != nil {
		c.tl.die("write: %v", err)
	}
}

// get sends a GET for path and reads the response; it returns the status
// and the body's length.
func (c *client) get(path string, header ...string) (int, int64) {
	c.send(request(path, header...))
	return c.response()
}

// response reads one response to a GET and discards its body.
func (c *client) response() (int, int64) {
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.tl.die("reading a response: %v", err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		c.tl.die("reading a body: %v", err)
	}
	return resp.StatusCode, n
}

// untilEOF reads until the server closes (its FIN), discarding.
func (c *client) untilEOF() {
	if _, err := io.Copy(io.Discard, c.br); err != nil {
		c.tl.die("reading until EOF: %v", err)
	}
}

// fetch is one request on a connection of its own, as curl makes it: GET,
// read the response, close. It returns the status, the body's length and
// how long it took.
func (tl *tool) fetch(addr, path string) (int, int64, time.Duration) {
	begin := time.Now()
	c := tl.dial(addr)
	defer c.Close()
	code, n := c.get(path)
	return code, n, time.Since(begin)
}

// fetchSlowly is fetch for a client that reads at most rate bytes a second
// (curl --limit-rate), so that the server's send buffer fills.
func (tl *tool) fetchSlowly(addr, path string, rate int64) (int64, time.Duration) {
	begin := time.Now()
	c := tl.dial(addr)
	defer c.Close()
	c.send(request(path))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		tl.die("reading a response: %v", err)
	}
	buf := make([]byte, 64<<10)
	var n int64
	for {
		k, err := resp.Body.Read(buf)
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			tl.die("reading a body: %v", err)
		}
		// Ahead of the rate: wait until the bytes read so far are due.
		if due := begin.Add(time.Duration(n * int64(time.Second) / rate)); time.Now().Before(due) {
			time.Sleep(time.Until(due))
		}
	}
	return n, time.Since(begin)
}

// resetMidResponse asks for path with a receive buffer of 4 KiB, reads the
// first bytes of the response, and closes with SO_LINGER 0: the kernel
// sends RST instead of FIN, and drops what the server had sent.
func (tl *tool) resetMidResponse(addr, path string) {
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		tl.die("connect: %v", err)
	}
	tc := conn.(*net.TCPConn)
	tc.SetReadBuffer(4096)
	tc.SetDeadline(time.Now().Add(clientDeadline))
	if _, err := io.WriteString(tc, request(path)); err != nil {
		tl.die("write: %v", err)
	}
	if _, err := io.ReadFull(tc, make([]byte, 1024)); err != nil {
		tl.die("reading the start of a response: %v", err)
	}
	time.Sleep(200 * time.Millisecond) // the server fills its send buffer and waits
	tc.SetLinger(0)
	tc.Close()
}
