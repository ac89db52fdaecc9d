package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// pair is rawserve beside the nginx row it is compared with, like with
// like. The first is the headline: default flags, both logging to a file.
type pair struct{ name, rawserve, nginx string }

var pairs = []pair{
	{"rawserve -dir, default flags ÷ nginx from disk, both logging to a file", "rawserve-dir", "nginx-file-log"},
	{"rawserve -quiet ÷ nginx from disk, access_log off", "rawserve-quiet", "nginx-file"},
}

// goal is one of issue #14's targets: rawserve's ratio to a peer in a
// scenario (the pair's nginx when peer is ""), at least min.
type goal struct {
	measure  string // "req/s" or "req per CPU-second"
	scenario string
	peer     string
	min      float64
}

func issue14Goals() []goal {
	gs := []goal{{"req/s", "ka-c64", "", 1.2}}
	for _, sc := range []string{"ka-c1", "ka-c64", "close-c1", "close-c64", "pipeline"} {
		gs = append(gs, goal{"req per CPU-second", sc, "", 0.95})
	}
	return append(gs,
		goal{"req/s", "pipeline", "gnet-1", 1.0},
		goal{"req per CPU-second", "pipeline", "gnet-1", 1.0},
		goal{"req/s", "file-1m", "", 0.95},
		goal{"req/s", "file-100m", "", 0.95})
}

// maxSyscalls is issue #14's bound on the system calls of a keep-alive
// request for a small file, besides the epoll waits that several
// connections' requests share.
const maxSyscalls = 3

// verdict says whether v meets its bound: "met" when v is at least bound
// (at most, when atMost), "not measured" when v is NaN.
func verdict(v, bound float64, atMost bool) string {
	switch {
	case math.IsNaN(v):
		return "not measured"
	case atMost && v > bound, !atMost && v < bound:
		return "**short**"
	}
	return "met"
}

func (r *report) measureOf(name string) measure {
	if name == "req/s" {
		return reqPerSec
	}
	return r.perCPUSecond
}

// goalCells are the measured ratio and its verdict for one pair.
func (r *report) goalCells(g goal, p pair) (measured, met string) {
	peer := g.peer
	if peer == "" {
		peer = p.nginx
	}
	m := r.measureOf(g.measure)
	v := ratioValue(r.stat(g.scenario, p.rawserve, m), r.stat(g.scenario, peer, m))
	met = verdict(v, g.min, false)
	if r.flawed(g.scenario, p.rawserve) || r.flawed(g.scenario, peer) {
		met += warn
	}
	return closeRatio(v, g.min), met
}

// closeRatio prints a ratio as fmtRatio does, but with the decimals it
// takes to tell it from its bound when two would print it as the bound:
// 0.949× against 0.95×.
func closeRatio(v, bound float64) string {
	if math.IsNaN(v) {
		return fmtRatio(v)
	}
	return closeTo(v, bound) + "×"
}

// closeTo prints v with two decimals, or up to six when two print it as
// bound although it is not; "—" when v is NaN.
func closeTo(v, bound float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	for d := 2; d < 6; d++ {
		if s := strconv.FormatFloat(v, 'f', d, 64); v == bound || s != strconv.FormatFloat(bound, 'f', d, 64) {
			return s
		}
	}
	return strconv.FormatFloat(v, 'f', 6, 64)
}

func (r *report) syscallCells(p pair, conns string) (measured, met string) {
	s, ok := r.syscallsOf(p.rawserve, conns)
	if !ok {
		return "—", "not measured"
	}
	other := s.perRequest - s.waits
	return fmt.Sprintf("%s (+ %.2f waits)", closeTo(other, maxSyscalls), s.waits), verdict(other, maxSyscalls, true)
}

func (r *report) targets(w io.Writer) {
	fmt.Fprintln(w, "## Targets (issue #14)")
	fmt.Fprintln(w)
	columns := []string{"measure", "target:"}
	for _, p := range pairs {
		columns = append(columns, p.name+":", "")
	}
	tableHead(w, "Small file (/, the 13-byte index.html from disk), epoll model, 1 loop. Every target is measured twice, like with like: rawserve with its default flags against nginx logging to a file (the target proper: what a user runs), and rawserve `-quiet` against nginx with `access_log off`. gnet logs in neither.",
		columns...)
	for _, g := range issue14Goals() {
		versus := "nginx from disk"
		if g.peer != "" {
			versus = r.label(g.peer)
		}
		fmt.Fprintf(w, "| %s, %s, ÷ %s | ≥ %.2f× |", g.measure, r.scenarioLabel(g.scenario), versus, g.min)
		for _, p := range pairs {
			measured, met := r.goalCells(g, p)
			fmt.Fprintf(w, " %s | %s |", measured, met)
		}
		fmt.Fprintln(w)
	}
	for _, conns := range []string{"1", "16"} {
		fmt.Fprintf(w, "| system calls per keep-alive request, %s conn%s, besides the epoll waits | ≤ %d |", conns, plural(conns), maxSyscalls)
		for _, p := range pairs {
			measured, met := r.syscallCells(p, conns)
			fmt.Fprintf(w, " %s | %s |", measured, met)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "System calls: strace's count for the requests, less a run without them, over their number (see [System calls per request](#system-calls-per-request)); the epoll waits (epoll_wait, epoll_pwait) are shared by the requests ready at once and given beside.")
	fmt.Fprintln(w)
	if s := r.clientBound("pipeline", "rawserve-dir", "rawserve-quiet", "gnet-1"); s != "" {
		fmt.Fprintln(w, s)
		fmt.Fprintln(w)
	}
}

// clientBound says how much of its CPU wrk used in a scenario's runs
// against some servers: where it used all of it, the rate is wrk's.
func (r *report) clientBound(sc string, ids ...string) string {
	var parts []string
	busy := false
	for _, id := range ids {
		s := r.stat(sc, id, clientShare)
		if s.n == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.0f%%", r.label(id), 100*s.med))
		busy = busy || s.med >= 0.95
	}
	if len(parts) == 0 {
		return ""
	}
	s := fmt.Sprintf("wrk's one thread, on CPU 1, used this much of its CPU in the %s runs (median): %s.", r.scenarioLabel(sc), strings.Join(parts, ", "))
	if busy {
		s += " At 95% or more the client, not the server, sets the rate: requests per server CPU-second then compare the servers."
	}
	return s
}

func plural(n string) string {
	if n == "1" {
		return ""
	}
	return "s"
}

// earlier is one of the targets issues #4 and #7 set: a rawserve row's
// ratio to the reference.
type earlier struct {
	server, scenario, measure string
	min                       float64
}

// earlierTargets prints the goals issues #4 and #7 set the serial and the
// epoll model against net/http, still measured by the rows that run those
// models as they did then (the epoll row is rawserve-quiet: -model epoll
// -loops 1 -quiet). Their goals against nginx and gnet are issue #14's now.
func (r *report) earlierTargets(w io.Writer) {
	var ts []earlier
	for _, sc := range []struct {
		id  string
		min float64
	}{{"ka-c1", 2.0}, {"close-c1", 1.4}, {"close-c64", 1.0}} {
		ts = append(ts, earlier{"rawserve-serial", sc.id, "req/s", sc.min})
	}
	for _, sc := range []struct {
		id  string
		min float64
	}{{"ka-c1", 2.0}, {"ka-c64", 1.6}, {"close-c1", 1.4}, {"close-c64", 1.0}} {
		ts = append(ts, earlier{"rawserve-quiet", sc.id, "req/s", sc.min})
	}
	for _, sv := range []string{"rawserve-serial", "rawserve-quiet"} {
		for _, sc := range []string{"ka-c1", "ka-c64", "pipeline"} {
			ts = append(ts, earlier{sv, sc, "req per CPU-second", 2.0})
		}
	}
	fmt.Fprintln(w, "## Earlier targets (issues #4 and #7)")
	fmt.Fprintln(w)
	tableHead(w, fmt.Sprintf("The serial model's and the epoll model's goals against %s, from before issue #14 (whose targets against nginx and gnet replace theirs); the epoll row is the one that runs it as then, `-quiet`.", r.label(r.ref)),
		"server", "measure", "target:", "measured:", "")
	for _, t := range ts {
		m := r.measureOf(t.measure)
		v := ratioValue(r.stat(t.scenario, t.server, m), r.stat(t.scenario, r.ref, m))
		met := verdict(v, t.min, false)
		if r.flawed(t.scenario, t.server) {
			met += warn
		}
		fmt.Fprintf(w, "| %s | %s ÷ %s, %s | ≥ %.1f× | %s | %s |\n", r.label(t.server), t.measure, r.label(r.ref), r.scenarioLabel(t.scenario), t.min, closeRatio(v, t.min), met)
	}
	if before, per, n, ok := r.idleOf("rawserve-quiet"); ok {
		mib := (before + per*10000) / 1024
		note := ""
		if n != 10000 {
			note = fmt.Sprintf(" (extrapolated from %d)", n)
		}
		met := "met"
		if mib >= 40 {
			met = "**short**"
		}
		fmt.Fprintf(w, "| %s | RSS with 10,000 idle keep-alive connections%s | < 40 MiB | %.1f MiB | %s |\n", r.label("rawserve-quiet"), note, mib, met)
	}
	fmt.Fprintln(w)
}

// escape makes s safe in a table cell.
func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
