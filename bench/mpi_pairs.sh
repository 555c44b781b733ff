#!/bin/sh
# bench/mpi_pairs.sh [ROUNDS]: aggregate training images/s on this machine of A, one process
# with every core training ITER models; B, one Open MPI rank per core, a model each (iterations
# over ranks); C, one rank per core training one model together (data-parallel;
# docs/distributed.md); interleaved (A, B, C, A, B, C, ...), so that a drift of the machine's
# speed hits all alike. Prints each round, then the medians, min-max and the
# median of the per-round ratios. Whole commands are timed (data loading and evaluation
# included): the question is how fast the protocol goes, not one kernel.
# Environment: SCNN_BIN (build/scnn), SCNN_BACKEND (omp512), LIMIT (6000 originals),
# ITER (2 models), CORES (nproc). Not run by make bench: it needs mpirun and an idle machine.
set -eu
ROUNDS=${1:-5}
BIN=${SCNN_BIN:-build/scnn}
export SCNN_BACKEND=${SCNN_BACKEND:-omp512}
LIMIT=${LIMIT:-6000}
ITER=${ITER:-2}
CORES=${CORES:-$(nproc)}
OPTS="--iterations $ITER --epochs 1 --limit $LIMIT --test-limit 1000 --augment 2 --no-report --seed 7"
DP_OPTS="--iterations 1 --data-parallel --epochs 1 --limit $LIMIT --test-limit 1000 --augment 2 --no-report --seed 7"
MPIRUN="mpirun --oversubscribe --bind-to none -x OMP_NUM_THREADS -x SCNN_BACKEND"
[ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
command -v mpirun >/dev/null || { echo "mpi_pairs: no mpirun (apt-get install openmpi-bin)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Training images of a command: models x (LIMIT x 0.8 originals x 3) per epoch.
per_model=$(awk -v l="$LIMIT" 'BEGIN { printf "%d", int(l - int(l * 0.2 + 0.5)) * 3 }')
A="OMP_NUM_THREADS=$CORES $BIN train $OPTS"
B="OMP_NUM_THREADS=1 $MPIRUN -np $CORES $BIN train $OPTS"
C="OMP_NUM_THREADS=1 $MPIRUN -np $CORES $BIN train $DP_OPTS"
echo "A (1 process, $ITER models): $A"
echo "B ($CORES ranks, a model each): $B"
echo "C ($CORES ranks, data-parallel, 1 model): $C"
echo "(backend $SCNN_BACKEND; $per_model training images per model; aggregate images/s = images / wall seconds)"
timed() {   # timed OUT CMD: wall seconds of CMD
    t0=$(date +%s.%N)
    sh -c "$2 --out $1" > "$1.log" 2>&1 || { cat "$1.log" >&2; exit 1; }
    t1=$(date +%s.%N)
    rm -rf "$1"
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
: > "$tmp/rounds"
for r in $(seq "$ROUNDS"); do
    a=$(timed "$tmp/a" "$A")
    b=$(timed "$tmp/b" "$B")
    c=$(timed "$tmp/c" "$C")
    # images/s of each
    awk -v m="$per_model" -v i="$ITER" -v a="$a" -v b="$b" -v c="$c" \
        'BEGIN { printf "%.1f %.1f %.1f\n", i * m / a, i * m / b, m / c }' >> "$tmp/rounds"
    tail -n 1 "$tmp/rounds" | awk -v r="$r" '{ printf "round %d: A %.0f img/s, B %.0f img/s (%.2fx A), C %.0f img/s (%.2fx A)\n", r, $1, $2, $2 / $1, $3, $3 / $1 }'
done
summary() {   # summary COLUMN NAME
    awk -v k="$1" '{ print $k }' "$tmp/rounds" | sort -n | awk -v name="$2" '{ v[NR] = $1 } END { printf "%s: median %.0f img/s (min %.0f, max %.0f)\n", name, v[int((NR + 1) / 2)], v[1], v[NR] }'
}
ratio() {   # ratio COLUMN NAME: the per-round ratios against A
    awk -v k="$1" '{ print $k / $1 }' "$tmp/rounds" | sort -n | awk -v name="$2" '{ v[NR] = $1 } END { printf "%s / A: median %.2f (min %.2f, max %.2f) over %d rounds\n", name, v[int((NR + 1) / 2)], v[1], v[NR], NR }'
}
summary 1 "A, 1 process x $CORES threads"
summary 2 "B, $CORES ranks x 1 thread, iterations"
summary 3 "C, $CORES ranks x 1 thread, data-parallel"
ratio 2 B
ratio 3 C
