package serve

import (
	"bufio"
	"github.com/rawserve/rawserve/internal/httpconn"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fileServer serves one 1000-byte file, a.txt, and returns a client on a
// kept-alive connection to it.
func fileServer(t *testing.T) (do func(method string, hdr ...string) (*http.Response, string), content string, modtime time.Time) {
	t.Helper()
	root := t.TempDir()
	content = strings.Repeat("0123456789", 100)
	name := filepath.Join(root, "a.txt")
	os.WriteFile(name, []byte(content), 0o644)
	modtime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(name, modtime, modtime)
	cfg := Config{Config: httpconn.Config{Dir: openDir(t, root)}}
	if strings.Contains(t.Name(), "FileCache/") {
		cfg.FileCache = time.Hour // every answer after the first from memory
	}
	ts := start(t, cfg)
	c := ts.dial(t)
	br := bufio.NewReader(c)
	do = func(method string, hdr ...string) (*http.Response, string) {
		t.Helper()
		io.WriteString(c, method+" /a.txt HTTP/1.1\r\nHost: x\r\n"+strings.Join(hdr, "")+"\r\n")
		return readResp(t, br, method)
	}
	return do, content, modtime
}

// Validators, conditional requests (RFC 9110, 13) and ranges (14), over
// one kept-alive connection.
func TestConditionalAndRange(t *testing.T) {
	do, content, modtime := fileServer(t)
	resp, body := do("GET")
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || body != content || !strings.HasPrefix(etag, `"`) ||
		resp.Header.Get("Accept-Ranges") != "bytes" || resp.Header.Get("Last-Modified") != modtime.Format(http.TimeFormat) {
		t.Fatalf("GET: %d, ETag %q, headers %v", resp.StatusCode, etag, resp.Header)
	}
	lm := modtime.Format(http.TimeFormat)
	for _, tc := range []struct {
		name   string
		method string
		hdr    string
		status int
		body   string
		crange string
	}{
		{"13.1.2 If-None-Match matches", "GET", "If-None-Match: " + etag + "\r\n", 304, "", ""},
		{"13.1.2 If-None-Match weak matches", "GET", "If-None-Match: W/" + etag + "\r\n", 304, "", ""},
		{"13.1.2 If-None-Match star", "HEAD", "If-None-Match: *\r\n", 304, "", ""},
		{"13.1.2 If-None-Match other", "GET", "If-None-Match: \"other\"\r\n", 200, content, ""},
		{"13.1.3 If-Modified-Since same", "GET", "If-Modified-Since: " + lm + "\r\n", 304, "", ""},
		{"13.1.3 If-Modified-Since older", "GET", "If-Modified-Since: Thu, 01 Jan 2026 00:00:00 GMT\r\n", 200, content, ""},
		{"13.2.2 If-None-Match beats If-Modified-Since", "GET", "If-None-Match: \"other\"\r\nIf-Modified-Since: " + lm + "\r\n", 200, content, ""},
		{"13.1.1 If-Match fails", "GET", "If-Match: \"other\"\r\n", 412, "412 Precondition Failed\n", ""},
		{"13.1.1 If-Match holds", "GET", "If-Match: " + etag + "\r\n", 200, content, ""},
		{"13.1.4 If-Unmodified-Since older", "GET", "If-Unmodified-Since: Thu, 01 Jan 2026 00:00:00 GMT\r\n", 412, "412 Precondition Failed\n", ""},
		{"14.1.2 range", "GET", "Range: bytes=10-19\r\n", 206, content[10:20], "bytes 10-19/1000"},
		{"14.1.2 open range", "GET", "Range: bytes=990-\r\n", 206, content[990:], "bytes 990-999/1000"},
		{"14.1.2 suffix", "GET", "Range: bytes=-5\r\n", 206, content[995:], "bytes 995-999/1000"},
		{"14.1.2 clamped", "GET", "Range: bytes=998-5000\r\n", 206, content[998:], "bytes 998-999/1000"},
		{"15.5.17 unsatisfiable", "GET", "Range: bytes=1000-\r\n", 416, "416 Range Not Satisfiable\n", "bytes */1000"},
		{"14.2 several ranges: whole", "GET", "Range: bytes=0-1,5-6\r\n", 200, content, ""},
		{"14.2 HEAD ignores Range", "HEAD", "Range: bytes=0-1\r\n", 200, "", ""},
		{"13.1.5 If-Range matches", "GET", "Range: bytes=0-1\r\nIf-Range: " + etag + "\r\n", 206, "01", "bytes 0-1/1000"},
		{"13.1.5 If-Range stale", "GET", "Range: bytes=0-1\r\nIf-Range: \"old\"\r\n", 200, content, ""},
		{"13.1.5 If-Range date", "GET", "Range: bytes=0-1\r\nIf-Range: " + lm + "\r\n", 206, "01", "bytes 0-1/1000"},
	} {
		resp, body := do(tc.method, tc.hdr)
		if resp.StatusCode != tc.status || body != tc.body || resp.Header.Get("Content-Range") != tc.crange {
			t.Errorf("%s: %d %.20q Content-Range %q; want %d %.20q %q", tc.name, resp.StatusCode, body,
				resp.Header.Get("Content-Range"), tc.status, tc.body, tc.crange)
		}
		if tc.status == 304 && (resp.Header.Get("ETag") != etag || resp.Header.Get("Content-Length") != "") {
			t.Errorf("%s: 304 with ETag %q, Content-Length %q", tc.name, resp.Header.Get("ETag"), resp.Header.Get("Content-Length"))
		}
		if tc.method == "HEAD" && tc.status == 200 && resp.ContentLength != int64(len(content)) {
			t.Errorf("%s: Content-Length %d", tc.name, resp.ContentLength)
		}
	}
}

// Replacing the file changes its ETag: a cached copy is not mistaken for it.
func TestETagChangesWithFile(t *testing.T) {
	root := t.TempDir()
	name := filepath.Join(root, "f")
	os.WriteFile(name, []byte("one"), 0o644)
	ts := start(t, Config{Config: httpconn.Config{Dir: openDir(t, root)}})
	c := ts.dial(t)
	br := bufio.NewReader(c)
	io.WriteString(c, get("/f"))
	r1, _ := readResp(t, br, "GET")
	tmp := filepath.Join(root, "f.new")
	os.WriteFile(tmp, []byte("two"), 0o644) // same size, same second, new inode
	os.Rename(tmp, name)
	io.WriteString(c, "GET /f HTTP/1.1\r\nHost: x\r\nIf-None-Match: "+r1.Header.Get("ETag")+"\r\n\r\n")
	r2, body := readResp(t, br, "GET")
	if r2.StatusCode != 200 || body != "two" || r2.Header.Get("ETag") == r1.Header.Get("ETag") {
		t.Errorf("after replacing the file: %d %q, ETag %q then %q", r2.StatusCode, body, r1.Header.Get("ETag"), r2.Header.Get("ETag"))
	}
}

// A file dated in the future is not sent as modified after the response's
// own Date (RFC 9110, 8.8.2.1).
func TestFutureLastModified(t *testing.T) {
	root := t.TempDir()
	name := filepath.Join(root, "f")
	os.WriteFile(name, []byte("from the future"), 0o644)
	future := time.Now().Add(48 * time.Hour)
	os.Chtimes(name, future, future)
	ts := start(t, Config{Config: httpconn.Config{Dir: openDir(t, root)}})
	c := ts.dial(t)
	io.WriteString(c, get("/f"))
	resp, _ := readResp(t, bufio.NewReader(c), "GET")
	lm, err1 := http.ParseTime(resp.Header.Get("Last-Modified"))
	date, err2 := http.ParseTime(resp.Header.Get("Date"))
	if err1 != nil || err2 != nil || lm.After(date) {
		t.Errorf("Last-Modified %q, Date %q: want Last-Modified no later than Date", resp.Header.Get("Last-Modified"), resp.Header.Get("Date"))
	}
}

// TestFileCache: the same conditional and range answers from memory, in
// both models; and a changed file is seen once its entry is TTL old, not
// before.
func TestFileCache(t *testing.T) {
	t.Run("FileCache/ConditionalAndRange", TestConditionalAndRange)
	t.Run("FileCache/FutureLastModified", TestFutureLastModified)
	t.Run("TestEpoll/FileCache/ConditionalAndRange", TestConditionalAndRange)
	for _, model := range []string{"serial", "TestEpoll"} {
		t.Run(model, func(t *testing.T) {
			root := t.TempDir()
			name := filepath.Join(root, "f.txt")
			os.WriteFile(name, []byte("first"), 0o644)
			cfg := Config{Config: httpconn.Config{Dir: openDir(t, root), FileCache: 300 * time.Millisecond}}
			var ts *testServer
			if model == "serial" {
				ts = start(t, cfg)
			} else {
				ts = startEpoll(t, cfg, 1)
			}
			c := ts.dial(t)
			br := bufio.NewReader(c)
			get := func() string {
				t.Helper()
				io.WriteString(c, "GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n")
				_, body := readResp(t, br, "GET")
				return body
			}
			if b := get(); b != "first" {
				t.Fatalf("first GET: %q", b)
			}
			start := time.Now()
			os.WriteFile(name, []byte("again"), 0o644) // same size, new bytes and mtime
			if b := get(); b != "first" && time.Since(start) < 250*time.Millisecond {
				t.Errorf("within the TTL: %q, want the cached %q", b, "first")
			}
			time.Sleep(350 * time.Millisecond)
			if b := get(); b != "again" {
				t.Errorf("after the TTL: %q, want %q", b, "again")
			}
			os.Remove(name)
			time.Sleep(350 * time.Millisecond)
			io.WriteString(c, "GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp, _ := readResp(t, br, "GET"); resp.StatusCode != 404 {
				t.Errorf("removed file: %d, want 404", resp.StatusCode)
			}
		})
	}
}
