package static

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	return len(ents)
}

// makeRoot builds the served tree, with a secret beside it (not below it).
func makeRoot(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "root")
	files := map[string]string{
		"outside/secret":             "secret",
		"root/index.html":            "root index",
		"root/file.txt":              "hello",
		"root/%2e":                   "a file named %2e",
		"root/UPPER.HTML":            "shouting",
		"root/sub/index.html":        "sub index",
		"root/sub/page.css":          "p{}",
		"root/nested/deeper/x.js":    "x()",
		"root/sp ace/q?.txt":         "odd name",
		"root/.git/config":           "[core]",
		"root/.env":                  "KEY=1",
		"root/sub/.htpasswd":         "u:p",
		"root/idxdir/index.html/y":   "index.html is a directory here",
		"root/emptydir/placeholder~": "",
	}
	for name, body := range files {
		p := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"link-in":      "file.txt",
		"dirlink":      "sub",
		"link-out":     "../outside/secret",
		"link-out-dir": "../outside",
		"abs-link":     filepath.Join(root, "file.txt"),
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A socket file: open(2) on it fails with ENXIO.
	s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(s)
	if err := unix.Bind(s, &unix.SockaddrUnix{Name: filepath.Join(root, "sock")}); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestLookup(t *testing.T) {
	root := makeRoot(t)
	before := countFDs(t)
	d, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path     string
		status   int
		body     string // when 200
		ctype    string // when 200
		location string // when 301
	}{
		// The attacks.
		{path: "/../etc/passwd", status: 403},
		{path: "/%2e%2e/%2e%2e/etc/passwd", status: 403},
		{path: "/a/%2F..%2F..", status: 400},
		{path: "/%00", status: 400},
		{path: "/a%5c..%5c", status: 400},
		{path: `/a\..\`, status: 400},
		{path: "//etc/passwd", status: 404},
		{path: "/.git/config", status: 404},
		{path: "/%2egit/config", status: 404},
		{path: "/.env", status: 404},
		{path: "/sub/.htpasswd", status: 404},
		{path: "/sub/../.env", status: 404},
		{path: "/link-out", status: 403},
		{path: "/link-out-dir/", status: 403},
		{path: "/link-out-dir/secret", status: 403},
		{path: "/abs-link", status: 403},
		{path: "/fifo", status: 403},
		{path: "/fifo/", status: 404},
		{path: "/sock", status: 403},
		{path: "/%zz", status: 400},
		{path: "/%2", status: 400},
		{path: "/a\r\nSet-Cookie: x", status: 400},
		{path: "", status: 400},
		{path: "index.html", status: 400},
		// Ordinary requests.
		{path: "/", status: 200, body: "root index", ctype: "text/html; charset=utf-8"},
		{path: "/file.txt", status: 200, body: "hello", ctype: "text/plain; charset=utf-8"},
		{path: "/UPPER.HTML", status: 200, body: "shouting", ctype: "text/html; charset=utf-8"},
		{path: "/link-in", status: 200, body: "hello", ctype: "application/octet-stream"}, // type from the name asked for
		{path: "/sub", status: 301, location: "/sub/"},
		{path: "/sub/", status: 200, body: "sub index", ctype: "text/html; charset=utf-8"},
		{path: "/sub/index.html", status: 200, body: "sub index", ctype: "text/html; charset=utf-8"},
		{path: "/sub/page.css", status: 200, body: "p{}", ctype: "text/css; charset=utf-8"},
		{path: "/dirlink/", status: 200, body: "sub index", ctype: "text/html; charset=utf-8"},
		{path: "/dirlink", status: 301, location: "/dirlink/"},
		{path: "/nested/deeper/x.js", status: 200, body: "x()", ctype: "text/javascript; charset=utf-8"},
		{path: "/nested/./deeper//x.js", status: 200, body: "x()", ctype: "text/javascript; charset=utf-8"},
		{path: "/nested/%64eeper/x.js", status: 200, body: "x()", ctype: "text/javascript; charset=utf-8"},
		{path: "/nested/", status: 403}, // no index.html, and no listing
		{path: "/nested", status: 301, location: "/nested/"},
		{path: "/nested/deeper/..", status: 403},
		{path: "/sub/..", status: 200, body: "root index", ctype: "text/html; charset=utf-8"},
		{path: "/sub/../file.txt", status: 200, body: "hello"},
		{path: "/%252e", status: 200, body: "a file named %2e", ctype: "application/octet-stream"},
		{path: "/sp%20ace/q%3F.txt", status: 200, body: "odd name"},
		{path: "/sp%20ace", status: 301, location: "/sp%20ace/"},
		{path: "/file.txt/", status: 404},
		{path: "/file.txt/x", status: 404},
		{path: "/missing", status: 404},
		{path: "/idxdir/", status: 403},
		{path: "/emptydir/", status: 403},
		{path: "/" + strings.Repeat("n", 300), status: 404},
		{path: strings.Repeat("/n", 3000), status: 404},
	}
	for _, c := range cases {
		r := d.Lookup([]byte(c.path))
		if r.Status != c.status {
			t.Errorf("Lookup(%q) = %d, want %d", c.path, r.Status, c.status)
		}
		if r.Status != 200 && r.File != nil {
			t.Errorf("Lookup(%q) = %d with an open file", c.path, r.Status)
		}
		if r.Location != c.location {
			t.Errorf("Lookup(%q) Location = %q, want %q", c.path, r.Location, c.location)
		}
		if r.Status != 200 || r.File == nil {
			continue
		}
		if c.ctype != "" && r.ContentType != c.ctype {
			t.Errorf("Lookup(%q) ContentType = %q, want %q", c.path, r.ContentType, c.ctype)
		}
		buf := make([]byte, 100)
		n, err := unix.Pread(r.File.FD(), buf, 0)
		if err != nil || string(buf[:n]) != c.body || r.File.Size != int64(len(c.body)) {
			t.Errorf("Lookup(%q) read %q, %v (size %d), want %q", c.path, buf[:n], err, r.File.Size, c.body)
		}
		if err := r.File.Close(); err != nil {
			t.Error(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if after := countFDs(t); after != before {
		t.Errorf("descriptor leak: %d open before, %d after", before, after)
	}
}

func TestOpenMissing(t *testing.T) {
	if d, err := Open(filepath.Join(t.TempDir(), "missing")); err == nil {
		d.Close()
		t.Fatal("Open of a missing directory succeeded")
	}
}

func TestCleanPath(t *testing.T) {
	cases := []struct {
		in     string
		rel    string
		dir    bool
		status int
	}{
		{"/", "", true, 0},
		{"//", "", true, 0},
		{"/a", "a", false, 0},
		{"/a/", "a", true, 0},
		{"/a/b/c.html", "a/b/c.html", false, 0},
		{"/a//b", "a/b", false, 0},
		{"/a/./b", "a/b", false, 0},
		{"/a/.", "a", true, 0},
		{"/a/..", "", true, 0},
		{"/a/b/../c", "a/c", false, 0},
		{"/a/b/../../c", "c", false, 0},
		{"/a/%2e%2E/b", "b", false, 0},
		{"/%41%62", "Ab", false, 0},
		{"/%252e", "%2e", false, 0},
		{"/%252e%252e/x", "%2e%2e/x", false, 0},
		{"/a%20b", "a b", false, 0},
		{"/..", "", false, 403},
		{"/a/../..", "", false, 403},
		{"/a/../../b", "", false, 403},
		{"/%2e%2e", "", false, 403},
		{"/a%2fb", "", false, 400},
		{"/a%2Fb", "", false, 400},
		{"/a%00", "", false, 400},
		{"/a\x00", "", false, 400},
		{"/a\\b", "", false, 400},
		{"/a%5Cb", "", false, 400},
		{"/a%", "", false, 400},
		{"/a%4", "", false, 400},
		{"/a%g0", "", false, 400},
		{"/a\tb", "", false, 400},
		{"/a\x7f", "", false, 400},
		{"a", "", false, 400},
		{"", "", false, 400},
		{"/.git", "", false, 404},
		{"/a/.b/../c", "", false, 404},
		{"/%2ehidden", "", false, 404},
		{"/...", "", false, 404},
		{"/.git/%zz", "", false, 400}, // malformed beats hidden
		{"/../.git", "", false, 403},  // first refusal wins
	}
	for _, c := range cases {
		rel, dir, status := CleanPath([]byte(c.in))
		if rel != c.rel || dir != c.dir || status != c.status {
			t.Errorf("CleanPath(%q) = %q, %v, %d; want %q, %v, %d", c.in, rel, dir, status, c.rel, c.dir, c.status)
		}
	}
}

// CleanPath's only allocation is the string it returns: decoding and
// cleaning happen in a stack buffer (for paths up to pathBuf bytes).
func TestCleanPathAllocs(t *testing.T) {
	for _, c := range []struct {
		path string
		want float64 // at most: the returned string, when it escapes
	}{
		{"/", 0},
		{"/index.html", 1},
		{"/a/b/c/style.css", 1},
		{"/a/./b/../%63//d.js", 1},
		{"/..", 0},
	} {
		p := []byte(c.path)
		if got := testing.AllocsPerRun(100, func() { CleanPath(p) }); got > c.want {
			t.Errorf("CleanPath(%q): %v allocations, want at most %v", c.path, got, c.want)
		}
		// Into a buffer of the caller's, as Cache cleans: none at all.
		buf := make([]byte, 0, pathBuf)
		if got := testing.AllocsPerRun(100, func() { cleanPath(buf[:0], p) }); got != 0 {
			t.Errorf("cleanPath(%q): %v allocations, want 0", c.path, got)
		}
	}
}

func TestContentType(t *testing.T) {
	cases := map[string]string{
		"index.html":      "text/html; charset=utf-8",
		"a/b/INDEX.HTM":   "text/html; charset=utf-8",
		"app.mjs":         "text/javascript; charset=utf-8",
		"data.json":       "application/json",
		"font.WOFF2":      "font/woff2",
		"m.wasm":          "application/wasm",
		"x.tar.gz":        "application/gzip",
		"photo.JpEg":      "image/jpeg",
		"data.csv":        "text/csv; charset=utf-8",
		"noext":           "application/octet-stream",
		"dir.d/noext":     "application/octet-stream",
		"trailing.":       "application/octet-stream",
		"x.unknown":       "application/octet-stream",
		"x.htmlx":         "application/octet-stream",
		"x.toolongext":    "application/octet-stream",
		"":                "application/octet-stream",
		"x.HTML\u00e9":    "application/octet-stream",
		"app.js.map":      "application/json",
		"img.svg":         "image/svg+xml",
		"favicon.ico":     "image/x-icon",
		"clip.webm":       "video/webm",
		"README.md":       "text/markdown; charset=utf-8",
		"feed.xml":        "text/xml; charset=utf-8",
		"notes.txt":       "text/plain; charset=utf-8",
		"archive.zip":     "application/zip",
		"sound.ogg":       "audio/ogg",
		"picture.avif":    "image/avif",
		"document.pdf":    "application/pdf",
		"font.otf":        "font/otf",
		"music.mp3":       "audio/mpeg",
		"style.min.CSS":   "text/css; charset=utf-8",
		"bundle.tar":      "application/x-tar",
		"a.png":           "image/png",
		"a.gif":           "image/gif",
		"a.webp":          "image/webp",
		"a.mp4":           "video/mp4",
		"a.wav":           "audio/wav",
		"a.ttf":           "font/ttf",
		"a.woff":          "font/woff",
		"a.jpg":           "image/jpeg",
		"a.js":            "text/javascript; charset=utf-8",
		"a.css":           "text/css; charset=utf-8",
		"a.html/noext.gz": "application/gzip",
	}
	for name, want := range cases {
		if got := ContentType(name); got != want {
			t.Errorf("ContentType(%q) = %q, want %q", name, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { ContentType("Index.HTML") }); n != 0 {
		t.Errorf("ContentType allocates %v times", n)
	}
}

// FuzzCleanPath checks that CleanPath never panics and that whatever it
// accepts is safe to hand to openat2: relative, no empty, "." or ".."
// segment, no hidden segment, no NUL, no backslash. It also checks that
// cleaning is stable: the accepted path, re-encoded, cleans to itself.
func FuzzCleanPath(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		rel, dir, status := CleanPath(raw)
		switch status {
		case 400, 403, 404:
			if rel != "" || dir {
				t.Fatalf("CleanPath(%q) = %q, %v with status %d", raw, rel, dir, status)
			}
			return
		case 0:
		default:
			t.Fatalf("CleanPath(%q) status %d", raw, status)
		}
		if strings.ContainsAny(rel, "\x00\\") || strings.HasPrefix(rel, "/") {
			t.Fatalf("CleanPath(%q) = %q", raw, rel)
		}
		if rel == "" {
			if !dir {
				t.Fatalf("CleanPath(%q) = root without dir", raw)
			}
		} else {
			for _, seg := range strings.Split(rel, "/") {
				if seg == "" || seg == "." || seg == ".." || seg[0] == '.' {
					t.Fatalf("CleanPath(%q) = %q: segment %q", raw, rel, seg)
				}
			}
		}
		again := "/" + escapePath(rel)
		if dir && rel != "" {
			again += "/"
		}
		rel2, dir2, status2 := CleanPath([]byte(again))
		if rel2 != rel || dir2 != dir || status2 != 0 {
			t.Fatalf("CleanPath(%q) = %q, %v; re-encoded %q cleans to %q, %v, %d", raw, rel, dir, again, rel2, dir2, status2)
		}
	})
}
