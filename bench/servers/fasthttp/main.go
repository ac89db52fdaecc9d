// Command fasthttp answers GET / with the 13-byte body using
// github.com/valyala/fasthttp, and serves files with its fasthttp.FS.
//
// The FS's cache of open files is switched off (SkipCache), so that every
// request opens its file, as net/http, nginx (no open_file_cache) and
// rawserve do.
package main

import (
	"flag"
	"log"

	"github.com/rawserve/rawserve/bench/internal/ref"
	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	dir := flag.String("dir", ".", "directory of static files")
	flag.Parse()

	fs := &fasthttp.FS{Root: *dir, SkipCache: true}
	files := fs.NewRequestHandler()
	hello := []byte(ref.Body)
	handler := func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) != "/" {
			files(ctx)
			return
		}
		ctx.SetContentType(ref.ContentType)
		ctx.SetBody(hello)
	}
	log.Fatal(fasthttp.ListenAndServe(*addr, handler))
}
