// Command report turns the raw measurements scripts/bench.sh leaves in a
// directory into docs/benchmarks.md (on stdout) and the data file the plot
// is drawn from. Every headline number is a ratio to the reference server
// (net/http, GOMAXPROCS=1) measured in the same run; the targets of issue
// #14 are ratios of rawserve to nginx and gnet from the same run, those of
// issue #16 ratios of the uring model to the epoll model.
//
// The directory holds (tab-separated, one record a line):
//
//	meta.tsv       key, value: the machine, the tools, the command
//	servers.tsv    id, label, command line, configuration: the servers, in the order they are shown
//	scenarios.tsv  id, label, kind ("hello" or "file")
//	runs.tsv       scenario, server, round, server CPU ticks, "ok" or "died", access-log bytes, wrk's CPU time (ms)
//	wrk/SCENARIO.SERVER.ROUND.txt   wrk's output for that run
//	idle.tsv       server, connections asked, opened, failed, VmRSS before, after (KiB)
//	startup/SERVER.txt              one start-up time a line, in µs
//	fairness.tsv                    bench/cmd/fairness's output
//	syscalls.tsv   server, connections, requests: the strace runs made
//	strace/SERVER.cC.nN.txt         strace -c's summary for N requests over C connections (N = 0: the baseline)
//	counts.tsv     server, connections: the runs rawserve counted its own calls in
//	counts/SERVER.cC.txt            its stderr then, with -count-syscalls' stop line
//	notes.txt      lines said as they are: servers skipped, runs that failed
//
// Any of them may be missing: its section then says so.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// server is a row of the tables: its id, label, command line and, for
// nginx, the lines of its configuration that make the row.
type server struct{ id, label, command, config string }

type scenario struct{ id, label, kind string }

type run struct {
	wrk    wrkResult
	ticks  int64
	died   bool
	logged int64 // bytes the server added to its access log
	client int64 // wrk's CPU time, in ms; 0 when not measured
}

type report struct {
	dir       string
	ref       string // the reference server's id
	meta      map[string]string
	servers   []server
	scenarios []scenario
	runs      map[[2]string][]run // by scenario, server
	hz        float64
}

func main() {
	dir := flag.String("in", "", "directory of measurements written by scripts/bench.sh")
	ref := flag.String("ref", "nethttp-1", "the server every ratio is taken to")
	plot := flag.String("plot-data", "", "also write the plot's data (ratios of req/s by scenario and server) to this file")
	flag.Parse()
	if *dir == "" {
		log.Fatal("report: -in is required")
	}
	r := newReport(*dir, *ref)
	w := bufio.NewWriter(os.Stdout)
	r.markdown(w)
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	if *plot != "" {
		if err := os.WriteFile(*plot, []byte(r.plotData()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// records reads a tab-separated file; a missing file has no records.
func (r *report) records(name string) [][]string {
	data, err := os.ReadFile(filepath.Join(r.dir, name))
	if err != nil {
		return nil
	}
	var out [][]string
	for line := range strings.Lines(string(data)) {
		if line = strings.TrimRight(line, "\r\n"); line != "" {
			out = append(out, strings.Split(line, "\t"))
		}
	}
	return out
}

func atoi(s string) int64 { v, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64); return v }
func field(f []string, i int) string {
	if i < len(f) {
		return f[i]
	}
	return ""
}

// newReport reads the measurements in dir; ref is the reference's id.
func newReport(dir, ref string) *report {
	r := &report{dir: dir, ref: ref, runs: map[[2]string][]run{}}
	r.load()
	return r
}

func (r *report) load() {
	r.meta = map[string]string{}
	for _, f := range r.records("meta.tsv") {
		r.meta[f[0]] = field(f, 1)
	}
	r.hz, _ = strconv.ParseFloat(r.meta["clk_tck"], 64)
	for _, f := range r.records("servers.tsv") {
		r.servers = append(r.servers, server{f[0], field(f, 1), field(f, 2), field(f, 3)})
	}
	for _, f := range r.records("scenarios.tsv") {
		r.scenarios = append(r.scenarios, scenario{f[0], field(f, 1), field(f, 2)})
	}
	for _, f := range r.records("runs.tsv") {
		sc, sv, round := f[0], f[1], field(f, 2)
		out, _ := os.ReadFile(filepath.Join(r.dir, "wrk", sc+"."+sv+"."+round+".txt"))
		key := [2]string{sc, sv}
		r.runs[key] = append(r.runs[key], run{wrk: parseWrk(string(out)), ticks: atoi(field(f, 3)),
			died: field(f, 4) == "died", logged: atoi(field(f, 5)), client: atoi(field(f, 6))})
	}
}

func (r *report) label(id string) string {
	for _, s := range r.servers {
		if s.id == id {
			return s.label
		}
	}
	return id
}

// stats is the median, min and max of some runs' values; n == 0 when
// there were none.
type stats struct {
	med, min, max float64
	n             int
}

func summarize(v []float64) stats {
	v = slices.DeleteFunc(slices.Clone(v), math.IsNaN)
	if len(v) == 0 {
		return stats{}
	}
	slices.Sort(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return stats{med, v[0], v[len(v)-1], len(v)}
}

// measure extracts one number from a run; NaN when the run has none.
type measure func(run) float64

func reqPerSec(x run) float64 {
	if !x.wrk.OK {
		return math.NaN()
	}
	return x.wrk.ReqPerSec
}

func mibPerSec(x run) float64 {
	if !x.wrk.OK {
		return math.NaN()
	}
	return x.wrk.BytesPerSec / (1 << 20)
}

// clientShare is the part of its CPU wrk used over the run: near 1, wrk
// set the rate, not the server.
func clientShare(x run) float64 {
	if !x.wrk.OK || x.client <= 0 || x.wrk.ReqPerSec <= 0 {
		return math.NaN()
	}
	return float64(x.client) / 1000 / (float64(x.wrk.Requests) / x.wrk.ReqPerSec)
}

func (r *report) perCPUSecond(x run) float64 {
	if !x.wrk.OK || x.ticks <= 0 || r.hz == 0 {
		return math.NaN()
	}
	return float64(x.wrk.Requests) / (float64(x.ticks) / r.hz)
}

func (r *report) stat(sc, sv string, m measure) stats {
	var v []float64
	for _, x := range r.runs[[2]string{sc, sv}] {
		v = append(v, m(x))
	}
	return summarize(v)
}

// flawed says whether any run of a server in a scenario had errors,
// failed, or saw the server die.
func (r *report) flawed(sc, sv string) bool {
	for _, x := range r.runs[[2]string{sc, sv}] {
		if !x.wrk.OK || x.died || x.wrk.Errors() > 0 {
			return true
		}
	}
	return false
}

// ratio is a / b, printed as "1.23×"; "—" when either is missing.
func ratio(a, b stats) string {
	if a.n == 0 || b.n == 0 || b.med == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a.med/b.med)
}

func ratioValue(a, b stats) float64 {
	if a.n == 0 || b.n == 0 || b.med == 0 {
		return math.NaN()
	}
	return a.med / b.med
}

// num prints a number with thousands separators, or with two significant
// decimals when it is small.
func num(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	if v < 100 {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func (s stats) String() string {
	if s.n == 0 {
		return "—"
	}
	return fmt.Sprintf("%s (%s–%s)", num(s.med), num(s.min), num(s.max))
}

// warn marks a result whose runs had errors.
const warn = " ⚠"

func (r *report) markdown(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("<!-- Generated by scripts/bench.sh (make bench); edit the script, not this file. -->")
	p("# Benchmarks")
	p("")
	p("Every headline number below is a **ratio to %s measured in the same run**, server pinned to CPU 0 and the client to CPU 1;", r.label(r.ref))
	p("absolute figures are in the detail tables only, as median (min–max) of %s, and say more about this machine than about the servers.", r.rounds())
	p("%s marks a server whose runs in that scenario had socket errors, non-2xx answers, or did not finish: see its detail table.", strings.TrimSpace(warn))
	p("")
	if h := r.headline(); h != "" {
		p("The first row, **%s**, is the headline: what a fixture user runs, `rawserve -dir site`, files from disk (its command line is under [The rows](#the-rows)). rawserve and nginx serve `/` as the 13-byte `index.html` from disk; the other servers answer it from memory.", r.label(h))
		p("")
	}
	p("Measured %s on %s (%s cores). Command: `%s` (%s mode, %s s a run).", r.meta["date"], r.meta["cpu"], r.meta["cores"], r.meta["command"], r.meta["mode"], r.meta["duration"])
	p("")
	p("![Requests per second as a ratio to %s, a panel per scenario, each on its own linear scale; rawserve's rows in blue](benchmarks.png)", r.label(r.ref))
	p("")
	r.ratioTable(w, "Requests per second, ratio to the reference (higher is better)", reqPerSec)
	r.ratioTable(w, "Requests per server CPU-second, ratio to the reference (higher is better)", r.perCPUSecond)
	r.targets(w)
	r.uringTargets(w)
	r.earlierTargets(w)
	r.rows(w)
	r.details(w)
	r.idle(w)
	r.startup(w)
	r.fairness(w)
	r.syscalls(w)
	r.ownCounts(w)
	r.machine(w)
}

// rounds says how many rounds the run had: "3 rounds", "1 round".
func (r *report) rounds() string {
	if n := r.meta["rounds"]; n != "1" {
		return n + " rounds"
	}
	return "1 round"
}

// headline is the id of the row the page leads with, when it was run.
func (r *report) headline() string {
	for _, s := range r.servers {
		if s.id == pairs[0].rawserve {
			return s.id
		}
	}
	return ""
}

// rowLabel is a server's label as a table's first column shows it: the
// headline in bold.
func (r *report) rowLabel(id string) string {
	if id == r.headline() {
		return "**" + r.label(id) + "**"
	}
	return r.label(id)
}

func (r *report) ratioTable(w io.Writer, title string, m measure) {
	fmt.Fprintf(w, "## %s\n\n| server |", title)
	for _, sc := range r.scenarios {
		fmt.Fprintf(w, " %s |", sc.label)
	}
	fmt.Fprint(w, "\n|---|")
	for range r.scenarios {
		fmt.Fprint(w, "--:|")
	}
	fmt.Fprintln(w)
	for _, sv := range r.servers {
		fmt.Fprintf(w, "| %s |", r.rowLabel(sv.id))
		for _, sc := range r.scenarios {
			cell := ratio(r.stat(sc.id, sv.id, m), r.stat(sc.id, r.ref, m))
			if r.flawed(sc.id, sv.id) {
				cell += warn
			}
			fmt.Fprintf(w, " %s |", cell)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

// rows lists every server's command line and what its access log cost.
func (r *report) rows(w io.Writer) {
	fmt.Fprintln(w, "## The rows")
	fmt.Fprintln(w)
	tableHead(w, "DIR is the directory of the files served, PORT a free port on 127.0.0.1, TMP a directory of nginx's own. \"Access log\" is what the server wrote to its standard output or log file during the runs, per request answered: the logging rows' logs went to a file, as the issue asks (rawserve's standard output redirected to one).",
		"server", "command line", "access log:")
	for _, sv := range r.servers {
		cmd := "—"
		if sv.command != "" {
			cmd = "`" + escape(sv.command) + "`"
		}
		if sv.config != "" {
			cmd += ", TMP/nginx.conf being bench/nginx/nginx.conf.in with `" + escape(sv.config) + "`"
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", r.rowLabel(sv.id), cmd, r.logged(sv.id))
	}
	fmt.Fprintln(w)
}

// logged is the bytes of access log a server wrote per request answered,
// over all its runs.
func (r *report) logged(id string) string {
	var bytes, requests int64
	ran := false
	for key, runs := range r.runs {
		if key[1] != id {
			continue
		}
		for _, x := range runs {
			ran = true
			bytes += x.logged
			requests += x.wrk.Requests
		}
	}
	switch {
	case !ran:
		return "not run"
	case bytes == 0:
		return "none"
	case requests == 0:
		return fmt.Sprintf("%d B", bytes)
	}
	return fmt.Sprintf("%.0f B a request", float64(bytes)/float64(requests))
}

func fmtRatio(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.2f×", v)
}

func (r *report) scenarioLabel(id string) string {
	for _, sc := range r.scenarios {
		if sc.id == id {
			return sc.label
		}
	}
	return id
}

// details prints, per scenario, every server's absolute numbers and errors.
func (r *report) details(w io.Writer) {
	fmt.Fprintln(w, "## Each scenario in detail")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Median (min–max) over the rounds. Errors are summed over the rounds: wrk's socket errors (connect/read/write/timeout) and non-2xx answers.")
	fmt.Fprintln(w)
	for _, sc := range r.scenarios {
		fmt.Fprintf(w, "### %s\n\n", sc.label)
		if sc.kind == "file" {
			tableHead(w, "", "server", "req/s:", "ratio:", "MiB/s:", "req per CPU-s:", "ratio:", "errors")
		} else {
			tableHead(w, "", "server", "req/s:", "ratio:", "req per CPU-s:", "ratio:", "errors")
		}
		for _, sv := range r.servers {
			rps, cpu := r.stat(sc.id, sv.id, reqPerSec), r.stat(sc.id, sv.id, r.perCPUSecond)
			fmt.Fprintf(w, "| %s | %s | %s |", r.rowLabel(sv.id), rps, ratio(rps, r.stat(sc.id, r.ref, reqPerSec)))
			if sc.kind == "file" {
				fmt.Fprintf(w, " %s |", r.stat(sc.id, sv.id, mibPerSec))
			}
			fmt.Fprintf(w, " %s | %s | %s |\n", cpu, ratio(cpu, r.stat(sc.id, r.ref, r.perCPUSecond)), r.errors(sc.id, sv.id))
		}
		fmt.Fprintln(w)
	}
}

func (r *report) errors(sc, sv string) string {
	var sum wrkResult
	failed, died := 0, 0
	runs := r.runs[[2]string{sc, sv}]
	if len(runs) == 0 {
		return "not run"
	}
	for _, x := range runs {
		if !x.wrk.OK {
			failed++
		}
		if x.died {
			died++
		}
		sum.Connect += x.wrk.Connect
		sum.Read += x.wrk.Read
		sum.Write += x.wrk.Write
		sum.Timeout += x.wrk.Timeout
		sum.Non2xx += x.wrk.Non2xx
	}
	var parts []string
	for _, e := range []struct {
		name string
		n    int64
	}{{"connect", sum.Connect}, {"read", sum.Read}, {"write", sum.Write}, {"timeout", sum.Timeout}, {"non-2xx", sum.Non2xx}} {
		if e.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", e.name, e.n))
		}
	}
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d runs did not finish", failed, len(runs)))
	}
	if died > 0 {
		parts = append(parts, "server died")
	}
	if len(parts) == 0 {
		return "none"
	}
	return "⚠ " + strings.Join(parts, ", ")
}

// idleOf returns a server's RSS before the idle connections, the RSS each
// connection added, and how many were open (KiB).
func (r *report) idleOf(id string) (before, per float64, n int64, ok bool) {
	for _, f := range r.records("idle.tsv") {
		if f[0] != id || len(f) < 6 {
			continue
		}
		n = atoi(f[2])
		if n == 0 {
			return 0, 0, 0, false
		}
		before = float64(atoi(f[4]))
		return before, (float64(atoi(f[5])) - before) / float64(n), n, true
	}
	return 0, 0, 0, false
}

// section prints a section's title, and says so when it has nothing to
// show; it reports whether it has.
func section(w io.Writer, title string, measured bool) bool {
	fmt.Fprintf(w, "## %s\n\n", title)
	if !measured {
		fmt.Fprint(w, "Not measured in this run.\n\n")
	}
	return measured
}

// tableHead prints a paragraph (none when it is empty), then the head of
// a table: its columns, each left-aligned or, named with a trailing ":",
// right-aligned.
func tableHead(w io.Writer, paragraph string, columns ...string) {
	if paragraph != "" {
		fmt.Fprintf(w, "%s\n\n", paragraph)
	}
	var names, rule strings.Builder
	for _, c := range columns {
		name, right := strings.CutSuffix(c, ":")
		fmt.Fprintf(&names, "| %s ", name)
		if right {
			rule.WriteString("|--:")
		} else {
			rule.WriteString("|---")
		}
	}
	fmt.Fprintf(w, "%s|\n%s|\n", names.String(), rule.String())
}

func (r *report) idle(w io.Writer) {
	recs := r.records("idle.tsv")
	if !section(w, "Idle keep-alive connections: memory", len(recs) > 0) {
		return
	}
	tableHead(w, "Each connection got one GET / answered, then stayed open and idle; VmRSS of the server (all its processes) before and after. The serial servers hold one connection at a time and are left out.",
		"server", "connections open:", "failed:", "RSS before:", "RSS after:", "per connection:", "ratio:")
	_, refPer, _, refOK := r.idleOf(r.ref)
	for _, f := range recs {
		if len(f) < 6 {
			continue
		}
		_, per, _, ok := r.idleOf(f[0])
		perS, ratioS := "—", "—"
		if ok {
			perS = fmt.Sprintf("%.1f KiB", per)
			if refOK && refPer > 0 {
				ratioS = fmt.Sprintf("%.2f×", per/refPer)
			}
		}
		failed := f[3]
		if atoi(failed) > 0 {
			failed = "⚠ " + failed
		}
		fmt.Fprintf(w, "| %s | %s of %s | %s | %.1f MiB | %.1f MiB | %s | %s |\n", r.rowLabel(f[0]), f[2], f[1], failed,
			float64(atoi(f[4]))/1024, float64(atoi(f[5]))/1024, perS, ratioS)
	}
	fmt.Fprintln(w, "\n(ratio: memory per connection over the reference's; lower is better.)")
	fmt.Fprintln(w)
}

func (r *report) startupOf(id string) stats {
	data, err := os.ReadFile(filepath.Join(r.dir, "startup", id+".txt"))
	if err != nil {
		return stats{}
	}
	var v []float64
	for _, f := range strings.Fields(string(data)) {
		if us, err := strconv.ParseFloat(f, 64); err == nil {
			v = append(v, us/1000)
		}
	}
	return summarize(v)
}

func (r *report) startup(w io.Writer) {
	ref := r.startupOf(r.ref)
	if !section(w, "Start-up: exec to the first 200 response", ref.n > 0) {
		return
	}
	tableHead(w, fmt.Sprintf("bench/cmd/startup execs the server, polls connect + GET / until 200, then stops it; %d times a server. Ratio: the median time over the reference's (lower is better).", ref.n),
		"server", "ratio:", "ms, median (min–max):")
	for _, sv := range r.servers {
		if s := r.startupOf(sv.id); s.n > 0 {
			fmt.Fprintf(w, "| %s | %s | %s |\n", r.rowLabel(sv.id), ratio(s, ref), s)
		}
	}
	fmt.Fprintln(w)
}

// fairness renders fairness.tsv: bench/cmd/fairness's lines (name, target,
// measured, met) for the serial model with its default flags.
func (r *report) fairness(w io.Writer) {
	recs := r.records("fairness.tsv")
	if !section(w, "Fairness: the serial model, default flags (issue #12)", len(recs) > 0) {
		return
	}
	tableHead(w, "bench/cmd/fairness against `rawserve -dir DIR` (serial, `-yield-after 50ms`): how long a client waits behind another connection, a keep-alive pool, and ApacheBench with 32 keep-alive clients. Times, not ratios: these are bounds a client sees, set by the server's own timers.",
		"measure", "target:", "measured:", "")
	for _, f := range recs {
		if len(f) < 4 {
			continue
		}
		met := "met"
		if f[3] != "true" {
			met = "**short**"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", f[0], f[1], f[2], met)
	}
	fmt.Fprintln(w)
}

func (r *report) machine(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("## The machine and the method")
	p("")
	for _, k := range []struct{ key, label string }{
		{"cpu", "CPU"}, {"cores", "cores"}, {"kernel", "kernel"}, {"go", "Go"}, {"wrk", "wrk"},
		{"nginx", "nginx"}, {"rawserve", "rawserve"}, {"date", "date"}, {"command", "command"},
	} {
		if v := r.meta[k.key]; v != "" {
			p("- %s: %s", k.label, v)
		}
	}
	if v := r.meta["seconds"]; v != "" {
		p("- time the measurements took: %s s", v)
	}
	p("")
	p("Every server runs pinned to CPU 0 (`taskset -c 0`) and wrk (`-t1`) to CPU 1; the servers are started once and warmed up, then each scenario runs for every server in turn, A B C … A B C …, %s of %s s. Requests per CPU-second: the requests wrk completed over the server's utime + stime (`/proc/PID/stat`, all its processes: nginx's master and worker) during the run, in clock ticks of 1/%s s.", r.rounds(), r.meta["duration"], r.meta["clk_tck"])
	p("")
	p("Scenarios: keep-alive and `Connection: close` with 1 and 64 connections; pipelined keep-alive, 64 connections with 16 requests in flight each (bench/wrk/pipeline.lua); a 1 MiB and a 100 MiB file over one keep-alive connection. GET / answers the 13-byte body `Hello, World!`. rawserve and nginx serve it as the `index.html` of their directory, from disk, with Content-Type text/html: nginx maps / to the file with `rewrite ^ /index.html break` (open, fstat, writev, sendfile, close a request; without open_file_cache, as by default, so that a changed file is never served stale); net/http, fasthttp, gnet and the seed post's loop answer it from memory with text/plain; gnet and the seed post's loop add the fields of a file's answer (Server, Last-Modified, ETag, Accept-Ranges: none), so that their head is the size of rawserve's (241 and 243 bytes), since the pipelined scenario keeps wrk busy on its whole CPU and what it reads is then part of the rate. Header sizes of the others differ (Date, Server, Last-Modified, ETag fields). The logging pair: rawserve's access log (Common Log Format and the duration) is gathered into writes of 4 KiB, or written when the server goes quiet; nginx's (its combined format) is written as it is by default, unbuffered, a write(2) per request. The seed post's loop answers every request with `Connection: close`, so in the keep-alive scenarios wrk reconnects after each response, and when pipelining only the first request of each batch is answered; wrk counts neither as an error. gnet has no sendfile: its files are read into memory and written.")
	p("")
	notes, _ := os.ReadFile(filepath.Join(r.dir, "notes.txt"))
	if len(strings.TrimSpace(string(notes))) > 0 {
		p("### Notes from this run")
		p("")
		for line := range strings.Lines(strings.TrimSpace(string(notes))) {
			p("- %s", strings.TrimSpace(line))
		}
		p("")
	}
}
