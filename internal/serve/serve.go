// Package serve holds rawserve's serving models: how connections are
// accepted, how their bytes are moved, and how the server waits. What each
// connection does with its bytes — HTTP — is internal/httpconn's, the same
// for every model:
//
//   - serial (serial.go) serves one connection at a time: accept it, carry it
//     through its requests to close, blocking in ppoll whenever the kernel
//     says EAGAIN, then accept the next. Clients that arrive meanwhile wait
//     in the kernel's accept queue.
//   - epoll (epoll.go, econn.go) serves many from one thread: one
//     epoll_wait for all of them; what each ready connection sent is read,
//     then each is moved along as far as it can go without waiting.
//   - uring (uring.go, uconn.go) serves many from one thread too, but
//     writes each step as a request into an io_uring and makes one
//     io_uring_enter per batch of them.
//
// The event loops share the timer heap (timers.go).
package serve

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/rawserve/rawserve/internal/httpconn"
	"github.com/rawserve/rawserve/internal/sock"
)

// Config is what a serving model needs to know: what every connection does
// (httpconn.Config), and the event loops' own limits.
type Config struct {
	httpconn.Config
	// Grace bounds a shutdown in the event loops: the responses in flight
	// when the Waker fires may take this long to finish. (The serial model
	// has one response in flight, bounded by WriteTimeout.)
	Grace time.Duration
	// YieldAfter is how fair the serial model is: while other clients wait
	// in the accept queue, the connection being served gives way — its
	// responses say Connection: close, and it is closed once it has been
	// silent (between requests, or since accept) for this long. Zero takes
	// the default; negative never yields (every client waits for the one
	// before it to finish, as the seed post's loop does).
	YieldAfter time.Duration
	// MaxConns caps the connections an event-loop model holds open at once
	// (0: no cap but the descriptor limit). At the cap it stops accepting:
	// further clients wait in the kernel's accept queue, as they do in the
	// serial model, and are served as connections close.
	MaxConns int
	// Answered, if set, has each loop add the requests it answered when
	// it returns (rawserve -count-syscalls: calls per request).
	Answered *atomic.Uint64
}

// The models' own defaults. The serial model's idle timeout is short, because
// every second one client holds the server is a second every other client
// waits; in the epoll model a waiting connection costs memory (a few hundred
// bytes when idle), not other clients' time.
const (
	DefaultIdleTimeout      = httpconn.DefaultIdleTimeout
	DefaultEpollIdleTimeout = 60 * time.Second
	DefaultGrace            = 10 * time.Second
	DefaultYieldAfter       = 50 * time.Millisecond
)

// tally adds what a loop answered to cfg.Answered, once the loop has
// returned.
func (cfg *Config) tally(srv *httpconn.Server) {
	if cfg.Answered != nil {
		cfg.Answered.Add(srv.Answered())
	}
}

// spareP gives the Go runtime one P — a processor, in its scheduler's
// terms: the right to run Go code — more than the loops that block in
// system calls. A goroutine in a blocking system call (a loop in
// epoll_pwait, the serial model in ppoll) keeps its P; when no other P is
// idle, the runtime's monitor thread (sysmon) takes it away after 20 µs,
// for the goroutines that might be waiting to run (the output writers,
// signal handling, the garbage collector), and the loop's thread must get
// it back when its call returns. On a loop that waits between requests,
// as at one keep-alive connection, that cost a nanosleep (sysmon's) and
// futex calls for most requests: 0.84 and 0.41 per request, counted here
// with perf's syscall tracepoints, server on one CPU (GOMAXPROCS=1 by its
// affinity). With a P to spare, sysmon leaves a waiting loop alone for up
// to 10 ms: 0.16 and 0.07. The spare P uses no CPU of its own; what runs
// on it is what would have taken the loop's.
func spareP(loops int) {
	if runtime.GOMAXPROCS(0) < loops+1 {
		runtime.GOMAXPROCS(loops + 1)
	}
}

// runLoops runs each loop on a goroutine of its own (which locks itself to
// a thread) and returns once all have returned, with the first error that
// stopped one: the others are woken, and stop too.
func runLoops(w *sock.Waker, runs []func() error) error {
	spareP(len(runs))
	errs := make(chan error, len(runs))
	for _, run := range runs {
		go func() { errs <- run() }()
	}
	var first error
	for range runs {
		if err := <-errs; err != nil && first == nil {
			first = err
			w.Wake() // one loop cannot go on: stop the others
		}
	}
	return first
}
