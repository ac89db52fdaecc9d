package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// parseStraceSummary reads the table strace -c writes, the calls made to
// each system call:
//
//	% time     seconds  usecs/call     calls    errors syscall
//	------ ----------- ----------- --------- --------- ----------------
//	 41.20    0.001234           2       500           read
//	...
//	100.00    0.002995           1      1502        12 total
//
// The errors column is blank when there were none; "total" is left out.
func parseStraceSummary(text string) map[string]int64 {
	calls := map[string]int64{}
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		if _, err := strconv.ParseFloat(f[0], 64); err != nil {
			continue // the header or a rule
		}
		n, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil || f[len(f)-1] == "total" {
			continue
		}
		calls[f[len(f)-1]] += n
	}
	return calls
}

// isWait says whether a system call is an epoll wait: one call serves
// every connection ready at the time.
func isWait(name string) bool {
	return name == "epoll_wait" || name == "epoll_pwait" || name == "epoll_pwait2"
}

// syscallCount is one server's calls for N requests over C connections,
// less the baseline run's, per request.
type syscallCount struct {
	requests   int64
	perRequest float64            // (calls − baseline) / requests
	waits      float64            // of which epoll waits
	each       map[string]float64 // per request, by system call
}

func (r *report) straceFile(id, conns string, n int64) (map[string]int64, bool) {
	data, err := os.ReadFile(filepath.Join(r.dir, "strace", fmt.Sprintf("%s.c%s.n%d.txt", id, conns, n)))
	if err != nil {
		return nil, false
	}
	return parseStraceSummary(string(data)), true
}

// syscallsOf is server id's count with conns connections, if measured.
func (r *report) syscallsOf(id, conns string) (syscallCount, bool) {
	for _, f := range r.records("syscalls.tsv") {
		if len(f) < 3 || f[0] != id || f[1] != conns || atoi(f[2]) <= 0 {
			continue
		}
		n := atoi(f[2])
		load, ok1 := r.straceFile(id, conns, n)
		base, ok2 := r.straceFile(id, conns, 0)
		if !ok1 || !ok2 {
			return syscallCount{}, false
		}
		s := syscallCount{requests: n, each: map[string]float64{}}
		for name, c := range load {
			per := float64(c-base[name]) / float64(n)
			s.each[name] = per
			s.perRequest += per
			if isWait(name) {
				s.waits += per
			}
		}
		for name, c := range base {
			if _, ok := load[name]; !ok { // made at start or stop only
				s.each[name] = -float64(c) / float64(n)
				s.perRequest += s.each[name]
			}
		}
		return s, true
	}
	return syscallCount{}, false
}

// callsList lists the system calls made per request, most first, leaving out
// those made less than once in 20 requests.
func (s syscallCount) callsList() string {
	type call struct {
		name string
		per  float64
	}
	var cs []call
	for name, per := range s.each {
		if per >= 0.05 {
			cs = append(cs, call{name, per})
		}
	}
	slices.SortFunc(cs, func(a, b call) int {
		return cmp.Or(cmp.Compare(b.per, a.per), strings.Compare(a.name, b.name))
	})
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s %.2f", c.name, c.per)
	}
	return strings.Join(parts, ", ")
}

func (r *report) syscalls(w io.Writer) {
	recs := r.records("syscalls.tsv")
	if !section(w, "System calls per request", len(recs) > 0) {
		return
	}
	tableHead(w, "`strace -f -c` around the server while bench/cmd/fixedload sends exactly N keep-alive requests for / over C connections: rawserve and nginx serve index.html from disk, net/http answers from memory. Every thread and process of the server is counted (the Go runtime's, nginx's master). \"Per request\" is the calls less those of a run that only started, answered the readiness check and stopped, over N; the epoll waits are shared by the requests ready at once, so they are given apart, and the calls made less than once in 20 requests are left out of the list. strace slows every call, so counts that depend on timing (EAGAIN, waits) are inflated alike for every server.",
		"server", "connections:", "requests:", "per request:", "epoll waits:", "the others:", "ratio:", "the calls, per request")
	for _, f := range recs {
		if len(f) < 3 {
			continue
		}
		s, ok := r.syscallsOf(f[0], f[1])
		if !ok {
			fmt.Fprintf(w, "| %s | %s | %s | — | — | — | — | strace's summary is missing |\n", r.rowLabel(f[0]), f[1], f[2])
			continue
		}
		ratioS := "—"
		if ref, ok := r.syscallsOf(r.ref, f[1]); ok && ref.perRequest > 0 {
			ratioS = fmt.Sprintf("%.2f×", s.perRequest/ref.perRequest)
		}
		fmt.Fprintf(w, "| %s | %s | %d | %.2f | %.2f | %.2f | %s | %s |\n", r.rowLabel(f[0]), f[1], s.requests,
			s.perRequest, s.waits, s.perRequest-s.waits, ratioS, s.callsList())
	}
	fmt.Fprintln(w, "\n(ratio: calls per request over the reference's; lower is better.)")
	fmt.Fprintln(w)
}
