# Percent of the measured FP32 FMA peak reached by each compute-heavy operation, per backend
# (oneDNN rows: of the peak of the ISA it ran, AVX-512 where it chose it).
# Data: $tmp/pct1.dat, $tmp/pctT.dat (from ops.csv's pct_of_peak).
load "plots/bench_common.gp"
set output dir . "/pct_of_peak.png"
set terminal pngcairo size 1400,1000 noenhanced font "DejaVu Sans,11"
set multiplot layout 2,1 title "Share of the hardware's FP32 peak each operation reaches at batch 250 (ops.csv)" font ",14"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border rgb "#404040"
set boxwidth 0.95
set yrange [0:100]
set ytics 10
set ylabel "% of the measured FMA peak of its ISA"
set xlabel "operation and direction"
set key outside top center horizontal Left reverse maxrows 3 samplen 2 width 2
set xtics scale 0 font ",10"
set bmargin 5
set xlabel offset 0,-0.5
do for [panel=1:2] {
    f = panel == 1 ? tmp . "/pct1.dat" : tmp . "/pctT.dat"
    set title (panel == 1 ? sprintf("1 thread (AVX2 peak %.0f GFLOP/s)", peak1) : sprintf("%d threads (AVX2 peak %.0f GFLOP/s)", T, peakT))
    ncols = int(system("head -n 1 " . f . " | wc -w"))
    hdr = system("head -n 1 " . f)
    plot for [i=2:ncols] f every ::1 using i:xtic(1) title name(word(hdr, i)) lc rgb color(word(hdr, i))
}
unset multiplot
