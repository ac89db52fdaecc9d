package serve

import (
	"runtime/debug"
	"slices"
	"time"

	"github.com/rawserve/rawserve/internal/httpconn"
)

// giveBack hands the memory a spike of connections left behind back to the
// kernel. During a spike a loop borrows a buffer for every busy connection;
// after it, its pools keep no more than their budget, and then, once the loop
// has been quiet for sweepDelay, no more than a quiet loop needs
// (httpconn.Server.Trim) — the rest goes to the garbage collector. But
// letting go is not returning: with nothing allocating afterwards, the
// collector would not run for two minutes (the runtime's forced
// collection), and the process would keep its peak RSS. So the loop then
// asks for a collection and for the freed pages to go back to the kernel
// (madvise). It stops the world for a moment, which a quiet server does not
// notice, and it happens once per spike.
func giveBack() { debug.FreeOSMemory() }

// records are an event loop's connection records kept for reuse, and when
// to give memory back after a spike of connections.
type records[T any] struct {
	free  []T       // records to reuse, at most maxFree
	shed  bool      // records were let go: the free list was full
	sweep time.Time // when to give memory back to the kernel (zero: none to give)
}

// get returns a record to reuse, or a new one from fresh.
func (r *records[T]) get(fresh func() T) T {
	if n := len(r.free); n > 0 {
		c := r.free[n-1]
		r.free = r.free[:n-1]
		return c
	}
	return fresh()
}

// put keeps a closed connection's record for reuse, or lets it go.
func (r *records[T]) put(c T) {
	if len(r.free) < maxFree {
		r.free = append(r.free, c)
	} else {
		r.shed = true
	}
}

// tidy runs once per turn of the loop: once the loop and the pools of srv
// have let nothing go for sweepDelay, the pools keep what a quiet loop
// needs, the free list an eighth of its bound, and the rest goes back to
// the kernel.
func (r *records[T]) tidy(srv *httpconn.Server, now time.Time) {
	if srv.Shed() || r.shed {
		r.shed, r.sweep = false, now.Add(sweepDelay)
	} else if !r.sweep.IsZero() && !now.Before(r.sweep) {
		r.sweep = time.Time{}
		srv.Trim()
		r.free = slices.Clip(r.free[:min(len(r.free), maxFree/8)])
		giveBack()
	}
}
