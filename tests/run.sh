#!/bin/sh
# Runs each test binary under `timeout` and prints one closing line: "N passed, N failed".
# A binary counts as one test file; cmocka prints the individual tests above.
# Timeouts scale up under the sanitizers (SANITIZE=1).
#
# The binaries run TEST_JOBS at a time (default: the cores), each one's output printed whole
# when it ends, in the order they end, the longest (FIRST) started first; the tests that measure
# (ALONE) run after, one at a time, on a quiet machine. In the parallel part OpenMP waits
# passively: two 2-thread tests on 2 cores would otherwise spin against each other.
limit=${TEST_TIMEOUT:-240}
[ "${SANITIZE:-0}" = 1 ] && limit=${TEST_TIMEOUT:-600}
ALONE="test_bench_harness test_bench_ops"
FIRST="test_mpi test_backends test_training_parity test_resume test_models"   # the longest, started first

if [ "$1" = --one ]; then   # run.sh --one DIR BINARY [wait-policy]: one test, its log and status
  dir=$2; t=$3; name=$(basename "$t")
  start=$(date +%s)
  if [ -n "$4" ]; then
    OMP_WAIT_POLICY=$4 timeout --signal=KILL "$limit" "$t" > "$dir/$name.log" 2>&1
  else
    timeout --signal=KILL "$limit" "$t" > "$dir/$name.log" 2>&1
  fi
  rc=$?
  secs=$(( $(date +%s) - start ))
  if [ $rc -eq 0 ]; then line="# $name: ok (${secs}s)"
  elif [ $rc -eq 137 ]; then line="# $name: TIMED OUT after ${limit}s"
  else line="# $name: FAILED (exit $rc, ${secs}s)"; fi
  echo "$rc" > "$dir/$name.rc"
  # whole, never interleaved with another test's (flock: util-linux, on every Debian)
  if command -v flock > /dev/null; then
    flock "$dir/.print" sh -c 'cat "$1"; echo "$2"' sh "$dir/$name.log" "$line"
  else
    cat "$dir/$name.log"; echo "$line"
  fi
  exit 0
fi

jobs=${TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
dir=$(mktemp -d "${TMPDIR:-/tmp}/scnn-tests.XXXXXX") || exit 2
trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
first=""; together=""; apart=""
for t in "$@"; do
  case " $ALONE " in *" $(basename "$t") "*) apart="$apart $t"; continue ;; esac
  case " $FIRST " in *" $(basename "$t") "*) first="$first $t" ;; *) together="$together $t" ;; esac
done
together="$first$together"
# shellcheck disable=SC2086
[ -n "$together" ] && printf '%s\n' $together | xargs -P "$jobs" -I{} sh "$0" --one "$dir" {} passive
for t in $apart; do sh "$0" --one "$dir" "$t"; done

pass=0; fail=0; failed=""
for t in "$@"; do
  name=$(basename "$t")
  if [ "$(cat "$dir/$name.rc" 2>/dev/null)" = 0 ]; then pass=$((pass + 1))
  else fail=$((fail + 1)); failed="$failed $name"; fi
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
