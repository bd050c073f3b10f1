#!/usr/bin/env bash
# KQL throughput: a filter query and a `summarize ... by` query over generated
# DeviceNetworkEvents rows through `harrier kql` (DataFusion), side by side with DuckDB
# running the equivalent SQL on the same file.
#
# usage: bench/kql.sh [ROWS]     (default 10000000; HARRIER=path skips the release build)
# Writes its data under ${TMPDIR:-/tmp}/harrier-bench, never into the repo.
#
# Both engines are timed end to end (read the NDJSON, build the table, run the query)
# and, for DuckDB, also the query alone over its loaded in-memory table. Rows/s is ROWS
# divided by the wall time.
#
# Loading: `harrier kql` reads plain NDJSON on every core. Worker threads parse blocks of
# lines and map each event onto its Defender table's column types; the main thread appends
# the rows in file order and turns every 8,192 of them into Arrow columns. Only the Defender
# tables the query names are filled (all six for `union`, `search`, `find`). The end-to-end
# time is still the loader's (JSON parsing and mapping, about 19 us of CPU per row); the
# queries themselves take seconds at 10 million rows.
#
# Memory: about 0.8 GB resident per million rows (462 MB of NDJSON), so 10 million rows
# need about 7-8 GB; the Arrow columns are not yet the fraction of the input they could be.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000000}
work=${TMPDIR:-/tmp}/harrier-bench
mkdir -p "$work"
data=$work/device_network_events_$n.ndjson
[ -s "$data" ] || python3 bench/gen_device_network_events.py --rows "$n" --out "$data"
python3 -c "import duckdb" 2>/dev/null || pip install -q duckdb
if [ -n "${HARRIER:-}" ]; then
  bin=$HARRIER   # a harrier binary already built
else
  cargo build --release -q -p harrier-cli
  bin=${CARGO_TARGET_DIR:-target}/release/harrier
fi
echo "input: $n DeviceNetworkEvents rows, $(du -m "$data" | cut -f1) MB ($data)"

filter_kql='DeviceNetworkEvents
| where InitiatingProcessFileName =~ "mshta.exe"
| where RemoteIPType == "Public" or not(ipv4_is_private(RemoteIP))
| project Timestamp, DeviceName, InitiatingProcessCommandLine, RemoteIP, RemotePort
| count'
summarize_kql='DeviceNetworkEvents
| summarize Connections = count(), Devices = dcount(DeviceName) by InitiatingProcessFileName, RemotePort
| count'
filter_sql="SELECT count(*) FROM (SELECT Timestamp, DeviceName, InitiatingProcessCommandLine, RemoteIP, RemotePort
  FROM t WHERE lower(InitiatingProcessFileName) = 'mshta.exe'
  AND (RemoteIPType = 'Public' OR NOT (RemoteIP LIKE '10.%' OR RemoteIP LIKE '192.168.%'
       OR regexp_matches(RemoteIP, '^172\.(1[6-9]|2[0-9]|3[01])\.'))))"
summarize_sql="SELECT count(*) FROM (SELECT InitiatingProcessFileName, RemotePort, count(*) AS Connections,
  count(DISTINCT DeviceName) AS Devices FROM t GROUP BY InitiatingProcessFileName, RemotePort)"

rate() { python3 -c "print(f'{$n/$1:,.0f}')"; }
harrier_run() {  # label, query
  local t out
  out=$(mktemp)
  t=$( { /usr/bin/time -f '%e %M' "$bin" kql --format csv "$2" "$data" >"$out"; } 2>&1 | tail -1)
  local secs=${t% *} rss=${t#* }
  echo "harrier kql  $1: ${secs} s end to end, $(rate "$secs") rows/s, $((rss / 1024)) MB max RSS, result $(tail -1 "$out")"
  rm -f "$out"
}
harrier_run filter "$filter_kql"
harrier_run summarize "$summarize_kql"

python3 - "$data" "$n" "$filter_sql" "$summarize_sql" <<'PY'
import sys, time, duckdb
data, n, fsql, ssql = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
for label, sql in (("filter", fsql), ("summarize", ssql)):
    con = duckdb.connect()
    t0 = time.perf_counter()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_ndjson('{data}')")
    t1 = time.perf_counter()
    res = con.execute(sql).fetchone()[0]
    t2 = time.perf_counter()
    e2e, q = t2 - t0, t2 - t1
    print(f"duckdb {duckdb.__version__} {label}: {e2e:.2f} s end to end, {n / e2e:,.0f} rows/s; "
          f"query alone {q:.3f} s, {n / q:,.0f} rows/s; result {res}")
    con.close()
PY
