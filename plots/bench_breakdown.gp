# Where one training step's time goes, per backend: percent of the step per layer group
# (stacked), the step's time in the label. Data: $tmp/breakdown.dat (from breakdown.csv).
load "plots/bench_common.gp"
set output dir . "/step_breakdown.png"
set terminal pngcairo size 1200,700 noenhanced font "DejaVu Sans,11"
f = tmp . "/breakdown.dat"
set title "One training step at batch 250, by layer (breakdown.csv, scnn_model_profile)" font ",13"
set ylabel "% of the step's wall time"
set xlabel "backend, threads and the step's time"
set yrange [0:100]
set ytics 10
set style data histograms
set style histogram rowstacked
set style fill solid 0.9 border rgb "#404040"
set boxwidth 0.6
set key outside right top vertical Left reverse samplen 2 width -2
set xtics scale 0
set bmargin 7
set xlabel offset 0,-1.5
gc(i) = i == 2 ? 0x9ecae1 : i == 3 ? 0x3182bd : i == 4 ? 0xfdae6b : i == 5 ? 0xe6550d : \
        i == 6 ? 0xa1d99b : i == 7 ? 0x31a354 : i == 8 ? 0xbcbddc : 0x969696
gn(i) = i == 2 ? "conv1 forward" : i == 3 ? "conv1 backward (data + filter)" : \
        i == 4 ? "conv2 forward" : i == 5 ? "conv2 backward (data + filter)" : \
        i == 6 ? "dense layers forward" : i == 7 ? "dense layers backward" : \
        i == 8 ? "Adam update" : "other (batch norm, pooling, dropout, loss, input)"
plot for [i=2:9] f every ::1 using i:xtic(1) title gn(i) lc rgb gc(i)
