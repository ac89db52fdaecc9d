package probe

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// splitReader returns its input in the pieces given, then EOF, as a socket
// returns whatever has arrived.
type splitReader struct{ pieces []string }

func (r *splitReader) Read(p []byte) (int, error) {
	if len(r.pieces) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.pieces[0])
	if r.pieces[0] = r.pieces[0][n:]; r.pieces[0] == "" {
		r.pieces = r.pieces[1:]
	}
	return n, nil
}

// readers gives the same bytes whole, one at a time, and split in two at
// every offset.
func readers(s string) map[string]func() io.Reader {
	m := map[string]func() io.Reader{
		"whole": func() io.Reader { return strings.NewReader(s) },
		"bytes": func() io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
	}
	for i := 1; i < len(s) && i < 64; i++ {
		m["split"+strconv.Itoa(i)] = func() io.Reader {
			return &splitReader{pieces: []string{s[:i], s[i:]}}
		}
	}
	return m
}

func TestReadStatus(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Status
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n", Status{200, "OK"}},
		{"HTTP/1.1 503 Service Unavailable\r\n", Status{503, "Service Unavailable"}},
		{"HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\n", Status{404, "Not Found"}},
		{"HTTP/1.1 204 \r\n\r\n", Status{204, ""}},
		{"HTTP/1.1 299 Odd\tbut fine \xff\r\n", Status{299, "Odd\tbut fine \xff"}},
		{"HTTP/1.1 999 Unknown\r\n", Status{999, "Unknown"}},
	} {
		for name, r := range readers(tc.in) {
			got, err := readStatus(r())
			if err != nil || got != tc.want {
				t.Errorf("%s: readStatus(%q) = %+v, %v; want %+v", name, tc.in, got, err, tc.want)
			}
		}
	}
}

func TestReadStatusBad(t *testing.T) {
	for _, tc := range []struct{ in, msg string }{
		{"", "connection closed with no response"},
		{"HTTP/1.1 200 O", `connection closed in the status line: "HTTP/1.1 200 O"`},
		{"SSH-2.0-OpenSSH_9.6\r\n", `not an HTTP response: "S`}, // quoting what has arrived when the first wrong byte does
		{"220 mail.example ESMTP\r\n", "not an HTTP response"},
		{"\x15\x03\x01\x00\x02\x02\x46", `not an HTTP response: "\x15`}, // a TLS alert
		{"<html>hello</html>", "not an HTTP response"},
		{"http/1.1 200 OK\r\n", "not an HTTP response"},
		{"HTTP/2 200\r\n", "malformed status line"},
		{"HTTP/1.1 200\r\n", "malformed status line"},
		{"HTTP/1.1 20 OK\r\n", "malformed status line"},
		{"HTTP/1.1  200 OK\r\n", "malformed status line"},
		{"HTTP/1.x 200 OK\r\n", "malformed status line"},
		{"HTTP/1.1 099 Early\r\n", "status code 099"},
		{"HTTP/1.1 200 OK\n", "does not end in CRLF"},
		{"HTTP/1.1 200 O\x00K\r\n", "malformed status line"},
		{"HTTP/1.1 200 " + strings.Repeat("x", MaxStatusLine), "no end of status line in the first 4096 bytes"},
	} {
		for name, r := range readers(tc.in) {
			_, err := readStatus(r())
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%s: readStatus(%.40q): %v; want %q", name, tc.in, err, tc.msg)
			}
		}
	}
}

// A byte that rules out HTTP ends the read at once: the probe does not wait
// for a line break from a peer that will never send one.
func TestReadStatusFailsEarly(t *testing.T) {
	r := &splitReader{pieces: []string{"SSH-2.0", "never read"}}
	_, err := readStatus(r)
	if err == nil || len(r.pieces) != 1 {
		t.Errorf("readStatus: %v, %d pieces left; want an error after the first", err, len(r.pieces))
	}
}

// A read error other than EOF is passed on as it is.
func TestReadStatusError(t *testing.T) {
	boom := errors.New("boom")
	_, err := readStatus(io.MultiReader(strings.NewReader("HTTP/1.1 2"), iotest.ErrReader(boom)))
	if err != boom {
		t.Errorf("readStatus: %v; want %v", err, boom)
	}
}
