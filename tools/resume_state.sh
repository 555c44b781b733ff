#!/bin/sh
# tools/resume_state.sh save RUN DIR | restore DIR RUN
#
# Carries a long training run across machines that keep nothing but the repository (our
# sessions: a fresh checkout each time, /var/tmp and the run folders gone).
#
#   save RUN DIR     copies what `scnn train --resume RUN` needs of the iterations still
#                    training into DIR (commit DIR): run.conf, and per unfinished iteration its
#                    state.txt, the slot checkpoint state.txt names (its sha256 is checked on
#                    resume), best.ckpt and history.csv. Finished iterations are not copied:
#                    tools/ship_models.sh has shipped them.
#   restore DIR RUN  rebuilds the run folder RUN: the finished iterations from the shipped models
#                    models/<dataset>/iter-k (history.csv, result.txt, and test_probs.f32 made
#                    again by `scnn eval --probs`, the same bits on the run's backend), the
#                    unfinished ones from DIR. Then `scnn train --resume RUN` continues.
#
# Run from the repository root, after make. SCNN_BIN: the program (build/scnn); SHIPPED: the
# shipped models folder (models/<dataset>).
set -eu
BIN=${SCNN_BIN:-build/scnn}
mode=${1:-}
case $mode in
save)
    RUN=${2:?usage: tools/resume_state.sh save RUN DIR}; DIR=${3:?usage: tools/resume_state.sh save RUN DIR}
    [ -f "$RUN/run.conf" ] || { echo "resume_state: $RUN/run.conf: not a run folder" >&2; exit 1; }
    rm -rf "$DIR.tmp"
    mkdir -p "$DIR.tmp"
    cp "$RUN/run.conf" "$DIR.tmp/"
    n=0
    for it in "$RUN"/iter-*; do
        [ -f "$it/state.txt" ] && [ ! -f "$it/result.txt" ] || continue
        k=$(basename "$it")
        slot=$(sed -n 's/^slot //p' "$it/state.txt")
        mkdir -p "$DIR.tmp/$k"
        cp "$it/state.txt" "$it/slot-$slot.ckpt" "$it/history.csv" "$DIR.tmp/$k/"
        [ -f "$it/best.ckpt" ] && cp "$it/best.ckpt" "$DIR.tmp/$k/"
        echo "resume_state: $k after epoch $(sed -n 's/^epoch //p' "$it/state.txt")"
        n=$((n + 1))
    done
    rm -rf "$DIR"
    mv "$DIR.tmp" "$DIR"
    echo "resume_state: $n unfinished iteration(s) of $RUN saved in $DIR"
    ;;
restore)
    DIR=${2:?usage: tools/resume_state.sh restore DIR RUN}; RUN=${3:?usage: tools/resume_state.sh restore DIR RUN}
    [ -f "$DIR/run.conf" ] || { echo "resume_state: $DIR/run.conf: nothing saved there" >&2; exit 1; }
    [ -e "$RUN" ] && { echo "resume_state: $RUN exists: restore builds a new run folder" >&2; exit 1; }
    dataset=$(sed -n 's/^dataset=//p' "$DIR/run.conf")
    backend=$(sed -n 's/^backend=//p' "$DIR/run.conf")
    shipped=${SHIPPED:-models/$dataset}
    data_dir=$(sed -n 's/^data_dir=//p' "$DIR/run.conf")
    test_limit=$(sed -n 's/^test_limit=//p' "$DIR/run.conf")
    [ "$test_limit" = 0 ] && test_limit=
    mkdir -p "$RUN"
    # run.conf names its folder in its first line (a comment); the options are what count
    sed "1s#--resume .*' continues#--resume $RUN' continues#" "$DIR/run.conf" > "$RUN/run.conf"
    for it in "$shipped"/iter-*; do
        [ -f "$it/result.txt" ] || continue
        k=$(basename "$it")
        mkdir -p "$RUN/$k"
        cp "$it/best.ckpt" "$it/history.csv" "$it/result.txt" "$RUN/$k/"
        SCNN_BACKEND=$backend "$BIN" eval --model "$it/best.ckpt" --dataset "$dataset" \
            ${data_dir:+--data "$data_dir"} ${test_limit:+--test-limit "$test_limit"} \
            --probs "$RUN/$k/test_probs.f32" > /dev/null
        echo "resume_state: $k finished (from $shipped)"
    done
    for it in "$DIR"/iter-*; do
        [ -d "$it" ] || continue
        k=$(basename "$it")
        [ -e "$RUN/$k" ] && { echo "resume_state: $k is both shipped and saved: which is it?" >&2; exit 1; }
        cp -r "$it" "$RUN/$k"
        echo "resume_state: $k resumes after epoch $(sed -n 's/^epoch //p' "$it/state.txt")"
    done
    echo "resume_state: continue with: $BIN train --resume $RUN"
    ;;
*)
    echo "usage: tools/resume_state.sh save RUN DIR | restore DIR RUN" >&2
    exit 2
    ;;
esac
