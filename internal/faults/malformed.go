package faults

// The malformed responses: each breaks one rule of RFC 9112 on purpose, and
// is otherwise a plain 200 that closes the connection. docs/faults.md has
// what Go's net/http, curl and Python's http.client make of each (the tests
// check that table).
var malformations = [...]struct {
	kind     string
	response string
}{
	// Both framings (RFC 9112, 6.3: Transfer-Encoding overrides
	// Content-Length, and a server MUST NOT send both). By the length the
	// body is "7\r\nch"; by the chunks it is "chunked".
	{"te-and-cl", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
		"7\r\nchunked\r\n0\r\n\r\n"},
	// Two Content-Lengths that disagree (RFC 9112, 6.3: unrecoverable).
	{"two-lengths", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nContent-Length: 7\r\nConnection: close\r\n\r\n" +
		"1234567"},
	// A status line with no status code.
	{"status-line", "HTTP/1.1 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\n" +
		"ok\n"},
	// Lines ended by LF alone (RFC 9112, 2.2 lets a recipient accept it).
	{"bare-lf", "HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 3\nConnection: close\n\n" +
		"ok\n"},
	// A chunk size that is not hexadecimal.
	{"chunk-size", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
		"xyz\r\nhello\r\n0\r\n\r\n"},
	// A NUL byte in a field value (RFC 9110, 5.5: never valid).
	{"nul-header", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Nul: a\x00b\r\nContent-Length: 3\r\nConnection: close\r\n\r\n" +
		"ok\n"},
}

// MalformedKinds are the kinds malformed/{kind} knows, in order.
func MalformedKinds() []string {
	kinds := make([]string, len(malformations))
	for i, m := range malformations {
		kinds[i] = m.kind
	}
	return kinds
}

// malformation is the response of a kind, or nil.
func malformation(kind []byte) []byte {
	for _, m := range malformations {
		if string(kind) == m.kind {
			return []byte(m.response)
		}
	}
	return nil
}
