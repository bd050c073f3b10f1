#!/usr/bin/env bash
# End-to-end hunt throughput on generated ECS NDJSON, side by side with the
# Python `eql` package running the same sequence rule, then on the shared
# EVTX recordings.
#
# usage: bench/hunt.sh [EVENTS]     (default 1000000; needs ../shared)
# Writes its data under ${TMPDIR:-/tmp}/harrier-bench, never into the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
shared=../shared
[ -d "$shared" ] || { echo "bench/hunt.sh needs ../shared (gen-ecs-events.py, the Elastic rules)"; exit 1; }
work=${TMPDIR:-/tmp}/harrier-bench
mkdir -p "$work"
data=$work/ecs_$n.ndjson
[ -s "$data" ] || python3 "$shared/tools/gen-ecs-events.py" --events "$n" --seed 42 --out "$data" >/dev/null
python3 -c "import eql" 2>/dev/null || pip install -q eql==1.0.1
cargo build --release -q -p harrier-cli
bin=target/release/harrier
size=$(du -m "$data" | cut -f1)
echo "input: $n events, ${size} MB ($data)"

run() {  # label, then harrier arguments
  local label=$1; shift
  local out
  out=$( { /usr/bin/time -f '%e s wall, %M KB max RSS' "$bin" "$@" --quiet --format csv >/dev/null; } 2>&1 | tail -1)
  echo "$label: $out"
}
secs() { /usr/bin/time -f '%e' "$@" 2>&1 >/dev/null | tail -1; }

t=$(secs "$bin" hunt "$data" --quiet --format csv)
echo "harrier hunt, built-in pack: $t s, $(python3 -c "print(f'{$n/$t:,.0f}')") events/s"
run "  memory" hunt "$data"
# All of Elastic's EQL rules over the same file: every generated event is a
# candidate of some broad rule, so this measures evaluation more than reading.
rules_dir="$shared/corpora/elastic-detection-rules"
t=$(secs "$bin" hunt "$data" --rules "$rules_dir" --quiet --format csv)
echo "harrier hunt, all Elastic EQL rules: $t s, $(python3 -c "print(f'{$n/$t:,.0f}')") events/s"
run "  memory" hunt "$data" --rules "$rules_dir"
t=$(secs "$bin" rules list "$shared/corpora/elastic-detection-rules")
echo "loading the Elastic rule tree (rules list): $t s"
# the same sequence rule through both engines (the pack's rule without
# exclusions: eql has no multi-valued fields, so `not process.args : "..."`
# never holds for it on ECS data and the excluding rule finds nothing there)
rule=rules/defense_evasion_network_connection_via_mshta.toml
t=$(secs "$bin" hunt "$data" --rules "$rule" --quiet --format csv)
echo "harrier hunt, one sequence rule: $t s, $(python3 -c "print(f'{$n/$t:,.0f}')") events/s, $("$bin" hunt "$data" --rules "$rule" --quiet --format csv | tail -n +2 | wc -l) sequences"
python3 bench/python_eql.py "$rule" "$data"

# EVTX: the shared recordings (939 files), with the pack and with every rule.
# Records/s here include start-up (loading the rule tree is about half of
# the all-rules run on these 18,000 records).
evtx="$shared/datasets/evtx"
records=$("$bin" hunt "$evtx" --format table 2>/dev/null | awk '$1 == "events" {print $2}')
t=$(secs "$bin" hunt "$evtx" --quiet --format csv)
echo "harrier hunt EVTX ($records records), built-in pack: $t s, $(python3 -c "print(f'{$records/$t:,.0f}')") records/s"
t=$(secs "$bin" hunt "$evtx" --rules "$rules_dir" --quiet --format csv)
echo "harrier hunt EVTX ($records records), all Elastic EQL rules: $t s, $(python3 -c "print(f'{$records/$t:,.0f}')") records/s"
