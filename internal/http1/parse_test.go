package http1

import (
	"errors"
	"strings"
	"testing"
)

const browserRequest = "GET /docs/index.html?lang=en HTTP/1.1\r\n" +
	"Host: localhost:8080\r\n" +
	"Connection: keep-alive\r\n" +
	"sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n" +
	"sec-ch-ua-mobile: ?0\r\n" +
	"sec-ch-ua-platform: \"Linux\"\r\n" +
	"Upgrade-Insecure-Requests: 1\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n" +
	"Sec-Fetch-Site: none\r\n" +
	"Sec-Fetch-Mode: navigate\r\n" +
	"Sec-Fetch-User: ?1\r\n" +
	"Sec-Fetch-Dest: document\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\n" +
	"If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n" +
	"\r\n"

const curlRequest = "GET / HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"

// none marks an expected nil slice, to tell it apart from an empty one.
const none = "<nil>"

func show(b []byte) string {
	if b == nil {
		return none
	}
	return string(b)
}

type validCase struct {
	name   string
	in     string
	n      int // head length; 0 means len(in)
	method string
	path   string
	query  string
	auth   string // Authority
	host   string
	minor  int
	sent   int   // SentMinor, when it is not minor
	length int64 // ContentLength
	chunk  bool
	close  bool
	expect bool
	fields int
}

var validCases = []validCase{
	{name: "RFC 9112 §2.1 browser request", in: browserRequest, method: "GET", path: "/docs/index.html", query: "lang=en",
		auth: "localhost:8080", host: "localhost:8080", minor: 1, length: -1, fields: 15},
	{name: "RFC 9112 §2.1 curl request", in: curlRequest, method: "GET", path: "/", query: none,
		auth: "localhost:8080", host: "localhost:8080", minor: 1, length: -1, fields: 3},
	{name: "RFC 9112 §3.2.2 absolute-form: authority from the target", in: "GET http://example.com/a/b?c=d HTTP/1.1\r\nHost: other\r\n\r\n",
		method: "GET", path: "/a/b", query: "c=d", auth: "example.com", host: "other", minor: 1, length: -1, fields: 1},
	{name: "RFC 9112 §3.2.2 absolute-form no path, scheme in capitals", in: "GET HTTPS://Example.com:8443 HTTP/1.1\r\nHost: Example.com:8443\r\n\r\n",
		method: "GET", path: "/", query: none, auth: "Example.com:8443", host: "Example.com:8443", minor: 1, length: -1, fields: 1},
	{name: "RFC 9112 §3.2.2 absolute-form query without path", in: "GET http://h?q HTTP/1.1\r\nHost: h\r\n\r\n",
		method: "GET", path: "/", query: "q", auth: "h", host: "h", minor: 1, length: -1, fields: 1},
	{name: "RFC 9112 §3.2.2 absolute-form IPv6", in: "GET http://[::1]:8080/x HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
		method: "GET", path: "/x", query: none, auth: "[::1]:8080", host: "[::1]:8080", minor: 1, length: -1, fields: 1},
	{name: "RFC 9112 §3.2.4 asterisk-form: OPTIONS *", in: "OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n",
		method: "OPTIONS", path: "*", query: none, auth: "example.com", host: "example.com", minor: 1, length: -1, fields: 1},
	{name: "RFC 9112 §3.2.3 authority-form: CONNECT", in: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		method: "CONNECT", path: none, query: none, auth: "example.com:443", host: "example.com:443", minor: 1, length: -1, fields: 1},
	{name: "RFC 9112 §9.3 HTTP/1.0 without Host closes", in: "GET /index.html HTTP/1.0\r\n\r\n",
		method: "GET", path: "/index.html", query: none, auth: none, host: none, minor: 0, length: -1, close: true},
	{name: "RFC 9112 §9.3 HTTP/1.0 keep-alive persists", in: "GET / HTTP/1.0\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n",
		method: "GET", path: "/", query: none, auth: "a", host: "a", minor: 0, length: -1, fields: 2},
	{name: "RFC 9112 §9.3 HTTP/1.0 keep-alive and close", in: "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
		method: "GET", path: "/", query: none, auth: none, host: none, minor: 0, length: -1, close: true, fields: 1},
	{name: "RFC 9112 §9.3 HTTP/1.1 Connection: close", in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n",
		method: "GET", path: "/", query: none, auth: "a", host: "a", minor: 1, length: -1, close: true, fields: 2},
	{name: "RFC 9112 §2.2 leading empty lines ignored", in: "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		method: "GET", path: "/", query: none, auth: "a", host: "a", minor: 1, length: -1, fields: 1},
	{name: "RFC 9112 §9.3.2 pipelined pair", in: "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
		n:      len("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"),
		method: "GET", path: "/1", query: none, auth: "a", host: "a", minor: 1, length: -1, fields: 1},
	{name: "RFC 9112 §6.2 POST with Content-Length body", in: "POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
		n:      len("POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"),
		method: "POST", path: "/form", query: none, auth: "a", host: "a", minor: 1, length: 5, fields: 2},
	{name: "RFC 9112 §6.1 Transfer-Encoding: Chunked", in: "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n",
		method: "POST", path: "/up", query: none, auth: "a", host: "a", minor: 1, length: -1, chunk: true, fields: 2},
	{name: "RFC 9110 §8.6 Content-Length list of one value", in: "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 7, 7\r\n\r\n",
		method: "PUT", path: "/x", query: none, auth: "a", host: "a", minor: 1, length: 7, fields: 2},
	{name: "RFC 9110 §8.6 Content-Length twice, same value", in: "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n",
		method: "PUT", path: "/x", query: none, auth: "a", host: "a", minor: 1, length: 7, fields: 3},
	{name: "RFC 9110 §8.6 Content-Length zero", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
		method: "POST", path: "/", query: none, auth: "a", host: "a", minor: 1, length: 0, fields: 2},
	{name: "RFC 9110 §10.1.1 Expect 100-continue", in: "PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: 100-Continue\r\n\r\n",
		method: "PUT", path: "/f", query: none, auth: "a", host: "a", minor: 1, length: 1, expect: true, fields: 3},
	{name: "RFC 9110 §10.1.1 Expect ignored in HTTP/1.0", in: "PUT /f HTTP/1.0\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n",
		method: "PUT", path: "/f", query: none, auth: none, host: none, minor: 0, length: 1, close: true, fields: 2},
	{name: "RFC 9112 §3.2 empty Host", in: "GET / HTTP/1.1\r\nHost:\r\n\r\n",
		method: "GET", path: "/", query: none, auth: "", host: "", minor: 1, length: -1, fields: 1},
	{name: "RFC 9112 §5.1 OWS around value", in: "GET / HTTP/1.1\r\nHost: \t a \t\r\n\r\n",
		method: "GET", path: "/", query: none, auth: "a", host: "a", minor: 1, length: -1, fields: 1},
	{name: "RFC 9112 §3.2.1 origin-form percent-encoded, not decoded", in: "GET /a%20b/%C3%A9?x=%2F&y=/?z HTTP/1.1\r\nHost: a\r\n\r\n",
		method: "GET", path: "/a%20b/%C3%A9", query: "x=%2F&y=/?z", auth: "a", host: "a", minor: 1, length: -1, fields: 1},
	{name: "RFC 9112 §3.2.1 origin-form empty query", in: "GET /? HTTP/1.1\r\nHost: a\r\n\r\n",
		method: "GET", path: "/", query: "", auth: "a", host: "a", minor: 1, length: -1, fields: 1},
	{name: "RFC 9112 §3.2.1 origin-form sub-delims and pchar", in: "GET /!$&'()*+,;=:@-._~ HTTP/1.1\r\nHost: a\r\n\r\n",
		method: "GET", path: "/!$&'()*+,;=:@-._~", query: none, auth: "a", host: "a", minor: 1, length: -1, fields: 1},
	{name: "RFC 9110 §5.5 obs-text and HTAB in a value", in: "GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9\tau lait\r\n\r\n",
		method: "GET", path: "/", query: none, auth: "a", host: "a", minor: 1, length: -1, fields: 2},
	{name: "RFC 9110 §9.1 unknown method", in: "BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n",
		method: "BREW", path: "/pot", query: none, auth: "a", host: "a", minor: 1, length: -1, fields: 1},
	{name: "RFC 9110 §7.2 Host with IPv4 and port", in: "GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n",
		method: "GET", path: "/", query: none, auth: "127.0.0.1:80", host: "127.0.0.1:80", minor: 1, length: -1, fields: 1},
	{name: "RFC 9110 §5.5 empty field value", in: "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n",
		method: "GET", path: "/", query: none, auth: "a", host: "a", minor: 1, length: -1, fields: 2},
	{name: "RFC 9110 §2.5 HTTP/1.2 is processed as 1.1", in: "GET / HTTP/1.2\r\nHost: a\r\n\r\n",
		method: "GET", path: "/", query: none, auth: "a", host: "a", minor: 1, sent: 2, length: -1, fields: 1},
	{name: "RFC 9110 §2.5 HTTP/1.9 with 1.1's Expect and close", in: "PUT /f HTTP/1.9\r\nHost: a\r\nContent-Length: 1\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
		method: "PUT", path: "/f", query: none, auth: "a", host: "a", minor: 1, sent: 9, length: 1, close: true, expect: true, fields: 4},
	{name: "RFC 9110 §5.6.1 empty list elements around chunked", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked,\r\n\r\n",
		method: "POST", path: "/", query: none, auth: "a", host: "a", minor: 1, length: -1, chunk: true, fields: 2},
}

func TestParseValid(t *testing.T) {
	var req Request
	for _, tc := range validCases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Parse([]byte(tc.in), &req, DefaultLimits)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			wantN := tc.n
			if wantN == 0 {
				wantN = len(tc.in)
			}
			check := func(what, got, want string) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %q, want %q", what, got, want)
				}
			}
			if n != wantN {
				t.Errorf("n = %d, want %d", n, wantN)
			}
			check("Method", show(req.Method), tc.method)
			check("Path", show(req.Path), tc.path)
			check("Query", show(req.Query), tc.query)
			check("Authority", show(req.Authority), tc.auth)
			check("Host", show(req.Host), tc.host)
			sent := tc.minor
			if tc.sent != 0 {
				sent = tc.sent
			}
			if req.Major != 1 || req.Minor != tc.minor || req.SentMinor != sent {
				t.Errorf("version = %d.%d, sent as 1.%d; want 1.%d, sent as 1.%d", req.Major, req.Minor, req.SentMinor, tc.minor, sent)
			}
			if req.ContentLength != tc.length {
				t.Errorf("ContentLength = %d, want %d", req.ContentLength, tc.length)
			}
			if req.Chunked != tc.chunk || req.Close != tc.close || req.Expect100 != tc.expect {
				t.Errorf("Chunked, Close, Expect100 = %v, %v, %v; want %v, %v, %v",
					req.Chunked, req.Close, req.Expect100, tc.chunk, tc.close, tc.expect)
			}
			if len(req.Fields) != tc.fields {
				t.Errorf("%d fields, want %d", len(req.Fields), tc.fields)
			}
		})
	}
}

type invalidCase struct {
	name   string
	in     string
	status int
}

var invalidCases = []invalidCase{
	// Smuggling classics.
	{"RFC 9110 §8.6 Content-Length list of two values → 400", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400},
	{"RFC 9110 §8.6 Content-Length differing duplicates → 400", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
	{"RFC 9110 §8.6 Content-Length with plus → 400", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400},
	{"RFC 9110 §8.6 Content-Length negative → 400", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
	{"RFC 9110 §8.6 Content-Length space inside → 400", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", 400},
	{"RFC 9110 §8.6 Content-Length empty → 400", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400},
	{"RFC 9110 §8.6 Content-Length empty element → 400", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n", 400},
	{"RFC 9110 §8.6 Content-Length hex → 400", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", 400},
	{"RFC 9110 §8.6 Content-Length 19 digits overflows → 400", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000000000000\r\n\r\n", 400},
	{"RFC 9112 §6.1/§11.2 Transfer-Encoding chunked with Content-Length → 400", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400},
	{"RFC 9112 §6.1/§11.2 Content-Length then Transfer-Encoding chunked → 400", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
	{"RFC 9112 §6.3 Transfer-Encoding chunked, identity: chunked not final → 400", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400},
	{"RFC 9112 §6.3 Transfer-Encoding xchunked: no chunked → 400", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 400},
	{"RFC 9112 §6.1 Transfer-Encoding chunked twice → 400", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
	{"RFC 9112 §6.3 Transfer-Encoding chunked then gzip field → 400", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
	{"RFC 9112 §6.3 Transfer-Encoding gzip alone → 400", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
	{"RFC 9112 §6.1 Transfer-Encoding empty → 400", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400},
	{"RFC 9112 §7.1 Transfer-Encoding chunked with parameter → 400", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", 400},
	{"RFC 9112 §6.1 Transfer-Encoding in HTTP/1.0 → 400", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
	{"RFC 9112 §6.1 Transfer-Encoding gzip, chunked: unknown coding → 501", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
	{"RFC 9112 §6.1 Transfer-Encoding identity then chunked fields → 501", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
	{"RFC 9112 §5.1/§11.2 Transfer-Encoding space before colon → 400", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400},
	{"RFC 9112 §5.1 tab before colon → 400", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400},
	{"RFC 9112 §5.2 obs-fold → 400", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400},
	{"RFC 9112 §5.2 obs-fold with tab → 400", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", 400},
	{"RFC 9112 §2.2 field line starting with space after request line → 400", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
	{"RFC 9112 §2.2 bare CR in value → 400", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", 400},
	{"RFC 9112 §2.2 bare CR as line end → 400", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400},
	{"RFC 9112 §2.2 bare CR before request line → 400", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §2.2 bare CR as head end → 400", "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 400},

	// Bare LF: lines end in CRLF only. RFC 9112 §2.2 makes accepting a bare
	// LF optional, and a proxy that does not take it for a line end sees
	// other fields than we would: request smuggling (RFC 9112 §11.2).
	{"RFC 9112 §2.2/§11.2 LF only → 400", "GET / HTTP/1.0\n\n", 400},
	{"RFC 9112 §2.2/§11.2 LF only with fields → 400", "GET / HTTP/1.1\nHost: a\nAccept: */*\n\n", 400},
	{"RFC 9112 §2.2/§11.2 bare LF ends request line → 400", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §2.2/§11.2 bare LF hides Transfer-Encoding → 400", "POST / HTTP/1.1\r\nHost: a\nTransfer-Encoding: chunked\r\n\r\n", 400},
	{"RFC 9112 §2.2/§11.2 bare LF hides Transfer-Encoding after Content-Length → 400",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nX: a\nTransfer-Encoding: chunked\r\n\r\n", 400},
	{"RFC 9112 §2.2/§11.2 bare LF ends a field before the CRLF head end → 400", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400},
	{"RFC 9112 §2.2/§11.2 bare LF as head end → 400", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400},
	{"RFC 9112 §2.2/§11.2 leading bare LF lines → 400", "\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §2.2/§11.2 leading CRLF then bare LF → 400", "\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2 NUL in target → 400", "GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9110 §5.5 NUL in value → 400", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00\r\n\r\n", 400},
	{"RFC 9110 §5.5 DEL in value → 400", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7f\r\n\r\n", 400},
	{"RFC 9112 §3.2 Host twice → 400", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2 Host twice in HTTP/1.0 → 400", "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400},
	{"RFC 9112 §3.2 Host with userinfo → 400", "GET / HTTP/1.1\r\nHost: user@h\r\n\r\n", 400},
	{"RFC 9112 §3.2 Host missing in HTTP/1.1 → 400", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400},
	{"RFC 9112 §3.2 Host missing with absolute-form → 400", "GET http://a/ HTTP/1.1\r\n\r\n", 400},
	{"RFC 9112 §3.2 Host with path → 400", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
	{"RFC 9112 §3.2 Host with space → 400", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
	{"RFC 9112 §3.2 Host port not digits → 400", "GET / HTTP/1.1\r\nHost: a:8o\r\n\r\n", 400},
	{"RFC 9112 §3.2 Host two colons → 400", "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", 400},
	{"RFC 9112 §3.2 Host unclosed bracket → 400", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400},
	{"RFC 9112 §3.2 Host empty brackets → 400", "GET / HTTP/1.1\r\nHost: []\r\n\r\n", 400},
	{"RFC 9112 §3.2 Host junk after bracket → 400", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400},
	{"RFC 9112 §3.2 Host bad escape → 400", "GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", 400},
	{"RFC 9112 §3.2 Host pct-encoded → 400", "GET / HTTP/1.1\r\nHost: a%41\r\n\r\n", 400},
	{"RFC 9112 §3.2.2 absolute-form pct-encoded host → 400", "GET http://00%000000/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},

	// Request line.
	{"RFC 9112 §3.1 empty method → 400", " / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.1 control byte in method → 400", "G\x01T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3 two spaces after method → 400", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3 two spaces before version → 400", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3 tab as separator → 400", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3 trailing space in request line → 400", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3 HTTP/0.9 simple request → 400", "GET /\r\n\r\n", 400},
	{"RFC 9112 §3 method only → 400", "GET\r\n\r\n", 400},
	{"RFC 9112 §2.3 lowercase version → 400", "GET / http/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §2.3 version 1.10 → 400", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §2.3 version without minor → 400", "GET / HTTP/1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §2.3 version with text → 400", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400},
	{"RFC 9110 §15.6.6 version HTTP/2.0 → 505", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
	{"RFC 9110 §15.6.6 version HTTP/0.9 → 505", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505},
	{"RFC 9110 §2.5 HTTP/1.2 is read as 1.1: Host required → 400", "GET / HTTP/1.2\r\n\r\n", 400},
	{"RFC 9110 §15.6.6 version HTTP/3.0 → 505", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505},
	{"RFC 9110 §15.6.6 HTTP/2 preface → 505", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},

	// Request-target.
	{"RFC 9112 §3.2.1 fragment in target → 400", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.1 quote in origin-form → 400", "GET /a\"b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.1 angle brackets in origin-form → 400", "GET /<script> HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.1 backslash in origin-form → 400", "GET /a\\b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.1 caret in origin-form → 400", "GET /a^b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.1 backtick in origin-form → 400", "GET /a`b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.1 braces in origin-form → 400", "GET /a{b} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.1 pipe in origin-form → 400", "GET /a|b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.1 DEL in origin-form → 400", "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.1 high byte in origin-form → 400", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.1 brackets in origin-form → 400", "GET /[x] HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.1 percent without hex → 400", "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.1 percent at end → 400", "GET /a% HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.1 percent one digit → 400", "GET /a%4 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.4 asterisk-form with GET → 400", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.3 authority-form with GET → 400", "GET example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.3 CONNECT with origin-form → 400", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.3 CONNECT without port → 400", "CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.3 CONNECT empty port → 400", "CONNECT example.com: HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.3 CONNECT without host → 400", "CONNECT :443 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2 relative path → 400", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.2 ftp scheme → 400", "GET ftp://a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.2 absolute-form without host → 400", "GET http:///a HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9110 §4.2.4 absolute-form userinfo → 400", "GET http://user:pw@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.2 absolute-form bad port → 400", "GET http://a:x/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2.2 IP-literal that is no IPv6 address → 400", "GET http://[0]/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"RFC 9112 §3.2 Host IPvFuture → 400", "GET / HTTP/1.1\r\nHost: [v1.x]\r\n\r\n", 400},
	{"RFC 9112 §3.2.2 absolute-form bad path byte → 400", "GET http://a/{ HTTP/1.1\r\nHost: a\r\n\r\n", 400},

	// Fields.
	{"RFC 9112 §5 empty field name → 400", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400},
	{"RFC 9112 §5 field line without colon → 400", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400},
	{"RFC 9110 §5.6.2 non-token field name → 400", "GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", 400},
	{"RFC 9110 §5.6.2 high byte in field name → 400", "GET / HTTP/1.1\r\nHost: a\r\nX\xe9: b\r\n\r\n", 400},
	{"RFC 9110 §5.5 control byte in value → 400", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x1bc\r\n\r\n", 400},
}

func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func TestParseInvalid(t *testing.T) {
	var req Request
	for _, tc := range invalidCases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Parse([]byte(tc.in), &req, DefaultLimits)
			if got := statusOf(err); got != tc.status {
				t.Fatalf("Parse = %d, %v; want status %d", n, err, tc.status)
			}
			if n != 0 {
				t.Errorf("n = %d on error, want 0", n)
			}
		})
	}
}

// TestParseBareLF: a bare LF wherever a line could end is refused as such
// (RFC 9112 §2.2, §11.2), not by a later check that happens to fail, and so
// is every prefix that reaches the LF. A prefix that stops just before it is
// still incomplete, as the LF could yet have been a CRLF's.
func TestParseBareLF(t *testing.T) {
	for _, in := range []string{
		"\n",
		"\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.0\n\n",
		"GET / HTTP/1.1\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: a\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\n",
		"GET / HTTP/1.1\r\nHost: a\n\r\n",
	} {
		var req Request
		lf := 0 // the first bare LF
		for in[lf] != '\n' || lf > 0 && in[lf-1] == '\r' {
			lf++
		}
		for _, k := range []int{lf + 1, len(in)} {
			if n, err := Parse([]byte(in[:k]), &req, DefaultLimits); err != errBareLF || n != 0 {
				t.Errorf("Parse(%q) = %d, %v; want 0, %v", in[:k], n, err, errBareLF)
			}
		}
		if _, err := Parse([]byte(in[:lf]), &req, DefaultLimits); err != ErrIncomplete {
			t.Errorf("Parse(%q) = %v; want ErrIncomplete", in[:lf], err)
		}
	}
}

// Every proper prefix of a valid head must ask for more bytes, never fail
// and never succeed early.
func TestParseIncompletePrefixes(t *testing.T) {
	var req Request
	for _, tc := range validCases {
		n := tc.n
		if n == 0 {
			n = len(tc.in)
		}
		for k := range n {
			if _, err := Parse([]byte(tc.in[:k]), &req, DefaultLimits); err != ErrIncomplete {
				t.Errorf("%s: prefix %q: err = %v, want ErrIncomplete", tc.name, tc.in[:k], err)
			}
		}
	}
}

// A prefix that can no longer become valid is refused at once, so a client
// cannot make the server wait for the rest of a request it will refuse.
func TestParseInvalidPrefixFailsAtOnce(t *testing.T) {
	prefixes := []struct {
		in     string
		status int
	}{
		{"G\x00", 400},
		{"GE(", 400},
		{" ", 400},
		{"GET /a\x01", 400},
		{"GET /a b", 400},
		{"GET /%x", 400},
		{"GET / h", 400},
		{"GET / HTTP/1.1 ", 400},
		{"GET / HTTP/1.1\r\nHo st", 400},
		{"GET / HTTP/1.1\r\n Host", 400},
		{"GET / HTTP/1.1\r\nHost: a\x00", 400},
		{"GET / HTTP/1.1\r\nHost: a\rb", 400},
		{"\r\r", 400},
		{"\n", 400},
		{"\r\n\n", 400},
		{"GET\n", 400},
		{"GET / HTTP/1.1\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\n\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n", 400},
		{"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n", 400},
		{"GET / HTTP/2.0\r\n", 505},
	}
	var req Request
	for _, p := range prefixes {
		if _, err := Parse([]byte(p.in), &req, DefaultLimits); statusOf(err) != p.status {
			t.Errorf("Parse(%q) = %v, want status %d", p.in, err, p.status)
		}
	}
	// And these are still fine.
	for _, in := range []string{"", "\r", "\r\n", "\r\n\r", "GET", "GET /a%4", "GET / HTTP/2", "GET / HTTP/1.1\r\nHost: a\r\n\r"} {
		if _, err := Parse([]byte(in), &req, DefaultLimits); err != ErrIncomplete {
			t.Errorf("Parse(%q) = %v, want ErrIncomplete", in, err)
		}
	}
}

func TestParseLimits(t *testing.T) {
	lim := DefaultLimits
	withLine := func(lineLen int) string {
		// "GET " + target + " HTTP/1.1" is lineLen bytes long.
		return "GET /" + strings.Repeat("a", lineLen-len("GET / HTTP/1.1")) + " HTTP/1.1"
	}
	fields := func(count int) string {
		var b strings.Builder
		for i := range count {
			b.WriteString("X-F: ")
			b.WriteByte(byte('a' + i%26))
			b.WriteString("\r\n")
		}
		return b.String()
	}
	// padTo grows a head with one filler field so that it is exactly total bytes long.
	padTo := func(total int) string {
		const start, end = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ", "\r\n\r\n"
		return start + strings.Repeat("p", total-len(start)-len(end)) + end
	}

	tests := []struct {
		name   string
		in     string
		lim    Limits
		status int // 0: accepted; -1: ErrIncomplete
	}{
		{"RFC 9112 §3 longest request line accepted", withLine(lim.MaxRequestLine) + "\r\nHost: a\r\n\r\n", lim, 0},
		{"RFC 9112 §3 request line one too long → 414", withLine(lim.MaxRequestLine+1) + "\r\nHost: a\r\n\r\n", lim, 414},
		{"RFC 9112 §3 incomplete line at the limit waits", withLine(lim.MaxRequestLine), lim, -1},
		{"RFC 9112 §3 incomplete line over the limit → 414", withLine(lim.MaxRequestLine + 1), lim, 414},
		{"RFC 9112 §3 incomplete line over the limit, CR pending waits", withLine(lim.MaxRequestLine) + "\r", lim, -1},
		{"RFC 9110 §5.4 head at the limit accepted", padTo(lim.MaxHeaderBytes), lim, 0},
		{"RFC 9110 §5.4 head one over the limit → 431", padTo(lim.MaxHeaderBytes + 1), lim, 431},
		{"RFC 9110 §5.4 incomplete head one short of the limit waits", padTo(lim.MaxHeaderBytes + 1)[:lim.MaxHeaderBytes-1], lim, -1},
		{"RFC 9110 §5.4 incomplete head at the limit → 431", padTo(lim.MaxHeaderBytes + 1)[:lim.MaxHeaderBytes], lim, 431},
		{"RFC 9112 §2.2 endless empty lines → 431", strings.Repeat("\r\n", lim.MaxHeaderBytes/2), lim, 431},
		{"RFC 9110 §5.4 most fields accepted", "GET / HTTP/1.1\r\nHost: a\r\n" + fields(lim.MaxHeaders-1) + "\r\n", lim, 0},
		{"RFC 9110 §5.4 one field too many → 431", "GET / HTTP/1.1\r\nHost: a\r\n" + fields(lim.MaxHeaders) + "\r\n", lim, 431},
		{"RFC 9110 §5.4 one field too many, head incomplete → 431", "GET / HTTP/1.1\r\nHost: a\r\n" + fields(lim.MaxHeaders), lim, 431},
		{"RFC 9112 §3 zero Limits mean defaults → 414", withLine(lim.MaxRequestLine+1) + "\r\n", Limits{}, 414},
		{"RFC 9112 §3 small line limit → 414", "GET /abc HTTP/1.1\r\nHost: a\r\n\r\n", Limits{MaxRequestLine: 16}, 414},
		{"RFC 9110 §5.4 small head limit → 431", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", Limits{MaxHeaderBytes: 20}, 431},
		{"RFC 9110 §5.4 small field limit → 431", "GET / HTTP/1.1\r\nHost: a\r\nA: b\r\n\r\n", Limits{MaxHeaders: 1}, 431},
	}
	var req Request
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Parse([]byte(tc.in), &req, tc.lim)
			switch tc.status {
			case 0:
				if err != nil || n != len(tc.in) {
					t.Fatalf("Parse = %d, %v; want %d, nil", n, err, len(tc.in))
				}
			case -1:
				if err != ErrIncomplete {
					t.Fatalf("Parse = %d, %v; want ErrIncomplete", n, err)
				}
			default:
				if statusOf(err) != tc.status {
					t.Fatalf("Parse = %d, %v; want status %d", n, err, tc.status)
				}
			}
		})
	}
}

// A field list longer than the inline array still works (it allocates), for
// servers that raise MaxHeaders.
func TestParseManyFieldsBeyondInline(t *testing.T) {
	var b strings.Builder
	b.WriteString("GET / HTTP/1.1\r\nHost: a\r\n")
	for range 2 * maxFieldsInline {
		b.WriteString("X: y\r\n")
	}
	b.WriteString("\r\n")
	var req Request
	if _, err := Parse([]byte(b.String()), &req, Limits{MaxHeaders: 1000}); err != nil {
		t.Fatal(err)
	}
	if len(req.Fields) != 2*maxFieldsInline+1 {
		t.Errorf("%d fields", len(req.Fields))
	}
}

func TestRequestReuse(t *testing.T) {
	var req Request
	if _, err := Parse([]byte("POST /a?b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"), &req, DefaultLimits); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse([]byte("GET /c HTTP/1.1\r\nHost: i\r\n\r\n"), &req, DefaultLimits); err != nil {
		t.Fatal(err)
	}
	if req.Query != nil || req.ContentLength != -1 || req.Expect100 || req.Close || len(req.Fields) != 1 {
		t.Errorf("state leaked from the first request: %+v", req)
	}
}

func TestHeader(t *testing.T) {
	var req Request
	if _, err := Parse([]byte(browserRequest), &req, DefaultLimits); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"host":              "localhost:8080",
		"USER-AGENT":        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		"If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT",
		"Sec-CH-UA-Mobile":  "?0",
		"Cookie":            none,
		"Hos":               none,
	} {
		if got := show(req.Header(name)); got != want {
			t.Errorf("Header(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestErrorString(t *testing.T) {
	if got := errTwoHosts.Error(); got != "http1: 400 more than one Host" {
		t.Errorf("Error() = %q", got)
	}
}

func TestParseAllocs(t *testing.T) {
	buf := []byte(browserRequest)
	var req Request
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Parse(buf, &req, DefaultLimits); err != nil {
			t.Fatal(err)
		}
		_ = req.Header("accept-encoding")
	})
	if allocs != 0 {
		t.Errorf("Parse allocates %v times per request", allocs)
	}
	bad := []byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n")
	allocs = testing.AllocsPerRun(100, func() { _, _ = Parse(bad, &req, DefaultLimits) })
	if allocs != 0 {
		t.Errorf("refusing a request allocates %v times", allocs)
	}
}

func BenchmarkParse(b *testing.B) { benchParse(b, browserRequest) }

// BenchmarkParseSmall is the request of a load generator (wrk): a request
// line and a Host field, the shape of a pipelined benchmark.
func BenchmarkParseSmall(b *testing.B) {
	benchParse(b, "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n")
}

func benchParse(b *testing.B, head string) {
	buf := []byte(head)
	var req Request
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, err := Parse(buf, &req, DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}

func TestValidIPv6(t *testing.T) {
	good := []string{"::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
		"fe80::1:2", "::ffff:192.0.2.1", "1:2:3:4:5:6:1.2.3.4", "ABCD:ef01::", "2001:db8::0:1"}
	bad := []string{"", ":", ":::", "1", "0", "1:2", ":1::", "1:::2", "1::2::3", "1:2:3:4:5:6:7:8:9",
		"1:2:3:4:5:6:7:8::", "12345::", "::g", "1:", "::1.2.3", "::1.2.3.256", "::01.2.3.4", "::1.2.3.4:5",
		"1:2:3:4:5:6:7:1.2.3.4", "fe80::1%25eth0", "v1.x"}
	for _, s := range good {
		if !validIPv6([]byte(s)) {
			t.Errorf("validIPv6(%q) = false", s)
		}
	}
	for _, s := range bad {
		if validIPv6([]byte(s)) {
			t.Errorf("validIPv6(%q) = true", s)
		}
	}
}
