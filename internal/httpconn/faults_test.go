package httpconn

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/faults"
)

// The faults, played through the core as a model plays them (drive): what
// goes out, and the steps the model is asked for — the writes, the pauses,
// the shutdown, the close or the reset. Each runs twice, with every read
// and write whole and with them cut into pieces, and must come out the same:
// a fault counts body bytes, not calls.

// faultServers returns a maker of servers with -faults on, which serve one
// directory (testDir), so that their answers — ETags too — are the same.
func faultServers(t testing.TB) func() *Server {
	d := testDir(t)
	return func() *Server {
		return NewServer(Config{Dir: d, AccessLog: io.Discard, ErrorLog: io.Discard, Faults: true},
			Model{Name: "test", Gather: true})
	}
}

// faultRun drives one request (a GET of path, and then whatever follows)
// whole and cut up, checks the two agree, and returns the answer and the
// steps of the whole run.
func runFault(t *testing.T, srv func() *Server, input string) (head, body string, steps []string) {
	t.Helper()
	out, steps := driveConn(t, srv(), []byte(input), nil)
	cutOut, cutSteps := driveConn(t, srv(), []byte(input), bytes.Repeat([]byte{3, 200, 1, 77, 0, 9}, 40)) // reads and writes
	if !bytes.Equal(normal(out), normal(cutOut)) {
		t.Fatalf("%.40q: the answer depends on how the writes were cut:\n%s", input, diff(normal(out), normal(cutOut)))
	}
	if last(steps) != last(cutSteps) {
		t.Fatalf("%.40q: ends with %s whole and %s cut up", input, last(steps), last(cutSteps))
	}
	head, body, _ = strings.Cut(string(normal(out)), "\r\n\r\n")
	return head, body, steps
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

func count(steps []string, prefix string) int {
	n := 0
	for _, s := range steps {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

func getReq(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n" }

func TestFaultCuts(t *testing.T) {
	srv := faultServers(t)
	index := strings.Repeat("<p>x</p>\n", 2000) // testDir's index.html, 18,000 bytes
	for _, tc := range []struct {
		path  string
		body  string
		end   []string // the last steps
		nohdr bool     // no response at all
	}{
		{path: "/_faults/reset/after/100/index.html", body: index[:100], end: []string{"reset"}},
		{path: "/_faults/reset/after/0/f.txt", body: "", end: []string{"reset"}},
		{path: "/_faults/reset/after/99999/f.txt", body: "file body\n", end: []string{"reset"}},
		{path: "/_faults/reset", nohdr: true, end: []string{"reset"}},
		{path: "/_faults/truncate/100/index.html", body: index[:100], end: []string{"shutdown", "close"}},
		{path: "/_faults/truncate/3", body: "tru", end: []string{"shutdown", "close"}},
		{path: "/_faults/close-before-response", nohdr: true, end: []string{"shutdown", "close"}},
		{path: "/_faults/hang", nohdr: true, end: []string{"close"}}, // the client's EOF ends it
	} {
		t.Run(tc.path, func(t *testing.T) {
			head, body, steps := runFault(t, srv, getReq(tc.path))
			if tc.nohdr {
				if head != "" || count(steps, "write") > 0 {
					t.Fatalf("a response: %q %v", head, steps)
				}
			} else if !strings.HasPrefix(head, "HTTP/1.1 200 OK") || body != tc.body {
				t.Fatalf("got %q\n%.60q (%d bytes), want %d bytes", head, body, len(body), len(tc.body))
			}
			if got := steps[len(steps)-len(tc.end):]; strings.Join(got, " ") != strings.Join(tc.end, " ") {
				t.Fatalf("steps end %v, want %v (%v)", got, tc.end, steps)
			}
			if !tc.nohdr && !strings.Contains(head, "Content-Length: ") || strings.Contains(head, "Connection: close") {
				t.Fatalf("a cut response announces its whole length, and keep-alive: %q", head)
			}
		})
	}
}

func TestFaultDrip(t *testing.T) {
	srv := faultServers(t)
	_, body, steps := runFault(t, srv, getReq("/_faults/drip/1000/10ms/index.html"))
	if len(body) != 18000 {
		t.Fatalf("%d bytes of 18000", len(body))
	}
	if n := count(steps, "pause 10ms"); n != 17 {
		t.Fatalf("%d pauses of 10ms, want 17 (18 pieces): %v", n, steps)
	}
	// Between two pauses, at most a piece of body.
	sent := 0
	for _, s := range steps {
		var n int
		if _, err := fmt.Sscanf(s, "sendfile %d", &n); err == nil {
			sent += n
		}
		if strings.HasPrefix(s, "pause") {
			if sent > 1000 {
				t.Fatalf("%d bytes between two pauses: %v", sent, steps)
			}
			sent = 0
		}
	}
	// A drip, a delay and a cut together: the delay first, then the
	// pieces up to the cut.
	head, body, steps := runFault(t, srv, getReq("/_faults/delay/50ms/drip/4/20ms/truncate/10/bytes/64?seed=1"))
	want := make([]byte, 64)
	s := faults.NewStream(1)
	s.Fill(want)
	if !strings.Contains(head, "Content-Length: 64") || body != string(want[:10]) {
		t.Fatalf("%q %q", head, body)
	}
	if steps[0] != "pause 50ms" || count(steps, "pause 20ms") != 2 || last(steps) != "close" {
		t.Fatalf("steps %v: want the delay, two pauses (pieces of 4, 4, 2) and the polite close", steps)
	}
}

func TestFaultResponses(t *testing.T) {
	srv := faultServers(t)
	stream := make([]byte, 100000)
	s := faults.NewStream(3)
	s.Fill(stream)
	for _, tc := range []struct {
		path, status, body string
	}{
		{"/_faults/status/418", "418 I'm a teapot", "418 I'm a teapot\n"},
		{"/_faults/status/204", "204 No Content", ""},
		{"/_faults/status/304", "304 Not Modified", ""},
		{"/_faults/delay/1.5/status/500", "500 Internal Server Error", "500 Internal Server Error\n"},
		{"/_faults/unstable/1/f.txt", "503 Service Unavailable", "503 Service Unavailable\n"},
		{"/_faults/unstable/0/f.txt", "200 OK", "file body\n"},
		{"/_faults/delay/20ms", "200 OK", "delay/20ms\n"},
		{"/_faults/delay/20ms/healthz", "200 OK", "ok\n"},
		{"/_faults/bytes/100000?seed=3", "200 OK", string(stream)},
		{"/_faults/", "200 OK", ""}, // the list (checked below)
		{"/_faults/nope", "404 Not Found", ""},
		{"/_faults/delay/2m", "400 Bad Request", ""},
		{"/_faults/drip/1/1s/index.html", "400 Bad Request", ""}, // 17,999 pauses of a second
		{"/_faults/delay/1s/drip/1/1s/f.txt", "400 Bad Request", ""},
		{"/_faults/reset/truncate/1", "400 Bad Request", ""},
		{"/_faults/status/200/f.txt", "400 Bad Request", ""},
		{"/_faults/status/101", "400 Bad Request", ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			// The fault, then a plain request on the same connection:
			// these responses keep it alive.
			head, rest, steps := runFault(t, srv, getReq(tc.path)+getReq("/healthz"))
			if !strings.HasPrefix(head, "HTTP/1.1 "+tc.status+"\r\n") {
				t.Fatalf("head %q, want %s", head, tc.status)
			}
			body, next, _ := strings.Cut(rest, "HTTP/1.1 200 OK\r\n")
			if tc.body != "" && body != tc.body {
				t.Fatalf("body %.60q (%d bytes), want %.60q (%d)", body, len(body), tc.body, len(tc.body))
			}
			if !strings.HasSuffix(next, "\r\n\r\nok\n") || last(steps) != "close" {
				t.Fatalf("the next request on the connection: %.80q, %v", next, steps)
			}
			if strings.HasPrefix(tc.status, "400") && count(steps, "pause") > 0 {
				t.Fatalf("a refusal waited: %v", steps)
			}
			if tc.path == "/_faults/" && !strings.Contains(body, "reset/after/{n}") {
				t.Fatalf("the list: %q", body)
			}
		})
	}
	// 1xx: the interim response, then a final 200.
	_, rest, _ := runFault(t, srv, getReq("/_faults/status/103"))
	if !strings.HasPrefix(rest, "HTTP/1.1 200 OK\r\n") {
		t.Fatalf("after 103: %q", rest)
	}
}

func TestFaultMalformed(t *testing.T) {
	srv := faultServers(t)
	for _, kind := range faults.MalformedKinds() {
		out, steps := driveConn(t, srv(), []byte(getReq("/_faults/malformed/"+kind)+getReq("/healthz")), nil)
		if bytes.Contains(out, []byte("ok\n")) && kind != "status-line" && kind != "bare-lf" && kind != "nul-header" ||
			bytes.Count(out, []byte("HTTP/1.1")) != 1 || last(steps) != "close" {
			t.Errorf("%s: %q %v: want the one malformed response, then the close", kind, out, steps)
		}
	}
}

// Answers gathered before a fault (pipelining, in an event loop) go out
// first, in writes of their own; the fault's response is shaped alone.
func TestFaultAfterGathered(t *testing.T) {
	in := getReq("/healthz") + getReq("/f.txt") + getReq("/_faults/reset/after/4/f.txt")
	out, steps := driveConn(t, faultServers(t)(), []byte(in), nil)
	if n := bytes.Count(out, []byte("HTTP/1.1 200 OK")); n != 3 || !bytes.HasSuffix(out, []byte("\r\n\r\nfile")) {
		t.Fatalf("%q", out)
	}
	if count(steps, "write") != 2 || last(steps) != "reset" {
		t.Fatalf("steps %v: want the two gathered answers in one write, the fault's in another, then RST", steps)
	}
}

// Without -faults, /_faults/ is a path like any other.
func TestFaultsOff(t *testing.T) {
	srv := NewServer(Config{Dir: testDir(t), AccessLog: io.Discard, ErrorLog: io.Discard}, Model{Name: "test"})
	out := drive(t, srv, []byte(getReq("/_faults/reset")), nil)
	if !bytes.HasPrefix(out, []byte("HTTP/1.1 404 ")) {
		t.Fatalf("%q", out)
	}
}

// The access log names the faults, and tells what went out.
func TestFaultLog(t *testing.T) {
	var log bytes.Buffer
	srv := NewServer(Config{Dir: testDir(t), AccessLog: &log, ErrorLog: io.Discard, Faults: true}, Model{Name: "test"})
	drive(t, srv, []byte(getReq("/_faults/delay/1s/reset/after/7/index.html")), nil)
	drive(t, srv, []byte(getReq("/_faults/close-before-response")), nil)
	srv.FlushLog()
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 2 ||
		!strings.Contains(lines[0], `"GET /_faults/delay/1s/reset/after/7/index.html HTTP/1.1" 200 7 1.0`) ||
		!strings.HasSuffix(lines[0], " fault=delay,reset") ||
		!strings.Contains(lines[1], `" - 0 `) || !strings.HasSuffix(lines[1], " fault=close-before-response") {
		t.Fatalf("log:\n%s", log.String())
	}
}

// A pause never outlasts the write timeout, and a response still held back
// when it passes is given up.
func TestFaultWriteTimeout(t *testing.T) {
	srv := NewServer(Config{Dir: testDir(t), AccessLog: io.Discard, ErrorLog: io.Discard, Faults: true,
		WriteTimeout: 100 * time.Millisecond}, Model{Name: "test"})
	out, steps := driveConn(t, srv, []byte(getReq("/_faults/delay/200ms")), nil)
	if !bytes.HasPrefix(out, []byte("HTTP/1.1 400 ")) {
		t.Fatalf("a delay over the write timeout: %q %v", out, steps)
	}
}

// FuzzFaultCuts: a cut or a drip of any size, over a file or generated
// bytes, sends exactly the body bytes it says — min(n, the body) — however
// the writes are cut, and ends as it says: RST for reset, FIN for truncate.
func FuzzFaultCuts(f *testing.F) {
	f.Add(uint8(0), uint16(100), uint8(7), []byte{3, 1, 200})
	f.Add(uint8(1), uint16(0), uint8(1), []byte{0})
	f.Add(uint8(2), uint16(40000), uint8(255), []byte{9, 9, 9})
	f.Add(uint8(3), uint16(17), uint8(3), []byte{1})
	f.Add(uint8(4), uint16(5000), uint8(16), []byte{100, 1})
	srv := faultServers(f)
	f.Fuzz(func(t *testing.T, which uint8, n uint16, piece uint8, cuts []byte) {
		p := int(piece) + 1
		paths := []struct {
			path  string
			body  int    // bytes the body has
			cut   int    // bytes before the cut; -1: none
			ended string // the last step
		}{
			{fmt.Sprintf("reset/after/%d/index.html", n), 18000, int(n), "reset"},
			{fmt.Sprintf("truncate/%d/index.html", n), 18000, int(n), "close"},
			{fmt.Sprintf("drip/%d/1us/truncate/%d/index.html", p, n), 18000, int(n), "close"},
			{fmt.Sprintf("drip/%d/1us/bytes/%d?seed=5", p, n), int(n), -1, "close"},
			{fmt.Sprintf("reset/after/%d/bytes/%d?seed=3", p, n), int(n), p, "reset"},
		}
		tc := paths[int(which)%len(paths)]
		want := tc.body
		if tc.cut >= 0 {
			want = min(tc.cut, tc.body)
		}
		for _, c := range [][]byte{nil, cuts} {
			out, steps := driveConn(t, srv(), []byte(getReq("/_faults/"+tc.path)), c)
			_, body, ok := strings.Cut(string(out), "\r\n\r\n")
			if !ok || len(body) != want || last(steps) != tc.ended {
				t.Fatalf("%s, cuts %v: %d body bytes, ending %s; want %d, %s", tc.path, c, len(body), last(steps), want, tc.ended)
			}
			if strings.Contains(tc.path, "drip") && count(steps, "pause ") != max((want+p-1)/p-1, 0) {
				t.Fatalf("%s: %d pauses for %d bytes in pieces of %d", tc.path, count(steps, "pause"), want, p)
			}
		}
	})
}
