package ref

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseHead(t *testing.T) {
	tests := []struct {
		in        string
		n         int
		keepAlive bool
		path      string
		err       error
	}{
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27, true, "/", nil},
		{"GET /x?y=1 HTTP/1.1\r\nConnection: close\r\n\r\nGET /", 42, false, "/x", nil},
		{"GET / HTTP/1.0\r\n\r\n", 18, false, "/", nil},
		{"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 42, true, "/", nil},
		{"GET / HTTP/1.1\r\nHost: a\r\n", 0, false, "", nil}, // not whole yet
		{"GET / HTTP/2\r\n\r\n", 0, false, "", ErrMalformed},
		{"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 0, false, "", ErrMalformed},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 0, false, "", ErrUnsupported},
		{"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 0, false, "", ErrBodyTooBig},
		{"GET /" + strings.Repeat("a", MaxHead) + " HTTP/1.1\r\n", 0, false, "", ErrTooLarge},
	}
	for _, tc := range tests {
		req, n, err := ParseHead([]byte(tc.in))
		if n != tc.n || err != tc.err || (n > 0 && (req.KeepAlive != tc.keepAlive || string(req.Path) != tc.path)) {
			t.Errorf("ParseHead(%.40q) = %+v, %d, %v; want n %d keepAlive %v path %q err %v",
				tc.in, req, n, err, tc.n, tc.keepAlive, tc.path, tc.err)
		}
	}
}

func TestRespond(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("abc"), 0o644)
	get := func(path string) string {
		req, _, err := ParseHead([]byte("GET " + path + " HTTP/1.1\r\n\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := Respond(nil, dir, req, true)
		return string(out)
	}
	if out := get("/"); !strings.HasPrefix(out, "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(out, "\r\nAccept-Ranges: none\r\n\r\nHello, World!") ||
		!strings.Contains(out, "\r\nContent-Length: 13\r\n") || !strings.Contains(out, "\r\nLast-Modified: ") || !strings.Contains(out, "\r\nETag: \"") {
		t.Errorf("GET /: %q", out)
	}
	if out := get("/a.txt"); !strings.HasSuffix(out, "Content-Length: 3\r\n\r\nabc") {
		t.Errorf("GET /a.txt: %q", out)
	}
	for _, p := range []string{"/missing", "/../" + filepath.Base(dir) + "/a.txt/x"} {
		if out := get(p); !strings.HasPrefix(out, "HTTP/1.1 404 ") {
			t.Errorf("GET %s: %q", p, out)
		}
	}
}
