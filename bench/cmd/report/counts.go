package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// serverCount is what rawserve -count-syscalls said at exit: the system
// calls it made in all, by call, and the requests it answered.
type serverCount struct {
	calls, requests int64
	each            string // "io_uring_enter 1100, statx 98, …"
}

// countLine is -count-syscalls' stop line:
//
//	rawserve: 1234 system calls for 10000 requests, 0.123 per request: io_uring_enter 1100, statx 98, …
var countLine = regexp.MustCompile(`rawserve: (\d+) system calls for (\d+) requests, [^:]*: (.*)`)

// parseCountLine reads the stop line out of what the server wrote on
// stderr.
func parseCountLine(text string) (serverCount, bool) {
	m := countLine.FindStringSubmatch(text)
	if m == nil {
		return serverCount{}, false
	}
	calls, _ := strconv.ParseInt(m[1], 10, 64)
	requests, _ := strconv.ParseInt(m[2], 10, 64)
	return serverCount{calls: calls, requests: requests, each: strings.TrimSpace(m[3])}, requests > 0
}

// perRequest is the calls per request answered.
func (c serverCount) perRequest() float64 { return float64(c.calls) / float64(c.requests) }

// countOf is server id's own count with conns connections, if measured.
func (r *report) countOf(id, conns string) (serverCount, bool) {
	for _, f := range r.records("counts.tsv") {
		if len(f) < 2 || f[0] != id || f[1] != conns {
			continue
		}
		data, err := os.ReadFile(filepath.Join(r.dir, "counts", fmt.Sprintf("%s.c%s.txt", id, conns)))
		if err != nil {
			return serverCount{}, false
		}
		return parseCountLine(string(data))
	}
	return serverCount{}, false
}

// ownCounts is the table of what rawserve counted of itself.
func (r *report) ownCounts(w io.Writer) {
	recs := r.records("counts.tsv")
	if !section(w, "System calls per request, as rawserve counts them", len(recs) > 0) {
		return
	}
	tableHead(w, "`rawserve -count-syscalls` under wrk's keep-alive load on 64 connections, as in the throughput runs, the server at full speed (no strace): each system call is counted where it is made, on every thread of the server, and the stop line says how many of each and how many requests were answered. The Go runtime's own calls (futex, nanosleep) are not counted; start-up and stop are (a few dozen calls in all).",
		"server", "connections:", "requests:", "system calls:", "per request:", "the calls")
	for _, f := range recs {
		if len(f) < 2 {
			continue
		}
		c, ok := r.countOf(f[0], f[1])
		if !ok {
			fmt.Fprintf(w, "| %s | %s | — | — | — | no stop line |\n", r.rowLabel(f[0]), f[1])
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d | %.3f | %s |\n", r.rowLabel(f[0]), f[1], c.requests, c.calls, c.perRequest(), escape(c.each))
	}
	fmt.Fprintln(w)
}

// The uring model's targets (issue #16): against the epoll model, like
// with like — both rawserve -dir with default flags, one loop.
const (
	uringRow, epollRow = "rawserve-uring", "rawserve-dir"
	maxUringSyscalls   = 0.2
)

func (r *report) uringTargets(w io.Writer) {
	if !r.has(uringRow) {
		return
	}
	fmt.Fprintln(w, "## The uring model (issue #16)")
	fmt.Fprintln(w)
	tableHead(w, fmt.Sprintf("%s against %s, measured in the same run: the same flags but -model. The scenarios without a target are there to say where it loses.", r.label(uringRow), r.label(epollRow)),
		"measure", "target:", "measured:", "")
	for _, sc := range []struct {
		id  string
		min float64
	}{{"ka-c64", 1}, {"pipeline", 1}, {"ka-c1", 0}, {"close-c1", 0}, {"close-c64", 0}} {
		v := ratioValue(r.stat(sc.id, uringRow, reqPerSec), r.stat(sc.id, epollRow, reqPerSec))
		target, met := "—", ""
		if sc.min > 0 {
			target, met = fmt.Sprintf("≥ %.2f×", sc.min), verdict(v, sc.min, false)
		}
		if r.flawed(sc.id, uringRow) || r.flawed(sc.id, epollRow) {
			met += warn
		}
		fmt.Fprintf(w, "| req/s ÷ the epoll model's, %s | %s | %s | %s |\n", r.scenarioLabel(sc.id), target, closeRatio(v, sc.min), met)
	}
	v := math.NaN()
	if c, ok := r.countOf(uringRow, "64"); ok {
		v = c.perRequest()
	}
	fmt.Fprintf(w, "| system calls per keep-alive request, 64 conns, every thread, as rawserve counts them | ≤ %.1f | %s | %s |\n",
		maxUringSyscalls, closeTo(v, maxUringSyscalls), verdict(v, maxUringSyscalls, true))
	fmt.Fprintln(w)
}

// has says whether server id was in the run.
func (r *report) has(id string) bool {
	for _, s := range r.servers {
		if s.id == id {
			return true
		}
	}
	return false
}
