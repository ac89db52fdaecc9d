package serve

import "time"

// timer is a connection's place in its loop's timer heap: the deadline the
// heap holds for it, and where.
type timer struct {
	deadline time.Time
	hidx     int // index in the heap; -1: not in it
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
	if tc.hidx >= 0 {
		if tc.deadline.Equal(t) {
			return
		}
		earlier := t.Before(tc.deadline)
		tc.deadline = t
		if earlier {
			h.up(tc.hidx)
		} else {
			h.down(tc.hidx)
		}
		return
	}
	tc.deadline = t
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
	if len(*h) == 0 || now.Before((*h)[0].timing().deadline) {
		return c, false
	}
	c = (*h)[0]
	h.remove(c)
	return c, true
}

// earliest is the nearest deadline; zero when the heap is empty.
func (h timerHeap[C]) earliest() time.Time {
	if len(h) == 0 {
		return time.Time{}
	}
	return h[0].timing().deadline
}

func (h timerHeap[C]) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].timing().hidx, h[j].timing().hidx = i, j
}

func (h timerHeap[C]) less(i, j int) bool {
	return h[i].timing().deadline.Before(h[j].timing().deadline)
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
