// Command seedpost is the design of the blog post "Building a Single
// Threaded Web Server in Golang" (docs/myths.md weighs its claims), on Go's net
// package: accept a connection, read the request, write the response,
// close — one connection at a time, on the main goroutine. No keep-alive
// (every response says Connection: close), no pipelining (requests after
// the first on a connection are dropped with it).
//
// It serves GET / with the 13-byte body and other paths from -dir, each
// file read whole into memory, as the post's "load the response into user
// memory" does.
package main

import (
	"flag"
	"log"
	"net"
	"time"

	"github.com/rawserve/rawserve/bench/internal/ref"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	dir := flag.String("dir", ".", "directory of static files")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	in := make([]byte, ref.MaxHead)
	var out []byte
	for {
		conn, err := ln.Accept()
		if err != nil {
			// EMFILE and the like: wait a little rather than spin.
			log.Print(err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		out = serve(conn, in, out[:0], *dir)
		conn.Close()
		if cap(out) > 1<<20 {
			out = nil // do not keep a big file's buffer for the next request
		}
	}
}

// serve reads one request head from conn and writes its response.
func serve(conn net.Conn, in, out []byte, dir string) []byte {
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	n := 0
	for {
		req, headLen, err := ref.ParseHead(in[:n])
		switch {
		case err != nil:
			out = ref.AppendHead(out, ref.Status(err), "", 0, false, ref.Date())
		case headLen > 0:
			out, _ = ref.Respond(out, dir, req, false)
		case n == len(in):
			out = ref.AppendHead(out, ref.Status(ref.ErrTooLarge), "", 0, false, ref.Date())
		default:
			m, err := conn.Read(in[n:])
			n += m
			if err != nil && m == 0 {
				return out // the client went away, or the deadline passed
			}
			continue
		}
		conn.Write(out)
		return out
	}
}
