package probe

import (
	"strconv"
	"strings"

	"github.com/rawserve/rawserve/internal/sock"
)

// Target is a parsed probe URL: where to connect and what to send.
type Target struct {
	URL  string    // as given, for messages
	Addr sock.Addr // the server, port 80 when the URL names none
	Host string    // the Host field: the URL's authority, as written
	Path string    // the request-target: path and query; "/" when the URL has no path
}

// URLError is ParseURL's error: the URL, quoted so that any byte in it
// prints on one line, and what is wrong with it.
type URLError struct {
	URL, Msg string
}

func (e *URLError) Error() string {
	return "URL " + strconv.Quote(e.URL) + ": " + e.Msg
}

// ParseURL parses http://HOST[:PORT][/path][?query]. HOST is an IPv4
// literal, an [IPv6] literal or localhost (127.0.0.1), as sock.ParseAddr
// reads them: the probe has no resolver, so it does no DNS, and a health
// check that depended on DNS would fail for reasons that are not the
// server's. A fragment (#...) is dropped: it is never sent. https and other
// schemes are refused: the probe speaks plain HTTP/1.1 only.
func ParseURL(s string) (Target, error) {
	fail := func(msg string) (Target, error) {
		return Target{}, &URLError{URL: s, Msg: msg}
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		if s == "" {
			return fail("empty; want http://HOST:PORT/path, such as http://127.0.0.1:8080/healthz")
		}
		return fail("want http://HOST:PORT/path, such as http://127.0.0.1:8080/healthz")
	}
	switch strings.ToLower(scheme) {
	case "http":
	case "https":
		return fail("https is not supported: the probe speaks plain HTTP (no TLS); probe the server's http:// port")
	default:
		return fail("unsupported scheme " + strconv.Quote(scheme) + "; want http")
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	authority, path := rest, "/"
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, path = rest[:i], rest[i:]
		if path[0] == '?' {
			path = "/" + path // "http://h?q" asks for "/?q" (RFC 9112, 3.2.1)
		}
	}
	if authority == "" {
		return fail("missing host")
	}
	if strings.IndexByte(authority, '@') >= 0 {
		return fail(`user information ("user@") is not supported`)
	}
	hostport := authority
	if !hasPort(authority) {
		hostport += ":80"
	}
	a, err := sock.ParseAddr(hostport)
	if err != nil {
		return fail(err.Error())
	}
	switch {
	case a.Wildcard:
		return fail("missing host")
	case a.Port == 0:
		return fail("port 0: nothing can listen there")
	}
	for i := 0; i < len(path); i++ {
		if c := path[i]; c <= ' ' || c >= 0x7f {
			// A space would end the request-target early, a CR or LF
			// would end the request line: the server would read a
			// different request from the one meant.
			return fail("byte " + strconv.Quote(path[i:i+1]) + " in path must be percent-encoded")
		}
	}
	return Target{URL: s, Addr: a, Host: authority, Path: path}, nil
}

// hasPort reports whether an authority ends in ":port" (maybe empty).
func hasPort(authority string) bool {
	if authority[0] == '[' {
		end := strings.IndexByte(authority, ']')
		return end >= 0 && strings.IndexByte(authority[end:], ':') >= 0
	}
	return strings.IndexByte(authority, ':') >= 0
}
