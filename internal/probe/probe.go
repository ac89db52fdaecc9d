// Package probe is rawserve's HTTP client, just big enough for a container
// health check: a scratch image has no curl or wget, so the server binary
// checks itself ("rawserve probe"). It makes its system calls through
// internal/sock, like the server: a nonblocking connect, one write, reads
// until the status line, close.
//
// It reads the status line and nothing more. The status code is the whole
// answer to "is the server healthy?"; the fields and the body would only be
// more bytes to get wrong.
package probe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/rawserve/rawserve/internal/sock"
)

// Check GETs url with a raw-syscall client and returns nil for a 2xx
// status, or an error saying what happened ("GET
// http://127.0.0.1:8080/healthz: 503 Service Unavailable", "connect:
// connection refused", "timed out after 2s"). timeout bounds the whole
// check: connect, write and read share one deadline.
func Check(url string, timeout time.Duration) error {
	t, err := ParseURL(url)
	if err != nil {
		return err
	}
	_, err = t.Check(timeout)
	return err
}

// Check is the package's Check for a parsed URL. It returns the status line
// too, for a caller that wants to print it.
func (t Target) Check(timeout time.Duration) (Status, error) {
	st, err := t.Get(timeout)
	if err != nil {
		return st, err
	}
	if st.Code < 200 || st.Code > 299 {
		return st, &StatusError{URL: t.URL, Status: st}
	}
	return st, nil
}

// Status is a response's status line, without the version.
type Status struct {
	Code   int
	Reason string // may be empty: the reason phrase is optional
}

// String returns "503 Service Unavailable", or "503" with no reason phrase.
func (s Status) String() string {
	if s.Reason == "" {
		return strconv.Itoa(s.Code)
	}
	return strconv.Itoa(s.Code) + " " + s.Reason
}

// StatusError is Check's error for a response that is not 2xx.
type StatusError struct {
	URL    string
	Status Status
}

func (e *StatusError) Error() string { return "GET " + e.URL + ": " + e.Status.String() }

// TimeoutError is the error for a check that ran out of time. It matches
// sock.ErrTimeout and os.ErrDeadlineExceeded with errors.Is.
type TimeoutError struct {
	URL   string
	After time.Duration
	While string // "connecting", "sending the request", "waiting for the status line"
}

func (e *TimeoutError) Error() string {
	return "GET " + e.URL + ": timed out after " + e.After.String() + " " + e.While
}
func (e *TimeoutError) Unwrap() error { return sock.ErrTimeout }
func (e *TimeoutError) Timeout() bool { return true }

// Get sends the request and returns the status line of the response,
// whatever its code.
func (t Target) Get(timeout time.Duration) (Status, error) {
	if timeout <= 0 {
		return Status{}, fmt.Errorf("GET %s: timeout must be positive, not %v", t.URL, timeout)
	}
	fail := func(err error, while string) (Status, error) {
		if errors.Is(err, sock.ErrTimeout) {
			return Status{}, &TimeoutError{URL: t.URL, After: timeout, While: while}
		}
		return Status{}, fmt.Errorf("GET %s: %w", t.URL, err)
	}
	deadline := time.Now().Add(timeout)
	c, err := sock.Dial(t.Addr, deadline, &sock.Poller{})
	if err != nil {
		return fail(err, "connecting")
	}
	// Abort, not Close: we are the client and have what we came for. If
	// the rest of the response is still unread, the kernel answers the
	// server with RST rather than FIN; by then the server has written
	// everything, so the reset can cost it nothing it still needed.
	defer c.Abort()
	c.SetWriteDeadline(deadline)
	c.SetReadDeadline(deadline)
	if _, err := c.Write(t.request()); err != nil {
		return fail(err, "sending the request")
	}
	st, err := readStatus(&waitFirst{c: c})
	if err != nil {
		return fail(err, "waiting for the status line")
	}
	return st, nil
}

// request is the whole request: no body, and Connection: close, so the
// server does not keep a connection open for a client that is leaving.
func (t Target) request() []byte {
	b := make([]byte, 0, 96+len(t.Path)+len(t.Host))
	b = append(b, "GET "...)
	b = append(b, t.Path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, t.Host...)
	b = append(b, "\r\nUser-Agent: rawserve-probe\r\nConnection: close\r\n\r\n"...)
	return b
}

// waitFirst reads c, its first Read with ReadWait: just after the request
// went out the answer cannot be there yet, so a read(2) first would only
// say EAGAIN.
type waitFirst struct {
	c      *sock.Conn
	waited bool
}

func (r *waitFirst) Read(p []byte) (int, error) {
	if !r.waited {
		r.waited = true
		return r.c.ReadWait(p)
	}
	return r.c.Read(p)
}

// MaxStatusLine bounds the bytes read while looking for the status line's
// end. A real status line is a few dozen bytes; a peer that sends 4 KiB
// without a line break is not speaking HTTP.
const MaxStatusLine = 4 << 10

// statusPrefix is what every status line starts with (RFC 9112, 4):
// "HTTP/1." minor-digit SP 3DIGIT SP. '#' stands for a digit.
const statusPrefix = "HTTP/1.# ### "

// readStatus reads until the CRLF that ends the status line and parses it.
// It checks each byte as it arrives, so a peer that is not an HTTP server
// (an SSH banner, a TLS alert) is recognised at once rather than after a
// wait for a line break that may never come.
func readStatus(r io.Reader) (Status, error) {
	var buf [MaxStatusLine]byte
	n := 0
	for {
		m, err := r.Read(buf[n:])
		if m > 0 {
			from := n
			n += m
			if bad := checkPrefix(buf[:n]); bad != nil {
				return Status{}, bad
			}
			if i := bytes.IndexByte(buf[from:n], '\n'); i >= 0 {
				return parseStatus(buf[:from+i+1])
			}
			if n == len(buf) {
				return Status{}, fmt.Errorf("no end of status line in the first %d bytes: %s", n, excerpt(buf[:n]))
			}
		}
		if err == io.EOF {
			if n == 0 {
				return Status{}, errors.New("connection closed with no response")
			}
			return Status{}, fmt.Errorf("connection closed in the status line: %s", excerpt(buf[:n]))
		}
		if err != nil {
			return Status{}, err
		}
	}
}

// checkPrefix compares what has arrived with statusPrefix, as far as it goes.
func checkPrefix(b []byte) error {
	for i := 0; i < len(b) && i < len(statusPrefix); i++ {
		want, c := statusPrefix[i], b[i]
		if want == '#' && '0' <= c && c <= '9' || want == c {
			continue
		}
		if i < len("HTTP/") {
			return fmt.Errorf("not an HTTP response: %s", excerpt(b))
		}
		return fmt.Errorf("malformed status line: %s", excerpt(b))
	}
	return nil
}

// parseStatus parses one line, its LF included, whose prefix checkPrefix
// has passed.
func parseStatus(line []byte) (Status, error) {
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return Status{}, fmt.Errorf("status line does not end in CRLF: %s", excerpt(line))
	}
	line = line[:len(line)-2]
	if len(line) < len(statusPrefix) {
		return Status{}, fmt.Errorf("malformed status line: %s", excerpt(line))
	}
	reason := line[len(statusPrefix):]
	for _, c := range reason {
		// reason-phrase = *( HTAB / SP / VCHAR / obs-text )
		if c < ' ' && c != '\t' || c == 0x7f {
			return Status{}, fmt.Errorf("malformed status line: %s", excerpt(line))
		}
	}
	code := int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
	if code < 100 {
		return Status{}, fmt.Errorf("malformed status line: status code %03d", code)
	}
	return Status{Code: code, Reason: string(reason)}, nil
}

// excerpt quotes the start of what the peer sent, so that any bytes print
// safely on one line.
func excerpt(b []byte) string {
	const max = 40
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "..."
	}
	return strconv.Quote(string(b))
}
