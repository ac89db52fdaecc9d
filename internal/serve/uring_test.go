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

	"github.com/rawserve/rawserve/internal/sock"
	"github.com/rawserve/rawserve/internal/static"
)

// The uring model's recv stays armed while a connection writes, so a
// client that sends requests faster than it reads the answers would have
// its bytes taken into the loop's buffers without end. Once a connection
// holds four buffers of them, its recv is cancelled — the rest wait in the
// kernel, as they do in the epoll model, which stops reading — and armed
// again once the connection reads: every answer then comes, in order. The
// loop checks, as it stops, that every buffer came back.
func TestUringBackpressure(t *testing.T) {
	t.Run("reads later", testUringBackpressure)
	t.Run("never reads", testUringHeldAtClose)
}

func testUringBackpressure(t *testing.T) {
	root, body := sixtyFour(t)
	var narration syncBuffer
	sock.SetTrace(&narration, false)
	defer sock.SetTrace(nil, false)
	ts := uringModel.start(t, settings{Dir: openDir(t, root), FileCache: static.DefaultCacheBytes, WriteTimeout: 20 * time.Second})
	c := ts.dial(t)
	const n = 2000 // 128 MiB of answers: more than the sockets' buffers hold
	sent := make(chan error, 1)
	go func() {
		var reqs strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&reqs, "GET /f?%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		}
		_, err := io.WriteString(c, reqs.String())
		sent <- err
	}()
	// Not reading: the loop's send waits for room, its recv fills buffers,
	// and at four it is cancelled.
	cancelled := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cancelled = strings.Contains(narration.String(), "= -1 ECANCELED (Operation canceled)"); cancelled {
			break
		}
	}
	if !cancelled {
		t.Errorf("the narration shows no recv cancelled (ECANCELED) while the client did not read")
	}
	for i := 0; i < n; i++ {
		resp, err := http.ReadResponse(c.br, &http.Request{Method: "GET"})
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		got, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, body) {
			t.Fatalf("response %d: %d, %d bytes, %v", i, resp.StatusCode, len(got), err)
		}
	}
	if err := <-sent; err != nil {
		t.Fatalf("sending the requests: %v", err)
	}
}

// A client that pipelines and never reads is cut off at the write timeout,
// holding buffers of requests the loop never got to: they go back to the
// kernel with the close (the loop's check at stop says if one did not).
func testUringHeldAtClose(t *testing.T) {
	root, _ := sixtyFour(t)
	ts := uringModel.start(t, settings{Dir: openDir(t, root), FileCache: static.DefaultCacheBytes, WriteTimeout: 300 * time.Millisecond})
	c := ts.dial(t)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var reqs strings.Builder
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&reqs, "GET /f?%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	io.WriteString(c, reqs.String()) // may block until the server cuts it off
	time.Sleep(600 * time.Millisecond)
	if err := ts.stop(); err != nil {
		t.Fatal(err)
	}
	if e := ts.errs.String(); e != "" {
		t.Fatalf("error log:\n%s", e)
	}
}

// sixtyFour is a directory holding f, 64 KiB: the largest file the cache
// keeps, sent from memory with send.
func sixtyFour(t *testing.T) (root string, body []byte) {
	root = t.TempDir()
	body = bytes.Repeat([]byte("0123456789abcdef"), 4<<10)
	if err := os.WriteFile(filepath.Join(root, "f"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	return root, body
}
