#!/bin/sh
# tools/ship_models.sh RUN [DEST]: turns a finished training run into the shipped models folder
# models/<dataset>/ (DEST, default models/<the run's data set>): per model the kept checkpoint
# as weights-only (scnn export), history.csv and result.txt; the run's summary.json and run.conf;
# report/ written afresh for DEST (report.md, the plots and the CSVs, without the plot data); a
# PROVENANCE file (revision, backend, threads, host kind, command, times); then models/MANIFEST
# regenerated (make models-manifest). PLACEHOLDER="why" labels the models as a placeholder;
# COMMAND, TRAIN_START and TRAIN_END (optional) are recorded as given. A folder models/X-seed is
# reported against models/X (COMPARE=DIR: another folder; COMPARE= none).
# A run still going (no summary.json yet) ships the models it has finished, labelled partial in
# PROVENANCE: a long run's unit of work is one finished model, committed the moment it is done.
# Run from the repository root, after make.
set -eu
RUN=${1:?usage: tools/ship_models.sh RUN [DEST]}
BIN=${SCNN_BIN:-build/scnn}
[ -f "$RUN/run.conf" ] || { echo "ship_models: $RUN/run.conf: not a run folder" >&2; exit 1; }
conf() {    # conf NAME: a value of run.conf
    sed -n "s/^$1=//p" "$RUN/run.conf" | head -n 1
}
finished=0
for it in "$RUN"/iter-*; do
    [ -f "$it/result.txt" ] && finished=$((finished + 1))
done
[ "$finished" -gt 0 ] || { echo "ship_models: $RUN: no finished model yet (no iter-*/result.txt)" >&2; exit 1; }
partial=
if [ -f "$RUN/summary.json" ]; then
    field() {   # field NAME: a string or number of summary.json's top level
        sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$RUN/summary.json" | head -n 1
    }
else
    partial="$finished of $(conf iterations) models finished; the run goes on and the next ship replaces this folder"
    field() {   # the same facts for an unfinished run: run.conf, and the checkpoints' own record
        # (the revision is the checkpoint header's "REV@sha256" string, docs/checkpoint-format.md;
        # the thread count is recorded only in summary.json: THREADS says it, or it is unknown)
        case $1 in
        git_rev) for c in "$RUN"/iter-*/best.ckpt; do
                     grep -a -o -m 1 '[0-9a-z-]*@[0-9a-f]\{64\}' "$c" | head -n 1 | cut -d @ -f 1
                     break
                 done ;;
        threads) echo "${THREADS:-unrecorded until the run finishes}" ;;
        *) conf "$1" ;;
        esac
    }
fi
dataset=$(field dataset)
DEST=${2:-models/$dataset}
DEST=${DEST%/}
rm -rf "$DEST.tmp"
mkdir -p "$DEST.tmp"
for it in "$RUN"/iter-*; do
    [ -f "$it/result.txt" ] || continue   # still training
    k=$(basename "$it")
    mkdir -p "$DEST.tmp/$k"
    "$BIN" export "$it/best.ckpt" "$DEST.tmp/$k/best.ckpt"
    cp "$it/history.csv" "$it/result.txt" "$DEST.tmp/$k/"
    cp "$it/test_probs.f32" "$DEST.tmp/$k/"   # for the report only
done
cp "$RUN/run.conf" "$DEST.tmp/"
[ -z "$partial" ] && cp "$RUN/summary.json" "$DEST.tmp/"
# The report names its run folder: write it where it will be.
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
# A seed-protocol folder is reported beside its clean twin (models/X-seed beside models/X),
# when that is shipped: the report's "Compared with" table and the curves' black lines.
# COMPARE=DIR names another folder, COMPARE= none. (Re-shipping models/X leaves models/X-seed's
# comparison as it was: its test probabilities are not kept; ship the seed run again.)
twin=
case $DEST in *-seed) [ -f "${DEST%-seed}/run.conf" ] && twin=${DEST%-seed} ;; esac
COMPARE=${COMPARE-$twin}
"$BIN" report "$DEST" ${COMPARE:+--compare "$COMPARE"} > /dev/null
rm -f "$DEST"/iter-*/test_probs.f32 "$DEST"/report/*.dat "$DEST"/report/*.gp

host=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
cores=$(nproc)
isa=$(grep -o -w -m 1 -E 'avx512f' /proc/cpuinfo | head -n 1)
{
    echo "# Where the models in this folder come from (tools/ship_models.sh)."
    if [ -n "${PLACEHOLDER:-}" ]; then
        echo "placeholder: yes - $PLACEHOLDER"
    elif [ -n "$partial" ]; then
        echo "placeholder: no"
        echo "partial: yes - $partial"
    else
        echo "placeholder: no"
    fi
    echo "revision: $(field git_rev) (the scnn that trained them)"
    echo "backend: $(field backend)"
    echo "threads: $(field threads)"
    echo "host: $host, $cores cores${isa:+, AVX-512}"
    echo "options: run.conf (every scnn train option of the run)"
    [ -n "${COMMAND:-}" ] && echo "command: $COMMAND"
    [ -n "${TRAIN_START:-}" ] && echo "trained: $TRAIN_START to ${TRAIN_END:-?}"
    echo "shipped: $(date -u +%Y-%m-%dT%H:%M:%SZ) by $("$BIN" --version)"
} > "$DEST/PROVENANCE"
make --no-print-directory models-manifest
case $DEST in models/*) sh tools/readme_models.sh ;; esac   # README's generated models section
