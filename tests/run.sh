#!/bin/sh
# Runs each test binary under `timeout` and prints one closing line: "N passed, N failed".
# A binary counts as one test file; cmocka prints the individual tests above.
# Timeouts scale up under the sanitizers (SANITIZE=1).
limit=${TEST_TIMEOUT:-240}
[ "${SANITIZE:-0}" = 1 ] && limit=${TEST_TIMEOUT:-600}
pass=0; fail=0; failed=""
for t in "$@"; do
  name=$(basename "$t")
  start=$(date +%s)
  timeout --signal=KILL "$limit" "$t"
  rc=$?
  secs=$(( $(date +%s) - start ))
  if [ $rc -eq 0 ]; then
    pass=$((pass + 1)); echo "# $name: ok (${secs}s)"
  else
    fail=$((fail + 1)); failed="$failed $name"
    [ $rc -eq 137 ] && echo "# $name: TIMED OUT after ${limit}s" || echo "# $name: FAILED (exit $rc, ${secs}s)"
  fi
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
