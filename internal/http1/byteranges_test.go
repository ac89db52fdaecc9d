package http1

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"slices"
	"strings"
	"testing"
)

func TestAppendBoundary(t *testing.T) {
	for r, want := range map[uint64]string{
		0:              "rawserve-0000000000000000",
		0x3f9c0d7e5a1b: "rawserve-00003f9c0d7e5a1b",
		math.MaxUint64: "rawserve-ffffffffffffffff",
	} {
		if got := AppendBoundary(nil, r); string(got) != want || len(got) != BoundaryLen {
			t.Errorf("AppendBoundary(%#x) = %q, want %q", r, got, want)
		}
	}
}

// The body of the example in Byteranges's comment, byte for byte.
func TestByterangesBody(t *testing.T) {
	content := []byte(strings.Repeat("0123456789", 100))
	b := Byteranges{Boundary: []byte("rawserve-3f9c0d7e5a1b2c48"), ContentType: "text/plain; charset=utf-8",
		Size: 1000, Ranges: []Range{{0, 2}, {5, 7}}}
	want := "--rawserve-3f9c0d7e5a1b2c48\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Range: bytes 0-1/1000\r\n" +
		"\r\n" +
		"01\r\n" +
		"--rawserve-3f9c0d7e5a1b2c48\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Range: bytes 5-6/1000\r\n" +
		"\r\n" +
		"56\r\n" +
		"--rawserve-3f9c0d7e5a1b2c48--\r\n"
	if got := b.AppendBody(nil, content); string(got) != want {
		t.Errorf("body:\n%q\nwant\n%q", got, want)
	}
	if b.Length() != int64(len(want)) {
		t.Errorf("Length = %d, want %d", b.Length(), len(want))
	}
	// The pieces a file's body is sent in: head, bytes, head, bytes, end.
	var pieces []byte
	for i, rg := range b.Ranges {
		pieces = b.AppendPartHead(pieces, i)
		pieces = append(pieces, content[rg.Start:rg.End]...)
	}
	if pieces = b.AppendEnd(pieces); string(pieces) != want {
		t.Errorf("in pieces:\n%q", pieces)
	}
}

func TestAppendHeadByteranges(t *testing.T) {
	h := Head{Status: 206, ContentType: "text/plain", Boundary: []byte("rawserve-0000000000000001"), ContentLength: 10}
	got := string(AppendHead(nil, &h, nil))
	if !strings.Contains(got, "\r\nContent-Type: multipart/byteranges; boundary=rawserve-0000000000000001\r\n") ||
		strings.Contains(got, "text/plain") || strings.Contains(got, "Content-Range") {
		t.Errorf("head:\n%s", got)
	}
}

func TestByterangesAllocs(t *testing.T) {
	var boundary [BoundaryLen]byte
	b := Byteranges{Boundary: AppendBoundary(boundary[:0], 1), ContentType: "application/octet-stream",
		Size: math.MaxInt64, Ranges: slices.Clone(sixteenRanges)}
	b.Ranges[0] = Range{math.MaxInt64 - 10, math.MaxInt64} // the longest numbers
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() {
		buf = buf[:0]
		for i := range b.Ranges {
			buf = b.AppendPartHead(buf, i)
		}
		buf = b.AppendEnd(buf)
		_ = b.Length()
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// FuzzByteranges: for any Range value RangeFor answers with several
// ranges, the body has the length Length said, and a MIME parser finds in
// it exactly those parts, each with the representation's type, the right
// Content-Range and the right bytes.
func FuzzByteranges(f *testing.F) {
	for _, tc := range rangeCases {
		for _, l := range tc.lines {
			if v, ok := strings.CutPrefix(l, "Range:"); ok {
				f.Add([]byte(strings.TrimSpace(v)), uint16(tc.size), uint64(7))
			}
		}
	}
	f.Fuzz(func(t *testing.T, value []byte, size uint16, r uint64) {
		content := make([]byte, size)
		for i := range content {
			content[i] = byte(i * 7)
		}
		req := &Request{Method: []byte("GET"), Fields: []Field{{Name: []byte("Range"), Value: value}}}
		var buf [MaxRanges]Range
		ranges, status := RangeFor(req, int64(size), validate, &buf)
		if status != 206 || len(ranges) < 2 {
			return
		}
		b := Byteranges{Boundary: AppendBoundary(nil, r), ContentType: "text/plain; charset=utf-8", Size: int64(size), Ranges: ranges}
		body := b.AppendBody(nil, content)
		if int64(len(body)) != b.Length() {
			t.Fatalf("%q: body of %d bytes, Length %d", value, len(body), b.Length())
		}
		checkMultipart(t, body, string(b.Boundary), content, ranges)
	})
}

// checkMultipart parses body as multipart/byteranges and checks that it
// holds exactly the given ranges of content, in order.
func checkMultipart(t *testing.T, body []byte, boundary string, content []byte, ranges []Range) {
	t.Helper()
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for i, rg := range ranges {
		p, err := mr.NextRawPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		got, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		cr := fmt.Sprintf("bytes %d-%d/%d", rg.Start, rg.End-1, len(content))
		if ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct != "text/plain" ||
			p.Header.Get("Content-Range") != cr || !bytes.Equal(got, content[rg.Start:rg.End]) {
			t.Fatalf("part %d: %v, %d bytes; want %s", i, p.Header, len(got), cr)
		}
	}
	if p, err := mr.NextRawPart(); err != io.EOF {
		t.Fatalf("after %d parts: %v, %v", len(ranges), p, err)
	}
}
