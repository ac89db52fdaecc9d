package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// vmRSS is a process's resident memory, in bytes, from /proc/PID/status.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// pipeline sends n requests on one connection, in batches of 64 written at
// once, and reads every response, checking each status.
func pipeline(t *testing.T, addr string, n int, path func(i int) string, status int) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReaderSize(c, 64<<10)
	var batch bytes.Buffer
	for i := 0; i < n; {
		batch.Reset()
		j := i
		for ; j < n && j < i+64; j++ {
			fmt.Fprintf(&batch, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path(j))
		}
		if _, err := c.Write(batch.Bytes()); err != nil {
			t.Fatal(err)
		}
		for ; i < j; i++ {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
			io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != status {
				t.Fatalf("%.60s: %d, want %d", path(i), resp.StatusCode, status)
			}
		}
	}
}

// The file cache's memory is bounded whatever clients ask: 60,000 requests
// for one file by 60,000 different paths (`/<8 KB of junk>/../index.html`,
// which once took a cache keyed by the raw path to 775 MB), then every one
// of 3,000 files, ten times the cache's size. The server's RSS stays within
// its idle figure, the cache's bound and 10 MiB.
func TestFileCacheMemoryBound(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<p>hi</p>\n"), 0o644)
	const files, size = 3000, 4 << 10
	for i := 0; i < files; i++ {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d", i)), bytes.Repeat([]byte{byte('a' + i%26)}, size), 0o644)
	}
	const bound = 1 << 20
	s := start(t, "-model", "epoll", "-dir", dir, "-quiet", "-file-cache-size", "1MiB")
	pid := s.cmd.Process.Pid
	pipeline(t, s.addr, 100, func(int) string { return "/index.html" }, 200)
	idle := vmRSS(t, pid)
	junk := strings.Repeat("j", 4<<10) // the longest target rawserve takes is 8 KiB: 414 beyond
	pipeline(t, s.addr, 60000, func(i int) string { return fmt.Sprintf("/%s%d/../index.html", junk, i) }, 200)
	pipeline(t, s.addr, files, func(i int) string { return fmt.Sprintf("/f%04d", i) }, 200)
	got := vmRSS(t, pid)
	t.Logf("RSS: %d KiB idle, %d KiB after 63,000 requests", idle>>10, got>>10)
	if limit := idle + bound + 10<<20; got > limit {
		t.Errorf("RSS %d KiB after the flood, more than idle %d KiB + the cache's 1 MiB + 10 MiB", got>>10, idle>>10)
	}
}

// The epoll loop reads every connection one wait reported before it
// answers any, so the cached file is checked with one statx for all of
// their requests. The server is stopped (SIGSTOP) while eight kept-alive
// clients each send a request, so that the wait after SIGCONT reports all
// eight at once; -count-syscalls says how many statx calls were made.
func TestEpollOneCheckPerWait(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f.txt"), []byte("hello\n"), 0o644)
	time.Sleep(30 * time.Millisecond) // older than the racy margin: a copy is trusted
	s := start(t, "-model", "epoll", "-quiet", "-count-syscalls", "-dir", dir)
	const n = 8
	var conns [n]net.Conn
	var readers [n]*bufio.Reader
	get := func(i int) {
		fmt.Fprintf(conns[i], "GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	answer := func(i int) {
		resp, err := http.ReadResponse(readers[i], nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "hello\n" {
			t.Fatalf("conn %d: %d %q", i, resp.StatusCode, b)
		}
	}
	for i := range conns {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		conns[i], readers[i] = c, bufio.NewReader(c)
		get(i) // one at a time: each its own wait, each a statx but the first (a miss)
		answer(i)
	}
	pid := s.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, pid) // kill returns before every thread has stopped
	for i := range conns {
		get(i)
	}
	time.Sleep(50 * time.Millisecond) // every request in the server's receive queues
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	for i := range conns {
		answer(i)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.wait(t, 5*time.Second)
	m := regexp.MustCompile(`statx (\d+)`).FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no statx count in the stop line:\n%s", s.stderr)
	}
	// The first round costs a statx a request (the first's made by the
	// cache's Put), the second one in all: 9, or 10 should timing split a
	// first-round request from its accept. Checked one by one, the second
	// round alone would cost eight.
	if got, _ := strconv.Atoi(m[1]); got < n+1 || got > n+2 {
		t.Errorf("%d statx calls for %d requests, want %d or %d: the %d requests of one wait checked once\n%s", got, 2*n, n+1, n+2, n, s.stderr)
	}
}

// waitStopped waits until every thread of pid is stopped (state T in
// /proc/PID/task/TID/stat).
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
		stopped := len(tasks) > 0
		for _, f := range tasks {
			b, err := os.ReadFile(f)
			_, rest, _ := strings.Cut(string(b), ") ")
			if err == nil && !strings.HasPrefix(rest, "T") && !strings.HasPrefix(rest, "t") {
				stopped = false
			}
		}
		if stopped {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d not stopped 5s after SIGSTOP", pid)
		}
	}
}
