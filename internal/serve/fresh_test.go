package serve_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/static"
)

// version is the body of version i of the test file: all versions are the
// same size, so that only the content (and ctime) tells them apart.
func version(i int) string { return fmt.Sprintf("version %07d\n", i) }

// TestFreshness rewrites one file 10,000 times, with the file cache on as
// by default, each rewrite complete before the next request: the same size
// in place with its mtime put back (cp -p, rsync -t, a build's normalised
// mtimes), or a new file renamed over it, mtime put back too. Every body
// is the latest version, every ETag new, and an If-None-Match with the
// previous tag is never a 304; the current tag is. Now and then the copy
// is left to age past the racy margin first, so that it is a validated hit
// right before the change, and only statx can see the change.
func TestFreshness(t *testing.T) {
	const rewrites = 10000
	forEachModel(t, func(t *testing.T, m model) {
		root := t.TempDir()
		name := filepath.Join(root, "f")
		mtime := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		write := func(i int) {
			if i%2 == 0 {
				f, err := os.OpenFile(name, os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteAt([]byte(version(i)), 0)
				f.Close()
			} else {
				os.WriteFile(name+".new", []byte(version(i)), 0o644)
				os.Chtimes(name+".new", mtime, mtime)
				os.Rename(name+".new", name)
			}
			os.Chtimes(name, mtime, mtime)
		}
		os.WriteFile(name, []byte(version(0)), 0o644)
		ts := m.start(t, settings{Dir: openDir(t, root), FileCache: static.DefaultCacheBytes})
		c := ts.dial(t)
		prev, failures := "", 0
		for i := 1; i <= rewrites && failures < 5; i++ {
			if i%250 == 0 {
				time.Sleep(30 * time.Millisecond) // the copy ages past the racy margin
				c.fetch(get("/f"), "GET")         // read again, then a hit:
				if resp, body, err := c.fetch(get("/f"), "GET"); err != nil || body != version(i-1) {
					t.Fatalf("before rewrite %d: %v %q", i, err, body)
				} else if prev = resp.Header.Get("ETag"); prev == "" {
					t.Fatal("no ETag")
				}
			}
			write(i)
			resp, body, err := c.fetch("GET /f HTTP/1.1\r\nHost: x\r\nIf-None-Match: "+prev+"\r\n\r\n", "GET")
			if err != nil {
				t.Fatal(err)
			}
			tag := resp.Header.Get("ETag")
			if resp.StatusCode != 200 || body != version(i) || tag == prev {
				t.Errorf("rewrite %d (%s): %d %q, ETag %s after %s", i, map[bool]string{true: "in place", false: "renamed"}[i%2 == 0],
					resp.StatusCode, body, tag, prev)
				failures++
			}
			if i%100 == 0 {
				if resp, _, _ := c.fetch("GET /f HTTP/1.1\r\nHost: x\r\nIf-None-Match: "+tag+"\r\n\r\n", "GET"); resp.StatusCode != 304 {
					t.Errorf("rewrite %d: If-None-Match with the current tag: %d, want 304", i, resp.StatusCode)
				}
			}
			prev = tag
		}
	})
}

// TestFreshnessConcurrent replaces a file by rename while four clients
// fetch it: every body is one of the versions, whole. (An in-place rewrite
// may be read half-done by any server, with or without a cache: a fixture
// that rewrites files under a running server should rename.)
func TestFreshnessConcurrent(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		root := t.TempDir()
		name := filepath.Join(root, "f")
		os.WriteFile(name, []byte(version(0)), 0o644)
		ts := m.start(t, settings{Dir: openDir(t, root), FileCache: static.DefaultCacheBytes})
		var latest atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				os.WriteFile(name+".new", []byte(version(i)), 0o644)
				os.Rename(name+".new", name)
				latest.Store(int64(i))
				time.Sleep(100 * time.Microsecond)
			}
		}()
		var bad atomic.Int64
		var fetched atomic.Int64
		for k := 0; k < 4; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var c *client
				defer func() {
					if c != nil {
						c.Close()
					}
				}()
				for deadline := time.Now().Add(700 * time.Millisecond); time.Now().Before(deadline); {
					if c == nil {
						var err error
						if c, err = dialClient(ts.addr); err != nil {
							t.Error(err)
							return
						}
					}
					before := latest.Load()
					resp, body, err := c.fetch(get("/f"), "GET")
					if err != nil {
						t.Error(err)
						return
					}
					if resp.Close {
						// The serial model gives way to the other clients:
						// this connection's answer said close.
						c.Close()
						c = nil
					}
					fetched.Add(1)
					n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(body, "version "), "\n"))
					if resp.StatusCode != 200 || body != version(n) || err != nil || int64(n) < before {
						if bad.Add(1) <= 3 {
							t.Errorf("%d %q: not a whole version, or older (%d) than the one written before the request", resp.StatusCode, body, before)
						}
					}
				}
			}()
		}
		time.Sleep(750 * time.Millisecond)
		close(stop)
		wg.Wait()
		if fetched.Load() < 100 {
			t.Errorf("only %d fetches", fetched.Load())
		}
	})
}
