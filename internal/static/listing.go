package static

import (
	"sort"

	"github.com/rawserve/rawserve/internal/page"
	"github.com/rawserve/rawserve/internal/sock"
)

// listing renders the directory f (rel below the root) as an HTML list of
// links, for Dir.List. Hidden entries are left out, as they are never
// served. Each name is percent-encoded in its link and HTML-escaped
// everywhere: file names are whatever someone chose, "<script>" included.
func listing(f *sock.File, rel string) ([]byte, int) {
	var names []string
	buf := make([]byte, 8<<10)
	err := f.ReadDir(buf, func(name []byte, isDir bool) {
		if name[0] == '.' {
			return
		}
		n := string(name)
		if isDir {
			n += "/"
		}
		names = append(names, n)
	})
	if err != nil {
		return nil, 500
	}
	sort.Strings(names)
	title := "/"
	if rel != "" {
		title = "/" + rel + "/"
	}
	b := []byte("<!doctype html>\n<meta charset=\"utf-8\">\n<title>Index of ")
	b = page.AppendEscaped(b, title)
	b = append(b, "</title>\n<h1>Index of "...)
	b = page.AppendEscaped(b, title)
	b = append(b, "</h1>\n<ul>\n"...)
	if rel != "" {
		b = append(b, "<li><a href=\"../\">../</a>\n"...)
	}
	for _, n := range names {
		b = append(b, "<li><a href=\""...)
		b = page.AppendEscaped(b, escapePath(n))
		b = append(b, "\">"...)
		b = page.AppendEscaped(b, n)
		b = append(b, "</a>\n"...)
	}
	return append(b, "</ul>\n"...), 200
}
