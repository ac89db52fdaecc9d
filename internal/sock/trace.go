package sock

// The tracer: where narration goes, and the span that carries one system
// call from just before it is made to its line. -trace prints each call the
// seam (sys_linux.go) makes, in strace's syntax (strace.go), one line per
// call, written as the call returns:
//
//	accept4(6, {sa_family=AF_INET, sin_port=htons(41234), sin_addr=inet_addr("127.0.0.1")}, [112 => 16], SOCK_CLOEXEC|SOCK_NONBLOCK) = 7
//	read(7, "GET / HTTP/1.1\r\nHost: 127.0.0.1:"..., 20480) = 79
//	ppoll([{fd=7, events=POLLIN}, {fd=5, events=POLLIN}], 2, {tv_sec=1, tv_nsec=999998557}, NULL, 0) = 0 (Timeout)
//
// Each call is narrated by its seam function, the one place it is made; the
// wrappers above never narrate:
//
//	sp := begin(cRead)
//	n, err := rawRW(unix.SYS_READ, fd, p)
//	if sp.on() {
//		sp.read(fd, p, n, err)
//	}
//
// When narration is off, begin is one atomic load and a nil check: no
// allocation, no clock read (BenchmarkTraceOff measures it). When it is on,
// each line is formatted into one reused buffer under a mutex — the signal
// goroutine's Waker.Wake narrates from its own goroutine — and written with
// one Write. That write is not made through the seam, so it is never
// narrated itself.
//
// Two things strace -f does are left for when the server runs several event
// loops, one per thread; each is a change here and in strace.go, none in
// the wrappers:
//
//   - "[pid TID] " before each line. A tracer made for it would have begin
//     take the thread's id, with gettid(2) made raw and not narrated (like
//     the trace file's own calls; the comparison with strace already drops
//     calls the narration does not claim), into a new span field, and line
//     would put the prefix first. Each loop stays on one thread
//     (runtime.LockOSThread), so the thread that asked is the one that makes
//     the call. Off, it costs nothing: begin returns before it.
//   - A blocking wait (ppoll, epoll_pwait with a timeout) told when it starts
//     as well as when it returns, so a line from another thread can come in
//     between, as strace prints it:
//
//	ppoll([{fd=7, events=POLLIN}], 1, {tv_sec=5, tv_nsec=0}, NULL, 0 <unfinished ...>
//	<... ppoll resumed>) = 1 ([{fd=7, revents=POLLIN}], left {tv_sec=4, tv_nsec=999000000})
//
//     The two narrations are already cut where strace cuts them
//     (appendPpollArgs before the call, appendPpollResult after it;
//     epoll_pwait after its epfd). A span method would write the first half
//     with " <unfinished ...>" and mark the span started, leaving it busy;
//     the seam function would call it just before the wait; the narration at
//     return would then begin "<... ppoll resumed>" and append the second
//     half. The timespec sysPpoll copies today would no longer be needed: the
//     timeout is printed before the kernel overwrites it.

import (
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// tracer is where narration goes.
type tracer struct {
	mu    sync.Mutex
	w     io.Writer
	own   int // the descriptor w's bytes end up on, whose writes are not narrated; -1: none
	timed bool
	buf   []byte       // one line, reused
	busy  atomic.Int32 // calls begun and not yet narrated
}

var active atomic.Pointer[tracer]

// SetTrace narrates every later system call made by this package to w (nil:
// stop narrating). timed appends each call's duration, as strace -T does. Call
// it at start-up, before the calls to narrate. Each line reaches w in one
// Write call, made by the thread that made the system call, with the
// tracer's lock held: w must not make it wait. rawserve gives it a queue
// (internal/outq) whose own goroutine writes the lines out, in order, with
// Output's write(2) calls, which SetTraceTo keeps from narrating.
//
// Switching narration off or over waits, up to a second, for the calls
// already begun to be narrated: at exit, the signal goroutine's Waker.Wake
// may still be on its way to its line when the serving loop, woken by that
// very write, has returned — and the line must reach w before w is closed.
// It waits by yielding, not in time.Sleep: a runtime timer would start the
// Go runtime's epoll poller (epoll_create1, eventfd2), which this server
// otherwise never wakes.
func SetTrace(w io.Writer, timed bool) { SetTraceTo(w, -1, timed) }

// SetTraceTo is SetTrace for a w whose bytes end up written, by Output, to
// descriptor own (-trace's stderr, or -trace-file's): the writes to own are
// not narrated. They are the narration's own, and narrating them would make
// more narration to write, without end. Writes to any other descriptor —
// the access log on stdout, stderr's lines when the narration goes to a
// file — are narrated like every call.
func SetTraceTo(w io.Writer, own int, timed bool) {
	var t *tracer
	switch {
	case w != nil:
		t = &tracer{w: w, own: own, timed: timed, buf: make([]byte, 0, 512)}
	case counts.Load() != nil:
		t = &tracer{own: -1} // counting, with no narration
	}
	old := active.Swap(t)
	if old == nil {
		return
	}
	for deadline := time.Now().Add(time.Second); old.busy.Load() > 0 && time.Now().Before(deadline); {
		runtime.Gosched()
	}
}

// span is one call being narrated: the tracer (nil: narration is off) and,
// for -trace-time, when the call began.
type span struct {
	t  *tracer
	t0 time.Duration
}

// epoch anchors span.t0 to the monotonic clock.
var epoch = time.Now()

// begin starts narrating a call: call it just before the system call, and
// when it is on, end with the narration, whatever the call returned. It
// counts the call, when counting is on (CountCalls).
func begin(id callID) span {
	t := active.Load()
	if t == nil {
		return span{}
	}
	if c := counts.Load(); c != nil {
		c[id].Add(1)
	}
	return t.start()
}

// beginNote starts narrating a line that is not a system call: a ring's
// entry (uring_strace.go). It is not counted.
func beginNote() span {
	t := active.Load()
	if t == nil {
		return span{}
	}
	return t.start()
}

// start begins a span on t, if t narrates.
func (t *tracer) start() span {
	if t.w == nil {
		return span{} // counting only
	}
	// Counted busy before the second look, so that SetTrace, which swaps
	// the tracer and then waits for busy to drain, either sees this call
	// or makes it see the swap (sync/atomic is sequentially consistent).
	t.busy.Add(1)
	if active.Load() != t {
		t.busy.Add(-1)
		return span{}
	}
	if t.timed {
		return span{t, time.Since(epoch)}
	}
	return span{t: t}
}

// on says whether the call is narrated.
func (s span) on() bool { return s.t != nil }

// line takes the buffer and starts the line with name and "(".
func (s span) line(name string) []byte {
	s.t.mu.Lock()
	return append(append(s.t.buf[:0], name...), '(')
}

// flush appends the duration (-trace-time) and the newline, writes the line and gives the
// buffer back. Errors writing narration are dropped, as a log's are.
func (s span) flush(b []byte) {
	if s.t.timed {
		b = appendDuration(b, time.Since(epoch)-s.t0)
	}
	b = append(b, '\n')
	s.t.buf = b[:0]
	s.t.w.Write(b)
	s.t.mu.Unlock()
	s.t.busy.Add(-1)
}

// skip ends a span with no line: the call was refused before it reached the
// kernel.
func (s span) skip() { s.t.busy.Add(-1) }
