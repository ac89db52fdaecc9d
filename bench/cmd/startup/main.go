// Command startup measures a server's start-up as a client sees it: from
// just before exec to the first 200 response to GET -path on -addr. It
// runs the command after "--" -n times, each time polling with connect and
// GET until 200 (or -timeout), then stops it with SIGTERM and waits for it
// to exit. It prints one duration a line, in microseconds; the median is
// taken by the report.
//
// With -cpu, the server is moved to that CPU right after it starts, so the
// polling client (pin it elsewhere with taskset) does not compete with it.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/rawserve/rawserve/bench/internal/ref"
	"golang.org/x/sys/unix"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address the server listens on (loopback only)")
	path := flag.String("path", "/", "path to GET")
	n := flag.Int("n", 50, "start-ups to measure")
	cpu := flag.Int("cpu", -1, "pin the server to this CPU (-1: leave it)")
	timeout := flag.Duration("timeout", 10*time.Second, "longest one start-up may take")
	flag.Parse()
	ref.MustLoopback("startup", *addr)
	if flag.NArg() == 0 {
		log.Fatal("startup: no command: startup [flags] -- server [args]")
	}
	req := ref.Get(*path, *addr)
	// SIGTERM or SIGINT (the script's timeout, or its exit) stops the
	// server being measured before this exits: no server outlives it.
	quit := make(chan os.Signal, 1)
	signal.Notify(quit, syscall.SIGTERM, syscall.SIGINT)

	for range *n {
		cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
		cmd.Stderr = os.Stderr
		start := time.Now()
		if err := cmd.Start(); err != nil {
			log.Fatal(err)
		}
		if *cpu >= 0 {
			var set unix.CPUSet
			set.Set(*cpu)
			unix.SchedSetaffinity(cmd.Process.Pid, &set)
		}
		ok := waitFor200(*addr, req, start.Add(*timeout), quit)
		elapsed := time.Since(start)
		stop(cmd)
		select {
		case <-quit:
			log.Fatal("startup: stopped by a signal")
		default:
		}
		if !ok {
			log.Fatalf("startup: %s gave no 200 within %v", flag.Arg(0), *timeout)
		}
		fmt.Println(elapsed.Microseconds())
	}
}

// waitFor200 connects and GETs until the answer is 200 or the deadline
// passes. The client closes first, so the TIME_WAIT is the client's and
// the next server can bind the port at once.
func waitFor200(addr string, req []byte, deadline time.Time, quit chan os.Signal) bool {
	for time.Now().Before(deadline) {
		select {
		case sig := <-quit:
			quit <- sig // for the caller to see
			return false
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Until(deadline))
		if err != nil {
			time.Sleep(100 * time.Microsecond) // not listening yet
			continue
		}
		c.SetDeadline(deadline)
		status := 0
		if _, err := c.Write(req); err == nil {
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
				io.Copy(io.Discard, resp.Body)
				status = resp.StatusCode
			}
		}
		c.Close()
		if status == 200 {
			return true
		}
	}
	return false
}

// stop sends SIGTERM and waits up to 5 s for the server to exit, then
// sends SIGKILL.
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
