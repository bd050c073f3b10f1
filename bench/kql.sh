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
# divided by the wall time. Each line also gives user CPU seconds, max RSS and the load
# average, since the machine may be shared: compare CPU time when the load is high.
#
# Loading: `harrier kql` reads plain NDJSON on every core and fills only the Defender
# tables the query names, and of those only the columns it can read: for a query that
# narrows its columns (`project`, `summarize`, `count`, `distinct` after only `where`,
# `extend`, `take`, `sort`, `top`) that is the columns it names; otherwise all of them.
# Worker threads parse each line keeping only those columns and the few fields that say
# which table a row belongs to; a line that is not a flat Defender row (ECS, other
# shapes) is parsed whole, as before. The main thread appends the typed rows in file
# order and turns every 8,192 of them into Arrow columns.
#
# Figures (2-core machine shared with another engineer's builds; load average 5-6 at
# 10M rows, 1-3 at 1M; DuckDB 2.0.1):
#
#   10M rows (4.6 GB)   end to end          user CPU   max RSS
#   harrier filter      68.6 s, 145,800/s   62.8 s     2.1 GB
#   harrier summarize   33.2 s, 301,000/s   42.8 s     0.8 GB
#   duckdb filter       14.7 s, 682,300/s   11.1 s     2.8 GB
#   duckdb summarize    13.8 s, 723,100/s   11.7 s     2.8 GB
#   before this loader (every column, each line parsed whole; load 4-6.5):
#   harrier filter     239.4 s,  41,800/s  110.6 s     6.7 GB
#   harrier summarize  212.7 s,  47,000/s  111.1 s     6.7 GB
#
#   1M rows             before (all columns, whole-line parse)   now
#   harrier filter      12.3 s, 10.6 s CPU, 794 MB               6.2 s, 6.1 s CPU, 261 MB
#   harrier summarize   11.8 s, 10.4 s CPU, 789 MB               4.4 s, 4.6 s CPU, 119 MB
#
# Harrier's time is mostly the loader's: about 4-6 us of CPU a row for the projected
# parse, the mapping onto the Defender row and its typed values (the filter loads seven
# columns, among them the command lines and the timestamps; the summarize three).
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
  t=$( { /usr/bin/time -f '%e %U %M' "$bin" kql --format csv "$2" "$data" >"$out"; } 2>&1 | tail -1)
  local secs rss user
  read -r secs user rss <<<"$t"
  echo "harrier kql  $1: ${secs} s end to end, $(rate "$secs") rows/s, ${user} s user CPU," \
    "$((rss / 1024)) MB max RSS, result $(tail -1 "$out"); load $(cut -d' ' -f1-3 /proc/loadavg)"
  rm -f "$out"
}
harrier_run filter "$filter_kql"
harrier_run summarize "$summarize_kql"

duckdb_run() {  # label, sql: one process per query, so max RSS is that query's
  local t res
  res=$(mktemp)
  t=$( { /usr/bin/time -f '%e %U %M' python3 - "$data" "$n" "$1" "$2" >"$res" <<'PY'
import sys, time, duckdb
data, n, label, sql = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
con = duckdb.connect()
t0 = time.perf_counter()
con.execute(f"CREATE TABLE t AS SELECT * FROM read_ndjson('{data}')")
t1 = time.perf_counter()
res = con.execute(sql).fetchone()[0]
t2 = time.perf_counter()
e2e, q = t2 - t0, t2 - t1
print(f"duckdb {duckdb.__version__} {label}: {e2e:.2f} s end to end, {n / e2e:,.0f} rows/s; "
      f"query alone {q:.3f} s, {n / q:,.0f} rows/s; result {res}")
PY
  } 2>&1 | tail -1)
  local secs rss user
  read -r secs user rss <<<"$t"
  echo "$(cat "$res"); process ${secs} s, ${user} s user CPU, $((rss / 1024)) MB max RSS;" \
    "load $(cut -d' ' -f1-3 /proc/loadavg)"
  rm -f "$res"
}
duckdb_run filter "$filter_sql"
duckdb_run summarize "$summarize_sql"
