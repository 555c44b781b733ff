#!/bin/sh
# make bench: for now, a short seeded training run on each available backend with its
# throughput (the full harness with peers and plots is issue #4).
set -e
BIN=${SCNN_BIN:-./scnn}
LIMIT=${BENCH_LIMIT:-3000}
out=bench/results/$(date +%Y%m%d-%H%M%S)-$(hostname)
mkdir -p "$out"
echo "== machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "== revision: $($BIN --version)"
$BIN backends
for b in $($BIN backends | awk '$2 == "available" {print $1}'); do
  echo "== backend $b: 1 epoch on $LIMIT originals, batch 250, seed 1"
  SCNN_BACKEND=$b $BIN train --epochs 1 --limit "$LIMIT" --test-limit 2000 --seed 1 \
    --out "$out/train-$b" | tee "$out/train-$b.log"
done
echo "== results in $out"
