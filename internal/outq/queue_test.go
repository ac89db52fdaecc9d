package outq

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawserve/rawserve/internal/sock"
)

// pipe returns a real pipe, blocking at both ends: r to read, w to write.
// Both are closed when the test ends (closing one twice only fails).
func pipe(t *testing.T) (r, w sock.Output) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	return sock.Output(p[0]), sock.Output(p[1])
}

// readAll reads r until EOF, or until want bytes when want > 0.
func readAll(r sock.Output, want int) []byte {
	var all []byte
	buf := make([]byte, 64<<10)
	for want <= 0 || len(all) < want {
		room := buf
		if want > 0 {
			room = buf[:min(len(buf), want-len(all))]
		}
		n, err := unix.Read(int(r), room)
		if err == unix.EINTR {
			continue
		}
		if n <= 0 {
			break
		}
		all = append(all, room[:n]...)
	}
	return all
}

// reading reads r until EOF in a goroutine, and hands over what it read.
func reading(r sock.Output) <-chan []byte {
	done := make(chan []byte, 1)
	go func() { done <- readAll(r, 0) }()
	return done
}

func line(i int) []byte {
	return fmt.Appendf(nil, "line %06d .........................................\n", i)
}

// checkLines checks that out is whole lines made by line, in increasing
// order, and returns how many.
func checkLines(t *testing.T, out []byte) int {
	t.Helper()
	last := -1
	n := 0
	for l := range bytes.Lines(out) {
		i, err := strconv.Atoi(string(l[5:11]))
		if err != nil || !bytes.Equal(l, line(i)) || i <= last {
			t.Fatalf("line %d: %q after line %d", n, l, last)
		}
		last = i
		n++
	}
	return n
}

// Everything written is written out, in order.
func TestQueueWritesInOrder(t *testing.T) {
	r, w := pipe(t)
	q := New(w, 2<<20, nil, nil)
	done := reading(r)
	const lines = 20000 // 1.2 MB: it all fits in the queue
	for i := range lines {
		q.Write(line(i))
	}
	q.Close(time.Now().Add(10 * time.Second))
	w.Close()
	if n := checkLines(t, <-done); n != lines || q.Dropped() != 0 {
		t.Errorf("%d lines out, %d dropped; want %d and none", n, q.Dropped(), lines)
	}
}

// A pipe nobody reads: Write never waits. What does not fit is dropped
// whole and counted, full is called once, and what was queued comes out,
// in order, once a reader comes.
func TestQueueFullDrops(t *testing.T) {
	r, w := pipe(t)
	var fulls atomic.Int32
	q := New(w, 64<<10, func() { fulls.Add(1) }, nil)
	const lines = 20000 // 1.2 MB: the pipe holds 64 KiB, the queue as much
	start := time.Now()
	for i := range lines {
		q.Write(line(i))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("%d Writes took %v: they waited", lines, d)
	}
	if fulls.Load() != 1 || q.Dropped() < lines/2 {
		t.Errorf("full called %d times, %d lines dropped; want once, and most", fulls.Load(), q.Dropped())
	}
	done := reading(r)
	q.Close(time.Now().Add(10 * time.Second))
	w.Close()
	n := checkLines(t, <-done)
	if n+int(q.Dropped()) != lines || n < 1000 {
		t.Errorf("%d lines out and %d dropped, want %d in all", n, q.Dropped(), lines)
	}
}

// The reader goes (head -c 10): the write fails with EPIPE — and, made raw,
// does not kill the process — the queue stops, says why once, and counts
// what it could not write.
func TestQueueReaderGone(t *testing.T) {
	r, w := pipe(t)
	failed := make(chan error, 2)
	q := New(w, 64<<10, nil, func(err error) { failed <- err })
	r.Close()
	q.Write(line(0))
	q.Write(line(1))
	var err error
	select {
	case err = <-failed:
	case <-time.After(5 * time.Second):
		t.Fatal("no failure reported")
	}
	if !errors.Is(err, unix.EPIPE) || err.Error() != "write: broken pipe" || !errors.Is(q.Err(), unix.EPIPE) {
		t.Errorf("failed with %v (Err %v), want write: broken pipe", err, q.Err())
	}
	q.Write(line(2))
	q.Close(time.Now().Add(time.Second))
	if q.Dropped() != 3 || len(failed) != 0 {
		t.Errorf("%d dropped, %d more failures; want 3 and none", q.Dropped(), len(failed))
	}
}

// Close waits no later than its deadline for a reader that never reads,
// and counts what is left: each line is either in the pipe, whole, or
// counted — the writes are no bigger than PIPE_BUF, so a stuck one has
// written nothing.
func TestQueueCloseBounded(t *testing.T) {
	r, w := pipe(t)
	q := New(w, 1<<20, nil, nil)
	const lines = 4000 // 240 KB
	for i := range lines {
		q.Write(line(i))
	}
	start := time.Now()
	q.Close(start.Add(200 * time.Millisecond))
	if d := time.Since(start); d < 200*time.Millisecond || d > time.Second {
		t.Errorf("Close took %v, want 200ms", d)
	}
	if q.Flush(time.Now().Add(time.Second)) {
		t.Error("Flush says a queue given up on was written out")
	}
	q.Write(line(lines)) // after Close: dropped, counted
	dropped := int(q.Dropped())
	// What the pipe holds now, and no more: reading makes room, and the
	// writer given up on, still in its write(2), then adds a chunk that
	// Close has counted.
	held, err := unix.IoctlGetInt(int(r), unix.TIOCINQ) // FIONREAD
	if err != nil {
		t.Fatal(err)
	}
	if n := checkLines(t, readAll(r, held)); n+dropped != lines+1 || n == 0 {
		t.Errorf("%d lines in the pipe and %d dropped, want %d in all", n, dropped, lines+1)
	}
}

// Flush waits until what is queued has been written.
func TestQueueFlush(t *testing.T) {
	r, w := pipe(t)
	q := New(w, 1<<20, nil, nil)
	const lines = 3000 // 180 KB, three pipes full
	for i := range lines {
		q.Write(line(i))
	}
	if q.Flush(time.Now().Add(100 * time.Millisecond)) {
		t.Fatal("Flush says 180 KB went into a 64 KiB pipe nobody reads")
	}
	done := reading(r)
	if !q.Flush(time.Now().Add(10 * time.Second)) {
		t.Fatal("Flush gave up with a reader reading")
	}
	q.Close(time.Now().Add(time.Second))
	w.Close()
	if n := checkLines(t, <-done); n != lines || q.Dropped() != 0 {
		t.Errorf("%d lines out, %d dropped; want %d and none", n, q.Dropped(), lines)
	}
}

// The serving loops hand the queue whole batches of the access log: taking
// one allocates nothing, whether it is queued or dropped.
func TestQueueWriteAllocatesNothing(t *testing.T) {
	q := New(io.Discard, 16<<10, nil, nil)
	defer q.Close(time.Now().Add(time.Second))
	batch := bytes.Repeat(line(0), 60) // about 4 KiB, as accessLog flushes
	if n := testing.AllocsPerRun(1000, func() { q.Write(batch) }); n != 0 {
		t.Errorf("Write allocates %v times", n)
	}
}

// sized records the size of each write, and says it is a pipe or not.
type sized struct {
	pipe   bool
	sizes  []int
	writes bytes.Buffer
}

func (s *sized) Pipe() bool { return s.pipe }
func (s *sized) Write(p []byte) (int, error) {
	s.sizes = append(s.sizes, len(p))
	return s.writes.Write(p)
}

// Into a pipe, writes of at most PIPE_BUF, whole lines; into a file (a
// sock.Output that says it is not a pipe: a real one is checked with
// fstat, in package sock), writes of up to 64 KiB, whole lines too.
func TestQueueChunks(t *testing.T) {
	for _, tc := range []struct {
		pipe     bool
		max, min int // the largest write allowed; the largest write wanted
	}{{true, pipeBuf, pipeBuf - 100}, {false, fileChunk, fileChunk - 100}} {
		w := &sized{pipe: tc.pipe}
		q := New(w, 1<<20, nil, nil)
		var all []byte
		for i := range 10000 {
			all = append(all, line(i)...)
		}
		q.Write(all) // queued at once, so the writer finds it all waiting
		q.Close(time.Now().Add(10 * time.Second))
		if n := checkLines(t, w.writes.Bytes()); n != 10000 {
			t.Fatalf("pipe %v: %d lines", tc.pipe, n)
		}
		largest := 0
		for _, n := range w.sizes {
			largest = max(largest, n)
		}
		if largest > tc.max || largest < tc.min {
			t.Errorf("pipe %v: largest write %d bytes, want %d–%d (%d writes)", tc.pipe, largest, tc.min, tc.max, len(w.sizes))
		}
	}
}
