package serve

import (
	"math/rand/v2"
	"testing"
	"time"
)

type tconn struct {
	timer
	id int
}

// The heap gives back every connection once its deadline has passed, never
// before and never twice, and the loop's wake-up time is never after a
// deadline — whatever moves, earlier or later, the deadlines made
// meanwhile. (Those due at once come in no particular order: the loop acts
// on them all.)
func TestTimerHeap(t *testing.T) {
	base := time.Now()
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var h timerHeap[*tconn]
		conns := make([]*tconn, 1+r.IntN(40))
		want := map[*tconn]int{} // its deadline in ms; absent: none
		for i := range conns {
			conns[i] = &tconn{timer: timer{hidx: -1}, id: i}
		}
		for range 300 {
			c := conns[r.IntN(len(conns))]
			if r.IntN(8) == 0 {
				h.set(c, time.Time{})
				delete(want, c)
				continue
			}
			ms := r.IntN(1000)
			h.set(c, at(ms))
			want[c] = ms
		}
		for now := 0; now <= 1000; now += 1 + r.IntN(30) {
			if e := h.earliest(); !e.IsZero() {
				for c, ms := range want {
					if at(ms).Before(e) {
						t.Fatalf("round %d: earliest %v, after conn %d's deadline %d ms", round, e.Sub(base), c.id, ms)
					}
				}
			}
			for c, ok := h.due(at(now)); ok; c, ok = h.due(at(now)) {
				ms, in := want[c]
				if !in || ms > now {
					t.Fatalf("round %d: conn %d due at %d ms (deadline %d, set %v)", round, c.id, now, ms, in)
				}
				delete(want, c)
			}
			for c, ms := range want {
				if ms <= now {
					t.Fatalf("round %d: conn %d not due at %d ms, deadline %d", round, c.id, now, ms)
				}
			}
		}
	}
}
