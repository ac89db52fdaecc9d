package static

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// site is a served directory the test can replace, with the Dir's log.
// A plain Builder will do for the log: the Dir writes a line only with its
// mutex held (or once, after a compare-and-swap), and the tests read it
// once the lookups are over.
type site struct {
	t    *testing.T
	path string
	d    *Dir
	log  *strings.Builder
}

// newSite makes dir "site" in a temporary directory with the files given
// (name, content, ...) and opens it, with List on.
func newSite(t *testing.T, files ...string) *site {
	t.Helper()
	s := &site{t: t, path: filepath.Join(t.TempDir(), "site"), log: &strings.Builder{}}
	s.make(files...)
	d, err := Open(s.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	d.List, d.Log = true, s.log
	s.d = d
	return s
}

// make creates the directory and writes the files into it.
func (s *site) make(files ...string) {
	s.t.Helper()
	if err := os.Mkdir(s.path, 0o755); err != nil {
		s.t.Fatal(err)
	}
	for i := 0; i+1 < len(files); i += 2 {
		if err := os.WriteFile(filepath.Join(s.path, files[i]), []byte(files[i+1]), 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
}

// replace is the fixture pattern: rm -rf site && mkdir site && cp ...
func (s *site) replace(files ...string) {
	s.t.Helper()
	if err := os.RemoveAll(s.path); err != nil {
		s.t.Fatal(err)
	}
	s.make(files...)
}

// get looks path up and returns the status and the body (file or listing).
func (s *site) get(path string) (int, string) {
	s.t.Helper()
	r := s.d.Lookup([]byte(path))
	if r.File == nil {
		return r.Status, string(r.Body)
	}
	defer r.File.Close()
	b := make([]byte, r.File.Size)
	if err := r.File.ReadFull(b); err != nil {
		s.t.Fatal(err)
	}
	return r.Status, string(b)
}

func (s *site) expect(path string, status int, body string) {
	s.t.Helper()
	if st, b := s.get(path); st != status || !strings.Contains(b, body) {
		s.t.Errorf("%s: %d %q, want %d with %q", path, st, b, status, body)
	}
}

// lines counts the log's lines that contain what.
func (s *site) lines(what string) int {
	return strings.Count(s.log.String(), what)
}

// rm -rf site && mkdir site && cp ...: the first miss finds the new
// directory, and serves from it at once — the file, the listing, the index.
func TestRootDeletedAndRecreated(t *testing.T) {
	s := newSite(t, "a.txt", "one")
	s.expect("/a.txt", 200, "one")
	s.replace("b.txt", "two")
	s.expect("/b.txt", 200, "two")
	s.expect("/a.txt", 404, "")
	s.expect("/", 200, `href="./b.txt"`)
	s.replace("index.html", "new index")
	s.expect("/", 200, "new index") // index.html's absence was the miss
	s.replace("c.txt", "three")
	s.expect("/", 200, `href="./c.txt"`) // not the deleted directory's 500 (getdents64: ENOENT)
	if n := s.lines("was replaced: serving the new directory"); n != 3 {
		t.Errorf("%d replaced lines, want 3:\n%s", n, s.log)
	}
}

// mv site site.old && mkdir site: the old tree still answers hits — for at
// most a second; then a hit's check finds the new directory.
func TestRootMovedAway(t *testing.T) {
	s := newSite(t, "a.txt", "old")
	s.expect("/a.txt", 200, "old")
	if err := os.Rename(s.path, s.path+".old"); err != nil {
		t.Fatal(err)
	}
	s.make("a.txt", "new")
	s.expect("/a.txt", 200, "") // old or new: within the second
	time.Sleep(checkEvery + 50*time.Millisecond)
	s.expect("/a.txt", 200, "new")
	if n := s.lines("was replaced"); n != 1 {
		t.Errorf("%d replaced lines, want 1:\n%s", n, s.log)
	}
}

// A directory removed and not made again: 404 for everything — not the
// deleted directory's 403 or 500 — one line saying so, and it is served
// again as soon as it is back.
func TestRootGoneAndBack(t *testing.T) {
	s := newSite(t, "a.txt", "one")
	if err := os.RemoveAll(s.path); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/a.txt", "/sub/", "/a.txt"} {
		s.expect(p, 404, "")
	}
	// A tree moved away is gone too, although its files are still there.
	s.make("a.txt", "two")
	s.expect("/a.txt", 200, "two")
	if err := os.Rename(s.path, s.path+".old"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(checkEvery + 50*time.Millisecond)
	s.expect("/a.txt", 404, "")
	s.expect("/a.txt", 404, "")
	// A file where the directory was: gone as well.
	os.WriteFile(s.path, []byte("not a directory"), 0o644)
	s.expect("/", 404, "")
	os.Remove(s.path)
	s.make("b.txt", "three")
	s.expect("/b.txt", 200, "three")
	log := s.log.String()
	if s.lines("is gone (newfstatat: no such file or directory): 404 for every request until it is back") != 2 ||
		s.lines("is back: serving it again") != 2 || s.lines("was replaced") != 0 {
		t.Errorf("log:\n%s", log)
	}
}

// The directory replaced 200 times: the root is always the same descriptor
// (dup3), so the process's descriptors do not grow.
func TestRootReplacedKeepsDescriptors(t *testing.T) {
	s := newSite(t, "0.txt", "0")
	s.expect("/0.txt", 200, "0")
	before := countFDs(t)
	for i := 1; i <= 200; i++ {
		name := "f" + strings.Repeat("x", i%7) + ".txt"
		s.replace(name, name)
		s.expect("/"+name, 200, name)
	}
	if after := countFDs(t); after != before {
		t.Errorf("%d descriptors after 200 replacements, %d before", after, before)
	}
	if n := s.lines("was replaced"); n != 200 {
		t.Errorf("%d replaced lines, want 200", n)
	}
}

// Many loops miss at once after a replacement: exactly one reopens (one
// line), and every one of them serves the new file. Run with -race.
func TestRootReplacedConcurrently(t *testing.T) {
	s := newSite(t, "f", "0")
	const rounds, loops = 30, 8
	for r := 1; r <= rounds; r++ {
		want := strings.Repeat("z", r)
		s.replace("f"+want, want)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range loops {
			wg.Go(func() {
				<-start
				if st, b := s.get("/f" + want); st != 200 || b != want {
					t.Errorf("round %d: %d %q", r, st, b)
				}
			})
		}
		close(start)
		wg.Wait()
	}
	if n := s.lines("was replaced"); n != rounds {
		t.Errorf("%d replaced lines for %d replacements:\n%s", n, rounds, s.log)
	}
}

// / is refused by identity, whatever it is called.
func TestIsFileSystemRoot(t *testing.T) {
	link := filepath.Join(t.TempDir(), "slash")
	os.Symlink("/", link)
	for _, p := range []string{"/", "//", "/tmp/..", link} {
		d, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if !d.IsFileSystemRoot() {
			t.Errorf("%s: not the file system's root", p)
		}
		d.Close()
	}
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.IsFileSystemRoot() {
		t.Error("a temporary directory taken for /")
	}
}

// BenchmarkLookup is a hit: CleanPath, the clock read that decides whether
// to check the root, openat2, fstat, close.
func BenchmarkLookup(b *testing.B) {
	root := b.TempDir()
	os.WriteFile(filepath.Join(root, "a.txt"), []byte("a"), 0o644)
	d, err := Open(root)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	path := []byte("/a.txt")
	b.ReportAllocs()
	for b.Loop() {
		r := d.Lookup(path)
		r.File.Close()
	}
}

// BenchmarkRootCheck is what a miss adds, and a hit once a second: one
// newfstatat of the path and a comparison.
func BenchmarkRootCheck(b *testing.B) {
	d, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	for b.Loop() {
		if d.checkRoot(d.state.Load()) != rootSame {
			b.Fatal("root changed")
		}
	}
}

// Running as root, the first file served that not everyone may read gets
// one line — root reads it whatever its mode — and later ones none. A file
// anyone may read gets none.
func TestRootServesPrivateFile(t *testing.T) {
	s := newSite(t, "public.txt", "p", "private.key", "k", "other.key", "o")
	os.Chmod(filepath.Join(s.path, "private.key"), 0o600)
	os.Chmod(filepath.Join(s.path, "other.key"), 0o640)
	s.d.asRoot = true // as RunningAsRoot says when the tests run as root
	s.expect("/public.txt", 200, "p")
	if log := s.log.String(); log != "" {
		t.Errorf("a file anyone may read: %q", log)
	}
	s.expect("/private.key", 200, "k")
	s.expect("/other.key", 200, "o")
	want := `rawserve: warning: running as root, which may read any file: served "/private.key" (mode 0600), which not everyone may read; ` +
		"permissions keep nothing below -dir from being served (this is said once)\n"
	if log := s.log.String(); log != want {
		t.Errorf("log %q, want %q", log, want)
	}
}
