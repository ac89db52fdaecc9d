package http1

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

var testDate = []byte("Sun, 06 Nov 1994 08:49:37 GMT")

func TestAppendHead(t *testing.T) {
	tests := []struct {
		name string
		head Head
		want string
	}{
		{"200 with body", Head{Status: 200, ContentType: "text/html; charset=utf-8", ContentLength: 1234,
			LastModified: time.Date(2024, 2, 29, 23, 5, 9, 0, time.FixedZone("CET", 3600))},
			"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawserve\r\n" +
				"Content-Type: text/html; charset=utf-8\r\nContent-Length: 1234\r\n" +
				"Last-Modified: Thu, 29 Feb 2024 22:05:09 GMT\r\n\r\n"},
		{"zero length is written", Head{Status: 404, Close: true},
			"HTTP/1.1 404 Not Found\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawserve\r\n" +
				"Content-Length: 0\r\nConnection: close\r\n\r\n"},
		{"301", Head{Status: 301, Location: "/dir/", ContentLength: 0, KeepAlive10: true},
			"HTTP/1.1 301 Moved Permanently\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawserve\r\n" +
				"Content-Length: 0\r\nLocation: /dir/\r\nConnection: keep-alive\r\n\r\n"},
		{"405", Head{Status: 405, Allow: "GET, HEAD, OPTIONS", ContentLength: -1, Close: true, KeepAlive10: true},
			"HTTP/1.1 405 Method Not Allowed\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawserve\r\n" +
				"Allow: GET, HEAD, OPTIONS\r\nConnection: close\r\n\r\n"},
		{"204 never has Content-Length", Head{Status: 204},
			"HTTP/1.1 204 No Content\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawserve\r\n\r\n"},
		{"100 never has Content-Length", Head{Status: 100, ContentLength: 5},
			"HTTP/1.1 100 Continue\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawserve\r\n\r\n"},
		{"304 may", Head{Status: 304, ContentLength: 10},
			"HTTP/1.1 304 Not Modified\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawserve\r\n" +
				"Content-Length: 10\r\n\r\n"},
		{"unknown code has no reason", Head{Status: 299, ContentLength: -1},
			"HTTP/1.1 299 \r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawserve\r\n\r\n"},
		{"invalid code becomes 500", Head{Status: 0, ContentLength: -1},
			"HTTP/1.1 500 Internal Server Error\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawserve\r\n\r\n"},
		{"no response splitting", Head{Status: 301, ContentLength: -1, Location: "/a\r\nSet-Cookie: x=1\x00\x7f\tb"},
			"HTTP/1.1 301 Moved Permanently\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawserve\r\n" +
				"Location: /a  Set-Cookie: x=1  \tb\r\n\r\n"},
		{"200 with validators", Head{Status: 200, ContentLength: 100, ETag: []byte(`"1-64-abc"`), AcceptRanges: true},
			"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawserve\r\n" +
				"Content-Length: 100\r\nETag: \"1-64-abc\"\r\nAccept-Ranges: bytes\r\n\r\n"},
		{"206 writes the last byte, not End", Head{Status: 206, ContentLength: 100, ContentRange: Range{0, 100}, RangeSize: 1234},
			"HTTP/1.1 206 Partial Content\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawserve\r\n" +
				"Content-Length: 100\r\nContent-Range: bytes 0-99/1234\r\n\r\n"},
		{"206 of one byte", Head{Status: 206, ContentLength: 1, ContentRange: Range{1233, 1234}, RangeSize: 1234, Close: true},
			"HTTP/1.1 206 Partial Content\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawserve\r\n" +
				"Content-Length: 1\r\nConnection: close\r\nContent-Range: bytes 1233-1233/1234\r\n\r\n"},
		{"416", Head{Status: 416, ContentLength: 0, RangeUnsatisfied: true, RangeSize: 1234},
			"HTTP/1.1 416 Range Not Satisfiable\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawserve\r\n" +
				"Content-Length: 0\r\nContent-Range: bytes */1234\r\n\r\n"},
		{"416 of an empty file", Head{Status: 416, ContentLength: -1, RangeUnsatisfied: true},
			"HTTP/1.1 416 Range Not Satisfiable\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawserve\r\n" +
				"Content-Range: bytes */0\r\n\r\n"},
		{"range past the end is omitted", Head{Status: 206, ContentLength: -1, ContentRange: Range{0, 11}, RangeSize: 10},
			"HTTP/1.1 206 Partial Content\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawserve\r\n\r\n"},
		{"negative range is omitted", Head{Status: 206, ContentLength: -1, ContentRange: Range{-1, 5}, RangeSize: 10},
			"HTTP/1.1 206 Partial Content\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawserve\r\n\r\n"},
		{"ETag cannot split the response", Head{Status: 304, ContentLength: -1, ETag: []byte("\"a\r\nX: y\"")},
			"HTTP/1.1 304 Not Modified\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawserve\r\n" +
				"ETag: \"a  X: y\"\r\n\r\n"},
	}
	for _, tc := range tests {
		if got := string(AppendHead(nil, &tc.head, testDate)); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	if got := string(AppendHead([]byte("x"), &Head{Status: 200, ContentLength: -1}, nil)); got != "xHTTP/1.1 200 OK\r\nServer: rawserve\r\n\r\n" {
		t.Errorf("without a date: %q", got)
	}
}

// Reason phrases follow RFC 9110 §15, whose names for 413, 414, 416 and
// 422 are newer than those net/http uses.
func TestStatusText(t *testing.T) {
	renamed := map[int]string{413: "Content Too Large", 414: "URI Too Long", 416: "Range Not Satisfiable", 422: "Unprocessable Content"}
	for _, code := range statusCodes {
		want := renamed[code]
		if want == "" {
			want = http.StatusText(code)
		}
		if got := StatusText(code); got != want {
			t.Errorf("StatusText(%d) = %q, want %q", code, got, want)
		}
	}
	if got := StatusText(299); got != "" {
		t.Errorf("StatusText(299) = %q, want \"\"", got)
	}
}

var statusCodes = []int{100, 103, 200, 201, 202, 203, 204, 205, 206, 300, 301, 302, 303, 304, 305, 307, 308,
	400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422,
	425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505}

// Every head AppendHead writes must read back in net/http as the response
// it describes.
func TestAppendHeadReadsBackInNetHTTP(t *testing.T) {
	lastMod := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, code := range statusCodes {
		h := Head{Status: code, ContentType: "text/plain", ContentLength: 0, Allow: "GET, HEAD", LastModified: lastMod, Close: true}
		raw := AppendHead(nil, &h, testDate)
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
		if err != nil {
			t.Errorf("%d: net/http cannot read %q: %v", code, raw, err)
			continue
		}
		if resp.StatusCode != code || resp.Header.Get("Date") != string(testDate) ||
			resp.Header.Get("Last-Modified") != lastMod.Format(http.TimeFormat) ||
			resp.Header.Get("Allow") != "GET, HEAD" || !resp.Close {
			t.Errorf("%d: net/http read %q as %+v", code, raw, resp)
		}
	}
}

// The range fields read back in net/http as the Content-Range, ETag and
// Accept-Ranges that RFC 9110 §14.3, §14.4 and §8.8.3 describe.
func TestAppendHeadRangesReadBackInNetHTTP(t *testing.T) {
	tests := []struct {
		head         Head
		contentRange string
	}{
		{Head{Status: 206, ContentLength: 10, ContentRange: Range{5, 15}, RangeSize: 100}, "bytes 5-14/100"},
		{Head{Status: 206, ContentLength: 1, ContentRange: Range{0, 1}, RangeSize: 1}, "bytes 0-0/1"},
		{Head{Status: 206, ContentLength: 2, ContentRange: Range{1<<62 - 2, 1 << 62}, RangeSize: 1 << 62}, "bytes 4611686018427387902-4611686018427387903/4611686018427387904"},
		{Head{Status: 416, ContentLength: 0, RangeUnsatisfied: true, RangeSize: 100}, "bytes */100"},
		{Head{Status: 200, ContentLength: 100}, ""},
	}
	for _, tc := range tests {
		h := tc.head
		h.ETag = AppendETag(nil, 7, 100, time.Unix(1, 2))
		h.AcceptRanges = true
		raw := AppendHead(nil, &h, testDate)
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
		if err != nil {
			t.Errorf("net/http cannot read %q: %v", raw, err)
			continue
		}
		if resp.StatusCode != h.Status || resp.ContentLength != h.ContentLength ||
			resp.Header.Get("Content-Range") != tc.contentRange || len(resp.Header["Content-Range"]) > 1 ||
			resp.Header.Get("Etag") != `"7-64-3b9aca02"` || resp.Header.Get("Accept-Ranges") != "bytes" {
			t.Errorf("net/http read %q as %d %v", raw, resp.StatusCode, resp.Header)
		}
	}
}

func TestDateMatchesNetHTTP(t *testing.T) {
	times := []time.Time{
		time.Unix(0, 0),
		time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC),
		time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 12, 31, 23, 59, 59, 999999999, time.FixedZone("X", -7*3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(999, 5, 5, 5, 5, 5, 0, time.UTC),
		time.Now(),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		times = append(times, time.Unix(r.Int64N(253402300799), r.Int64N(1e9)))
	}
	for _, now := range times {
		var c Clock
		if got, want := string(c.Date(now)), now.UTC().Format(http.TimeFormat); got != want {
			t.Fatalf("Date(%v) = %q, want %q", now, got, want)
		}
	}
}

func TestClockCachesTheSecond(t *testing.T) {
	var c Clock
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	first := string(c.Date(t0))
	if got := string(c.Date(t0.Add(999 * time.Millisecond))); got != first {
		t.Errorf("same second gave %q, then %q", first, got)
	}
	if got := string(c.Date(t0.Add(time.Second))); got != "Thu, 02 Jan 2025 03:04:06 GMT" {
		t.Errorf("next second gave %q", got)
	}
	if got := string(c.Date(t0)); got != first {
		t.Errorf("back to the first second gave %q", got)
	}
}

func TestResponseAllocs(t *testing.T) {
	var c Clock
	h := Head{Status: 206, ContentType: "text/plain", ContentLength: 42, LastModified: time.Now(), Close: true,
		ETag: AppendETag(nil, 1, 1234, time.Now()), AcceptRanges: true, ContentRange: Range{0, 42}, RangeSize: 1234}
	buf := make([]byte, 0, 512)
	now := time.Now()
	allocs := testing.AllocsPerRun(100, func() {
		now = now.Add(time.Second) // force the Clock to reformat every time
		buf = AppendHead(buf[:0], &h, c.Date(now))
	})
	if allocs != 0 {
		t.Errorf("AppendHead + Clock.Date allocate %v times", allocs)
	}
}

func BenchmarkAppendHead(b *testing.B) {
	var c Clock
	h := Head{Status: 200, ContentType: "text/html; charset=utf-8", ContentLength: 5120, LastModified: time.Now()}
	buf := make([]byte, 0, 512)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendHead(buf[:0], &h, c.Date(now))
	}
}
