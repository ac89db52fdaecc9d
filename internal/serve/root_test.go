package serve_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rawserve/rawserve/internal/static"
)

// replaceableDir is a served directory, "site", that a test removes and
// makes again as fixtures do (rm -rf site && mkdir site && cp ...).
type replaceableDir struct {
	path string
	d    *static.Dir
	log  *syncBuffer // the Dir's lines: replaced, gone, back
}

func newReplaceableDir(t *testing.T) *replaceableDir {
	t.Helper()
	r := &replaceableDir{path: filepath.Join(t.TempDir(), "site"), log: &syncBuffer{}}
	r.remake(t, "index.html", "first")
	r.d = openDir(t, r.path)
	r.d.List, r.d.Log = true, r.log
	return r
}

// remake removes the directory if it is there, and makes it again with the
// files given as name, content pairs.
func (r *replaceableDir) remake(t *testing.T, files ...string) {
	t.Helper()
	if err := os.RemoveAll(r.path); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(r.path, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(files); i += 2 {
		if err := os.WriteFile(filepath.Join(r.path, files[i]), []byte(files[i+1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The served directory deleted and made again 200 times, each time with a
// new file, over one kept-alive connection: the new file is served at once,
// the old ones are 404, and the process's descriptors do not grow.
func TestDirReplaced(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		r := newReplaceableDir(t)
		ts := m.start(t, settings{Dir: r.d})
		c := ts.dial(t)
		if err := c.expect(get("/"), 200, "first"); err != nil {
			t.Fatal(err)
		}
		before := countFDs(t)
		const n = 200
		for i := 1; i <= n; i++ {
			name, body := fmt.Sprintf("f%d.txt", i), fmt.Sprintf("case %d\n", i)
			r.remake(t, name, body)
			if err := c.expect(get("/"+name), 200, body); err != nil {
				t.Fatalf("replacement %d: %v", i, err)
			}
		}
		if err := c.expect(get("/f1.txt"), 404, "404 Not Found\n"); err != nil {
			t.Error(err)
		}
		if after := countFDs(t); after > before { // fewer: an earlier test's socket closed meanwhile
			t.Errorf("%d descriptors after %d replacements, %d before", after, n, before)
		}
		if got := strings.Count(r.log.String(), "was replaced: serving the new directory\n"); got != n {
			t.Errorf("%d replaced lines for %d replacements", got, n)
		}
	})
}

// Removed and not made again: 404 for every path — not the deleted
// directory's 403, or its 500 for a listing — and served again as soon as
// it is back.
func TestDirGoneAndBack(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		r := newReplaceableDir(t)
		ts := m.start(t, settings{Dir: r.d})
		c := ts.dial(t)
		if err := os.RemoveAll(r.path); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/", "/index.html", "/sub/", "/"} {
			if err := c.expect(get(p), 404, "404 Not Found\n"); err != nil {
				t.Error(err)
			}
		}
		r.remake(t, "index.html", "back")
		if err := c.expect(get("/"), 200, "back"); err != nil {
			t.Error(err)
		}
		want := fmt.Sprintf("rawserve: -dir %q is gone (newfstatat: no such file or directory): 404 for every request until it is back\n"+
			"rawserve: -dir %q is back: serving it again\n", r.path, r.path)
		if got := r.log.String(); got != want {
			t.Errorf("log:\n%s\nwant:\n%s", got, want)
		}
	})
}

// Two epoll loops, and clients on both asking at once for a file only the
// new directory has: each round, exactly one reopen, and every client
// served.
func TestDirReplacedTwoLoops(t *testing.T) { forEachLoop(t, testDirReplacedTwoLoops) }

func testDirReplacedTwoLoops(t *testing.T, m model) {
	r := newReplaceableDir(t)
	ts := m.loops(t, settings{Dir: r.d}, 2)
	const clients, rounds = 6, 20
	cs := make([]*client, clients)
	for i := range cs {
		cs[i] = ts.dial(t)
	}
	for round := 1; round <= rounds; round++ {
		name, body := fmt.Sprintf("r%d.txt", round), fmt.Sprintf("round %d\n", round)
		r.remake(t, name, body)
		var wg sync.WaitGroup
		for _, c := range cs {
			wg.Go(func() {
				if err := c.expect(get("/"+name), 200, body); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	if got := strings.Count(r.log.String(), "was replaced"); got != rounds {
		t.Errorf("%d replaced lines for %d replacements:\n%s", got, rounds, r.log)
	}
}
