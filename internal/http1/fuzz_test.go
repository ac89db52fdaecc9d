package http1

import (
	"testing"
	"unsafe"
)

// within reports whether s lies inside buf (an empty s may sit at its end).
func within(s, buf []byte) bool {
	if s == nil {
		return true
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	return start <= p && p+uintptr(len(s)) <= start+uintptr(len(buf))
}

var fuzzLimits = []Limits{DefaultLimits, {MaxRequestLine: 24, MaxHeaderBytes: 64, MaxHeaders: 3}}

func FuzzParse(f *testing.F) {
	for _, tc := range validCases {
		f.Add([]byte(tc.in))
	}
	for _, tc := range invalidCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		for _, lim := range fuzzLimits {
			checkParse(t, buf, lim)
		}
	})
}

func checkParse(t *testing.T, buf []byte, lim Limits) {
	var req Request
	n, err := Parse(buf, &req, lim)
	if err != nil {
		if n != 0 {
			t.Fatalf("n = %d with error %v", n, err)
		}
		switch statusOf(err) {
		case 400, 414, 431, 501, 505:
		default:
			if err != ErrIncomplete {
				t.Fatalf("unexpected error %v", err)
			}
		}
		return
	}
	if n <= 0 || n > len(buf) || n > lim.MaxHeaderBytes {
		t.Fatalf("n = %d, len(buf) = %d", n, len(buf))
	}
	head := buf[:n]
	// Lines end in CRLF only (RFC 9112 §2.2, §11.2): no bare LF, no bare CR.
	for i, b := range head {
		if b == '\n' && (i == 0 || head[i-1] != '\r') || b == '\r' && (i+1 == n || head[i+1] != '\n') {
			t.Fatalf("accepted head %q has a bare CR or LF at %d", head, i)
		}
	}
	if len(req.Path) == 0 && !(string(req.Method) == "CONNECT" && req.Path == nil) {
		t.Fatalf("empty Path for %q", head)
	}
	for _, s := range [][]byte{req.Method, req.Target, req.Query, req.Authority, req.Host} {
		if !within(s, head) {
			t.Fatalf("a slice points outside the head: %q", s)
		}
	}
	for _, fl := range req.Fields {
		if !within(fl.Name, head) || !within(fl.Value, head) {
			t.Fatalf("field %q: %q points outside the head", fl.Name, fl.Value)
		}
	}
	if req.Major != 1 || req.Minor > 1 || req.Minor != min(req.SentMinor, 1) || req.SentMinor > 9 || req.Chunked && req.ContentLength >= 0 {
		t.Fatalf("impossible request: %+v", req)
	}

	// The head alone parses the same, and is not complete a byte earlier.
	var again Request
	if n2, err := Parse(head, &again, lim); n2 != n || err != nil {
		t.Fatalf("re-parse of %q = %d, %v; want %d, nil", head, n2, err, n)
	}
	if _, err := Parse(head[:n-1], &again, lim); err != ErrIncomplete {
		t.Fatalf("head minus its last byte = %v, want ErrIncomplete", err)
	}
}
