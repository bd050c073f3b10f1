#!/usr/bin/env bash
# Throughput of harrier-sources: EVTX → ECS against the evtx crate's own JSON
# rendering, and ECS NDJSON reading against plain serde_json parsing, on one
# core (taskset -c 0) and on all cores. NDJSON is also read the way hunt
# reads it (ndjson-flat: only the bundled rules' fields, into slots), against
# sonic-rs lazy lookup of the same fields (ndjson-sonic), and EVTX the way
# hunt reads it (evtx-flat: records mapped without a serde_json map, the
# bundled rules' fields read in place).
#
#   bench/sources.sh [EVTX_REPEAT] [NDJSON_EVENTS]
#
# Needs ../shared beside the repository. Generated data goes to a temp dir.
# Each line also gives the CPU time the run used (user, sys): on a shared
# machine wall-clock rates move with the load, CPU per record much less.
# With BENCH_CALLGRIND=1 (and valgrind installed) the EVTX modes are also run
# once under callgrind, on one core, for instructions per record, which do
# not move with the load at all.
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
  run evtx $cores evtx-flat "$repeat" "$samples"
done
if [ "${BENCH_CALLGRIND:-0}" = 1 ] && command -v valgrind >/dev/null; then
  for mode in evtx-json evtx-harrier evtx-flat; do
    out=$(taskset -c 0 valgrind --tool=callgrind --dump-instr=no --callgrind-out-file=/dev/null \
      "$bin" "$mode" 1 "$samples" 2>&1)
    records=$(printf '%s\n' "$out" | sed -n 's/.*"records":\([0-9]*\).*/\1/p')
    instr=$(printf '%s\n' "$out" | sed -n 's/.*Collected : \([0-9,]*\).*/\1/p' | tr -d ,)
    if [ -n "$records" ] && [ -n "$instr" ] && [ "$records" -gt 0 ]; then
      printf '%-10s callgrind %-13s %d records, %d instructions, %d per record\n' \
        evtx "$mode" "$records" "$instr" $((instr / records))
    fi
  done
fi
for cores in 1 all; do
  run ndjson $cores ndjson-serde 3 "$tmp/ecs.ndjson"
  run ndjson $cores ndjson-harrier 3 "$tmp/ecs.ndjson"
  run ndjson $cores ndjson-flat 3 "$tmp/ecs.ndjson"
  if [ "$cores" = 1 ]; then
    # one worker reads without the parallel reader, so without FlatDoc (as
    # hunt does on one core); two workers on the one core measure FlatDoc
    THROUGHPUT_THREADS=2 run ndjson-2w $cores ndjson-flat 3 "$tmp/ecs.ndjson"
  fi
  run ndjson $cores ndjson-sonic 3 "$tmp/ecs.ndjson"
done
