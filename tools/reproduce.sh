#!/bin/sh
# make reproduce: the seed's whole experiment, resumable. Fashion-MNIST under the clean and the
# seed protocols (5 models x 80 epochs each) and MNIST under both (1 model x 80 epochs each), all with 2x
# augmentation. Re-running it continues where a killed run stopped (scnn train --resume).
# EPOCHS=N shortens every run (for a trial); OUT=DIR changes the folder (runs/reproduce);
# RANKS=N trains N models at once, one per Open MPI rank (mpirun -np N, OMP_NUM_THREADS=1 each
# unless set: docs/distributed.md); the results are those of one process.
set -e
BIN=${SCNN_BIN:-./scnn}
OUT=${OUT:-runs/reproduce}
EPOCHS=${EPOCHS:-80}
mkdir -p "$OUT"

# Measure this machine first: one epoch of 2,000 originals (no augmentation) on the backend
# that will run (SCNN_BACKEND, default: the fastest).
probe="$OUT/.probe"
rm -rf "$probe"
"$BIN" train --iterations 1 --augment 0 --limit 2500 --test-limit 100 --epochs 1 --no-report \
    --out "$probe" > "$probe.log" 2>&1 || { cat "$probe.log"; exit 1; }
ips=$(sed -n 's/.* - \([0-9.]*\) img\/s - .*/\1/p' "$probe.log" | tail -n 1)
rm -rf "$probe" "$probe.log"
# Per run: epochs x (144,000 training images + validation at ~3x the speed of training).
awk -v ips="$ips" -v e="$EPOCHS" 'BEGIN {
    clean = 5 * e * (144000 + 12000 / 3) / ips;
    seed = 5 * e * (144000 + 36000 / 3) / ips;
    mnist = e * (144000 + 12000 / 3) / ips + e * (144000 + 36000 / 3) / ips;
    printf "this machine trains %.0f images/s: expect about %.1f h for Fashion-MNIST clean, %.1f h for seed, %.1f h for MNIST (%.1f h in all)\n",
        ips, clean / 3600, seed / 3600, mnist / 3600, (clean + seed + mnist) / 3600 }'

# A run of one model (MNIST) stays one process with every thread: under mpirun its other ranks
# would only wait, and its one rank would train on OMP_NUM_THREADS=1.
RANKS_TRAIN="$BIN"
if [ "${RANKS:-1}" -gt 1 ]; then
    root=; [ "$(id -u)" = 0 ] && root=--allow-run-as-root
    RANKS_TRAIN="env OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} mpirun $root -np $RANKS --bind-to none -x OMP_NUM_THREADS $BIN"
fi
run() {   # run NAME ARGS...: train into $OUT/NAME, or resume it
    name=$1; shift
    if [ -f "$OUT/$name/run.conf" ]; then
        iters=$(sed -n 's/^iterations=//p' "$OUT/$name/run.conf")
    else
        iters=$(echo "$@" | sed -n 's/.*--iterations \([0-9]*\).*/\1/p')
    fi
    TRAIN="$BIN"; [ "${iters:-1}" -gt 1 ] && TRAIN="$RANKS_TRAIN"
    if [ -f "$OUT/$name/run.conf" ]; then
        echo "== $name: resuming"
        $TRAIN train --resume "$OUT/$name"
    else
        echo "== $name"
        $TRAIN train --epochs "$EPOCHS" --out "$OUT/$name" "$@"
    fi
}
run fashion-clean --dataset fashion_mnist --protocol clean --iterations 5
run fashion-seed --dataset fashion_mnist --protocol seed --iterations 5
run mnist --dataset mnist --protocol clean --iterations 1
run mnist-seed --dataset mnist --protocol seed --iterations 1
"$BIN" report "$OUT/fashion-clean" --compare "$OUT/fashion-seed"
"$BIN" report "$OUT/mnist" --compare "$OUT/mnist-seed"
echo "== done: $OUT/fashion-clean/report/report.md and $OUT/mnist/report/report.md (clean beside seed)"
