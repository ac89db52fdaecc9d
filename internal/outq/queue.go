// Package outq writes rawserve's output — the access log on stdout; errors
// and -trace's narration on stderr or -trace-file — so that no serving loop
// ever waits for whoever reads it: a pipe nobody reads, a log shipper that
// has fallen behind, a reader that has gone.
//
// What a loop writes is copied into a bounded queue, and a goroutine of the
// queue's own writes it out, in order, with blocking write(2) calls
// (sock.Output) of whole lines where they fit: into a pipe, at most
// PIPE_BUF bytes, which a pipe takes whole or not at all — another process
// writing into the same pipe (2>&1, a shared log) never cuts one of its
// lines in two, and a write still stuck when the process exits has written
// nothing. Into anything else (a file: the kernel does not mix two write
// calls on one open file), up to 64 KiB at once, sixteen times fewer calls.
//
// When the queue is full, a write that does not fit is dropped, and its
// lines counted. When a write fails — EPIPE: the reader has closed the
// pipe — the queue stops, and counts what it can no longer write. At exit,
// Close gives the queue until a deadline to empty, and counts the rest.
//
// Nothing here waits on a Go timer: a timer would start the Go runtime's
// epoll poller, which rawserve never otherwise starts (its strace tests
// check). The bounded waits yield, then sleep in nanosleep(2) (await).
package outq

import (
	"bytes"
	"io"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Queue is a bounded queue of bytes in front of an io.Writer, and the
// goroutine that writes them to it. Writes to a Queue never wait for the
// io.Writer, and are safe from any number of goroutines: each Write's bytes
// go out together, after the bytes of the Writes before it.
type Queue struct {
	w      io.Writer
	chunk  int         // the most written at once (chunkFor)
	full   func()      // called once, at the first Write dropped for want of room
	failed func(error) // called once, when a write to w fails

	mu      sync.Mutex
	more    sync.Cond // the writer waits here for bytes, or for Close
	ring    []byte    // the n bytes not yet written, from head on, wrapping around
	head, n int
	in, out int64 // bytes ever queued; bytes ever written out
	dropped int64 // lines dropped: Writes that did not fit, and what was given up
	overrun bool  // a Write has been dropped for want of room
	err     error // the write error that stopped the queue
	closing bool  // Close was called: write what is queued, then stop
	gaveUp  bool  // Close's deadline passed before the queue was empty
	done    bool  // the writer goroutine has returned
}

// New starts a queue of size bytes in front of w. full, if not nil, is
// called once, from the Write that first finds no room; failed, if not
// nil, once, from the writer goroutine, when a write to w fails. Neither
// may write to this same queue.
func New(w io.Writer, size int, full func(), failed func(error)) *Queue {
	q := &Queue{w: w, full: full, failed: failed, ring: make([]byte, size), chunk: chunkFor(w)}
	q.more.L = &q.mu
	go q.run()
	return q
}

// Write queues p whole, or drops it whole and counts its lines, and never
// waits for the writer. It returns len(p) and no error either way: the
// queue has taken charge of p, and Dropped reports what it could not
// write. It allocates nothing.
func (q *Queue) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	q.mu.Lock()
	if q.err != nil || q.closing || len(p) > len(q.ring)-q.n {
		q.dropped += lines(p)
		first := !q.overrun && q.err == nil && !q.closing
		if first {
			q.overrun = true
		}
		q.mu.Unlock()
		if first && q.full != nil {
			q.full()
		}
		return len(p), nil
	}
	tail := (q.head + q.n) % len(q.ring)
	k := copy(q.ring[tail:], p)
	copy(q.ring, p[k:])
	q.n += len(p)
	q.in += int64(len(p))
	q.mu.Unlock()
	q.more.Signal()
	return len(p), nil
}

// pipeBuf is PIPE_BUF: pipe(7) makes a write of up to this many bytes
// atomic. fileChunk is the most written at once to what is not a pipe.
const (
	pipeBuf   = 4096
	fileChunk = 64 << 10
)

// chunkFor is the most to write to w at once: PIPE_BUF, unless w can tell
// it is not a pipe (sock.Output can).
func chunkFor(w io.Writer) int {
	if p, ok := w.(interface{ Pipe() bool }); ok && !p.Pipe() {
		return fileChunk
	}
	return pipeBuf
}

// run is the writer: it writes the queued bytes to w as they come, until
// Close or a failed write.
func (q *Queue) run() {
	buf := make([]byte, q.chunk)
	q.mu.Lock()
	defer q.mu.Unlock()
	defer func() { q.done = true }()
	for {
		for q.n == 0 && !q.closing {
			q.more.Wait()
		}
		if q.n == 0 {
			return // closing, and all written
		}
		chunk := q.peek(buf)
		q.mu.Unlock()
		n, err := q.w.Write(chunk)
		q.mu.Lock()
		if q.gaveUp {
			return // Close has counted what is left
		}
		q.head = (q.head + n) % len(q.ring)
		q.n -= n
		q.out += int64(n)
		if err != nil {
			q.err = err
			q.dropped += q.queuedLines()
			q.n = 0
			if q.failed != nil {
				q.mu.Unlock()
				q.failed(err)
				q.mu.Lock()
			}
			return
		}
	}
}

// Flush waits until the bytes queued so far have been written, the queue
// has stopped, or the deadline has passed; it says whether they were
// written. rawserve flushes stderr after a line that must come before what
// the server does next, so that strace shows them in that order.
func (q *Queue) Flush(deadline time.Time) bool {
	q.mu.Lock()
	target := q.in
	q.mu.Unlock()
	written := false
	await(func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		written = q.out >= target
		return written || q.err != nil || q.gaveUp || q.done
	}, deadline)
	return written
}

// Close writes out what is queued, waiting no later than deadline, and
// stops the queue: later Writes are dropped and counted. What is still
// queued at the deadline is dropped and counted too, the lines of the
// write(2) in progress among them (into a pipe, none of it has gone out),
// and the writer goroutine is left in that write, which the process's exit
// ends.
func (q *Queue) Close(deadline time.Time) {
	q.mu.Lock()
	q.closing = true
	q.mu.Unlock()
	q.more.Signal()
	if await(q.finished, deadline) {
		return
	}
	q.mu.Lock()
	if !q.done && !q.gaveUp {
		q.gaveUp = true
		q.dropped += q.queuedLines()
	}
	q.mu.Unlock()
}

// finished says whether the writer has returned, or been given up on.
func (q *Queue) finished() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.done || q.gaveUp
}

// Dropped is how many lines the queue has dropped: by newlines, so a Write
// of whole lines counts each.
func (q *Queue) Dropped() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// Err is the write error that stopped the queue, or nil.
func (q *Queue) Err() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// peek copies the first queued bytes into buf, whole lines if one fits,
// and returns them; they stay queued until written.
func (q *Queue) peek(buf []byte) []byte {
	k := min(q.n, len(buf))
	c := copy(buf[:k], q.ring[q.head:])
	copy(buf[c:k], q.ring)
	if k < q.n {
		if i := bytes.LastIndexByte(buf[:k], '\n'); i >= 0 {
			k = i + 1
		}
	}
	return buf[:k]
}

var newline = []byte{'\n'}

func lines(p []byte) int64 { return int64(bytes.Count(p, newline)) }

// queuedLines counts the lines in the bytes not yet written.
func (q *Queue) queuedLines() int64 {
	end := q.head + q.n
	if end <= len(q.ring) {
		return lines(q.ring[q.head:end])
	}
	return lines(q.ring[q.head:]) + lines(q.ring[:end-len(q.ring)])
}

// await calls done until it reports true or the deadline passes, and says
// which. For the first millisecond it only yields the processor
// (runtime.Gosched): the writer usually needs microseconds, and a wait that
// ends then makes no system call. After that it sleeps in nanosleep(2), a
// millisecond at a time.
func await(done func() bool, deadline time.Time) bool {
	yieldUntil := time.Now().Add(time.Millisecond)
	for !done() {
		now := time.Now()
		switch {
		case !now.Before(deadline):
			return false
		case now.Before(yieldUntil):
			runtime.Gosched()
		default:
			ts := unix.NsecToTimespec(min(time.Millisecond, deadline.Sub(now)).Nanoseconds())
			unix.Nanosleep(&ts, nil) // EINTR, a signal: look again
		}
	}
	return true
}
