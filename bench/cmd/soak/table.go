package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func mib(n int64) string { return fmt.Sprintf("%.1f", float64(n)/(1<<20)) }

func passText(ok bool) string {
	if ok {
		return "pass"
	}
	return "**FAIL**"
}

// markdown is the run's report: what ran where, a table of every phase of
// every model, and the first errors of each failed phase.
func markdown(run runInfo, rows []row) string {
	var b strings.Builder
	var load time.Duration
	for _, r := range rows {
		load += r.load
	}
	fmt.Fprintf(&b, "Run of %s: `soak %s`, against %s; Linux %s, %d CPUs, %s. "+
		"Load average %s before, %s after (the soak's own load included; on a busy machine the timings are noisy). "+
		"%v under load (each phase has a minimum), %v in all with the checks.\n\n",
		run.started.UTC().Format("2006-01-02 15:04 UTC"), run.args, run.version, kernel(), runtime.NumCPU(), runtime.Version(),
		run.loadBefore, run.loadAfter, load.Round(time.Second), run.wall.Round(time.Second))
	b.WriteString("| model | phase | load | judged | errors | fresh client: worst (best) of 10; the witness's worst | newcomer during the load: worst | fds after / idle | RSS MiB after / limit (idle) | result | what happened |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|---|---|\n")
	for _, r := range rows {
		if r.phase == "idle" {
			fmt.Fprintf(&b, "| %s | idle | | %d | %s | %s | | %d (cold %d) | %s, limit %s (cold %s) | %s | %s |\n",
				r.model, r.requests, errText(r), cell(freshText(r.fresh)), r.fds, r.fdBase, mib(r.rss), mib(r.rssLimit), mib(r.rssIdle), passText(r.pass), cell(r.notes))
			continue
		}
		if r.phase == "SIGTERM" || r.phase == "skipped" {
			fmt.Fprintf(&b, "| %s | %s | | | | | | | | %s | %s |\n", r.model, r.phase, passText(r.pass), cell(r.stop+r.notes))
			continue
		}
		fresh := freshText(r.fresh)
		duringText := ms(r.duringWorst)
		if r.duringFailed > 0 {
			duringText += fmt.Sprintf(", %d not served", r.duringFailed)
		}
		fds := fmt.Sprintf("%d / %d", r.fds, r.fdBase)
		rss := fmt.Sprintf("%s / %s (%s)", mib(r.rss), mib(r.rssLimit), mib(r.rssIdle))
		if !r.alive {
			fresh, fds, rss = "—", "—", "—"
		}
		notes := r.notes
		if !r.alive {
			notes = "the server died: " + r.exit + "; " + notes
		}
		errs := errText(r)
		fmt.Fprintf(&b, "| %s | %s | %.1f s | %d | %s | %s | %s | %s | %s | %s | %s |\n",
			r.model, r.phase, r.load.Seconds(), r.requests, errs, cell(fresh), duringText,
			mark(fds, r.fdOK || !r.alive), mark(rss, r.rssOK || !r.alive), passText(r.pass), cell(notes))
	}
	var failed, said bool
	for _, r := range rows {
		if r.pass && (len(r.stderr) == 0 || r.phase == "SIGTERM") {
			continue
		}
		if !said {
			b.WriteString("\nWhat the failed phases saw (the first errors of each kind), and what rawserve said on stderr:\n\n")
			said = true
		}
		failed = failed || !r.pass
		fmt.Fprintf(&b, "- **%s / %s**:", r.model, r.phase)
		for _, ex := range r.examples {
			fmt.Fprintf(&b, "\n  - %s", cell(ex))
		}
		if len(r.stderr) > 0 {
			fmt.Fprintf(&b, "\n  - stderr (%d lines): `%s`", len(r.stderr), cell(strings.Join(r.stderr[:min(3, len(r.stderr))], " / ")))
		}
		b.WriteString("\n")
	}
	if !failed {
		b.WriteString("\nEvery check passed.\n")
	}
	return b.String()
}

func errText(r row) string {
	if r.errors > 0 {
		return fmt.Sprintf("**%d** (%s)", r.errors, r.kinds)
	}
	return "0"
}

func freshText(fc freshCheck) string {
	s := fmt.Sprintf("%s (%s)", ms(fc.worst), ms(fc.best))
	if fc.failed > 0 {
		return fmt.Sprintf("**%d of %d failed**: %v", fc.failed, fc.tries, fc.firstErr)
	}
	if fc.slow > 0 {
		s = fmt.Sprintf("**%s, %d over 50 ms**", s, fc.slow)
	}
	if fc.excused > 0 {
		s += fmt.Sprintf(", %d over 50 ms with the witness as slow", fc.excused)
	}
	return s + "; witness " + ms(fc.witnessWorst)
}

// mark emphasizes a cell whose check failed.
func mark(s string, ok bool) string {
	if ok {
		return s
	}
	return "**" + s + "**"
}

// cell makes s safe in a table cell: one line, no pipe, no backtick run.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(s, "`", "'")
}

const beginMarker, endMarker = "<!-- soak:begin -->", "<!-- soak:end -->"

// writeSection writes md into file between the markers, if the file has
// them; otherwise md becomes the whole file.
func writeSection(file, md string) error {
	old, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	return os.WriteFile(file, replaceSection(old, md), 0o644)
}

func replaceSection(old []byte, md string) []byte {
	before, rest, ok1 := bytes.Cut(old, []byte(beginMarker))
	_, after, ok2 := bytes.Cut(rest, []byte(endMarker))
	if !ok1 || !ok2 {
		return []byte(md)
	}
	var b bytes.Buffer
	b.Write(before)
	b.WriteString(beginMarker + "\n" + md + endMarker)
	b.Write(after)
	return b.Bytes()
}
