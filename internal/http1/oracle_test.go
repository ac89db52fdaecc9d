package http1

import (
	"bufio"
	"bytes"
	"io"
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
	// With whole bodies, so compareBody has something to compare.
	"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world",
	"POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=\"y\"\r\nhello\r\n6\r\n world\r\n0\r\nTrailer-X: 1\r\n\r\n",
	"PUT /q HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\nGET / HTTP/1.1\r\n",
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
		{"version as sent", [2]int{req.Major, req.SentMinor}, [2]int{want.ProtoMajor, want.ProtoMinor}},
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
	compareFields(t, head, &req, want.Header)
	compareBody(t, buf, n, &req)
	return true
}

// compareFields checks that every field Parse read is in net/http's Header
// with the same value, and nothing else is. net/http moves Host and
// Transfer-Encoding out of Header (into Request.Host and TransferEncoding,
// compared above), so those two are left out on both sides.
func compareFields(t *testing.T, head []byte, req *Request, want http.Header) {
	t.Helper()
	got := http.Header{}
	for _, f := range req.Fields {
		name := http.CanonicalHeaderKey(string(f.Name))
		if name != "Host" && name != "Transfer-Encoding" {
			got[name] = append(got[name], string(f.Value))
		}
	}
	delete(want, "Host")
	delete(want, "Transfer-Encoding")
	// Identical repeated Content-Length fields (which Parse checked are
	// identical) net/http folds into one.
	if cl := got["Content-Length"]; len(cl) > 1 {
		got["Content-Length"] = cl[:1]
	}
	if len(got) != len(want) {
		t.Errorf("%q: fields %v here, %v in net/http", head, got, want)
		return
	}
	for name, vs := range got {
		w := want[name]
		if len(w) != len(vs) {
			t.Errorf("%q: %s = %q here, %q in net/http", head, name, vs, w)
			continue
		}
		for i := range vs {
			if vs[i] != w[i] {
				t.Errorf("%q: %s = %q here, %q in net/http", head, name, vs[i], w[i])
			}
		}
	}
}

// compareBody checks, when buf holds a whole body that Parse's framing
// accepts (Content-Length bytes, or a chunked body Chunked decodes to the
// end), that net/http reads the same body bytes from the same input.
func compareBody(t *testing.T, buf []byte, n int, req *Request) {
	t.Helper()
	var body []byte
	switch {
	case req.Chunked:
		var c Chunked
		c.Reset(ChunkedLimits{})
		keep := []byte{}
		if _, done, err := c.Decode(buf[n:], &keep); err != nil || !done {
			return // refused or incomplete: nothing we accept to compare
		}
		body = keep
	case req.ContentLength > 0:
		if int64(len(buf)-n) < req.ContentLength {
			return
		}
		body = buf[n : n+int(req.ContentLength)]
	default:
		return
	}
	want, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(bytes.TrimLeft(buf, "\r\n"))))
	if err != nil {
		return // the head was compared above
	}
	wb, err := io.ReadAll(want.Body)
	if err != nil {
		t.Errorf("%q: body accepted here, net/http: %v", buf, err)
		return
	}
	if !bytes.Equal(body, wb) {
		t.Errorf("%q: body %q here, %q in net/http", buf, body, wb)
	}
}
