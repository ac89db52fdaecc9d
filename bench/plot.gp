# plot.gp: docs/benchmarks.png from the data bench/cmd/report writes (a row
# per scenario, a column per server, median requests per second).
#   gnuplot -e "data='plot.tsv'; out='docs/benchmarks.png'; servers=9" bench/plot.gp
set terminal pngcairo size 1600,800 font ",10"
set output out
set title "Requests per second, median per server and scenario (log scale; ratios in docs/benchmarks.md)"
set datafile separator "\t"
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [1:*]
set ylabel "requests / s"
set grid ytics
set key outside right top vertical
set xtics nomirror rotate by -20
set bmargin 6
# Ten distinct colours, so that no two servers share one.
colours = "#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #7f7f7f #bcbd22 #17becf"
do for [i=1:10] { set linetype i lc rgb word(colours, i) }
set linetype cycle 10
plot for [i=2:servers+1] data using i:xtic(1) title columnheader(i)
