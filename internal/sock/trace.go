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
// With several event loops (-loops N), one per thread, the lines of the
// threads interleave, and the narration does two more things strace -f does
// (TraceOptions.Threads):
//
//   - "[pid TID] " before each line: begin takes the thread's id with
//     gettid(2) — made raw, not narrated, like the narration's own writes,
//     and only in this mode. Each loop stays on one thread
//     (runtime.LockOSThread), and so does the main goroutine, which makes
//     the listeners (cmd/rawserve's init), so the thread that asked is the
//     one that makes the call.
//   - A blocking wait (ppoll, epoll_pwait) is noted when it starts; if
//     another thread narrates a line before it returns, the wait's first
//     half is printed first, as strace prints it, and its return later:
//
//	[pid  4101] epoll_pwait(7,  <unfinished ...>
//	[pid  4102] write(5, "\1\0\0\0\0\0\0\0", 8) = 8
//	[pid  4101] <... epoll_pwait resumed>[{events=EPOLLIN, data={u32=5, u64=18446744069414584325}}], 256, -1, NULL, 8) = 1
//
//     so a cause is never printed after its effect. A wait nobody
//     interrupts is one line, as before. The two halves are cut where
//     strace cuts them: ppoll after its arguments (appendPpollArgs),
//     epoll_pwait after its epfd. A write(2) is noted as it starts too: the
//     waker's, made by the signal goroutine, wakes the loops, whose waits
//     return — and are narrated — before the write itself has returned.

import (
	"bytes"
	"io"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// tracer is where narration goes.
type tracer struct {
	mu      sync.Mutex
	w       io.Writer
	own     int // the descriptor w's bytes end up on, whose writes are not narrated; -1: none
	timed   bool
	threads bool          // several threads narrate: "[pid TID] ", and waits cut in two
	waiting []waitingCall // threads in a blocking wait, in the order they began it
	buf     []byte        // one line, reused
	busy    atomic.Int32  // calls begun and not yet narrated
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
	SetTraceWith(w, TraceOptions{Own: own, Timed: timed})
}

// TraceOptions are SetTraceWith's: Own and Timed as for SetTraceTo, and
// Threads when more than one thread makes calls worth telling apart (see
// the top of this file).
type TraceOptions struct {
	Own            int
	Timed, Threads bool
}

// SetTraceWith is SetTrace with all the options.
func SetTraceWith(w io.Writer, o TraceOptions) {
	var t *tracer
	switch {
	case w != nil:
		t = &tracer{w: w, own: o.Own, timed: o.Timed, threads: o.Threads, buf: make([]byte, 0, 512)}
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

// span is one call being narrated: the tracer (nil: narration is off),
// for -trace-time when the call began, and in Threads mode its thread.
type span struct {
	t   *tracer
	t0  time.Duration
	tid int
}

// waitingCall is a blocking wait under way, in Threads mode: its thread,
// its first half, and whether that has been printed (another thread's line
// came in between).
type waitingCall struct {
	tid  int
	name string
	head []byte
	told bool
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
	sp := span{t: t}
	if t.timed {
		sp.t0 = time.Since(epoch)
	}
	if t.threads {
		sp.tid = unix.Gettid() // raw, not narrated: the narration's own
	}
	return sp
}

// on says whether the call is narrated.
func (s span) on() bool { return s.t != nil }

// line takes the buffer and starts the line with name and "(" — or, for a
// wait whose first half was printed, with strace's "<... name resumed>",
// and the caller appends only the rest (see resumed).
func (s span) line(name string) []byte {
	s.t.mu.Lock()
	b := s.prefix(s.t.buf[:0])
	if s.t.threads {
		for i, w := range s.t.waiting {
			if w.tid == s.tid {
				s.t.waiting = append(s.t.waiting[:i], s.t.waiting[i+1:]...)
				if w.told {
					return append(append(append(b, "<... "...), name...), " resumed>"...)
				}
				break
			}
		}
	}
	return append(append(b, name...), '(')
}

// resumed says whether line began a resumed wait's second half: then the
// caller appends what comes after the first half.
func resumed(b []byte) bool { return bytes.HasSuffix(b, []byte(" resumed>")) }

// prefix is strace -f's "[pid TID] ", in Threads mode.
func (s span) prefix(b []byte) []byte {
	if !s.t.threads {
		return b
	}
	b = append(b, "[pid "...)
	for n := len(strconv.Itoa(s.tid)); n < 5; n++ {
		b = append(b, ' ')
	}
	return append(strconv.AppendInt(b, int64(s.tid), 10), "] "...)
}

// waitStarts notes, in Threads mode, that this thread begins a blocking
// wait whose first half is head (without "name("); nothing is printed
// unless another thread's line comes before the wait returns.
func (s span) waitStarts(name string, head []byte) {
	if !s.t.threads {
		return
	}
	s.t.mu.Lock()
	s.t.waiting = append(s.t.waiting, waitingCall{tid: s.tid, name: name, head: head})
	s.t.mu.Unlock()
}

// flush appends the duration (-trace-time) and the newline, writes the line and gives the
// buffer back. Errors writing narration are dropped, as a log's are.
func (s span) flush(b []byte) {
	if s.t.timed {
		b = appendDuration(b, time.Since(epoch)-s.t0)
	}
	b = append(b, '\n')
	s.t.buf = b[:0]
	// Other threads' waits under way are cut here, their first halves
	// printed before this line, as strace does.
	for i := range s.t.waiting {
		w := &s.t.waiting[i]
		if w.tid != s.tid && !w.told {
			w.told = true
			u := (span{t: s.t, tid: w.tid}).prefix(nil)
			u = append(append(append(append(u, w.name...), '('), w.head...), " <unfinished ...>\n"...)
			s.t.w.Write(u)
		}
	}
	s.t.w.Write(b)
	s.t.mu.Unlock()
	s.t.busy.Add(-1)
}

// skip ends a span with no line: the call was refused before it reached the
// kernel.
func (s span) skip() { s.t.busy.Add(-1) }
