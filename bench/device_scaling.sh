#!/bin/bash
# Thread scaling on a bigger machine that has none of our packages (the lent 16-core device):
#   bench/device_scaling.sh prep     here: put the built bench programs, their libraries
#                                    (oneDNN, OpenBLAS, libpng, Google Benchmark, libstdc++: xz-compressed) and Fashion-MNIST
#                                    (gzip-compressed under the same names; the IDX reader takes
#                                    both) into devcarry/ (git-ignored via .git/info/exclude)
#   bench/device_scaling.sh run      there: oneDNN limited to AVX2 and omp timed in the same
#                                    rounds at THREADS (default 1,2,4,8,16), the training step's
#                                    images/s per thread count, oneDNN at its default ISA; CSVs
#                                    and logs into $OUT (default /tmp/devout)
# The device tool carries devcarry/ (`carry: ["devcarry"]`) and runs `bash devcarry/run.sh`.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
case ${1:-} in
prep)
    cd "$here" || exit 1
    make bench-ops bench-e2e >/dev/null || exit 1
    mkdir -p devcarry/data /tmp/devlibs.$$
    grep -qx '/devcarry/' .git/info/exclude 2>/dev/null || echo '/devcarry/' >> .git/info/exclude
    for b in scnn_bench_ops scnn_bench_e2e; do
        ldd "build/bench/$b" | awk '$3 ~ /dnnl|openblas|gfortran|quadmath|OpenCL|png|benchmark|stdc\+\+/ { print $3 }'
    done | sort -u | xargs -I{} cp -L {} /tmp/devlibs.$$/
    tar cJf devcarry/devlibs.tar.xz -C /tmp/devlibs.$$ . && rm -rf /tmp/devlibs.$$
    for f in t10k-images-idx3-ubyte t10k-labels-idx1-ubyte train-images-idx3-ubyte train-labels-idx1-ubyte; do
        gzip -c "data/idx/fashion_mnist/$f" > "devcarry/data/$f"
    done
    cp build/bench/scnn_bench_ops build/bench/scnn_bench_e2e bench/device_scaling.sh devcarry/
    printf '#!/bin/bash\nexec bash "$(dirname "$0")/device_scaling.sh" run\n' > devcarry/run.sh
    du -sh devcarry
    ;;
run)
    D=$(cd "$(dirname "$0")" && pwd)
    OUT=${OUT:-/tmp/devout}
    TH=${THREADS:-1,2,4,8,16}
    mkdir -p "$OUT" /tmp/devlibs && tar xJf "$D/devlibs.tar.xz" -C /tmp/devlibs || exit 1
    export LD_LIBRARY_PATH=/tmp/devlibs
    unset OMP_NUM_THREADS
    { lscpu; free -g; uptime; } > "$OUT/machine.txt" 2>&1
    grep -E 'Model name|^CPU\(s\)|Thread|L2|L3' "$OUT/machine.txt"
    echo "== ops: omp and oneDNN limited to AVX2 (same rounds), threads $TH"
    DNNL_MAX_CPU_ISA=AVX2 timeout 240 "$D/scnn_bench_ops" --backends omp,onednn --ops conv1,conv2 \
        --threads "$TH" --out "$OUT/ops_avx2.csv" > "$OUT/ops_avx2.log" 2>&1; echo "rc $?"
    awk '$2 ~ /conv/ { print $1, $2, $3, $4, $5, $7 }' "$OUT/ops_avx2.log"
    echo "== training step of omp, threads $TH"
    timeout 200 "$D/scnn_bench_e2e" scaling --backend omp --threads "$TH" --data "$D/data" \
        --ops-csv "$OUT/ops_avx2.csv" --out "$OUT/scaling.csv" > "$OUT/scaling.log" 2>&1; echo "rc $?"
    tail -n 12 "$OUT/scaling.log"
    echo "== oneDNN at its default ISA, threads $TH"
    timeout 120 "$D/scnn_bench_ops" --backends onednn --ops conv2 --threads "$TH" \
        --out "$OUT/ops_default.csv" > "$OUT/ops_default.log" 2>&1; echo "rc $?"
    awk '$2 ~ /conv/ { print $1, $2, $3, $4, $5, $7, $12 }' "$OUT/ops_default.log"
    ;;
*)
    echo "usage: bench/device_scaling.sh prep|run" >&2
    exit 2
    ;;
esac
