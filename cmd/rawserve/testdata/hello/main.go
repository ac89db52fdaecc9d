// Command hello is the reference for BenchmarkStartup: net/http's smallest
// server, answering "Hello, World!" on the address given as its argument.
package main

import (
	"net/http"
	"os"
)

func main() {
	http.ListenAndServe(os.Args[1], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("Hello, World!"))
	}))
}
