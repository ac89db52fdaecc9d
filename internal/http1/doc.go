// Package http1 reads HTTP/1.1 request heads and writes response heads. It
// does no I/O: the serving loop reads bytes into a buffer, hands them to
// Parse, and writes what AppendHead produced.
//
// The parser is strict on purpose. A server that guesses at malformed framing
// can disagree with a proxy in front of it about where one request ends and
// the next begins — "request smuggling" — so every doubtful head is refused
// with the status code the RFCs name, and the connection is closed.
//
// Nothing here allocates on the hot path: a parsed Request points into the
// caller's buffer, and its header fields live in an array inside the Request,
// so a Request reused across a connection costs no garbage.
//
// References: RFC 9110 (HTTP semantics), RFC 9112 (HTTP/1.1 message syntax),
// RFC 3986 (URI syntax), RFC 6585 (status 431).
package http1
