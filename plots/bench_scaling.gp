# Thread scaling of omp: training images/s and conv2 GFLOP/s per thread count (scaling.csv).
load "plots/bench_common.gp"
set output dir . "/thread_scaling.png"
set terminal pngcairo size 1300,600 noenhanced font "DejaVu Sans,11"
f = dir . "/scaling.csv"
set datafile separator ","
set multiplot layout 1,2 title "Thread scaling of the omp backend (scaling.csv; OMP_NUM_THREADS)" font ",14"
stats f every ::1 using 2 nooutput
tmax = STATS_max
set xrange [0.8:tmax * 1.25]
set logscale x 2
set xtics 2
set xlabel "threads (OMP_NUM_THREADS)"
set key top left Left reverse
stats f every ::1 using ($2 == 1 ? $3 : NaN) nooutput
ips1 = STATS_max
set title "training at batch 250"
set ylabel "training images/s"
set yrange [0:*]
plot f every ::1 using 2:3 with linespoints lw 2 pt 7 lc rgb color("omp") title "omp, measured", \
     f every ::1 using 2:($2 * ips1) with lines dt 2 lc rgb "#808080" title "ideal (1-thread figure x threads)"
set title "conv2 at batch 250 (from ops.csv)"
set ylabel "GFLOP/s"
plot f every ::1 using 2:6 with linespoints lw 2 pt 7 lc rgb "#0047ab" title "omp forward", \
     f every ::1 using 2:7 with linespoints lw 2 pt 5 lc rgb "#56b4e9" title "omp backward-data", \
     f every ::1 using 2:8 with linespoints lw 2 pt 9 lc rgb "#e69f00" title "omp backward-filter", \
     f every ::1 using 2:9 with linespoints lw 2 pt 4 dt 4 lc rgb color("onednn") title "oneDNN forward (its ISA)", \
     f every ::1 using 2:($2 * peak1) with lines dt 2 lc rgb "#c00000" title "FMA peak, AVX2 (1-thread x threads)"
unset multiplot
