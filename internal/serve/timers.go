package serve

import "time"

// timer is a connection's place in its loop's timer heap: its deadline,
// the time the heap holds it at, and where.
//
// A deadline that moves later — every request a kept-alive connection
// answers moves its timeout on — leaves the connection where it is in the
// heap, at the earlier time: it is moved down only when that time comes
// (due). So the common change costs nothing, and a timeout fires at most
// once early, to find its connection not due and put it back in place.
type timer struct {
	deadline time.Time
	at       time.Time // the heap's key: never later than deadline
	hidx     int       // index in the heap; -1: not in it
}

func (t *timer) timing() *timer { return t }

// timed is what a timer heap holds: a connection with a timer in it.
type timed interface{ timing() *timer }

// timerHeap is a min-heap of connections by deadline: the loop sleeps
// until the earliest, and there is no periodic tick. Setting a deadline is
// O(log n); each connection has at most one entry.
type timerHeap[C timed] []C

// set gives c the deadline t (zero: none), adding, moving or removing its
// entry.
func (h *timerHeap[C]) set(c C, t time.Time) {
	if t.IsZero() {
		h.remove(c)
		return
	}
	tc := c.timing()
	tc.deadline = t
	if tc.hidx >= 0 {
		if t.Before(tc.at) {
			tc.at = t
			h.up(tc.hidx)
		}
		return // later: left where it is until then (see timer)
	}
	tc.at = t
	tc.hidx = len(*h)
	*h = append(*h, c)
	h.up(tc.hidx)
}

func (h *timerHeap[C]) remove(c C) {
	i := c.timing().hidx
	if i < 0 {
		return
	}
	last := len(*h) - 1
	h.swap(i, last)
	var none C
	(*h)[last] = none
	*h = (*h)[:last]
	c.timing().hidx = -1
	if i < last {
		h.down(i)
		h.up(i)
	}
}

// due takes out the connection with the earliest deadline, if that has
// passed by now.
func (h *timerHeap[C]) due(now time.Time) (c C, ok bool) {
	for len(*h) > 0 && !now.Before((*h)[0].timing().at) {
		c = (*h)[0]
		if tc := c.timing(); now.Before(tc.deadline) {
			tc.at = tc.deadline // moved on since: to its place now
			h.down(0)
			continue
		}
		h.remove(c)
		return c, true
	}
	return c, false
}

// earliest is when the loop must next look at the heap: the nearest
// deadline, or a time before it (see timer); zero when the heap is empty.
func (h timerHeap[C]) earliest() time.Time {
	if len(h) == 0 {
		return time.Time{}
	}
	return h[0].timing().at
}

func (h timerHeap[C]) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].timing().hidx, h[j].timing().hidx = i, j
}

func (h timerHeap[C]) less(i, j int) bool {
	return h[i].timing().at.Before(h[j].timing().at)
}

func (h timerHeap[C]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h timerHeap[C]) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.swap(i, m)
		i = m
	}
}
