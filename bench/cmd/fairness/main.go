// Command fairness measures how long the serial model keeps a client waiting
// behind another (issue #12): it starts rawserve with the flags it is given
// (a serial server with default flags is the point), runs four scenarios
// against it, and prints one line per measure, tab-separated:
//
//	name  target  measured  met
//
// The scenarios:
//
//   - idle: client A holds a kept-alive connection, idle; B connects and
//     asks. B's wait, the worst of -reps tries, must stay within the yield
//     grace (-yield, rawserve's -yield-after) plus 10 ms.
//   - silent: C connects and sends nothing (a browser's preconnect); D
//     connects and asks. D's wait, likewise.
//   - pool: eight workers share a keep-alive pool (Go's http.Client) and
//     fetch -files small files, -pool-requests in all: no request slower than
//     50 ms, and no error.
//   - ab: ab -k -c 32 -n 4000 (ApacheBench, keep-alive, 32 at once): no
//     failed request.
//
// Only 127.0.0.1 is contacted; every scenario is bounded in count and time,
// and the server is stopped by its PID.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rawserve/rawserve/bench/internal/ref"
)

func main() {
	bin := flag.String("bin", "bin/rawserve", "the rawserve binary")
	dir := flag.String("dir", "", "directory of small files to serve (made if empty)")
	yield := flag.Duration("yield", 50*time.Millisecond, "the server's -yield-after (its default)")
	reps := flag.Int("reps", 20, "tries of the idle and silent scenarios")
	poolRequests := flag.Int("pool-requests", 1000, "requests of the pool scenario")
	files := flag.Int("files", 100, "distinct small files the pool fetches")
	ab := flag.String("ab", "ab", "ApacheBench; empty: skip that scenario")
	cpu := flag.Int("server-cpu", -1, "pin the server to this CPU with taskset (-1: do not)")
	flag.Parse()

	root := *dir
	if root == "" {
		var err error
		if root, err = os.MkdirTemp("", "fairness"); err != nil {
			die(err)
		}
		defer os.RemoveAll(root)
	}
	for i := range *files {
		os.WriteFile(filepath.Join(root, fmt.Sprintf("f%d.txt", i)), []byte(fmt.Sprintf("file %d\n", i)), 0o644)
	}
	os.WriteFile(filepath.Join(root, "index.html"), []byte("Hello, World!"), 0o644)

	srv, addr := start(*bin, root, *cpu, flag.Args())
	defer stop(srv)

	limit := *yield + 10*time.Millisecond
	report("idle: B's wait behind an idle kept-alive A (worst of "+strconv.Itoa(*reps)+")", "≤ "+ms(limit), behind(addr, *reps, true), limit)
	report("silent: D's wait behind a silent C (worst of "+strconv.Itoa(*reps)+")", "≤ "+ms(limit), behind(addr, *reps, false), limit)
	worst, errs := pool(addr, *poolRequests, *files)
	report(fmt.Sprintf("pool: slowest of %d requests, 8 keep-alive workers", *poolRequests), "≤ 50 ms", worst, 50*time.Millisecond)
	fmt.Printf("pool: errors\t0\t%d\t%v\n", errs, errs == 0)
	if *ab != "" {
		failed, err := apacheBench(*ab, addr)
		if err != nil {
			fmt.Printf("ab -k -c 32 -n 4000: failed requests\t0\t%v\tfalse\n", err)
		} else {
			fmt.Printf("ab -k -c 32 -n 4000: failed requests\t0\t%d\t%v\n", failed, failed == 0)
		}
	}
}

func die(err error) {
	fmt.Fprintln(os.Stderr, "fairness:", err)
	os.Exit(1)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func report(name, target string, got, limit time.Duration) {
	fmt.Printf("%s\t%s\t%s\t%v\n", name, target, ms(got), got <= limit)
}

// start runs the server on a port the kernel picks and returns it once it
// listens (its -ready-file holds the address).
func start(bin, root string, cpu int, extra []string) (*exec.Cmd, string) {
	ready := filepath.Join(os.TempDir(), fmt.Sprintf("fairness-ready-%d", os.Getpid()))
	os.Remove(ready)
	args := append([]string{bin, "-addr", "127.0.0.1:0", "-dir", root, "-quiet", "-ready-file", ready}, extra...)
	if cpu >= 0 {
		args = append([]string{"taskset", "-c", strconv.Itoa(cpu)}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		die(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(ready); err == nil && len(b) > 0 {
			addr := strings.TrimSpace(string(b))
			ref.MustLoopback("fairness", addr)
			return cmd, addr
		}
	}
	stop(cmd)
	die(errors.New("the server did not write its ready file within 10 s"))
	return nil, ""
}

func stop(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// get sends GET path on c and reads the response.
func get(c net.Conn, br *bufio.Reader, path string) error {
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return err
}

// behind measures, reps times, how long a client waits for its answer while
// another connection holds the serial server: idle after one request, or
// silent since it connected. It returns the worst wait.
func behind(addr string, reps int, idle bool) time.Duration {
	var worst time.Duration
	for range reps {
		a, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			die(err)
		}
		a.SetDeadline(time.Now().Add(10 * time.Second))
		if idle {
			if err := get(a, bufio.NewReader(a), "/"); err != nil {
				die(fmt.Errorf("the first client: %w", err))
			}
		}
		time.Sleep(5 * time.Millisecond) // a is being waited on
		b, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			die(err)
		}
		b.SetDeadline(time.Now().Add(10 * time.Second))
		t0 := time.Now()
		if err := get(b, bufio.NewReader(b), "/"); err != nil {
			die(fmt.Errorf("the second client: %w", err))
		}
		worst = max(worst, time.Since(t0))
		a.Close()
		b.Close()
		time.Sleep(20 * time.Millisecond) // the server is back to accept4
	}
	return worst
}

// pool fetches n small files with eight workers sharing Go's keep-alive
// pool, and returns the slowest request and the number of errors.
func pool(addr string, n, files int) (time.Duration, int) {
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 8, MaxConnsPerHost: 8},
	}
	var mu sync.Mutex
	var slowest time.Duration
	var errs int
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				t0 := time.Now()
				resp, err := client.Get(fmt.Sprintf("http://%s/f%d.txt", addr, i%files))
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				d := time.Since(t0)
				mu.Lock()
				slowest = max(slowest, d)
				if err != nil {
					errs++
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return slowest, errs
}

var failedRE = regexp.MustCompile(`(?m)^Failed requests:\s+(\d+)`)

// apacheBench runs ab -k -c 32 -n 4000 and returns its failed requests.
func apacheBench(ab, addr string) (int, error) {
	out, err := exec.Command("timeout", "120", ab, "-q", "-k", "-c", "32", "-n", "4000", "http://"+addr+"/").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, lastLines(out))
	}
	m := failedRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no 'Failed requests' in ab's output: %s", lastLines(out))
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n, nil
}

func lastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(len(lines)-3, 0):], " / ")
}
