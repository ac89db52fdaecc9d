// Command nethttp is the benchmark's reference: Go's net/http, answering
// GET / with the 13-byte body and serving files with http.FileServer.
// Every ratio in docs/benchmarks.md is taken to this server run with
// GOMAXPROCS=1.
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/rawserve/rawserve/bench/internal/ref"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	dir := flag.String("dir", ".", "directory of static files")
	flag.Parse()

	files := http.FileServer(http.Dir(*dir))
	hello := []byte(ref.Body)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			files.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", ref.ContentType)
		w.Write(hello)
	})
	log.Fatal(http.ListenAndServe(*addr, handler))
}
