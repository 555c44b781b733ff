#!/bin/sh
# tools/ship_models.sh RUN [DEST]: turns a finished training run into the shipped models folder
# models/<dataset>/ (DEST, default models/<the run's data set>): per model the kept checkpoint
# as weights-only (scnn export), history.csv and result.txt; the run's summary.json and run.conf;
# report/ written afresh for DEST (report.md, the plots and the CSVs, without the plot data); a
# PROVENANCE file (revision, backend, threads, host kind, command, times); then models/MANIFEST
# regenerated (make models-manifest). PLACEHOLDER="why" labels the models as a placeholder;
# COMMAND, TRAIN_START and TRAIN_END (optional) are recorded as given.
# Run from the repository root, after make.
set -eu
RUN=${1:?usage: tools/ship_models.sh RUN [DEST]}
BIN=${SCNN_BIN:-build/scnn}
[ -f "$RUN/summary.json" ] || { echo "ship_models: $RUN/summary.json: not a finished run" >&2; exit 1; }
field() {   # field NAME: a string or number of summary.json's top level
    sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$RUN/summary.json" | head -n 1
}
dataset=$(field dataset)
DEST=${2:-models/$dataset}
rm -rf "$DEST.tmp"
mkdir -p "$DEST.tmp"
for it in "$RUN"/iter-*; do
    k=$(basename "$it")
    mkdir -p "$DEST.tmp/$k"
    "$BIN" export "$it/best.ckpt" "$DEST.tmp/$k/best.ckpt"
    cp "$it/history.csv" "$it/result.txt" "$DEST.tmp/$k/"
    cp "$it/test_probs.f32" "$DEST.tmp/$k/"   # for the report only
done
cp "$RUN/summary.json" "$RUN/run.conf" "$DEST.tmp/"
# The report names its run folder: write it where it will be.
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
"$BIN" report "$DEST" > /dev/null
rm -f "$DEST"/iter-*/test_probs.f32 "$DEST"/report/*.dat "$DEST"/report/*.gp

host=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
cores=$(nproc)
isa=$(grep -o -w -m 1 -E 'avx512f' /proc/cpuinfo | head -n 1)
{
    echo "# Where the models in this folder come from (tools/ship_models.sh)."
    if [ -n "${PLACEHOLDER:-}" ]; then
        echo "placeholder: yes - $PLACEHOLDER"
    else
        echo "placeholder: no"
    fi
    echo "revision: $(field git_rev) (the scnn that trained them; summary.json)"
    echo "backend: $(field backend)"
    echo "threads: $(field threads)"
    echo "host: $host, $cores cores${isa:+, AVX-512}"
    echo "options: run.conf (every scnn train option of the run)"
    [ -n "${COMMAND:-}" ] && echo "command: $COMMAND"
    [ -n "${TRAIN_START:-}" ] && echo "trained: $TRAIN_START to ${TRAIN_END:-?}"
    echo "shipped: $(date -u +%Y-%m-%dT%H:%M:%SZ) by $("$BIN" --version)"
} > "$DEST/PROVENANCE"
make --no-print-directory models-manifest
