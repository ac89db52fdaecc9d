// Command fixedload sends exactly -n GET requests to a server on 127.0.0.1
// over -c keep-alive connections (reconnecting when the server closes one),
// reads every response, and exits: a fixed amount of work, so that the
// system calls strace counts meanwhile can be divided by -n. It prints
// "requests=N ok=N other=N connections=N" and exits 1 unless every
// response was 200.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rawserve/rawserve/bench/internal/ref"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "server address (loopback only)")
	n := flag.Int("n", 2000, "requests to send in all")
	c := flag.Int("c", 1, "connections, each sending its requests one after another")
	path := flag.String("path", "/", "path to GET")
	timeout := flag.Duration("timeout", time.Minute, "give up after this long")
	flag.Parse()
	ref.MustLoopback("fixedload", *addr)
	deadline := time.Now().Add(*timeout)
	req := ref.Get(*path, *addr)

	var tickets, ok, other, dials atomic.Int64
	tickets.Store(int64(*n))
	var wg sync.WaitGroup
	for range *c {
		wg.Go(func() {
			var conn net.Conn
			var br *bufio.Reader
			defer func() {
				if conn != nil {
					conn.Close()
				}
			}()
			for tickets.Add(-1) >= 0 {
				if conn == nil {
					var err error
					if conn, err = net.DialTimeout("tcp", *addr, time.Until(deadline)); err != nil {
						other.Add(1)
						conn = nil
						continue
					}
					dials.Add(1)
					conn.SetDeadline(deadline)
					br = bufio.NewReader(conn)
				}
				resp, err := roundTrip(conn, br, req)
				switch {
				case err != nil:
					other.Add(1)
				case resp.StatusCode == 200:
					ok.Add(1)
				default:
					other.Add(1)
				}
				if err != nil || resp.Close {
					conn.Close()
					conn = nil
				}
			}
		})
	}
	wg.Wait()
	fmt.Printf("requests=%d ok=%d other=%d connections=%d\n", *n, ok.Load(), other.Load(), dials.Load())
	if ok.Load() != int64(*n) {
		os.Exit(1)
	}
}

// roundTrip writes one request and reads its whole response.
func roundTrip(conn net.Conn, br *bufio.Reader, req []byte) (*http.Response, error) {
	if _, err := conn.Write(req); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, err
}
