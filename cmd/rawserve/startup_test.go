package main

import (
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkStartup measures exec to the first 200 response, for rawserve
// and, in the same run, for net/http's hello server (testdata/hello), and
// reports the ratio. Each iteration starts both, alternately, on a fresh
// loopback port, polls until a GET succeeds, and kills the process by PID.
func BenchmarkStartup(b *testing.B) {
	hello := filepath.Join(b.TempDir(), "hello")
	if out, err := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", hello, "./testdata/hello").CombinedOutput(); err != nil {
		b.Fatalf("building the net/http reference: %v\n%s", err, out)
	}
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	firstOK := func(argv func(addr string) []string) time.Duration {
		l, err := net.Listen("tcp", "127.0.0.1:0") // a free port, released for the server
		if err != nil {
			b.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		args := argv(addr)
		cmd := exec.Command(args[0], args[1:]...)
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		for deadline := start.Add(5 * time.Second); time.Now().Before(deadline); {
			if resp, err := client.Get("http://" + addr + "/"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return time.Since(start)
				}
			}
			time.Sleep(100 * time.Microsecond)
		}
		b.Fatalf("%v: no 200 within 5s", args)
		return 0
	}
	var raw, ref time.Duration
	for i := 0; i < b.N; i++ {
		raw += firstOK(func(addr string) []string { return []string{binary, "-addr", addr, "-quiet"} })
		ref += firstOK(func(addr string) []string { return []string{hello, addr} })
	}
	b.ReportMetric(float64(raw.Microseconds())/float64(b.N)/1000, "rawserve-ms")
	b.ReportMetric(float64(ref.Microseconds())/float64(b.N)/1000, "nethttp-ms")
	b.ReportMetric(float64(raw)/float64(ref), "ratio")
}
