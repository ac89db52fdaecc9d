package serve_test

// Counting system calls: the tests that must know what the server did — how
// often it called accept4, when it closed a connection — read the sock
// narration, as strace would show it.

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/sock"
)

// traceLines counts lines of the sock narration, for the tests that
// count system calls, and notes when the server closes a connection. In
// the uring model an accept or a close is a completion reaped from the
// ring ("← cqe accept(6) = 8 [...]"), and the client's port comes from the
// getpeername that follows the accept.
type traceLines struct {
	mu      sync.Mutex
	accepts int               // accept4 calls, or accept completions
	emfile  int               // of them, those that said EMFILE
	byFD    map[int]int       // accepts that returned a connection, by listener fd
	peerOf  map[int]int       // the client port of each connection open, by fd
	closed  map[int]time.Time // when the server closed its connection, by client port
}

func (w *traceLines) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	line = strings.TrimPrefix(line, "← cqe ")
	if ud := strings.LastIndex(line, " ["); ud > 0 && strings.HasSuffix(line, "]") {
		line = line[:ud] // a completion's flags and user_data
	}
	name, _, _ := strings.Cut(line, "(")
	if name != "accept4" && name != "accept" && name != "close" && name != "getpeername" || strings.HasPrefix(line, "→") {
		return len(p), nil
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	i := strings.LastIndex(line, " = ")
	if i < 0 {
		return len(p), nil
	}
	ret := line[i+3:]
	fd, _ := strconv.Atoi(between(line, name+"(", ","))
	switch name {
	case "close":
		fd, err := strconv.Atoi(between(line, "close(", ")"))
		if port, ok := w.peerOf[fd]; ok && err == nil {
			delete(w.peerOf, fd)
			w.closed[port] = now
		}
		return len(p), nil
	case "getpeername":
		if port, err := strconv.Atoi(between(line, "sin_port=htons(", ")")); err == nil && ret == "0" {
			w.peerOf[fd] = port
		}
		return len(p), nil
	case "accept":
		fd, _ = strconv.Atoi(between(line, "accept(", ")"))
	}
	w.accepts++
	switch {
	case strings.HasPrefix(ret, "-1 EMFILE"):
		w.emfile++
	case !strings.HasPrefix(ret, "-1"):
		w.byFD[fd]++
		conn, err1 := strconv.Atoi(ret)
		port, err2 := strconv.Atoi(between(line, "sin_port=htons(", ")"))
		if err1 == nil && err2 == nil {
			w.peerOf[conn] = port
		}
	}
	return len(p), nil
}

// between is what s has between the first start and the next end after
// it; "" if it has not.
func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	in, _, ok := strings.Cut(rest, end)
	if !ok {
		return ""
	}
	return in
}

func (w *traceLines) counts() (accepts, emfile int, byFD map[int]int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	byFD = make(map[int]int, len(w.byFD))
	for k, v := range w.byFD {
		byFD[k] = v
	}
	return w.accepts, w.emfile, byFD
}

// closedAt tells when the server closed the connection from client port
// port, waiting for it until the deadline.
func (w *traceLines) closedAt(port int, deadline time.Time) (time.Time, bool) {
	for {
		w.mu.Lock()
		at, ok := w.closed[port]
		w.mu.Unlock()
		if ok || time.Now().After(deadline) {
			return at, ok
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// narrate turns the sock narration on into a traceLines until the test
// ends. The narration is process-wide: the tests in this package do not run
// in parallel, and the other tests' servers have stopped.
func narrate(t *testing.T) *traceLines {
	w := &traceLines{byFD: map[int]int{}, peerOf: map[int]int{}, closed: map[int]time.Time{}}
	sock.SetTrace(w, false)
	t.Cleanup(func() { sock.SetTrace(nil, false) })
	return w
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
