# End to end: training and inference images/s per backend (PyTorch beside when present).
# Data: $tmp/e2e.dat: "backend\nN thr" train_images_per_s infer_images_per_s (from train.csv).
load "plots/bench_common.gp"
set output dir . "/e2e_images_per_s.png"
set terminal pngcairo size 1200,700 noenhanced font "DejaVu Sans,11"
f = tmp . "/e2e.dat"
set title "End to end at batch 250 on real Fashion-MNIST (train.csv): images per second, higher is better" font ",13"
set ylabel "images/s (log scale)"
set xlabel "backend and threads"
set logscale y
stats f using 2:3 nooutput
set yrange [STATS_min_x < STATS_min_y ? STATS_min_x / 2 : STATS_min_y / 2 : (STATS_max_x > STATS_max_y ? STATS_max_x : STATS_max_y) * 4]
set xrange [-0.6:STATS_records - 0.4]
set style fill solid 0.9 border rgb "#404040"
set boxwidth 0.36
set key top left Left reverse
set xtics scale 0
set bmargin 5
set xlabel offset 0,-0.5
be(s) = substr(s, 1, strstrt(s, "\n") - 1)
plot f using ($0 - 0.19):2:(color(be(strcol(1)))):xtic(1) with boxes lc rgb variable notitle, \
     f using ($0 + 0.19):3:(color(be(strcol(1)))) with boxes lc rgb variable fs pattern 4 notitle, \
     f using ($0 - 0.19):2:(sprintf("%.0f", $2)) with labels offset 0,0.7 font ",9" notitle, \
     f using ($0 + 0.19):3:(sprintf("%.0f", $3)) with labels offset 0,0.7 font ",9" notitle, \
     NaN with boxes fs solid 0.9 lc rgb "#707070" title "training (forward + backward + Adam), solid", \
     NaN with boxes fs pattern 4 lc rgb "#707070" title "inference (forward only), hatched"
