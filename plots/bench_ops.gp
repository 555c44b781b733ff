# GFLOP/s of each compute-heavy operation per backend, with the peers beside and the measured
# FP32 FMA peak (AVX2) as a line: one panel at 1 thread, one at T threads.
# Data: $tmp/ops1.dat, $tmp/opsT.dat (bench/run.sh pivots them from ops.csv).
load "plots/bench_common.gp"
set output dir . "/ops_gflops.png"
set terminal pngcairo size 1400,1000 noenhanced font "DejaVu Sans,11"
set multiplot layout 2,1 title "Per-operation speed at batch 250 (ops.csv): GFLOP/s, higher is better; log scale" font ",14"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border rgb "#404040"
set boxwidth 0.95
set logscale y
set ylabel "GFLOP/s (2 x multiply-adds / median time)"
set xlabel "operation and direction (conv1: 4x4 1->64 same; conv2: 4x4 64->64 valid; conv2_gemm: its im2col GEMM; dense: 1600->256)"
set key outside top center horizontal Left reverse maxrows 3 samplen 2 width 2
set xtics scale 0 font ",10"
set bmargin 5
set xlabel offset 0,-0.5
do for [panel=1:2] {
    f = panel == 1 ? tmp . "/ops1.dat" : tmp . "/opsT.dat"
    pk = panel == 1 ? peak1 : peakT
    set title (panel == 1 ? "1 thread" : sprintf("%d threads (single-threaded backends: their 1-thread figure)", T))
    ncols = int(system("head -n 1 " . f . " | wc -w"))
    hdr = system("head -n 1 " . f)
    set yrange [0.5:pk * 2.5]
    unset arrow
    set arrow 1 from graph 0, first pk to graph 1, first pk nohead lc rgb "#c00000" lw 2 dt 2 front
    plot for [i=2:ncols] f every ::1 using i:xtic(1) title name(word(hdr, i)) lc rgb color(word(hdr, i)), \
         NaN with lines lc rgb "#c00000" lw 2 dt 2 title sprintf("FP32 FMA peak, AVX2: %.0f GFLOP/s (peak_gflops of ops.csv)", pk)
}
unset multiplot
