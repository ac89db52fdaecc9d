package serve_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/static"
)

// FuzzEpollConn sends arbitrary bytes to the epoll model over a real
// socket — in pieces of a chosen size, with or without a half-close — and
// then checks that the loop is still alive and serving: whatever a client
// sends, the state machine must not panic, hang or stop answering others.
// (The parser has its own fuzz targets in internal/http1; this one is about
// the connection's states around it: heads split anywhere, bodies, pipelines,
// EOF at every point.)
func FuzzEpollConn(f *testing.F) { fuzzLoopConn(f, epollModel) }

// FuzzUringConn is FuzzEpollConn for the uring model, with the same seed
// corpus (testdata/fuzz/FuzzUringConn links to FuzzEpollConn's).
func FuzzUringConn(f *testing.F) { fuzzLoopConn(f, uringModel) }

func fuzzLoopConn(f *testing.F, m model) {
	// The seed corpus is in testdata/fuzz/FuzzEpollConn: requests whole,
	// pipelined, with bodies (length, chunked, 100-continue), cut short,
	// malformed and oversized, each sent whole and in 2-byte pieces with a
	// half-close.
	root := f.TempDir()
	os.WriteFile(filepath.Join(root, "f.txt"), []byte("0123456789"), 0o644)
	os.WriteFile(filepath.Join(root, "big.bin"), make([]byte, 300<<10), 0o644)
	// One server for every input, as in life: an input that breaks the
	// loop breaks it for the inputs after it too. (A server per input would
	// also run the machine out of ports in a long fuzzing run.)
	ts := m.start(f, settings{
		HeaderTimeout: 200 * time.Millisecond, IdleTimeout: 200 * time.Millisecond,
		WriteTimeout: 500 * time.Millisecond, Linger: 100 * time.Millisecond,
		Dir: openDir(f, root), FileCache: static.DefaultCacheBytes,
	})
	f.Fuzz(func(t *testing.T, data []byte, split uint8, halfClose bool) {
		c := ts.dial(t)
		c.SetDeadline(time.Now().Add(2 * time.Second))
		// In pieces of split bytes (0: all at once), so that heads and
		// bodies arrive cut at every place.
		for p := data; len(p) > 0; {
			n := len(p)
			if split > 0 {
				n = min(n, int(split))
			}
			if _, err := c.Write(p[:n]); err != nil {
				break // the server closed (an error answered): fine
			}
			p = p[n:]
		}
		if halfClose {
			c.closeWrite()
		}
		io.Copy(io.Discard, c) // until the server closes, or the deadline
		c.Close()

		// The loop still serves a well-behaved client.
		h := ts.dial(t)
		h.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(h, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		b, err := io.ReadAll(h)
		if err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 200 OK\r\n") {
			t.Fatalf("after %q: /healthz got %q, %v", data, b, err)
		}
	})
}
