package http1

import (
	"fmt"
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
	addCases(f)
	f.Fuzz(func(t *testing.T, buf []byte) {
		for _, lim := range fuzzLimits {
			checkParse(t, buf, lim)
		}
	})
}

// addCases seeds a fuzz target with the parser's table cases, valid and
// invalid.
func addCases(f *testing.F) {
	for _, tc := range validCases {
		f.Add([]byte(tc.in))
	}
	for _, tc := range invalidCases {
		f.Add([]byte(tc.in))
	}
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

// FuzzScan holds the one-pass scan of a line to the careful way: whatever
// line the scan takes, the careful way takes too, with the same parts and
// the same end. (What the scan leaves goes the careful way anyway.)
func FuzzScan(f *testing.F) {
	addCases(f)
	f.Fuzz(func(t *testing.T, buf []byte) {
		for _, lim := range fuzzLimits {
			var fast, slow Request
			next, ok := scanRequestLine(buf, &fast, lim.MaxRequestLine)
			if !ok {
				continue
			}
			i, err := skipEmptyLines(buf)
			line, end, complete, err2 := nextLine(buf, i)
			if err != nil || err2 != nil || !complete || len(line) > lim.MaxRequestLine {
				t.Fatalf("scan took request line %q, the careful way refuses it: %v %v", buf[:next], err, err2)
			}
			if err := parseRequestLine(line, false, &slow); err != nil || end != next {
				t.Fatalf("request line %q: careful way %v, end %d; scan end %d", line, err, end, next)
			}
			if !sameRequest(&fast, &slow) {
				t.Fatalf("request line %q: scan %s, careful way %s", line, lineParts(&fast), lineParts(&slow))
			}
		}
		for i := 0; i < len(buf); i++ { // a field line may start anywhere
			name, value, next, ok := scanFieldLine(buf, i)
			if !ok {
				continue
			}
			line, end, complete, err := nextLine(buf, i)
			if err != nil || !complete || end != next {
				t.Fatalf("scan took field line %q, the careful way: %v, complete %v, end %d", buf[i:next], err, complete, end)
			}
			n2, v2, err := parseFieldLine(line, false)
			if err != nil || string(n2) != string(name) || string(v2) != string(value) || !within(name, line) || !within(value, line) {
				t.Fatalf("field line %q: scan %q %q, careful way %q %q %v", line, name, value, n2, v2, err)
			}
		}
	})
}

// sameRequest compares what a request line sets, slice by slice.
func sameRequest(a, b *Request) bool {
	same := func(x, y []byte) bool {
		return x == nil && y == nil || x != nil && y != nil && unsafe.SliceData(x) == unsafe.SliceData(y) && len(x) == len(y)
	}
	return same(a.Method, b.Method) && same(a.Target, b.Target) && same(a.Path, b.Path) &&
		same(a.Query, b.Query) && same(a.Authority, b.Authority) &&
		a.Major == b.Major && a.Minor == b.Minor && a.SentMinor == b.SentMinor
}

func lineParts(r *Request) string {
	return fmt.Sprintf("method %q target %q path %q query %q authority %q version %d.%d (sent %d)",
		r.Method, r.Target, r.Path, r.Query, r.Authority, r.Major, r.Minor, r.SentMinor)
}
