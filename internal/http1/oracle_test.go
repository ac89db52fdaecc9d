package http1

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"testing"
)

// TestOracleNetHTTP checks Parse against net/http: whatever Parse accepts,
// http.ReadRequest must accept too, and read the same method, path, host and
// framing. Parse is meant to be the stricter of the two, so the reverse is not
// checked: the invariant is "what we accept, net/http accepts the same way".
//
// Bare LF is one place where Parse is stricter: it refuses a bare LF wherever
// a line could end (RFC 9112 §2.2, §11.2; see nextLine), while ReadRequest
// takes one for a line end. That needs no exception here, since a refused
// head is never compared, and FuzzParse checks that no accepted head holds a
// bare LF or CR at all. Where Parse accepts what ReadRequest does not, or
// reads it otherwise, the difference is intended and allowed for below:
//
//   - Leading empty lines: RFC 9112 §2.2 says to skip them; ReadRequest
//     does not (net/http's server loop does it), so the oracle gets the head
//     from its request line on. Only CRLF counts as an empty line here.
//   - "Content-Length: 7, 7" (one field, a list of equal values): RFC 9112
//     §6.3 allows accepting it; ReadRequest merges repeated fields only, and
//     refuses the list.
//   - "Transfer-Encoding: , chunked,": RFC 9110 §5.6.1 says to ignore empty
//     list elements; ReadRequest wants the value to be exactly "chunked".
//   - Path: ours stays percent-encoded, net/http decodes it, so ours is
//     decoded before comparing. An absolute-form target without a path has
//     Path "/" here (RFC 9112 §3.2.1) and "" in net/http.
var oracleSkips = map[string]string{
	"RFC 9110 §8.6 Content-Length list of one value":     "comma list of equal Content-Length values",
	"RFC 9110 §5.6.1 empty list elements around chunked": "empty list elements in Transfer-Encoding",
}

var oracleExtra = []string{
	"GET /a/./b/../c HTTP/1.1\r\nHost: a\r\n\r\n",
	"HEAD /x%2Fy HTTP/1.1\r\nHost: example.com:80\r\n\r\n",
	"DELETE /item/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
	"GET http://a.example:81 HTTP/1.1\r\nHost: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nCookie: x=1; y=2\r\nCookie: z=3\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
	"GET /~user/%7Efile HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"OPTIONS /path HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: xn--caf-dma.example\r\n\r\n",
}

func TestOracleNetHTTP(t *testing.T) {
	inputs := oracleExtra
	for _, tc := range validCases {
		if oracleSkips[tc.name] == "" {
			inputs = append(inputs, tc.in)
		}
	}
	for _, in := range inputs {
		if !compareWithNetHTTP(t, []byte(in)) {
			t.Errorf("Parse refuses %q", in)
		}
	}
}

// FuzzOracleNetHTTP runs the same comparison on generated input. It found
// that "[0]" passed as an IP-literal before validIPv6 was written.
func FuzzOracleNetHTTP(f *testing.F) {
	for _, in := range oracleExtra {
		f.Add([]byte(in))
	}
	for _, tc := range validCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		var req Request
		if _, err := Parse(buf, &req, DefaultLimits); err != nil {
			return
		}
		for _, fl := range req.Fields {
			if bytes.IndexByte(fl.Value, ',') >= 0 &&
				(equalFold(fl.Name, "Content-Length") || equalFold(fl.Name, "Transfer-Encoding")) {
				return // a list net/http refuses on purpose; see oracleSkips
			}
		}
		compareWithNetHTTP(t, buf)
	})
}

// compareWithNetHTTP reports whether Parse accepts buf, and if it does,
// fails t unless http.ReadRequest reads buf the same way.
func compareWithNetHTTP(t *testing.T, buf []byte) bool {
	t.Helper()
	var req Request
	n, err := Parse(buf, &req, DefaultLimits)
	if err != nil {
		return false
	}
	head := bytes.TrimLeft(buf[:n], "\r\n")
	want, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		t.Errorf("Parse accepts %q, net/http refuses it: %v", head, err)
		return true
	}
	path, err := url.PathUnescape(string(req.Path))
	if err != nil {
		t.Errorf("%q: Path %q does not decode: %v", head, req.Path, err)
	}
	wantPath := want.URL.Path
	if wantPath == "" && want.Method != "CONNECT" {
		wantPath = "/"
	}
	wantLength := want.ContentLength
	if wantLength == 0 && want.Header.Get("Content-Length") == "" {
		wantLength = -1 // net/http says 0 for "no body"; we say -1 for "absent"
	}
	if req.Chunked {
		wantLength = -1 // net/http says -1 for "unknown"
	}
	for _, d := range []struct {
		what      string
		got, want any
	}{
		{"method", string(req.Method), want.Method},
		{"path", path, wantPath},
		{"host", string(req.Authority), want.Host},
		{"content length", req.ContentLength, wantLength},
		{"chunked", req.Chunked, len(want.TransferEncoding) == 1 && want.TransferEncoding[0] == "chunked"},
		{"close", req.Close, want.Close},
	} {
		if d.got != d.want {
			t.Errorf("%q: %s = %v here, %v in net/http", head, d.what, d.got, d.want)
		}
	}
	return true
}
