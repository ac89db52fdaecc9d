package main

import (
	"fmt"
	"math"
	"strings"
)

// Plot classes: how bench/plot.gp colours a row.
const (
	classHeadline  = 0 // the headline rawserve row
	classRawserve  = 1 // rawserve's other rows
	classNginx     = 2
	classPeer      = 3 // the other servers
	classReference = 4 // the server every ratio is taken to
)

func (r *report) class(id string) int {
	switch {
	case id == r.headline():
		return classHeadline
	case strings.HasPrefix(id, "rawserve"):
		return classRawserve
	case strings.HasPrefix(id, "nginx"):
		return classNginx
	case id == r.ref:
		return classReference
	}
	return classPeer
}

// plotData is the data bench/plot.gp draws: a block per scenario (blocks
// are two blank lines apart, gnuplot's "index"), a line per server, the
// first server at the top. Columns, tab-separated:
//
//	1 position from the bottom (the first server has the highest)
//	2 the server's label, as gnuplot's enhanced text (see enhanced)
//	3 median req/s over the reference's, "?" when missing
//	4 class (see classHeadline)
//	5 the text printed beside the bar: "1.92×", ⚠ when a run had errors
//	6 where that text goes: the ratio, or 0 when there is none
//	7 the largest ratio in the block (at least 1): the panel's scale
//	8 the scenario's label, as enhanced text
func (r *report) plotData() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# bench/cmd/report: requests per second over %s's, a block per scenario\n", r.label(r.ref))
	b.WriteString("# position\tserver\tratio\tclass\ttext\ttext at\tpanel max\tscenario\n")
	for i, sc := range r.scenarios {
		if i > 0 {
			b.WriteString("\n\n")
		}
		ref := r.stat(sc.id, r.ref, reqPerSec)
		ratios := make([]float64, len(r.servers))
		xmax := 1.0
		for j, sv := range r.servers {
			ratios[j] = ratioValue(r.stat(sc.id, sv.id, reqPerSec), ref)
			if !math.IsNaN(ratios[j]) {
				xmax = max(xmax, ratios[j])
			}
		}
		for j, sv := range r.servers {
			v, text, at := "?", "not measured", 0.0
			if !math.IsNaN(ratios[j]) {
				v, text, at = fmt.Sprintf("%.4f", ratios[j]), fmtRatio(ratios[j]), ratios[j]
			}
			if r.flawed(sc.id, sv.id) {
				text += warn
			}
			fmt.Fprintf(&b, "%d\t%s\t%s\t%d\t%s\t%.4f\t%.4f\t%s\n", len(r.servers)-j, enhanced(sv.label), v, r.class(sv.id), text, at, xmax, enhanced(sc.label))
		}
	}
	return b.String()
}

// enhanced escapes the characters gnuplot's enhanced text mode would take
// for markup (x_2, x^2, {/:Bold …}), so that a label prints as it is. In
// a data file the escape is two backslashes.
func enhanced(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`_^@&~{}`, c) {
			b.WriteString(`\\`)
		}
		b.WriteRune(c)
	}
	return b.String()
}
