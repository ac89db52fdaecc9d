package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The container case without a container engine: rawserve as PID 1 of its
// own PID and network namespaces, with only lo, brought up. Every client
// runs inside that network namespace (nsenter), so nothing here can reach
// any address but the namespace's own loopback. It must serve, probe
// healthy, and exit 0 within 1 s of SIGTERM — with the response in flight
// completed.
func TestNamespacedPID1(t *testing.T) {
	for _, model := range []string{"serial", "epoll", "uring"} {
		t.Run(model, func(t *testing.T) { testNamespacedPID1(t, model) })
	}
}

func testNamespacedPID1(t *testing.T, model string) {
	needModel(t, model)
	for _, tool := range []string{"unshare", "nsenter", "ip", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/run installs it)", tool)
		}
	}
	if out, err := exec.Command("unshare", "--pid", "--net", "--fork", "--mount-proc", "true").CombinedOutput(); err != nil {
		t.Skipf("cannot make PID and network namespaces here: %v %s", err, out)
	}
	dir := t.TempDir()
	// 24 MB: more than loopback's socket buffers hold (a few MB each way),
	// so the server is still writing when the signal comes.
	body := bytes.Repeat([]byte("in flight "), 2400<<10)
	os.WriteFile(filepath.Join(dir, "big"), body, 0o644)
	s := runServer(t, "unshare", "--pid", "--net", "--fork", "--mount-proc", "sh", "-c",
		`ip link set lo up && exec "$0" -addr 127.0.0.1:8080 -dir "$1" -model "$2"`, binary, dir, model)
	pid := s.child(t) // sh, which exec'd rawserve: the same process
	inNS := func(argv ...string) *exec.Cmd {
		return exec.Command("nsenter", append([]string{"-t", strconv.Itoa(pid), "-n", "--"}, argv...)...)
	}

	if out, err := inNS(binary, "probe").CombinedOutput(); err != nil {
		t.Fatalf("probe inside the namespace: %v %s", err, out)
	}
	if out, err := inNS("curl", "-sf", "http://127.0.0.1:8080/nope").CombinedOutput(); err == nil {
		t.Fatalf("curl of a missing file succeeded: %s", out)
	}

	// At 48 MB/s the download takes half a second: signal at its start.
	got := filepath.Join(t.TempDir(), "got")
	curl := inNS("curl", "-sS", "--limit-rate", "48M", "-o", got, "http://127.0.0.1:8080/big")
	var curlErr bytes.Buffer
	curl.Stderr = &curlErr
	if err := curl.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		if st, err := os.Stat(got); err == nil && st.Size() > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	syscall.Kill(pid, syscall.SIGTERM)
	code := s.wait(t, 3*time.Second)
	stopped := time.Since(start)
	if err := curl.Wait(); err != nil {
		t.Errorf("in-flight download: %v %s", err, curlErr.String())
	}
	if b, _ := os.ReadFile(got); !bytes.Equal(b, body) {
		t.Errorf("in-flight download: %d of %d bytes", len(b), len(body))
	}
	if code != 0 || stopped > time.Second {
		t.Errorf("PID 1 exited %d, %v after SIGTERM; want 0 within 1s\n%s", code, stopped, s.stderr)
	}
	if stopped < 100*time.Millisecond {
		t.Errorf("stopped %v after SIGTERM: the response was not in flight, the test proves nothing", stopped)
	}
}
