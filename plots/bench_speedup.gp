# Speed-up over naive per backend: training, inference, and conv2 (its three directions).
# Data: $tmp/speedup.dat: "backend\nN thr" train infer conv2 (ratios; from train.csv, ops.csv).
load "plots/bench_common.gp"
set output dir . "/speedup_vs_naive.png"
set terminal pngcairo size 1200,700 noenhanced font "DejaVu Sans,11"
f = tmp . "/speedup.dat"
set title "Speed-up over the naive backend (train.csv, ops.csv): higher is better" font ",13"
set ylabel "times faster than naive (log scale)"
set xlabel "backend and threads"
set logscale y
stats f using 2 nooutput
n = STATS_records
stats f using (($2 > $3 ? $2 : $3) > $4 || $4 != $4 ? ($2 > $3 ? $2 : $3) : $4) nooutput
set yrange [0.5:STATS_max * 3]
set xrange [-0.6:n - 0.4]
set style fill solid 0.9 border rgb "#404040"
set boxwidth 0.25
set key top left Left reverse
set xtics scale 0
set bmargin 5
set xlabel offset 0,-0.5
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb "#404040" dt 3
plot f using ($0 - 0.27):2:xtic(1) with boxes lc rgb "#0047ab" title "training images/s", \
     f using ($0):3 with boxes lc rgb "#e69f00" title "inference images/s", \
     f using ($0 + 0.27):4 with boxes lc rgb "#009e73" title "conv2 time, fwd + bwd-data + bwd-filter (ops.csv)", \
     f using ($0 - 0.27):2:(sprintf("%.1fx", $2)) with labels offset 0,0.7 font ",9" notitle, \
     f using ($0):3:(sprintf("%.1fx", $3)) with labels offset 0,0.7 font ",9" notitle, \
     f using ($0 + 0.27):4:(sprintf("%.1fx", $4)) with labels offset 0,0.7 font ",9" notitle
