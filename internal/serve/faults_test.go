package serve_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/faults"
)

// -faults over real sockets, in every model: what a client sees of each
// fault — Go's net/http (the error, exactly where it is due) and curl (its
// exit code). docs/faults.md has the same table for readers.

// seen is what a client saw: the status (0: none), the body bytes it read,
// and how it ended.
type seen struct {
	status int
	n      int
	end    string // "ok", "reset", "unexpected EOF", "EOF", "timeout", or the error
}

func (s seen) String() string { return fmt.Sprintf("%d, %d bytes, %s", s.status, s.n, s.end) }

// ending names the ways a client's request ends that the faults make.
func ending(err error) string {
	var te interface{ Timeout() bool }
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected EOF"
	case errors.Is(err, io.EOF):
		return "EOF"
	case errors.As(err, &te) && te.Timeout():
		return "timeout"
	}
	return err.Error()
}

// goGet is a GET by Go's net/http client, on a connection of its own,
// giving up after timeout (0: never): its Timeout covers the body too.
func goGet(url string, timeout time.Duration) (seen, []byte, time.Duration) {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		return seen{end: ending(err)}, nil, time.Since(start)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return seen{resp.StatusCode, len(body), ending(err)}, body, time.Since(start)
}

// curlExit runs curl on url and returns its exit code; the test is skipped,
// saying so, when there is no curl.
func curlExit(t *testing.T, url string, args ...string) int {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed: its exit codes are not checked")
	}
	cmd := exec.Command("curl", append([]string{"-sS", "-o", os.DevNull, "--max-time", "10"}, append(args, url)...)...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		t.Logf("curl %s: %s", url, bytes.TrimSpace(out))
		return ee.ExitCode()
	}
	t.Fatalf("curl: %v", err)
	return -1
}

// faultDir is a tree with a file of 300 KiB, bigger than any socket buffer
// on loopback, and a small one.
func faultDir(t *testing.T) string {
	root := t.TempDir()
	big := make([]byte, 300<<10)
	for i := range big {
		big[i] = byte(i * 7)
	}
	os.WriteFile(filepath.Join(root, "big.bin"), big, 0o644)
	os.WriteFile(filepath.Join(root, "f.txt"), []byte("file body\n"), 0o644)
	return root
}

func TestFaultsClients(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		root := faultDir(t)
		ts := m.start(t, settings{Dir: openDir(t, root), Faults: true, FaultHang: 300 * time.Millisecond})
		base := "http://" + ts.addr + "/_faults/"
		for _, tc := range []struct {
			path    string
			timeout time.Duration // the client's; 0: none
			goSees  seen
			atLeast time.Duration // the least time it takes
			curl    int           // curl's exit code, with --max-time timeout (or 10 s)
		}{
			{path: "status/503", goSees: seen{503, 24, "ok"}, curl: 22},
			{path: "status/204", goSees: seen{204, 0, "ok"}},
			{path: "unstable/1/f.txt", goSees: seen{503, 24, "ok"}, curl: 22},
			{path: "unstable/0/f.txt", goSees: seen{200, 10, "ok"}},
			{path: "delay/200ms/f.txt", goSees: seen{200, 10, "ok"}, atLeast: 200 * time.Millisecond},
			{path: "delay/300ms/f.txt", timeout: 100 * time.Millisecond, goSees: seen{0, 0, "timeout"}, curl: 28},
			{path: "drip/100/50ms/bytes/500", goSees: seen{200, 500, "ok"}, atLeast: 200 * time.Millisecond},
			{path: "drip/100/100ms/bytes/500", timeout: 150 * time.Millisecond, goSees: seen{200, 100, "timeout"}, curl: 28},
			{path: "reset/after/1000/big.bin", goSees: seen{200, 1000, "reset"}, curl: 56},
			{path: "reset/after/0/big.bin", goSees: seen{200, 0, "reset"}, curl: 56},
			{path: "reset", goSees: seen{0, 0, "reset"}, curl: 56},
			{path: "truncate/1000/big.bin", goSees: seen{200, 1000, "unexpected EOF"}, curl: 18},
			{path: "close-before-response", goSees: seen{0, 0, "EOF"}, curl: 52},
			{path: "hang", timeout: 100 * time.Millisecond, goSees: seen{0, 0, "timeout"}, curl: 28},
			{path: "hang", goSees: seen{0, 0, "EOF"}, atLeast: 300 * time.Millisecond, curl: 52}, // the bound passes: FIN
			{path: "bytes/70000?seed=7", goSees: seen{200, 70000, "ok"}},
		} {
			name := fmt.Sprintf("%s,timeout=%v", tc.path, tc.timeout)
			got, body, took := goGet(base+tc.path, tc.timeout)
			// A drip cut off by the client's timeout: the pieces that came
			// in time (at 0, 100 and perhaps 200 ms, in 150 ms).
			if tc.goSees.status == 200 && tc.goSees.end == "timeout" && got.status == 200 && got.end == "timeout" {
				if got.n < 100 || got.n > 300 {
					t.Errorf("%s: %d bytes of a drip in 150 ms, want 100 to 300", name, got.n)
				}
				got.n = tc.goSees.n
			}
			if got != tc.goSees {
				t.Errorf("%s: Go's client saw %v, want %v", name, got, tc.goSees)
			}
			if took < tc.atLeast {
				t.Errorf("%s: took %v, want at least %v", name, took, tc.atLeast)
			}
			if strings.HasPrefix(tc.path, "bytes/") {
				want := make([]byte, 70000)
				s := faults.NewStream(7)
				s.Fill(want)
				if !bytes.Equal(body, want) {
					t.Errorf("%s: not the bytes of seed 7", name)
				}
			}
			var args []string
			if tc.timeout > 0 {
				args = append(args, "--max-time", fmt.Sprint(tc.timeout.Seconds()))
			}
			if tc.curl == 22 {
				args = append(args, "--fail")
			}
			if code := curlExit(t, base+tc.path, args...); code != tc.curl {
				t.Errorf("%s: curl exited %d, want %d", name, code, tc.curl)
			}
		}
		// Every fault is in the access log by name.
		log := ts.logged("fault=close-before-response")
		for _, name := range []string{"status", "unstable", "delay", "drip", "reset", "truncate", "close-before-response", "hang", "bytes"} {
			if !strings.Contains(log, "fault="+name) && !strings.Contains(log, ","+name+"\n") {
				t.Errorf("no fault=%s in the access log:\n%s", name, log)
			}
		}
	})
}

// A fault's pause is a timer in an event loop: while one client waits out
// a delay, the others are served at once. The serial model holds the
// server for it, as for any response: the next client waits its turn.
func TestFaultDelayHoldsOnlySerial(t *testing.T) {
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			ts := m.start(t, settings{Faults: true})
			done := make(chan seen, 1)
			go func() {
				got, _, _ := goGet("http://"+ts.addr+"/_faults/delay/600ms", 0)
				done <- got
			}()
			time.Sleep(100 * time.Millisecond) // the delay has begun
			start := time.Now()
			c := ts.dial(t)
			if err := c.expect(get("/healthz"), 200, "ok\n"); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			if got := <-done; got != (seen{200, 12, "ok"}) { // "delay/600ms\n"
				t.Fatalf("the delayed client saw %v", got)
			}
			if m.name == "serial" {
				if took < 300*time.Millisecond {
					t.Fatalf("served in %v while the serial model was held by a delay", took)
				}
				return
			}
			if took > 300*time.Millisecond {
				t.Fatalf("another client waited %v behind a delay: a fault must not hold an event loop", took)
			}
		})
	}
}

// With -faults, /_faults/ is the faults' own: a _faults directory of the
// tree is not served. Without, it is a path like any other.
func TestFaultsShadowDirectory(t *testing.T) {
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "_faults"), 0o755)
	os.WriteFile(filepath.Join(root, "_faults", "status"), []byte("a file\n"), 0o644)
	for _, on := range []bool{false, true} {
		ts := serialModel.start(t, settings{Dir: openDir(t, root), Faults: on})
		c := ts.dial(t)
		want, body := 200, "a file\n"
		if on {
			want, body = 400, "status takes a code from 100 to 599 (not 101: rawserve switches to no other protocol)\n"
		}
		if err := c.expect(get("/_faults/status"), want, body); err != nil {
			t.Errorf("faults %v: %v", on, err)
		}
	}
}

// A fault pipelined behind a plain request: the plain answer whole, then
// the fault's head and exactly its 4 body bytes, then RST — gathered or not.
func TestFaultPipelined(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		ts := m.start(t, settings{Dir: openDir(t, faultDir(t)), Faults: true})
		c := ts.dial(t)
		if err := c.expect(get("/healthz")+get("/_faults/reset/after/4/f.txt"), 200, "ok\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(c.br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		if string(body) != "file" || !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("%q, %v; want \"file\" and connection reset", body, err)
		}
	})
}

// SIGTERM ends a hang in an event loop at once: nothing is owed to it.
// (The serial model is in the hang's read, which a shutdown does not cut
// short, as it does not cut a polite close's drain: it ends when the hang
// does, at -faults-hang at the most.)
func TestHangEndsAtShutdown(t *testing.T) {
	for _, m := range models {
		if m.name == "serial" {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			ts := m.start(t, settings{Faults: true, FaultHang: time.Minute, Grace: time.Minute})
			c := ts.dial(t)
			io.WriteString(c, get("/_faults/hang"))
			time.Sleep(100 * time.Millisecond) // it hangs
			start := time.Now()
			if err := ts.stop(); err != nil {
				t.Fatal(err)
			}
			if err := c.closed(); err != nil || time.Since(start) > 2*time.Second {
				t.Fatalf("after %v: %v; want the server stopped and the hang closed with FIN, at once", time.Since(start), err)
			}
		})
	}
}
