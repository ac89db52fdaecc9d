package static

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cacheDir is a root with the given files, old enough that their copies
// are not racy, and a Cache over it of limit bytes.
func cacheDir(t *testing.T, limit int64, files map[string]string) (string, *Cache) {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(racyMargin + 10*time.Millisecond)
	d, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return root, NewCache(d, limit, 0)
}

// fetch is what the server does for a request: Get, else Lookup and Put.
// It returns the body served and whether it came from the cache.
func fetch(t *testing.T, c *Cache, path string, batch uint64) (body string, hit bool, status int) {
	t.Helper()
	if e := c.Get([]byte(path), batch, time.Now()); e != nil {
		return string(e.Body), true, 200
	}
	res := c.dir.Lookup([]byte(path))
	if res.Status != 200 {
		return "", false, res.Status
	}
	defer res.File.Close()
	if e := c.Put(res, time.Now()); e != nil {
		return string(e.Body), false, 200
	}
	b := make([]byte, res.File.Size)
	if err := res.File.ReadFull(b); err != nil {
		t.Fatal(err)
	}
	return string(b), false, 200
}

func TestCacheHitAndKey(t *testing.T) {
	_, c := cacheDir(t, DefaultCacheBytes, map[string]string{"a.txt": "A", "sub/index.html": "S"})
	if b, hit, _ := fetch(t, c, "/a.txt", 1); b != "A" || hit {
		t.Fatalf("first: %q hit %v", b, hit)
	}
	// The key is the cleaned path: the same file, one entry, however asked.
	for _, p := range []string{"/a.txt", "/x/../a.txt", "//a.txt", "/%61.txt", "/sub/../sub/../a.txt"} {
		if b, hit, _ := fetch(t, c, p, 0); b != "A" || !hit {
			t.Errorf("%s: %q hit %v", p, b, hit)
		}
	}
	fetch(t, c, "/sub/", 0)
	if b, hit, _ := fetch(t, c, "/sub/index.html", 0); b != "S" || !hit {
		t.Errorf("/sub/index.html after /sub/: %q hit %v", b, hit)
	}
	if len(c.entries) != 2 {
		t.Errorf("%d entries, want 2", len(c.entries))
	}
	// A flood of distinct paths to one file keeps one key.
	junk := bytes.Repeat([]byte("j"), 8<<10)
	for i := 0; i < 2000; i++ {
		fetch(t, c, fmt.Sprintf("/%s%d/../a.txt", junk, i), 0)
	}
	if len(c.entries) != 2 {
		t.Errorf("after distinct paths to one file: %d entries, want 2", len(c.entries))
	}
}

// A hit costs no allocation.
func TestCacheGetAllocs(t *testing.T) {
	_, c := cacheDir(t, DefaultCacheBytes, map[string]string{"a.txt": "A", "d/e/f.css": "F"})
	for _, p := range []string{"/a.txt", "/d/e/f.css"} {
		fetch(t, c, p, 0)
		path := []byte(p)
		if n := testing.AllocsPerRun(100, func() {
			if c.Get(path, 0, time.Now()) == nil {
				t.Fatal("miss")
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per hit", p, n)
		}
	}
}

// Every way a file can change is seen on the next request: statx's inode,
// size, mtime and above all ctime, which a rewrite that restores the mtime
// cannot restore.
func TestCacheSeesChanges(t *testing.T) {
	root, c := cacheDir(t, DefaultCacheBytes, map[string]string{"f": "version 1", "g": "other"})
	name := filepath.Join(root, "f")
	mtime := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	os.Chtimes(name, mtime, mtime)
	time.Sleep(racyMargin + 10*time.Millisecond)
	fetch(t, c, "/f", 0)
	for _, tc := range []struct {
		what   string
		change func()
		want   string
	}{
		{"same size in place, mtime put back (cp -p, rsync -t)", func() {
			f, _ := os.OpenFile(name, os.O_WRONLY, 0)
			f.WriteAt([]byte("version 2"), 0)
			f.Close()
			os.Chtimes(name, mtime, mtime)
		}, "version 2"},
		{"renamed over, mtime put back", func() {
			os.WriteFile(name+".new", []byte("version 3"), 0o644)
			os.Chtimes(name+".new", mtime, mtime)
			os.Rename(name+".new", name)
		}, "version 3"},
		{"grown", func() { os.WriteFile(name, []byte("version four"), 0o644) }, "version four"},
		{"made unreadable, then readable (chmod)", func() { os.Chmod(name, 0o600); os.Chmod(name, 0o644) }, "version four"},
	} {
		// The copy read after the last change was racy: past the margin it
		// is read once more, and then it is a hit — so only statx can tell.
		time.Sleep(racyMargin + 10*time.Millisecond)
		fetch(t, c, "/f", 0)
		if _, hit, _ := fetch(t, c, "/f", 0); !hit {
			t.Fatalf("%s: the copy before the change was not a hit", tc.what)
		}
		tc.change()
		if b, hit, _ := fetch(t, c, "/f", 0); b != tc.want || hit {
			t.Errorf("%s: %q (hit %v), want %q from disk", tc.what, b, hit, tc.want)
		}
	}
	// Gone: a miss, and Lookup's 404.
	os.Remove(name)
	if _, _, status := fetch(t, c, "/f", 0); status != 404 {
		t.Errorf("removed: %d", status)
	}
}

// A copy read within the racy margin of its file's last change is read
// again on the next request, even though statx sees nothing new: a second
// write in the same clock tick would look exactly like that.
func TestCacheRacy(t *testing.T) {
	root, c := cacheDir(t, DefaultCacheBytes, map[string]string{})
	name := filepath.Join(root, "f")
	os.WriteFile(name, []byte("fresh"), 0o644)
	if _, hit, _ := fetch(t, c, "/f", 0); hit {
		t.Fatal("first request a hit")
	}
	if _, hit, _ := fetch(t, c, "/f", 0); hit || c.racyRereads != 1 {
		t.Errorf("a racy copy was trusted (hit %v, %d re-reads)", hit, c.racyRereads)
	}
	time.Sleep(racyMargin + 10*time.Millisecond)
	fetch(t, c, "/f", 0) // read again, now safely after the change
	if _, hit, _ := fetch(t, c, "/f", 0); !hit {
		t.Error("not a hit once the change is older than the margin")
	}
}

// A hit is validated once per batch: the requests of one read share one
// check. A new batch checks again.
func TestCacheBatch(t *testing.T) {
	root, c := cacheDir(t, DefaultCacheBytes, map[string]string{"f": "old"})
	fetch(t, c, "/f", 7)
	fetch(t, c, "/f", 7)
	os.WriteFile(filepath.Join(root, "f"), []byte("new"), 0o644)
	if b, _, _ := fetch(t, c, "/f", 7); b != "old" {
		t.Errorf("same batch: %q, want the copy validated for it", b)
	}
	if b, _, _ := fetch(t, c, "/f", 8); b != "new" {
		t.Errorf("next batch: %q, want new", b)
	}
}

// The last hit is remembered by its raw path, for the next request of the
// batch; it must never outlive its entry: evicted, or replaced by a fresh
// read in the same batch, it is looked up again.
func TestCacheLastHit(t *testing.T) {
	files := map[string]string{"a": strings.Repeat("a", 1000), "b": strings.Repeat("b", 1000)}
	root, c := cacheDir(t, 2000, files) // room for one entry
	fetch(t, c, "/a", 5)
	if _, hit, _ := fetch(t, c, "/a", 5); !hit || c.last == nil {
		t.Fatal("second fetch of /a: not a remembered hit")
	}
	fetch(t, c, "/b", 5) // evicts a
	if _, ok := c.entries["a"]; ok {
		t.Fatal("a not evicted: the test needs a cache with room for one")
	}
	if b, hit, _ := fetch(t, c, "/a", 5); hit || b != files["a"] {
		t.Fatalf("after its eviction, /a served from memory (hit %v)", hit)
	}
	// Replaced in the same batch: a racy copy is read again, and the new
	// read's entry is the one served.
	os.WriteFile(filepath.Join(root, "a"), []byte("new"), 0o644)
	c.entries["a"].racy = true
	if b, _, _ := fetch(t, c, "/a", 5); b != "new" {
		t.Fatalf("racy copy read again: %q, want new", b)
	}
	if e := c.Get([]byte("/a"), 5, time.Now()); e != nil && string(e.Body) != "new" {
		t.Fatalf("remembered hit serves %q after its entry was replaced", e.Body)
	}
}

// What a name leads to changes kind: a directory, a symlink (even to a file
// inside the root), a directory moved out of the root and linked back. None
// is served from memory; the disk says what to do.
func TestCacheReplacedByOtherKinds(t *testing.T) {
	root, c := cacheDir(t, DefaultCacheBytes, map[string]string{"f": "file", "other": "other", "sub/x.txt": "inside"})
	outside := t.TempDir()
	fetch(t, c, "/f", 0)
	fetch(t, c, "/sub/x.txt", 0)

	os.Remove(filepath.Join(root, "f"))
	os.Mkdir(filepath.Join(root, "f"), 0o755)
	if _, hit, status := fetch(t, c, "/f", 0); hit || status != 301 {
		t.Errorf("file replaced by a directory: hit %v, status %d, want 301 from disk", hit, status)
	}
	os.Remove(filepath.Join(root, "f"))
	os.Symlink("other", filepath.Join(root, "f"))
	if b, hit, _ := fetch(t, c, "/f", 0); hit || b != "other" {
		t.Errorf("replaced by a symlink: %q hit %v", b, hit)
	}
	if _, hit, _ := fetch(t, c, "/f", 0); hit {
		t.Error("a name that is a symlink was cached")
	}

	// The directory leaves the root and comes back as a link to where it
	// went: openat2 refuses the way out, so must the cache.
	time.Sleep(racyMargin + 10*time.Millisecond)
	if _, hit, _ := fetch(t, c, "/sub/x.txt", 0); !hit {
		t.Fatal("/sub/x.txt was not cached")
	}
	if err := os.Rename(filepath.Join(root, "sub"), filepath.Join(outside, "sub")); err != nil {
		t.Fatal(err)
	}
	os.Symlink(filepath.Join(outside, "sub"), filepath.Join(root, "sub"))
	if b, hit, status := fetch(t, c, "/sub/x.txt", 0); hit || status != 403 {
		t.Errorf("a directory moved out and linked back: %q hit %v status %d, want 403 from disk", b, hit, status)
	}
}

// Files grown past the largest cached size are served from disk; the cache
// forgets them.
func TestCacheTooLarge(t *testing.T) {
	root, c := cacheDir(t, DefaultCacheBytes, map[string]string{"f": "small"})
	fetch(t, c, "/f", 0)
	os.WriteFile(filepath.Join(root, "f"), make([]byte, MaxCachedFile+1), 0o644)
	if b, hit, _ := fetch(t, c, "/f", 0); hit || len(b) != MaxCachedFile+1 {
		t.Errorf("grown: %d bytes, hit %v", len(b), hit)
	}
	if len(c.entries) != 0 || c.used != 0 {
		t.Errorf("%d entries, %d bytes kept for a file too large", len(c.entries), c.used)
	}
}

// The bound holds whatever is asked, and what goes first is what was not
// asked for again: the clock spares an entry hit since the hand last
// passed.
func TestCacheBoundAndEviction(t *testing.T) {
	files := map[string]string{}
	for i := 0; i < 300; i++ {
		files[fmt.Sprintf("f%03d", i)] = string(bytes.Repeat([]byte{'a' + byte(i%26)}, 1000))
	}
	const limit = 40 << 10 // about 30 entries
	_, c := cacheDir(t, limit, files)
	hot := "/f000"
	for i := 0; i < 300; i++ {
		fetch(t, c, fmt.Sprintf("/f%03d", i), 0)
		fetch(t, c, hot, 0) // asked for between every other
		if c.used > limit {
			t.Fatalf("after %d files: %d bytes used, limit %d", i, c.used, limit)
		}
	}
	if c.evictions == 0 || len(c.entries) > 40 {
		t.Errorf("%d evictions, %d entries", c.evictions, len(c.entries))
	}
	if _, hit, _ := fetch(t, c, hot, 0); !hit {
		t.Error("the file asked for all along was evicted")
	}
	var sum int64
	for _, e := range c.entries {
		sum += e.cost
	}
	if sum != c.used {
		t.Errorf("entries cost %d, used says %d", sum, c.used)
	}
}

// With -file-cache-trust, a copy is served unchecked for that long after
// its last check — and then checked.
func TestCacheTrust(t *testing.T) {
	root, c := cacheDir(t, DefaultCacheBytes, map[string]string{"f": "old"})
	c.trust = 200 * time.Millisecond
	fetch(t, c, "/f", 0)
	os.WriteFile(filepath.Join(root, "f"), []byte("new"), 0o644)
	if b, _, _ := fetch(t, c, "/f", 0); b != "old" {
		t.Errorf("within the trusted time: %q", b)
	}
	time.Sleep(250 * time.Millisecond)
	if b, _, _ := fetch(t, c, "/f", 0); b != "new" {
		t.Errorf("after it: %q", b)
	}
}

func TestContentTag(t *testing.T) {
	a, b := contentTag([]byte("version 1")), contentTag([]byte("version 2"))
	if bytes.Equal(a, b) || a[0] != '"' || a[len(a)-1] != '"' {
		t.Errorf("tags %s %s", a, b)
	}
	if got := string(contentTag(nil)); got != `"0.cbf29ce484222325"` {
		t.Errorf("empty: %s", got)
	}
}
