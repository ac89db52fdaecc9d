# plot.gp: docs/benchmarks.png from the data bench/cmd/report writes (see
# plotData there): a panel per scenario, a horizontal bar per server, the
# median req/s as a ratio to net/http on a linear scale of the panel's own.
# rawserve's rows are blue, the headline darkest and in bold; nginx's are
# pastel orange, the other servers grey; the dashed line is net/http, 1.0×.
#   gnuplot -e "data='plot.tsv'; out='docs/benchmarks.png'" bench/plot.gp
set datafile separator "\t"
set datafile missing "?"

stats data using 1 nooutput
panels = STATS_blocks
servers = int(STATS_max)
# Panels in two rows when there are more than four (seven: four, then
# three wider ones); each row has the servers' names on its left.
per_row = panels > 4 ? ceil(panels / 2.0) : panels
prows = ceil(1.0 * panels / per_row)

W = 1600
head_px = 74                     # the title and the key
panel_px = servers * 23 + 62     # the bars, the panel's title, its tics
H = head_px + prows * panel_px
set terminal pngcairo size W, H font "Sans,10" enhanced
set output out

names_w = 350.0 / W              # the servers' names
gap = 40.0 / W                   # between panels
right = 1 - 12.0 / W

# The colour of each class (plot.go: headline, rawserve, nginx, other, reference).
array colour[5] = [0x0b4fb3, 0x4c8fe6, 0xf2b27a, 0xc9c9c9, 0x8c8c8c]
ink(c) = colour[int(c) + 1]
bold(s) = "{/:Bold " . s . "}"
row_name(c, s, shown) = shown ? (int(c) == 0 ? bold(s) : s) : ""
row_text(c, s) = int(c) == 0 ? bold(s) : s

set multiplot
set label 1 bold("Requests per second, ratio to net/http (GOMAXPROCS=1) in the same run: the median of the rounds; each panel has a linear scale of its own, higher is better") \
	at screen 0.5, 1 - 22.0 / H center font ",12"
key_y = 1 - 50.0 / H
set label 2 "■" at screen names_w, key_y tc rgb ink(0) font ",14"
set label 3 "rawserve -dir, default flags (the headline)" at screen names_w + 0.012, key_y
set label 4 "■" at screen names_w + 0.19, key_y tc rgb ink(1) font ",14"
set label 5 "rawserve, other flags" at screen names_w + 0.202, key_y
set label 6 "■" at screen names_w + 0.31, key_y tc rgb ink(2) font ",14"
set label 7 "nginx" at screen names_w + 0.322, key_y
set label 8 "■" at screen names_w + 0.36, key_y tc rgb ink(3) font ",14"
set label 9 "the other servers" at screen names_w + 0.372, key_y
set label 10 "■" at screen names_w + 0.46, key_y tc rgb ink(4) font ",14"
set label 11 "net/http, the reference (dashed line: 1.0×)" at screen names_w + 0.472, key_y

set border 1 lc rgb "#808080"
set style fill solid 1.0 noborder
set xtics nomirror out scale 0.5 format "%.1f×" font ",9"
set grid xtics lc rgb "#e4e4e4" lt 1
set ytics nomirror scale 0 font ",10" tc rgb "#202020"
set key off
set yrange [0.4 : servers + 1.35]
half = 0.38                      # half a bar's height
set style textbox opaque noborder margins 0.5, 0.2   # the ratios hide the dashed line
# A tic every 0.5×, 1×, 2× or 5×: three to six of them.
tic_step(span) = span <= 2.5 ? 0.5 : span <= 5 ? 1 : span <= 10 ? 2 : span <= 25 ? 5 : 10 * ceil(span / 50)

do for [i = 0 : panels - 1] {
	prow = int(i / per_row)
	col = i - prow * per_row
	in_row = prow < prows - 1 ? per_row : panels - prow * per_row
	pw = (right - names_w) / in_row
	top = 1 - (head_px + prow * panel_px) * 1.0 / H
	set lmargin at screen names_w + col * pw
	set rmargin at screen names_w + (col + 1) * pw - gap
	set tmargin at screen top - 8.0 / H
	set bmargin at screen top - (panel_px - 26.0) / H
	stats [*:*][*:*] data index i using 7 nooutput
	set xrange [0 : STATS_max * 1.2]
	set xtics 0, tic_step(STATS_max * 1.2)
	# The scenario's name above its bars, the bars, net/http's 1.0× as a
	# dashed line over them, and the ratio beside each bar.
	plot data index i using (0):1:(0):3:($1 - half):($1 + half):(ink($4)):ytic(row_name($4, strcol(2), col == 0)) \
			with boxxyerror lc rgb variable, \
		'' index i every ::0::0 using (0):(servers + 0.95):(bold(strcol(8))) with labels left font ",11", \
		'' index i every ::0::0 using (1):(0.4):(0):(servers + 0.15) with vectors nohead dt 2 lw 1.2 lc rgb "#404040", \
		'' index i using 6:1:(row_text($4, strcol(5))) with labels left offset 0.3, 0 font ",9" boxed
}
unset multiplot
