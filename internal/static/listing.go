package static

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rawserve/rawserve/internal/page"
	"github.com/rawserve/rawserve/internal/sock"
)

// MaxListed is the most entries a listing shows. A listing is built on the
// serving loop, which serves no one else meanwhile: a directory of 20,000
// entries took 16 ms to list whole (getdents64 alone 4 ms, sorting 3 ms),
// its page 1.3 MB to send, and a thousand requests for it kept every other
// client of the loop waiting for seconds. Reading stops once one entry
// more than this has been seen, so a listing costs the same for any larger
// directory; its page then ends in a line saying there are more.
const MaxListed = 1000

// listing renders the directory f (rel below the root) as an HTML list of
// links, for Dir.List. Left out are hidden entries, as they are never
// served, and names with a backslash, which no request can name (400).
//
// File names are whatever someone chose — "<script>", "javascript:alert(1)"
// — so a name is never written as it is. Its link is "./" and the name
// percent-encoded, all but letters, digits and "-._~": a path relative to
// the listing that no browser can read as a scheme or a host, naming the
// entry and nothing else. Its text is HTML-escaped, with bytes that are not
// UTF-8 and control characters shown as U+FFFD.
//
// The entries are the first MaxListed the kernel returns, in its order
// (for ext4, the order of a hash of the names), and then sorted: a
// directory with more shows some of them, not the first in sort order —
// that would take reading all of them.
func listing(f *sock.File, rel string) ([]byte, int) {
	type entry struct {
		name  string
		isDir bool
	}
	var entries []entry
	more := false
	buf := make([]byte, 16<<10)
	err := f.ReadDir(buf, func(name []byte, isDir bool) bool {
		if name[0] == '.' || bytes.IndexByte(name, '\\') >= 0 {
			return true
		}
		if len(entries) == MaxListed {
			more = true
			return false
		}
		entries = append(entries, entry{string(name), isDir})
		return true
	})
	if err != nil {
		return nil, 500
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	title := "/"
	if rel != "" {
		title = "/" + rel + "/"
	}
	b := []byte("<!doctype html>\n<meta charset=\"utf-8\">\n<title>Index of ")
	b = appendName(b, title)
	b = append(b, "</title>\n<h1>Index of "...)
	b = appendName(b, title)
	b = append(b, "</h1>\n<ul>\n"...)
	if rel != "" {
		b = append(b, "<li><a href=\"../\">../</a>\n"...)
	}
	for _, e := range entries {
		b = append(b, "<li><a href=\"./"...)
		b = appendSegment(b, e.name)
		if e.isDir {
			b = append(b, '/')
		}
		b = append(b, "\">"...)
		b = appendName(b, e.name)
		if e.isDir {
			b = append(b, '/')
		}
		b = append(b, "</a>\n"...)
	}
	b = append(b, "</ul>\n"...)
	if more {
		b = append(b, "<p>… and more: a listing shows at most "...)
		b = append(strconv.AppendInt(b, MaxListed, 10), " entries.</p>\n"...)
	}
	return b, 200
}

// appendSegment percent-encodes name as one path segment: only RFC 3986's
// unreserved characters stay as they are. The result holds nothing HTML or
// a URL parser could read as anything but this segment: no "/", ":", "?",
// "#", "%", "\\", quote, "<", "&", space or control byte.
func appendSegment(b []byte, name string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			b = append(b, c)
		default:
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return b
}

// appendName appends a name as HTML text: escaped, and with what is not
// UTF-8 or is a control character shown as U+FFFD, the replacement
// character, so the page is valid UTF-8 whatever the name's bytes.
func appendName(b []byte, name string) []byte {
	for len(name) > 0 {
		r, n := utf8.DecodeRuneInString(name)
		if r == utf8.RuneError || r < 0x20 || 0x7f <= r && r < 0xa0 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = page.AppendEscaped(b, name[:n])
		}
		name = name[n:]
	}
	return b
}
