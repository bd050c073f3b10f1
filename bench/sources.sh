#!/usr/bin/env bash
# Throughput of harrier-sources: EVTX → ECS against the evtx crate's own JSON
# rendering, and ECS NDJSON reading against plain serde_json parsing, on one
# core (taskset -c 0) and on all cores.
#
#   bench/sources.sh [EVTX_REPEAT] [NDJSON_EVENTS]
#
# Needs ../shared beside the repository. Generated data goes to a temp dir.
# Each line also gives the CPU time the run used (user, sys): on a shared
# machine wall-clock rates move with the load, CPU per record much less.
set -euo pipefail
cd "$(dirname "$0")/.."
repeat=${1:-5}
events=${2:-300000}
shared=../shared
samples="$shared/datasets/evtx/attack-samples"
if [ ! -d "$samples" ]; then
  echo "skipping: $samples not found" >&2
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cargo build --release -q -p harrier-sources --example throughput
bin=${CARGO_TARGET_DIR:-target}/release/examples/throughput

python3 "$shared/tools/gen-ecs-events.py" --events "$events" --seed 42 --out "$tmp/ecs.ndjson" 2>/dev/null
echo "inputs: $samples ($(du -sh "$samples" | cut -f1)) x$repeat; $(wc -l < "$tmp/ecs.ndjson") NDJSON events ($(du -h "$tmp/ecs.ndjson" | cut -f1))"

TIMEFORMAT='           cpu: user %U s, sys %S s'
run() { # label, cores, mode, repeat, paths...
  local label=$1 cores=$2; shift 2
  if [ "$cores" = 1 ]; then
    printf '%-10s 1 core   ' "$label"; time taskset -c 0 "$bin" "$@"
  else
    printf '%-10s %s cores  ' "$label" "$(nproc)"; time "$bin" "$@"
  fi
}
for cores in 1 all; do
  run evtx $cores evtx-json "$repeat" "$samples"
  run evtx $cores evtx-harrier "$repeat" "$samples"
done
for cores in 1 all; do
  run ndjson $cores ndjson-serde 3 "$tmp/ecs.ndjson"
  run ndjson $cores ndjson-harrier 3 "$tmp/ecs.ndjson"
done
