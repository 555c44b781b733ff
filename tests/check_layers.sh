#!/bin/sh
# The house's one-way data flow, checked on the objects: core <- datasets, kernels <- model <-
# report, bench <- tools (the CLI). An object may refer only to symbols defined on its own floor or a lower
# one; datasets and kernels share a rank but not a floor, so neither may use the other. Two
# objects of the library that refer to each other (a circle between files) fail too.
# Usage: sh tests/check_layers.sh BUILD_DIR [SOURCE_ROOT]   (exit 0: clean; 1: the bad edges)
# With SOURCE_ROOT, objects whose source file is gone (stale, after a move) are left out.
build=${1:?usage: check_layers.sh BUILD_DIR [SOURCE_ROOT]}
src=${2:-}
[ -z "$src" ] || src=$(cd "$src" && pwd) || exit 2
[ -d "$build" ] || { echo "check-layers: $build: no such folder (build first)" >&2; exit 2; }
cd "$build" || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

# rank of each floor; an object's floor is its first path component
ranks='core 0
datasets 1
kernels 1
model 2
report 3
bench 3
tools 4'
echo "$ranks" > "$tmp/ranks"

objs=$(find core datasets kernels model report bench tools -name '*.o' 2>/dev/null | sort |
  while read -r o; do
    b=${o%.o}
    if [ -z "$src" ] || [ -e "$src/$b.c" ] || [ -e "$src/$b.cc" ] || [ -e "$src/$b.cpp" ]; then
      echo "$o"
    fi
  done)
[ -n "$objs" ] || { echo "check-layers: no objects under $build" >&2; exit 2; }
# defs: SYMBOL OBJECT; refs: OBJECT SYMBOL
for o in $objs; do
  nm --defined-only -g "$o" 2>/dev/null | awk -v o="$o" 'NF >= 3 && $2 != "U" { print $3, o }'
done > "$tmp/defs"
for o in $objs; do
  nm -u "$o" 2>/dev/null | awk -v o="$o" '{ print o, $NF }'
done > "$tmp/refs"

awk -v R="$tmp/ranks" -v D="$tmp/defs" '
  function floor_of(p) { sub(/\/.*/, "", p); return p }
  BEGIN {
    while ((getline l < R) > 0) { split(l, a, " "); rank[a[1]] = a[2] }
    while ((getline l < D) > 0) { split(l, a, " "); if (!(a[1] in def)) def[a[1]] = a[2] }
  }
  {
    o = $1; s = $2
    if (!(s in def)) next                       # libc, libpng, ...: outside the house
    t = def[s]; fo = floor_of(o); ft = floor_of(t)
    if (t == o) next
    if (fo != ft && (rank[ft] > rank[fo] || rank[ft] == rank[fo])) {
      printf "back edge: %s (%s) refers to %s, defined in %s (%s)\n", o, fo, s, t, ft
      bad = 1
    }
    uses[o SUBSEP t] = s
  }
  END {
    for (k in uses) {
      split(k, a, SUBSEP)
      if (a[1] < a[2] && ((a[2] SUBSEP a[1]) in uses)) {
        printf "circle: %s refers to %s (%s) and %s refers back (%s)\n", a[1], a[2], uses[k], \
               a[2], uses[a[2] SUBSEP a[1]]
        bad = 1
      }
    }
    exit bad
  }' "$tmp/refs" > "$tmp/out"
rc=$?
if [ $rc -ne 0 ]; then
  sort "$tmp/out"
  echo "check-layers: $(wc -l < "$tmp/out") bad edge(s); data flows core <- datasets, kernels <- model <- report, bench <- tools"
  exit 1
fi
echo "check-layers: ok ($(echo "$objs" | wc -l) objects, no back edge, no circle between files)"
