package httpconn

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/http1"
	"github.com/rawserve/rawserve/internal/sock"
	"github.com/rawserve/rawserve/internal/static"
	"golang.org/x/sys/unix"
)

// The core makes no system call on the connection, so it can be driven the
// way a model drives it — bytes in, bytes out, a state to act on — with
// nothing between. These tests do that to check what no single socket test
// can: that the answer to a byte stream does not depend on how the stream
// was cut into reads, nor on how much of each write the kernel took. (The
// serve package's tests drive the same core over real sockets, in every
// model.)

// drive plays a model: it feeds input in pieces whose sizes come from cuts,
// lets each write take as much as cuts allows, "sends" file bodies, and
// sends EOF once the input is used up; a fault's pause moves its clock on.
// It returns everything written, and checks the state machine's contract at
// every step.
func drive(t *testing.T, srv *Server, input, cuts []byte) []byte {
	t.Helper()
	out, _ := driveConn(t, srv, input, cuts)
	return out
}

// driveConn is drive, and returns what the model did too, a line a step
// for the steps a fault shapes: "write 232", "sendfile 1000", "pause 50ms",
// "shutdown", "close" or "reset".
func driveConn(t *testing.T, srv *Server, input, cuts []byte) (out []byte, steps []string) {
	t.Helper()
	var c Conn
	sc := &sock.Conn{Peer: sock.Addr{Port: 40000}, Accept: sock.AcceptInfo{Time: time.Now()}}
	now := time.Now()
	c.Start(srv, sc, now)
	next := func(max int) int { // the next cut, 1..max
		if len(cuts) == 0 || max <= 1 {
			return max
		}
		n := int(cuts[0])%max + 1
		cuts = cuts[1:]
		return n
	}
	eof := false
	for step := 0; ; step++ {
		if step > 100000 {
			t.Fatalf("no end after %d steps, in state %v", step, c.State())
		}
		if st := c.State(); st != Close && st != CloseWrite && st != CheckSendQueue && st != Reset && c.Deadline().IsZero() {
			t.Fatalf("state %v has no deadline", st)
		}
		switch c.State() {
		case ReadHead, ReadBody, Linger:
			room := c.Room()
			if len(room) == 0 {
				t.Fatalf("state %v: no room to read into", c.State())
			}
			if len(input) == 0 {
				if eof {
					t.Fatalf("state %v after EOF", c.State())
				}
				eof = true
				c.EOF(now)
				continue
			}
			n := copy(room, input[:next(min(len(input), len(room)))])
			input = input[n:]
			c.Received(n, now)
		case Write:
			o := c.Output()
			if len(o) == 0 {
				t.Fatal("state Write with nothing to write")
			}
			n := next(len(o))
			out = append(out, o[:n]...)
			steps = append(steps, fmt.Sprint("write ", n))
			c.Wrote(n, now)
		case SendFile:
			f, off, n := c.File()
			b := make([]byte, n)
			if _, err := unixPread(f, b, off); err != nil {
				t.Fatal(err)
			}
			k := next(int(n))
			out = append(out, b[:k]...)
			steps = append(steps, fmt.Sprint("sendfile ", k))
			c.SentFile(k, now)
		case CloseWrite:
			steps = append(steps, "shutdown")
			c.ShutDown(nil, now)
		case Close, Reset:
			steps = append(steps, strings.ToLower(c.State().String()))
			c.Closed(now)
			if c.in != nil || c.out != nil || c.file != nil || c.more != nil {
				t.Fatal("closed, and still holding a buffer or a file")
			}
			return out, steps
		case Pause: // the clock moves on to its end
			if !c.Deadline().After(now) {
				t.Fatalf("a pause that ends at %v, not after now (%v)", c.Deadline(), now)
			}
			steps = append(steps, fmt.Sprint("pause ", c.Deadline().Sub(now)))
			now = c.Deadline()
			c.Expire(now)
		case CheckSendQueue: // the client's kernel has acknowledged everything
			c.SendQueue(0, nil, now)
		}
	}
}

// unixPread reads a file section the way sendfile would send it.
func unixPread(f *sock.File, b []byte, off int64) (int, error) {
	return unix.Pread(f.FD(), b, off)
}

// normal takes out of a response stream what may rightly differ between two
// runs: the Date (the clock moves), the boundary of a multipart body (drawn
// at random) and 100 Continue, which is sent only when the body had not
// arrived with its head.
func normal(b []byte) []byte {
	b = regexp.MustCompile(`(?m)^Date: [^\r]*\r\n`).ReplaceAll(b, nil)
	b = regexp.MustCompile(`rawserve-[0-9a-f]{16}`).ReplaceAll(b, []byte("rawserve-boundary"))
	return bytes.ReplaceAll(b, continue100, nil)
}

// testDir is a small tree to serve: a small file and an index too large
// for one write.
func testDir(t testing.TB) *static.Dir {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f.txt"), []byte("file body\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "index.html"), bytes.Repeat([]byte("<p>x</p>\n"), 2000), 0o644)
	d, err := static.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func testServer(d *static.Dir, gather bool) *Server {
	return NewServer(Config{Dir: d, AccessLog: io.Discard, ErrorLog: io.Discard}, Model{Name: "test", Gather: gather})
}

// FuzzConn: whatever the bytes, the answer is the same whether they arrive
// in one read or many, and whether each write takes all or part — in both
// the serial model's way (one response per write) and the event loop's
// (pipelined answers gathered into one output).
func FuzzConn(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\nHEAD /f.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhelloGET /f.txt HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /f.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=2-4\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nBAD\r\n\r\n",
		"GET /index.html HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9,-3,100-5000\r\n\r\nGET /f.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-0,2-\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\nabc",
		"GET /healthz HTTP/1.1\r\nHost:",
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nPOST /f.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		f.Add([]byte(s), []byte{3, 1, 200, 7, 0, 50})
	}
	d := testDir(f)
	f.Fuzz(func(t *testing.T, input, cuts []byte) {
		for _, gather := range []bool{false, true} {
			whole := normal(drive(t, testServer(d, gather), bytes.Clone(input), nil))
			cut := normal(drive(t, testServer(d, gather), bytes.Clone(input), cuts))
			if !bytes.Equal(whole, cut) {
				t.Fatalf("gather=%v: the answer depends on how the input was cut:\n%s", gather, diff(whole, cut))
			}
		}
	})
}

// Every byte read is answered the same way by both models' rules: the
// gathered output is the serial model's, written in fewer calls.
func TestGatherSameBytes(t *testing.T) {
	in := []byte("GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
	d := testDir(t)
	serial := normal(drive(t, testServer(d, false), bytes.Clone(in), nil))
	gathered := normal(drive(t, testServer(d, true), bytes.Clone(in), nil))
	if !bytes.Equal(serial, gathered) {
		t.Fatalf("serial and gathered answers differ:\n%s", diff(serial, gathered))
	}
	if n := bytes.Count(serial, []byte("HTTP/1.1 200 OK")); n != 3 {
		t.Fatalf("%d answers to 3 requests:\n%q", n, serial)
	}
}

// A request with a body behind another in the same read: its head moves to
// the front of the buffer, to leave the body room, and is answered as if it
// had come alone — whatever the cuts.
func TestPipelinedBody(t *testing.T) {
	reqs := []string{
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /f.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
		"PUT /index.html HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	d := testDir(t)
	for _, gather := range []bool{false, true} {
		var want []byte
		for _, r := range reqs {
			want = append(want, drive(t, testServer(d, gather), []byte(r), nil)...)
		}
		want = normal(want)
		all := []byte(strings.Join(reqs, ""))
		for _, cuts := range [][]byte{nil, {40, 3, 200, 1}, {255, 255, 255}} {
			if got := normal(drive(t, testServer(d, gather), bytes.Clone(all), cuts)); !bytes.Equal(got, want) {
				t.Fatalf("gather=%v cuts=%v: pipelined answers differ from the answers one by one:\n%s", gather, cuts, diff(want, got))
			}
		}
	}
}

// More pipelined requests than the input buffer holds: the read that fills
// it ends inside a head, which must wait for the next read (moved to the
// front first), not be taken for a head too large to fit.
func TestPipelinedFillsBuffer(t *testing.T) {
	var in []byte
	n := 0
	for ; len(in) < 3*inputSize(&Config{Limits: http1.DefaultLimits}); n++ {
		in = fmt.Appendf(in, "GET /f.txt?%d HTTP/1.1\r\nHost: x\r\n\r\n", n) // of every length, so reads end inside heads
	}
	d := testDir(t)
	for _, gather := range []bool{false, true} {
		out := drive(t, testServer(d, gather), bytes.Clone(in), nil)
		if got := bytes.Count(out, []byte("HTTP/1.1 200 OK\r\n")); got != n {
			t.Fatalf("gather=%v: %d answers 200 to %d requests; first other: %.80q", gather, got, n,
				out[bytes.Index(out, []byte("HTTP/1.1 4")):])
		}
	}
}

// diff shows where two answers part: their lengths and 80 bytes around the
// first difference.
func diff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	at := func(x []byte) []byte { return x[max(i-40, 0):min(i+40, len(x))] }
	return fmt.Sprintf("%d and %d bytes, first difference at %d:\n%q\n%q", len(a), len(b), i, at(a), at(b))
}
