#!/bin/sh
# bench/mpi_pairs.sh [ROUNDS]: aggregate training images/s of the protocol's independent models
# on this machine, one process with every core against one Open MPI rank per core (iterations
# over ranks, docs/distributed.md), as interleaved pairs (A, B, A, B, ...), so that a drift of
# the machine's speed hits both alike. Prints each round, then the medians, min-max and the
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
MPIRUN="mpirun --oversubscribe --bind-to none -x OMP_NUM_THREADS -x SCNN_BACKEND"
[ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
command -v mpirun >/dev/null || { echo "mpi_pairs: no mpirun (apt-get install openmpi-bin)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Training images of the timed command: ITER models x (LIMIT x 0.8 originals x 3) per epoch.
images=$(awk -v l="$LIMIT" -v i="$ITER" 'BEGIN { printf "%d", i * int(l - int(l * 0.2 + 0.5)) * 3 }')
A="OMP_NUM_THREADS=$CORES $BIN train $OPTS"
B="OMP_NUM_THREADS=1 $MPIRUN -np $CORES $BIN train $OPTS"
echo "A: $A"
echo "B: $B"
echo "(backend $SCNN_BACKEND; $images training images per command; aggregate images/s = that / wall seconds)"
timed() {   # timed OUT CMD...: wall seconds of CMD
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
    echo "$r $a $b" >> "$tmp/rounds"
    CORES=$CORES awk -v n="$images" -v r="$r" -v a="$a" -v b="$b" \
        'BEGIN { printf "round %d: 1 process x %s threads %.0f img/s, ranks %.0f img/s, ratio %.2f\n", r, ENVIRON["CORES"], n / a, n / b, a / b }'
done
sort -n -k2 "$tmp/rounds" | awk -v n="$images" '{ a[NR] = n / $2 } END { printf "1 process: median %.0f img/s (min %.0f, max %.0f)\n", a[int((NR + 1) / 2)], a[NR], a[1] }'
sort -n -k3 "$tmp/rounds" | awk -v n="$images" '{ b[NR] = n / $3 } END { printf "ranks: median %.0f img/s (min %.0f, max %.0f)\n", b[int((NR + 1) / 2)], b[NR], b[1] }'
awk '{ print $2 / $3 }' "$tmp/rounds" | sort -n | awk '{ v[NR] = $1 } END { printf "ratio ranks / 1 process: median %.2f (min %.2f, max %.2f) over %d rounds\n", v[int((NR + 1) / 2)], v[1], v[NR], NR }'
