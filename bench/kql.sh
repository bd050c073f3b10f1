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
# Memory: `harrier kql` converts rows to Arrow columns as it reads them (8,192 at a
# time), so 10 million rows take about 6.9 GB resident (4.6 GB of NDJSON), not the 5 KB
# per row a JSON map per row took. The end-to-end time is the loader's: one thread reads
# and maps the NDJSON onto Defender rows; the queries themselves take seconds.
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
