package httpconn

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/sock"
	"github.com/rawserve/rawserve/internal/static"
)

// A multipart/byteranges body, from disk (part heads written between
// sendfile sections) and from the file cache (composed in memory), however
// the writes and sendfiles are cut: every part is the file's bytes, the
// Content-Length is the body's, the next request on the connection is
// answered right, and the access log counts the body.
func TestByterangesBody(t *testing.T) {
	dir := t.TempDir()
	content := make([]byte, 20000)
	for i := range content {
		content[i] = byte(i*7 + i/256)
	}
	os.WriteFile(filepath.Join(dir, "f.bin"), content, 0o644)
	d, err := static.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })

	ranges := [][2]int{{19990, 20000}, {0, 10}, {100, 5001}, {5001, 5002}}
	in := "GET /f.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=-10,0-9,100-5000,5001-5001\r\n\r\n" +
		"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	cutSets := [][]byte{nil, {0, 1, 2, 3, 200, 17, 5, 99, 250}, bytes.Repeat([]byte{0}, 500)}
	for _, cache := range []int64{0, static.DefaultCacheBytes} {
		for _, gather := range []bool{false, true} {
			for i, cuts := range cutSets {
				t.Run(fmt.Sprintf("cache=%v/gather=%v/cuts%d", cache > 0, gather, i), func(t *testing.T) {
					var log bytes.Buffer
					srv := NewServer(Config{Dir: d, FileCacheSize: cache, AccessLog: &log, ErrorLog: io.Discard},
						Model{Name: "test", Gather: gather})
					if cache > 0 {
						drive(t, srv, []byte(get("/f.bin")), nil) // into the cache
					}
					out := drive(t, srv, []byte(in), bytes.Clone(cuts))
					br := bufio.NewReader(bytes.NewReader(out))
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						t.Fatal(err)
					}
					body := readBody(t, resp.Body)
					if resp.StatusCode != 206 || resp.ContentLength != int64(len(body)) || resp.Header.Get("Content-Range") != "" {
						t.Fatalf("%d, Content-Length %d for %d bytes, Content-Range %q", resp.StatusCode, resp.ContentLength, len(body), resp.Header.Get("Content-Range"))
					}
					checkParts(t, resp.Header.Get("Content-Type"), body, content, ranges)
					if next, err := http.ReadResponse(br, nil); err != nil || next.StatusCode != 200 || string(readBody(t, next.Body)) != "ok\n" {
						t.Fatalf("the request after: %v, %v", next, err)
					}
					srv.FlushLog()
					if want := `"GET /f.bin HTTP/1.1" 206 ` + strconv.Itoa(len(body)) + " "; !bytes.Contains(log.Bytes(), []byte(want)) {
						t.Errorf("access log %q lacks %q", log.String(), want)
					}
				})
			}
		}
	}
}

// A multipart response cut short by the client is logged with the body
// bytes that went out, not the whole Content-Length.
func TestByterangesCutShort(t *testing.T) {
	var log bytes.Buffer
	srv := NewServer(Config{Dir: testDir(t), AccessLog: &log, ErrorLog: io.Discard}, Model{Name: "test"})
	var c Conn
	c.Start(srv, testSock(), time.Now())
	req := "GET /index.html HTTP/1.1\r\nHost: x\r\nRange: bytes=0-99,200-299\r\n\r\n"
	c.Received(copy(c.Room(), req), time.Now())
	head := bytes.Index(c.Output(), []byte("\r\n\r\n")) + 4
	c.Wrote(len(c.Output()), time.Now()) // the head and the first part's head
	first := c.bodyAt
	if c.State() != SendFile || first != head {
		t.Fatalf("state %v, body at %d, head of %d bytes", c.State(), first, head)
	}
	c.SentFile(60, time.Now())
	partHead := c.section.end - head
	c.Fail(io.EOF) // the client is gone
	c.Closed(time.Now())
	srv.FlushLog()
	if want := " 206 " + strconv.Itoa(partHead+60) + " "; !bytes.Contains(log.Bytes(), []byte(want)) {
		t.Errorf("access log %q lacks %q", log.String(), want)
	}
	if c.file != nil || c.more != nil {
		t.Error("the file or its sections are still held")
	}
}

// checkParts parses a multipart/byteranges body and checks that it holds
// exactly the given ranges of content, in order.
func checkParts(t *testing.T, ctype string, body, content []byte, ranges [][2]int) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil || mt != "multipart/byteranges" || !regexp.MustCompile(`^rawserve-[0-9a-f]{16}$`).MatchString(params["boundary"]) {
		t.Fatalf("Content-Type %q", ctype)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for i, rg := range ranges {
		p, err := mr.NextRawPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		got := readBody(t, p)
		cr := fmt.Sprintf("bytes %d-%d/%d", rg[0], rg[1]-1, len(content))
		if p.Header.Get("Content-Range") != cr || p.Header.Get("Content-Type") != "application/octet-stream" ||
			!bytes.Equal(got, content[rg[0]:rg[1]]) {
			t.Fatalf("part %d: %v, %d bytes; want %s", i, p.Header, len(got), cr)
		}
	}
	if _, err := mr.NextRawPart(); err != io.EOF {
		t.Fatalf("after %d parts: %v", len(ranges), err)
	}
}

func readBody(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testSock() *sock.Conn {
	return &sock.Conn{Peer: sock.Addr{Port: 40000}, Accept: sock.AcceptInfo{Time: time.Now()}}
}

func get(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n" }

// A copy in the cache is answered with a head composed once and kept with
// it (respondEntry): it must say what the head composed each time says —
// for every kind of request, kept alive or not, HTTP/1.0 or 1.1, GET or
// HEAD — and its Date must follow the clock from one second to the next.
func TestCachedHead(t *testing.T) {
	d := testDir(t)
	// A copy read within the racy margin (20 ms) of the file's last change
	// is read again on each request: let the files be older than that.
	time.Sleep(50 * time.Millisecond)
	cached := NewServer(Config{Dir: d, AccessLog: io.Discard, ErrorLog: io.Discard, FileCacheSize: 1 << 20}, Model{Name: "test", Gather: true})
	disk := NewServer(Config{Dir: d, AccessLog: io.Discard, ErrorLog: io.Discard}, Model{Name: "test", Gather: true})
	input := get("/f.txt") + get("/f.txt") + "HEAD /f.txt HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /f.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=1-3\r\n\r\n" + get("/f.txt") +
		"GET /f.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + get("/f.txt") +
		"GET /f.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	etag := regexp.MustCompile(`(?m)^ETag: [^\r]*\r\n`)
	a, b := etag.ReplaceAll(normal(drive(t, cached, []byte(input), nil)), nil), etag.ReplaceAll(normal(drive(t, disk, []byte(input), nil)), nil)
	if !bytes.Equal(a, b) {
		t.Fatalf("answered from the cache:\n%s\nfrom disk:\n%s\n%s", a, b, diff(a, b))
	}
	if n := bytes.Count(a, []byte("HTTP/1.1 200 OK\r\n")); n != 7 {
		t.Fatalf("%d whole answers, want 7:\n%s", n, a)
	}

	// Three requests on one connection, the clock a second on each time.
	var c Conn
	// Seconds after the file was written: a copy younger than the racy
	// margin would be read again each time, and its head composed anew.
	t0 := time.Now().Truncate(time.Second).Add(3 * time.Second)
	c.Start(cached, testSock(), t0)
	for i := range 3 {
		now := t0.Add(time.Duration(i) * time.Second)
		n := copy(c.Room(), get("/f.txt"))
		c.Received(n, now)
		if c.State() != Write {
			t.Fatalf("request %d: state %v", i, c.State())
		}
		out := string(c.Output())
		want := "\r\nDate: " + now.Format(http.TimeFormat) + "\r\n"
		if !strings.Contains(out, want) || !strings.HasSuffix(out, "\r\n\r\nfile body\n") {
			t.Fatalf("request %d at %v:\n%s", i, now, out)
		}
		c.Wrote(len(out), now)
	}
	// The head kept with the copy is the one that was sent, dated anew.
	e := cached.cache.Get([]byte("/f.txt"), 0, t0.Add(3*time.Second))
	if e == nil || !bytes.Contains(e.Head, []byte(t0.Add(2*time.Second).Format(http.TimeFormat))) {
		t.Fatalf("no copy in the cache, or not the head it sent: %+v", e)
	}
}

// writes records each Write's bytes.
type writes [][]byte

func (w *writes) Write(p []byte) (int, error) {
	*w = append(*w, bytes.Clone(p))
	return len(p), nil
}

// The access log is handed over in pieces of whole lines that each fit in
// one write of the output queue to a file (64 KiB): one flush, one
// write(2) — not a full 64 KiB and then the line that took it over.
func TestAccessLogWrites(t *testing.T) {
	var w writes
	l := newAccessLog(&w)
	now := time.Now()
	for i := range 3000 {
		target := []byte("/" + strings.Repeat("x", i%97))
		l.add(&line{peer: []byte("127.0.0.1"), method: []byte("GET"), target: target, minor: 1, status: 200, bytes: 13, start: now, finish: now})
	}
	l.flush()
	total := 0
	for i, p := range w {
		total += bytes.Count(p, []byte("\n"))
		if len(p) > logFlushAt || p[len(p)-1] != '\n' {
			t.Fatalf("write %d: %d bytes, ending %q: want whole lines, at most %d bytes", i, len(p), p[len(p)-1:], logFlushAt)
		}
		if i < len(w)-1 && len(p) < logFlushAt-200 {
			t.Errorf("write %d: %d bytes, want close to %d", i, len(p), logFlushAt)
		}
	}
	if total != 3000 || len(w) < 3 {
		t.Fatalf("%d lines written in %d writes, want 3000 in several", total, len(w))
	}
}
