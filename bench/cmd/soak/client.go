package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A tally counts what one phase saw: responses judged, errors (a wrong
// answer, a lost request, a hang), and notes — counted events that are not
// errors but say what happened (connections the server closed, dials that
// waited in a full accept queue).
type tally struct {
	start     time.Time
	mu        sync.Mutex
	requests  int64
	errors    int64
	examples  []string
	kinds     map[string]int64 // errors by kind
	notes     map[string]int64
	longests  map[string]time.Duration
	shortests map[string]time.Duration
}

// The errors kept as examples: the first few of each kind.
const maxExamples, examplesPerKind = 8, 3

func newTally() *tally {
	return &tally{
		start: time.Now(),
		kinds: make(map[string]int64), notes: make(map[string]int64),
		longests: make(map[string]time.Duration), shortests: make(map[string]time.Duration),
	}
}

// judged counts one response, and its error if it has one.
func (t *tally) judged(err error) {
	t.mu.Lock()
	t.requests++
	t.mu.Unlock()
	if err != nil {
		t.fail(err)
	}
}

// fail counts an error that is not a judged response (a hang, a lost
// request), keeping the first few as examples.
func (t *tally) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.errors++
	kind := kindOf(err)
	t.kinds[kind]++
	if len(t.examples) < maxExamples && t.kinds[kind] <= examplesPerKind {
		t.examples = append(t.examples, fmt.Sprintf("at %.1f s: %v", time.Since(t.start).Seconds(), err))
	}
}

func (t *tally) note(what string) { t.add(what, 1) }

func (t *tally) add(what string, n int64) {
	t.mu.Lock()
	t.notes[what] += n
	t.mu.Unlock()
}

// kindText is the errors by kind: "3 lost, 1 timeout".
func (t *tally) kindText() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var parts []string
	for k, n := range t.kinds {
		parts = append(parts, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// A kindedError is an error with the kind it is counted as: lost (a 404 for
// a file that is there), stale (an old version long after it was
// replaced), mismatch (bytes of no version), status, secret, timeout, cut
// (a body shorter than its Content-Length), and others.
type kindedError struct {
	kind string
	err  error
}

func (e kindedError) Error() string { return e.err.Error() }
func (e kindedError) Unwrap() error { return e.err }

func kinded(kind string, err error) error { return kindedError{kind, err} }

func kindOf(err error) string {
	var ke kindedError
	switch {
	case errors.As(err, &ke):
		return ke.kind
	case timedOut(err):
		return "timeout"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "cut"
	case closedEarly(err):
		return "closed"
	}
	return "other"
}

// longest keeps the longest of the durations noted as what.
func (t *tally) longest(what string, d time.Duration) {
	t.mu.Lock()
	t.longests[what] = max(t.longests[what], d)
	t.mu.Unlock()
}

// shortest keeps the shortest of the durations noted as what.
func (t *tally) shortest(what string, d time.Duration) {
	t.mu.Lock()
	if old, ok := t.shortests[what]; !ok || d < old {
		t.shortests[what] = d
	}
	t.mu.Unlock()
}

// noteText is the notes as "N what; M what", in a fixed order.
func (t *tally) noteText() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := make([]string, 0, len(t.notes))
	for k := range t.notes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		if t.notes[k] != 0 {
			parts = append(parts, fmt.Sprintf("%d %s", t.notes[k], k))
		}
	}
	for k, d := range t.longests {
		parts = append(parts, fmt.Sprintf("the longest %s: %.1f s", k, d.Seconds()))
	}
	for k, d := range t.shortests {
		parts = append(parts, fmt.Sprintf("the soonest %s: %v", k, d.Round(time.Millisecond)))
	}
	return strings.Join(parts, "; ")
}

// dial connects to the server with a bound on the wait: a dial that takes
// longer is one whose SYN sat in a full accept queue.
func dial(addr string, d time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp4", addr, d)
}

// A client connection: the socket, a reader of its responses, and whether
// it has answered anything yet (a kept-alive connection closed before the
// first byte of an answer is retried, as HTTP clients do).
type conn struct {
	net.Conn
	br   *bufio.Reader
	used bool
	// When its dial began, and when its first request was all sent: the
	// server saw at most this long of silence from it.
	dialed, sent time.Time
}

func newConn(c net.Conn, dialed time.Time) *conn {
	return &conn{Conn: c, br: bufio.NewReaderSize(c, 16<<10), dialed: dialed}
}

// send writes requests.
func (c *conn) send(s string) error {
	_, err := io.WriteString(c, s)
	if c.sent.IsZero() {
		c.sent = time.Now()
	}
	return err
}

// yieldAfter is rawserve's -yield-after default: the serial model closes a
// connection that has sent nothing for this long while others wait.
const yieldAfter = 50 * time.Millisecond

// unanswered explains why a fresh connection was closed before its first
// answer, and reports whether that may be the serial model's rule for a
// silent connection: its request was sent more than yieldAfter after the
// dial began (the soak's own client was slow — its goroutine resumes after
// the handshake when the scheduler gets to it), so the server, which
// counts from accept4, may have waited that long for it. Sent sooner, it
// was a request dropped.
func (c *conn) unanswered(serial bool) (why string, late time.Duration, silent bool) {
	late = c.sent.Sub(c.dialed)
	why = fmt.Sprintf("closed without an answer %v after the dial began; the request was sent %v after it",
		time.Since(c.dialed).Round(time.Millisecond), late.Round(time.Millisecond))
	return why, late, serial && late > yieldAfter
}

// head builds a request head.
func head(method, target, rng string, close bool) string {
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: soak\r\n")
	if rng != "" {
		b.WriteString("Range: " + rng + "\r\n")
	}
	if close {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// readResponse reads one response to a request with method, and its whole
// body.
func (c *conn) readResponse(method string) (*http.Response, []byte, error) {
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return resp, body, fmt.Errorf("status %d, body cut after %d bytes: %w", resp.StatusCode, len(body), err)
	}
	c.used = true
	return resp, body, nil
}

// closedEarly reports whether err means the server closed the connection
// before any byte of a response came: EOF, or a reset.
func closedEarly(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func timedOut(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// A probe is one fresh client: it connects, asks for the small file with
// Connection: close and reads the whole answer, which must be a 200 with the
// file's bytes. It returns how long that took.
func probe(addr string, s *site, timeout time.Duration) (time.Duration, error) {
	t0 := time.Now()
	nc, err := dial(addr, timeout)
	if err != nil {
		return time.Since(t0), err
	}
	defer nc.Close()
	nc.SetDeadline(t0.Add(timeout))
	c := newConn(nc, t0)
	req := request{method: "GET", target: probePath, start: t0}
	if _, err := io.WriteString(c, head("GET", probePath, "", true)); err != nil {
		return time.Since(t0), err
	}
	resp, body, err := c.readResponse("GET")
	d := time.Since(t0)
	if err != nil {
		return d, err
	}
	if resp.StatusCode != 200 {
		return d, fmt.Errorf("status %d", resp.StatusCode)
	}
	return d, s.check(probePath, req, resp, body)
}

// A freshCheck is several probes one after another: the worst and the
// best, and how many failed or took longer than the limit. Each runs beside
// a probe of the witness, an idle rawserve that no phase touches: a probe
// over the limit is excused when the witness's took as long — the machine
// (or the soak itself) stalled, not the server.
type freshCheck struct {
	tries, failed, slow, excused int
	worst, best, witnessWorst    time.Duration
	firstErr                     error
}

const (
	freshTries = 10
	freshLimit = 50 * time.Millisecond
)

// A witness is the idle rawserve beside the one under test, and its site.
type witness struct {
	srv  *server
	site *site
}

func checkFresh(addr string, s *site, w *witness) freshCheck {
	fc := freshCheck{tries: freshTries, best: time.Hour}
	for i := range freshTries {
		if i > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		var wd time.Duration
		var werr error
		var wg sync.WaitGroup
		wg.Go(func() { wd, werr = probe(w.srv.addr, w.site, 2*time.Second) })
		d, err := probe(addr, s, 2*time.Second)
		wg.Wait()
		fc.worst, fc.best, fc.witnessWorst = max(fc.worst, d), min(fc.best, d), max(fc.witnessWorst, wd)
		switch {
		case err != nil:
			fc.failed++
			if fc.firstErr == nil {
				fc.firstErr = err
			}
		case d > freshLimit && (werr != nil || wd > freshLimit):
			fc.excused++
		case d > freshLimit:
			fc.slow++
		}
	}
	return fc
}

func (fc freshCheck) ok() bool { return fc.failed == 0 && fc.slow == 0 }

// during probes every 250 ms until stop is closed and returns the worst
// wait and how many probes did not get their answer within 5 s: what a
// newcomer saw while the phase ran. It judges nothing.
func during(addr string, s *site, stop <-chan struct{}) func() (time.Duration, int) {
	var worst time.Duration
	var failed int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
			d, err := probe(addr, s, 5*time.Second)
			worst = max(worst, d)
			if err != nil {
				failed++
			}
		}
	}()
	return func() (time.Duration, int) { <-done; return worst, failed }
}
