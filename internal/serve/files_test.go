package serve_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/static"
)

// A directory served: files whole and by HEAD, a directory's index and
// the redirect to it, and what is not served — hidden, missing, outside.
func TestDir(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		root := t.TempDir()
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: several sendfile calls
		os.WriteFile(filepath.Join(root, "big.bin"), big, 0o644)
		os.Mkdir(filepath.Join(root, "sub"), 0o755)
		os.WriteFile(filepath.Join(root, "sub", "index.html"), []byte("<p>sub</p>"), 0o644)
		os.WriteFile(filepath.Join(root, ".secret"), []byte("no"), 0o644)
		ts := m.start(t, settings{Dir: openDir(t, root)})
		c := ts.dial(t)
		for _, tc := range []struct {
			method, path string
			status       int
			body         string
		}{
			{"GET", "/big.bin", 200, string(big)},
			{"HEAD", "/big.bin", 200, ""},
			{"GET", "/sub", 301, "301 Moved Permanently\n"},
			{"GET", "/sub/", 200, "<p>sub</p>"},
			{"GET", "/.secret", 404, "404 Not Found\n"},
			{"GET", "/missing", 404, "404 Not Found\n"},
			{"GET", "/%2e%2e/%2e%2e/etc/passwd", 403, "403 Forbidden\n"},
			{"GET", "/healthz", 200, "ok\n"},
		} {
			io.WriteString(c, tc.method+" "+tc.path+" HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, body := c.readResp(t, tc.method)
			if resp.StatusCode != tc.status || body != tc.body {
				t.Errorf("%s %s: %d, %d bytes; want %d, %d bytes", tc.method, tc.path, resp.StatusCode, len(body), tc.status, len(tc.body))
			}
			if tc.path == "/big.bin" && resp.ContentLength != int64(len(big)) {
				t.Errorf("%s %s: Content-Length %d", tc.method, tc.path, resp.ContentLength)
			}
			if tc.status == 301 && resp.Header.Get("Location") != "/sub/" {
				t.Errorf("Location %q", resp.Header.Get("Location"))
			}
			if resp.Close {
				c = ts.dial(t)
			}
		}
	})
}

// fileServer serves one 1000-byte file, a.txt, in model m — from memory
// after the first answer, if fileCache (bytes) is positive — and returns a client
// on a kept-alive connection to it.
func fileServer(t *testing.T, m model, fileCache int64) (do func(method string, hdr ...string) (*http.Response, string), content string, modtime time.Time) {
	t.Helper()
	root := t.TempDir()
	content = strings.Repeat("0123456789", 100)
	name := filepath.Join(root, "a.txt")
	os.WriteFile(name, []byte(content), 0o644)
	modtime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(name, modtime, modtime)
	ts := m.start(t, settings{Dir: openDir(t, root), FileCache: fileCache})
	c := ts.dial(t)
	do = func(method string, hdr ...string) (*http.Response, string) {
		t.Helper()
		io.WriteString(c, method+" /a.txt HTTP/1.1\r\nHost: x\r\n"+strings.Join(hdr, "")+"\r\n")
		return c.readResp(t, method)
	}
	return do, content, modtime
}

// Validators, conditional requests (RFC 9110, 13) and ranges (14), over
// one kept-alive connection.
func TestConditionalAndRange(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) { conditionalAndRange(t, m, 0) })
}

func conditionalAndRange(t *testing.T, m model, fileCache int64) {
	do, content, modtime := fileServer(t, m, fileCache)
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
		{"14.2 overlapping ranges: whole", "GET", "Range: bytes=0-5,3-8\r\n", 200, content, ""},
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
	forEachModel(t, func(t *testing.T, m model) {
		root := t.TempDir()
		name := filepath.Join(root, "f")
		os.WriteFile(name, []byte("one"), 0o644)
		ts := m.start(t, settings{Dir: openDir(t, root)})
		c := ts.dial(t)
		io.WriteString(c, get("/f"))
		r1, _ := c.readResp(t, "GET")
		tmp := filepath.Join(root, "f.new")
		os.WriteFile(tmp, []byte("two"), 0o644) // same size, same second, new inode
		os.Rename(tmp, name)
		io.WriteString(c, "GET /f HTTP/1.1\r\nHost: x\r\nIf-None-Match: "+r1.Header.Get("ETag")+"\r\n\r\n")
		r2, body := c.readResp(t, "GET")
		if r2.StatusCode != 200 || body != "two" || r2.Header.Get("ETag") == r1.Header.Get("ETag") {
			t.Errorf("after replacing the file: %d %q, ETag %q then %q", r2.StatusCode, body, r1.Header.Get("ETag"), r2.Header.Get("ETag"))
		}
	})
}

// A file dated in the future is not sent as modified after the response's
// own Date (RFC 9110, 8.8.2.1).
func TestFutureLastModified(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) { futureLastModified(t, m, 0) })
}

func futureLastModified(t *testing.T, m model, fileCache int64) {
	root := t.TempDir()
	name := filepath.Join(root, "f")
	os.WriteFile(name, []byte("from the future"), 0o644)
	future := time.Now().Add(48 * time.Hour)
	os.Chtimes(name, future, future)
	ts := m.start(t, settings{Dir: openDir(t, root), FileCache: fileCache})
	c := ts.dial(t)
	io.WriteString(c, get("/f"))
	resp, _ := c.readResp(t, "GET")
	lm, err1 := http.ParseTime(resp.Header.Get("Last-Modified"))
	date, err2 := http.ParseTime(resp.Header.Get("Date"))
	if err1 != nil || err2 != nil || lm.After(date) {
		t.Errorf("Last-Modified %q, Date %q: want Last-Modified no later than Date", resp.Header.Get("Last-Modified"), resp.Header.Get("Date"))
	}
}

// TestFileCache: the same conditional and range answers from memory; and,
// with -file-cache-trust, a changed file is seen once its entry has gone
// unchecked that long, not before.
func TestFileCache(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		t.Run("ConditionalAndRange", func(t *testing.T) { conditionalAndRange(t, m, static.DefaultCacheBytes) })
		t.Run("FutureLastModified", func(t *testing.T) { futureLastModified(t, m, static.DefaultCacheBytes) })
		t.Run("Trust", func(t *testing.T) {
			root := t.TempDir()
			name := filepath.Join(root, "f.txt")
			os.WriteFile(name, []byte("first"), 0o644)
			// Older than the racy margin when first read, or the copy
			// would be read again however much it is trusted.
			time.Sleep(50 * time.Millisecond)
			ts := m.start(t, settings{Dir: openDir(t, root), FileCache: static.DefaultCacheBytes, FileCacheTrust: 300 * time.Millisecond})
			c := ts.dial(t)
			get := func() string {
				t.Helper()
				io.WriteString(c, "GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n")
				_, body := c.readResp(t, "GET")
				return body
			}
			if b := get(); b != "first" {
				t.Fatalf("first GET: %q", b)
			}
			start := time.Now()
			os.WriteFile(name, []byte("again"), 0o644) // same size, new bytes and mtime
			if b := get(); b != "first" && time.Since(start) < 250*time.Millisecond {
				t.Errorf("within the trusted time: %q, want the cached %q", b, "first")
			}
			time.Sleep(350 * time.Millisecond)
			if b := get(); b != "again" {
				t.Errorf("after the trusted time: %q, want %q", b, "again")
			}
			os.Remove(name)
			time.Sleep(350 * time.Millisecond)
			io.WriteString(c, "GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp, _ := c.readResp(t, "GET"); resp.StatusCode != 404 {
				t.Errorf("removed file: %d, want 404", resp.StatusCode)
			}
		})
	})
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
