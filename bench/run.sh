#!/bin/sh
# make bench: the whole harness. Per backend and peer: the per-operation benchmark
# (scnn_bench_ops), the end-to-end measurements (scnn_bench_e2e, PyTorch through
# bench/pytorch_peer.py), thread scaling of omp, the peak memory of a real training run; then
# machine.txt, the plots (plots/*.gp) and a summary table. `make` builds what it runs (the
# Makefile's bench target runs deps, data and the builds first).
#
#   sh bench/run.sh                  measure; results in bench/results/<date>-<host>/, and
#                                    bench/results/latest pointing there
#   sh bench/run.sh --plots-only [DIR]   redraw DIR's plots (default bench/results/latest)
#
# Environment: BENCH=quick|default|full (how long it measures: about 1.5, 6 and 25 minutes on
# 2 cores; full also measures the operations at batch 32 and 100), PEERS=auto|all|none (all:
# install the missing peers (bench/deps.sh, as `make bench` does first); none: no peers),
# SCNN_BENCH_OUT=DIR (write there; bench/results/latest is left alone), BUILD (build folder),
# OMP_NUM_THREADS (the threads of the multi-threaded rows; default all cores).
set -u

BUILD=${BUILD:-build}
OPS=$BUILD/bench/scnn_bench_ops
E2E=$BUILD/bench/scnn_bench_e2e
SCNN=$BUILD/scnn
MODE=${BENCH:-default}
PEERS=${PEERS:-auto}
PYTHON=${SCNN_PYTHON:-/usr/bin/python3}
GNUPLOT=${SCNN_GNUPLOT-gnuplot}
DATA=${SCNN_DATA:-data}/idx/fashion_mnist

say() { printf '%s\n' "$*"; }
# "== what" with the seconds since the start, so that a slow step shows
step() { printf '== [%ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }
fail() { printf 'bench: %s\n' "$*" >&2; exit 2; }

# ---- plots ---------------------------------------------------------------------------------

# Rows of ops.csv (no comments, no header) as "backend op direction threads batch gflops pct".
ops_rows() {
    awk -F, '/^#/ || $1 == "backend" { next } { print $1, $2, $3, $5, $6, $11, $13, $17 }' "$1"
}

# A table for a clustered histogram: one line per op/direction (the compute-heavy ones), one
# column per backend and peer present at that thread count (threads T; single-threaded
# backends are shown with their 1-thread rows in the all-threads panel too). $3: gflops|pct.
ops_table() {
    ops_rows "$1" | awk -v T="$2" -v what="$3" '
        $5 != 250 { next }
        {
            key = $2 " " $3
            if (!($2 in opseen)) { opseen[$2] = 1 }
            v = (what == "pct") ? $7 : $6
            # single-threaded backends: their row at 1 thread stands for every count
            single[$1] = (single[$1] == "" ? 1 : single[$1]) && ($4 == 1)
            val[$1, key, $4] = v
            if (!(key in keyseen)) { keyseen[key] = 1; keys[nk++] = key }
            if (!($1 in beseen)) { beseen[$1] = 1; bes[nb++] = $1 }
        }
        END {
            n = split("conv1 fwd|conv1 bwd_d|conv1 bwd_w|conv2 fwd|conv2 bwd_d|conv2 bwd_w|conv2_gemm fwd|dense fwd|dense bwd_d|dense bwd_w", want, "|")
            order = "naive im2col avx2 omp onednn onednn_avx2 openblas"
            m = split(order, ob, " ")
            line = "op"
            nc = 0
            for (i = 1; i <= m; i++) if (ob[i] in beseen) { cols[++nc] = ob[i]; line = line " " ob[i] }
            for (i = 0; i < nb; i++) if (index(" " order " ", " " bes[i] " ") == 0) { cols[++nc] = bes[i]; line = line " " bes[i] }
            print line
            for (k = 1; k <= n; k++) {
                if (!(want[k] in keyseen)) continue
                lab = want[k]; sub(/ /, "\\n", lab); sub(/bwd_d/, "bwd-data", lab); sub(/bwd_w/, "bwd-filter", lab)
                line = "\"" lab "\""
                for (c = 1; c <= nc; c++) {
                    b = cols[c]; v = val[b, want[k], T]
                    if (v == "" && single[b]) v = val[b, want[k], 1]
                    line = line " " (v == "" ? "NaN" : v)
                }
                print line
            }
        }'
}

# The measured FMA peak of ISA $3 (default avx2) at T threads, from ops.csv's header.
peak_of() {
    awk -v T="$2" -v isa="${3:-avx2}" 'index($0, "# fp32 fma peak, measured (" isa ")") == 1 {
        sub(/^[^:]*: /, ""); n = split($0, p, ", ")
        for (i = 1; i <= n; i++) { split(p[i], w, " "); if (w[4] == T) print w[1] }
    }' "$1" | head -n 1
}

peak_used() {
    v=$(awk -F, -v T="$2" '/^#/ || $1 == "backend" { next }
        ($1 == "naive" || $1 == "im2col" || $1 == "avx2" || $1 == "omp") && $5 == T { print $14; exit }' "$1")
    if [ -n "$v" ]; then echo "$v"; else peak_of "$1" "$2"; fi
}

draw() {
    dir=$1
    if [ -z "$GNUPLOT" ] || ! command -v "$GNUPLOT" >/dev/null 2>&1; then
        say "bench: gnuplot not found: no plots (install gnuplot-nox; then \`make plots\`)"
        return 0
    fi
    for f in ops.csv train.csv; do
        [ -f "$dir/$f" ] || { say "bench: $dir/$f missing: no plots"; return 1; }
    done
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/scnn-plots.XXXXXX") || return 1
    T=$(ops_rows "$dir/ops.csv" | awk '$5 == 250 && $4 > m { m = $4 } END { print m + 0 }')
    # the peak the rows of our backends are held against (ops.csv's peak_gflops: the measured
    # one, or threads x the 1-thread one where that is more); else the header's measured one
    p1=$(peak_used "$dir/ops.csv" 1)
    pT=$(peak_used "$dir/ops.csv" "$T")
    ops_table "$dir/ops.csv" 1 gflops > "$tmp/ops1.dat"
    ops_table "$dir/ops.csv" "$T" gflops > "$tmp/opsT.dat"
    ops_table "$dir/ops.csv" 1 pct > "$tmp/pct1.dat"
    ops_table "$dir/ops.csv" "$T" pct > "$tmp/pctT.dat"
    # end to end: backend(threads) train infer
    awk -F, '/^#/ || $1 == "backend" { next } $20 == 1 {
        printf "\"%s\\n%d thr\" %s %s\n", $1, $2, $3, $4 }' "$dir/train.csv" > "$tmp/e2e.dat"
    # speed-up over naive: training, inference, conv2 (three directions together)
    awk -F, -v ops="$dir/ops.csv" '
        BEGIN {
            while ((getline l < ops) > 0) {
                if (l ~ /^#/ || l ~ /^backend,/) continue
                split(l, f, ","); if (f[2] != "conv2" || f[6] != 250) continue
                t[f[1], f[5]] += f[8]; cnt[f[1], f[5]]++
            }
        }
        /^#/ || $1 == "backend" { next }
        $20 != 1 { next }
        { be[++n] = $1; th[n] = $2; tr[n] = $3; inf[n] = $4 }
        $1 == "naive" { ntr = $3; ninf = $4; nth = $2 }
        END {
            for (i = 1; i <= n; i++) {
                c = (cnt[be[i], th[i]] == 3 && cnt["naive", nth] == 3) ? t["naive", nth] / t[be[i], th[i]] : "NaN"
                printf "\"%s\\n%d thr\" %s %s %s\n", be[i], th[i], (ntr > 0 ? tr[i] / ntr : "NaN"), (ninf > 0 ? inf[i] / ninf : "NaN"), c
            }
        }' "$dir/train.csv" > "$tmp/speedup.dat"
    # breakdown: percent of the step per group, per backend; label with the step time
    if [ -f "$dir/breakdown.csv" ]; then
        awk -F, '/^#/ || $1 == "backend" { next }
            { k = $1 " " $2; if (!(k in seen)) { seen[k] = 1; ks[++n] = k; lab[k] = $1 "\\n" $2 " thr" }
              ms[k, $4] += $5; tot[k] += $5 }
            END {
                g = split("conv1 fwd|conv1 bwd|conv2 fwd|conv2 bwd|dense fwd|dense bwd|adam|other", G, "|")
                printf "backend"; for (j = 1; j <= g; j++) { s = G[j]; gsub(/ /, "_", s); printf " %s", s }; print ""
                for (i = 1; i <= n; i++) {
                    k = ks[i]; printf "\"%s\\n%.0f ms\"", lab[k], tot[k]
                    for (j = 1; j <= g; j++) printf " %.3f", 100 * ms[k, G[j]] / tot[k]
                    print ""
                }
            }' "$dir/breakdown.csv" > "$tmp/breakdown.dat"
    fi
    ok=0
    run_gp() {
        script=$1; shift
        if ! "$GNUPLOT" -e "dir='$dir'; tmp='$tmp'; T=$T; peak1=${p1:-0}; peakT=${pT:-0}" "$@" \
            "plots/$script" 2> "$tmp/err"; then
            say "bench: plots/$script failed: $(head -n 3 "$tmp/err" | tr '\n' ' ')"
            ok=1
        elif [ -s "$tmp/err" ]; then
            say "bench: plots/$script: $(head -n 2 "$tmp/err" | tr '\n' ' ')"
        fi
    }
    run_gp bench_ops.gp
    run_gp bench_pct_peak.gp
    run_gp bench_e2e.gp
    run_gp bench_speedup.gp
    [ -f "$dir/breakdown.csv" ] && run_gp bench_breakdown.gp
    [ -f "$dir/scaling.csv" ] && run_gp bench_scaling.gp
    rm -rf "$tmp"
    pngs=""
    for f in "$dir"/*.png; do [ -f "$f" ] && pngs="$pngs ${f##*/}"; done
    say "bench: plots in $dir:$pngs"
    return $ok
}

if [ "${1:-}" = "--plots-only" ]; then
    dir=${2:-bench/results/latest}
    [ -d "$dir" ] || fail "no results in $dir (run \`make bench\` first)"
    draw "$dir"
    exit $?
fi
[ $# -eq 0 ] || fail "unknown argument '$1' (usage: run.sh [--plots-only [DIR]])"

case $MODE in
    quick|default|full) ;;
    *) fail "BENCH must be quick, default or full, got '$MODE'" ;;
esac
case $PEERS in
    auto|all|none) ;;
    *) fail "PEERS must be auto, all or none, got '$PEERS'" ;;
esac
for b in "$OPS" "$E2E" "$SCNN"; do
    [ -x "$b" ] || fail "$b is not built (run \`make bench\`, or \`make bench-ops bench-e2e\`)"
done
[ -r "$DATA/train-images-idx3-ubyte" ] || [ -r "$DATA/train-images-idx3-ubyte.gz" ] ||
    fail "no Fashion-MNIST in $DATA (run \`make data\`)"

T=${OMP_NUM_THREADS:-$(nproc 2>/dev/null || echo 1)}
T=${T%%,*}
case $T in ''|*[!0-9]*|0) fail "OMP_NUM_THREADS must be a positive number, got '$T'" ;; esac

host=$(hostname 2>/dev/null || uname -n)
if [ -n "${SCNN_BENCH_OUT:-}" ]; then
    out=$SCNN_BENCH_OUT
else
    out=bench/results/$(date +%Y%m%d-%H%M%S)-$host
fi
mkdir -p "$out" || fail "cannot create $out"
start=$(date +%s)
load0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
failed=""
skipped=""

# ---- 1. peers that need installing -------------------------------------------------------------
# `make bench` installs them first (bench/deps.sh, the bench's own dependency step); PEERS=all
# does it here too, for a run of this script alone. A peer that is missing is named, and skipped.

torch_ok=0
if [ "$PEERS" != none ]; then
    [ "$PEERS" = all ] && SCNN_PYTHON=$PYTHON sh bench/deps.sh
    [ -x "$PYTHON" ] && "$PYTHON" -c 'import torch' >/dev/null 2>&1 && torch_ok=1
    [ $torch_ok = 1 ] || skipped="$skipped pytorch(python3-torch not installed: \`make bench\` installs it, or see bench/deps.sh)"
else
    skipped="$skipped peers(PEERS=none)"
fi

say "== bench: BENCH=$MODE, $T thread(s), results in $out"
[ -n "$skipped" ] && say "bench: skipped:$skipped"

# ---- 2. the per-operation benchmark -----------------------------------------------------------

case $MODE in
    quick) opsflags="--quick" ;;
    default) opsflags="" ;;
    full) opsflags="--reps 10 --min-time 1" ;;
esac
peerflag=""
[ "$PEERS" = none ] && peerflag="--backends $("$SCNN" backends | awk '$2 == "available" { printf "%s%s", s, $1; s = "," }')"
threads=1
[ "$T" -gt 1 ] && threads="1,$T"
# The peers run as a user gets them: oneDNN at its default ISA (the row named onednn, timed with
# our backends), OpenBLAS at its own kernel choice (no OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE
# inherited from the caller's shell; the core it picked is in ops.csv's header and machine.txt).
# Where the CPU has AVX-512, oneDNN limited to AVX2 (DNNL_MAX_CPU_ISA=AVX2, read once per
# process) runs after, in a process of its own, as the extra row onednn_avx2 for our AVX2 rungs.
peer_env="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u DNNL_MAX_CPU_ISA"
dnnl_avx2=0
[ "$PEERS" != none ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null && dnnl_avx2=1
step "per-operation benchmark (scnn_bench_ops $opsflags --threads $threads): $out/ops.log"
# shellcheck disable=SC2086
$peer_env "$OPS" $opsflags $peerflag --threads "$threads" --out "$out/ops.csv" \
    --json "$out/ops.json" --pairs-out "$out/ratios.csv" > "$out/ops.log" 2>&1 || failed="$failed ops"
grep -E '^(FAIL|warning|# [0-9]+ rows)' "$out/ops.log"
[ -f "$out/ops.csv" ] || fail "the per-operation benchmark wrote no CSV (see $out/ops.log)"

if [ $dnnl_avx2 = 1 ] && grep -q '^# peer onednn:' "$out/ops.csv"; then
    ops2="conv1,conv2"
    [ "$MODE" = quick ] && ops2=conv2
    step "oneDNN limited to AVX2 (DNNL_MAX_CPU_ISA=AVX2), $ops2, apart, as onednn_avx2"
    # shellcheck disable=SC2086
    if $peer_env DNNL_MAX_CPU_ISA=AVX2 "$OPS" $opsflags --backends onednn --ops "$ops2" \
        --threads "$threads" --out "$out/.ops-avx2.csv" --json "$out/ops-onednn_avx2.json" \
        > "$out/ops-onednn_avx2.log" 2>&1; then
        { echo "# rows below: oneDNN limited to AVX2 (DNNL_MAX_CPU_ISA=AVX2 scnn_bench_ops --backends onednn --ops $ops2), timed apart from the rows above"
          sed -n 's/^# peer onednn:/# peer onednn_avx2:/p' "$out/.ops-avx2.csv"
          awk -F, 'BEGIN { OFS = "," } /^#/ || $1 == "backend" { next } { $1 = "onednn_avx2"; print }' "$out/.ops-avx2.csv"
        } >> "$out/ops.csv"
    else
        failed="$failed onednn_avx2"
    fi
    rm -f "$out/.ops-avx2.csv"
fi
if [ "$MODE" = full ]; then
    for b in 32 100; do
        step "per-operation benchmark at batch $b"
        # shellcheck disable=SC2086
        if $peer_env "$OPS" $opsflags $peerflag --batch $b --threads "$threads" --out "$out/.ops-b$b.csv" \
            > "$out/ops-batch$b.log" 2>&1; then
            { echo "# rows below: batch $b"
              awk -F, '/^#/ || $1 == "backend" { next } { print }' "$out/.ops-b$b.csv"; } >> "$out/ops.csv"
        else
            failed="$failed ops-batch$b"
        fi
        rm -f "$out/.ops-b$b.csv"
    done
fi

# ---- 3. machine context -----------------------------------------------------------------------

peak1=$(peak_of "$out/ops.csv" 1)
peakT=$(peak_of "$out/ops.csv" "$T")
peak512_1=$(peak_of "$out/ops.csv" 1 avx512)
peak512_T=$(peak_of "$out/ops.csv" "$T" avx512)
# What tells our host kinds apart (SPEC.md section 5): the CPU's identity, its caches, and the
# two measured FMA peaks. A kind SPEC.md does not list is named by vendor, family and model.
cpuinfo() { awk -F': *' -v k="$1" '$1 ~ "^" k "[ \t]*$" { print $2; exit }' /proc/cpuinfo 2>/dev/null; }
vendor=$(cpuinfo vendor_id); family=$(cpuinfo 'cpu family'); model=$(cpuinfo model)
stepping=$(cpuinfo stepping)
cpuid="vendor ${vendor:-?}, family ${family:-?}, model ${model:-?}, stepping ${stepping:-?}"
cache_of() {  # level type: the size cpu0's sysfs gives, as "48 KiB"
    for c in /sys/devices/system/cpu/cpu0/cache/index*; do
        [ "$(cat "$c/level" 2>/dev/null)" = "$1" ] || continue
        case $(cat "$c/type" 2>/dev/null) in "$2") sed 's/K$/ KiB/; s/M$/ MiB/' "$c/size"; return ;; esac
    done
}
l1d=$(cache_of 1 Data); l2=$(cache_of 2 Unified)
ratio=""
[ -n "$peak512_1" ] && [ -n "$peak1" ] && ratio=$(awk -v a="$peak512_1" -v b="$peak1" \
    -v aT="${peak512_T:-0}" -v bT="${peakT:-0}" -v T="$T" 'BEGIN {
        printf "%.2f at 1 thread", a / b; if (T > 1 && bT > 0) printf ", %.2f at %d threads", aT / bT, T }')
kind=$(awk -v v="$vendor" -v f="$family" -v m="$model" -v r="${ratio%% *}" 'BEGIN {
    if (r == "") { printf "%s family %s model %s without AVX-512 (a kind SPEC.md section 5 does not list)", v, f, m; exit }
    if (v == "AuthenticAMD" && r + 0 < 1.4)
        printf "Zen 4 kind (AMD family %s model %s; AVX-512 at the AVX2 FMA rate, ratio %s)", f, m, r
    else if (v == "AuthenticAMD")
        printf "Zen 5 kind (AMD family %s model %s; AVX-512 at twice the AVX2 FMA rate, ratio %s)", f, m, r
    else
        printf "%s family %s model %s with AVX-512 at %sx the AVX2 FMA rate (a kind SPEC.md section 5 does not list)", v, f, m, r
}')
mhz=$(lscpu 2>/dev/null | awk -F: '/^CPU max MHz/ { gsub(/ /, "", $2); print $2; exit }')
mhz_src="lscpu's CPU max MHz"
if [ -z "$mhz" ]; then
    mhz=$(awk -F: '/^cpu MHz/ { gsub(/ /, "", $2); print $2; exit }' /proc/cpuinfo 2>/dev/null)
    mhz_src="/proc/cpuinfo's cpu MHz: the current or reported clock, which under a hypervisor may not be the one the cores run at"
fi
cores=$(nproc 2>/dev/null || echo 1)
{
    say "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    say "host: $host"
    say "command: make bench BENCH=$MODE PEERS=$PEERS"
    say "git revision: $("$SCNN" --version 2>/dev/null | sed -n 's/.*(revision \(.*\))$/\1/p')"
    say "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)"
    say "cores online: $cores; $(lscpu 2>/dev/null | awk -F: '/^Thread\(s\) per core|^Core\(s\) per socket|^Socket\(s\)/ { gsub(/^ +/, "", $2); printf "%s%s: %s", s, $1, $2; s = ", " }')"
    say "isa: $(grep -m1 -ow -e avx2 -e fma -e avx512f /proc/cpuinfo 2>/dev/null | sort -u | tr '\n' ' ')(each row's % of peak uses the peak of its own ISA)"
    say "cpu id: $cpuid"
    say "l1d: ${l1d:-unknown} per core, l2: ${l2:-unknown} per core (sysfs, cpu0)"
    caches=$(lscpu 2>/dev/null | awk -F: '/^L[123][di]? cache/ { gsub(/^ +/, "", $2); printf "%s%s %s", s, $1, $2; s = ", " }')
    [ -n "$caches" ] || caches=$(getconf -a 2>/dev/null | awk '
        $1 == "LEVEL1_DCACHE_SIZE" { n = "L1d" } $1 == "LEVEL1_ICACHE_SIZE" { n = "L1i" }
        $1 == "LEVEL2_CACHE_SIZE" { n = "L2" } $1 == "LEVEL3_CACHE_SIZE" { n = "L3" }
        n != "" && $2 > 0 { printf "%s%s %s", s, n, ($2 >= 1048576 ? sprintf("%d MiB", $2 / 1048576) : sprintf("%d KiB", $2 / 1024)); s = ", " }
        { n = "" }')
    [ -n "$caches" ] && caches="$caches (per core or shared as the system reports them)"
    say "caches: ${caches:-unknown}"
    say "frequency: ${mhz:-unknown} MHz${mhz:+ ($mhz_src)}"
    say "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)"
    say "os: $(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release 2>/dev/null), kernel $(uname -r)"
    say "compiler: $(${CC:-cc} --version 2>/dev/null | head -n 1)"
    say "flags: ${BENCH_CFLAGS:-(unknown: run through make)}; kernels/avx2, kernels/omp, bench/peak_fma.c add ${BENCH_SIMD_FLAGS:--mavx2 -mfma}; kernels/avx512 and kernels/omp/omp512* add ${BENCH_AVX512_FLAGS:-the AVX-512 flags}"
    say "OMP_NUM_THREADS=${OMP_NUM_THREADS:-(unset)} OMP_PROC_BIND=${OMP_PROC_BIND:-(unset)} OMP_PLACES=${OMP_PLACES:-(unset)}; threads used: $T"
    say "load average at start: $load0"
    awk -v l="${load0%% *}" -v c="$cores" 'BEGIN { if (l + 0 >= 1)
        printf "WARNING: the machine was busy: load average %s at the start on %d cores (the build included): the figures are lower bounds, the all-threads ones most\n", l, c }'
    nslow=$(grep -c 'below SPEC.md' "$out/ops.log" 2>/dev/null)
    [ "${nslow:-0}" -gt 0 ] &&
        say "WARNING: $nslow peer figure(s) more than 25% below SPEC.md's (see ops.log): the machine is busy, or slower than SPEC's"
    say "fp32 fma peak, measured (avx2, independent FMA chains; scnn_bench_ops): ${peak1:-?} GFLOP/s at 1 thread, ${peakT:-?} GFLOP/s at $T threads"
    [ -n "$peak512_1" ] &&
        say "fp32 fma peak, measured (avx512, independent FMA chains; scnn_bench_ops): $peak512_1 GFLOP/s at 1 thread, ${peak512_T:-?} GFLOP/s at $T threads"
    [ -n "$ratio" ] && say "avx512/avx2 fma peak ratio: $ratio"
    say "host kind: $kind"
    if [ -n "$mhz" ] && [ -n "$peak1" ]; then
        awk -v mhz="$mhz" -v p1="$peak1" -v pT="${peakT:-$peak1}" -v T="$T" -v c="$cores" 'BEGIN {
            busy = (T < c) ? T : c
            n1 = mhz / 1000 * 32; nT = n1 * busy
            printf "fp32 fma peak, nominal (avx2: 2 FMA units x 8 lanes x 2 flops = 32 FLOP/cycle x %.0f MHz): %.1f GFLOP/s per core, %.1f at %d threads; measured %.0f%% and %.0f%% of it\n", mhz, n1, nT, T, 100 * p1 / n1, 100 * pT / nT
            if (p1 < 0.85 * n1 || pT < 0.85 * nT)
                print "WARNING: the measured peak is below 85% of the nominal one: the machine is busy (or throttled); the figures are suspect"
            else if (p1 > 1.15 * n1)
                print "note: the measured peak is above the nominal one: the cores run faster than the reported frequency (boost, or a hypervisor'"'"'s figure)"
        }'
    elif [ -n "$peak1" ]; then
        awk -v p1="$peak1" -v pT="${peakT:-$peak1}" -v T="$T" 'BEGIN {
            printf "fp32 fma peak, nominal: no frequency found; against SPEC.md'"'"'s reference (99 GFLOP/s per core, measured on Zen 3 at about 3.1 GHz): %.0f%% at 1 thread, %.0f%% at %d threads\n", 100 * p1 / 99, 100 * pT / (99 * T), T
            if (p1 < 0.85 * 99 || pT < 0.85 * 99 * T)
                print "WARNING: the measured peak is below 85% of SPEC.md'"'"'s reference: the machine is busy (or slower); the figures are suspect"
        }'
    fi
    [ -n "$peak1" ] && awk -v p1="$peak1" 'BEGIN { printf "SPEC.md'"'"'s reference machine (Zen 3, about 3.1 GHz) measured 99 GFLOP/s per core: this one %.0f%% of it\n", 100 * p1 / 99 }'
    awk -F': ' '/^# peer / { sub(/^# /, ""); print }' "$out/ops.csv"
    grep -q '^# peer onednn_avx2:' "$out/ops.csv" &&
        say "peers: onednn is oneDNN at its default ISA, timed with our backends (the ratios in ratios.csv pair it with them round by round); onednn_avx2 is oneDNN limited to AVX2 (DNNL_MAX_CPU_ISA=AVX2), timed apart, for the AVX2 rungs"
    if [ $torch_ok = 1 ]; then
        say "peer pytorch: $("$PYTHON" -c 'import torch; print(torch.__version__)' 2>/dev/null) ($PYTHON, channels_last, glibc malloc kept in the heap: see bench/pytorch_peer.py)"
    fi
    [ -n "$skipped" ] && say "skipped:$skipped"
} > "$out/machine.txt"
grep -E '^(cpu|fp32|WARNING|note)' "$out/machine.txt"

# ---- 4. end to end ----------------------------------------------------------------------------

pyflag=""
[ $torch_ok = 1 ] && pyflag="--pytorch bench/pytorch_peer.py"
# quick: PyTorch at the all-threads count only (each of its measurements pays for `import torch`)
[ $torch_ok = 1 ] && [ "$MODE" = quick ] && pyflag="$pyflag --torch-threads $T"
step "end to end (scnn_bench_e2e run --mode $MODE --threads $T $pyflag)"
# shellcheck disable=SC2086
"$E2E" run --mode "$MODE" --threads "$T" --data "$DATA" $pyflag --out-dir "$out" ||
    failed="$failed e2e"
awk -F, '$1 == "pytorch" && !seen++ { print "peer pytorch ran as: " $21 }' "$out/train.csv" \
    >> "$out/machine.txt" 2>/dev/null

# ---- 4b. whole commands: hyperfine --------------------------------------------------------------
# Where the question is one command's wall time (a user's `scnn train --epochs 1 --limit N`,
# data loading included), hyperfine times it, per backend (--parameter-list); not for ratios
# between backends (the paired rounds of scnn_bench_ops are). quick: one run each, without
# naive (minutes at any useful N).

if command -v hyperfine >/dev/null 2>&1; then
    case $MODE in
        quick) hf_limit=250; hf_runs=1; hf_warm=0 ;;
        default) hf_limit=2000; hf_runs=3; hf_warm=1 ;;
        full) hf_limit=10000; hf_runs=5; hf_warm=1 ;;
    esac
    hf_list=$("$SCNN" backends | awk -v q="$MODE" '$2 == "available" && !(q == "quick" && $1 == "naive") {
        printf "%s%s", s, $1; s = "," }')
    hf_dir=$(mktemp -d "${TMPDIR:-/tmp}/scnn-hyperfine.XXXXXX")
    step "whole commands (hyperfine, $hf_runs run(s) each): scnn train --epochs 1 --limit $hf_limit on $hf_list"
    if hyperfine -N --style basic --runs "$hf_runs" --warmup "$hf_warm" \
        --export-json "$out/commands.json" --export-csv "$out/commands.csv" \
        --parameter-list backend "$hf_list" --prepare "rm -rf $hf_dir/{backend}" \
        "env SCNN_BACKEND={backend} OMP_NUM_THREADS=$T $SCNN train --epochs 1 --iterations 1 --limit $hf_limit --test-limit $hf_limit --augment 0 --no-report --data $DATA --out $hf_dir/{backend}" \
        > "$out/commands.log" 2>&1; then
        awk -F, 'NR > 1 { printf "hyperfine %-8s %.2f s (+- %.2f) for the whole command\n", $NF, $2, $3 }' "$out/commands.csv"
    else
        failed="$failed hyperfine"
        tail -n 3 "$out/commands.log"
    fi
    rm -rf "$hf_dir"
else
    skipped="$skipped hyperfine(not installed: make deps installs it)"
fi

# ---- 5. thread scaling of omp -----------------------------------------------------------------

if "$SCNN" backends 2>/dev/null | awk '$1 == "omp" && $2 == "available" { f = 1 } END { exit !f }'; then
    list=$(awk -v T="$T" 'BEGIN { s = ""; for (t = 1; t < T; t *= 2) s = s t ","; print s T }')
    step "thread scaling of omp: $list"
    sops=$out/ops.csv
    extra=$(echo "$list" | tr ',' '\n' | awk -v T="$T" '$1 != 1 && $1 != T' | tr '\n' ',' | sed 's/,$//')
    if [ -n "$extra" ]; then
        # shellcheck disable=SC2086
        if "$OPS" $opsflags --backends omp --ops conv2 --threads "$extra" --out "$out/.ops-scaling.csv" \
            > "$out/ops-scaling.log" 2>&1; then
            cat "$out/ops.csv" > "$out/.scaling-ops.csv"
            awk -F, '/^#/ || $1 == "backend" { next } { print }' "$out/.ops-scaling.csv" >> "$out/.scaling-ops.csv"
            sops=$out/.scaling-ops.csv
        else
            failed="$failed ops-scaling"
        fi
    fi
    "$E2E" scaling --backend omp --threads "$list" --mode "$MODE" --data "$DATA" \
        --ops-csv "$sops" --out "$out/scaling.csv" || failed="$failed scaling"
    rm -f "$out/.ops-scaling.csv" "$out/.scaling-ops.csv"
else
    skipped="$skipped scaling(omp not available)"
fi

# ---- 6. peak memory of a real training run ------------------------------------------------------

fast=$(awk -F, '/^#/ || $1 == "backend" || $1 == "pytorch" || $20 != 1 { next }
    $3 > best { best = $3; b = $1 } END { print b }' "$out/train.csv" 2>/dev/null)
case $MODE in quick) secs=8 ;; default) secs=300 ;; full) secs=0 ;; esac
if [ -n "$fast" ]; then
    step "peak memory of \`scnn train\` (60,000 originals, 2x augmentation) on $fast$([ "$secs" != 0 ] && echo ", stopped after $secs s")"
    SCNN_BACKEND=$fast OMP_NUM_THREADS=$T "$E2E" fullmem --scnn "$SCNN" --backend "$fast" \
        --seconds "$secs" --data "$DATA" --out "$out/fulltrain.csv" --log "$out/fulltrain.log" ||
        failed="$failed fulltrain"
fi

# ---- 7. plots, summary --------------------------------------------------------------------------

draw "$out" || failed="$failed plots"
{
    say "end: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(( $(date +%s) - start )) s"
    say "load average at end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
    [ -n "$failed" ] && say "failed:$failed"
} >> "$out/machine.txt"
say ""
say "== summary ($out; BENCH=$MODE; $(awk -F': ' '/^cpu:/ { print $2 }' "$out/machine.txt"), $T threads)"
"$E2E" summary "$out" | tee "$out/summary.txt"
grep -q '^WARNING' "$out/machine.txt" && grep '^WARNING' "$out/machine.txt"

if [ -z "${SCNN_BENCH_OUT:-}" ]; then
    ln -sfn "$(basename "$out")" bench/results/latest
    say "== results: $out (bench/results/latest), $(( $(date +%s) - start )) s"
else
    say "== results: $out, $(( $(date +%s) - start )) s"
fi
[ -n "$skipped" ] && say "skipped:$skipped"
if [ -n "$failed" ]; then
    say "bench: FAILED:$failed (see the logs in $out)" >&2
    exit 1
fi
exit 0
