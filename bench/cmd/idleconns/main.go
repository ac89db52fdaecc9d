// Command idleconns opens -n keep-alive connections to a server on
// 127.0.0.1, sends one GET on each and reads its response, then holds them
// all open and idle. It prints one line, "ready ok=N failed=M", once every
// connection has been tried, and waits for SIGTERM or SIGINT (or -timeout)
// before it closes them and exits. scripts/bench.sh reads the server's
// VmRSS before and after, for the memory each idle connection costs.
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
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/rawserve/rawserve/bench/internal/ref"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "server address (loopback only)")
	n := flag.Int("n", 10000, "connections to open")
	path := flag.String("path", "/", "path to GET on each connection")
	parallel := flag.Int("parallel", 64, "connections opened at once")
	timeout := flag.Duration("timeout", 2*time.Minute, "exit after this long even without a signal")
	flag.Parse()
	ref.MustLoopback("idleconns", *addr)
	deadline := time.Now().Add(*timeout)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)

	// open opens one connection and reads the answer to one request; it
	// returns nil if that failed or the server is closing the connection.
	req := ref.Get(*path, *addr)
	open := func() net.Conn {
		c, err := net.DialTimeout("tcp", *addr, 10*time.Second)
		if err != nil {
			return nil
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(req); err != nil {
			c.Close()
			return nil
		}
		resp, err := http.ReadResponse(bufio.NewReaderSize(c, 512), nil)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if err != nil || resp.StatusCode != 200 || resp.Close {
			c.Close()
			return nil
		}
		c.SetDeadline(time.Time{})
		return c
	}

	conns := make([]net.Conn, *n) // held here: an unreachable conn would be closed by the GC
	var wg sync.WaitGroup
	next := make(chan int)
	for range *parallel {
		wg.Go(func() {
			for i := range next {
				conns[i] = open()
			}
		})
	}
	for i := range *n {
		if time.Now().After(deadline) {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	ok := 0
	for _, c := range conns {
		if c != nil {
			ok++
		}
	}
	fmt.Printf("ready ok=%d failed=%d\n", ok, *n-ok)

	select {
	case <-stop:
	case <-time.After(time.Until(deadline)):
		log.Print("idleconns: -timeout passed; closing")
	}
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}
