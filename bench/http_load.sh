#!/usr/bin/env bash
# The service benchmark, side by side: wangge serve under the load generator (single
# POSTs at full speed and at half of it, and the batch endpoint), wrk as a cross-check,
# RocksDB's own ceiling (db_bench) and PostgreSQL inserting the same reports (pgbench,
# synchronous_commit=on, 1 and 64 connections), all on this machine in one run.
#
# Usage: bench/http_load.sh [BUILD_DIR]   (default: build; run scripts/test.sh first)
# Env:   WANGGE_BENCH_SECONDS  measured seconds per run (default 20)
# Installs postgresql, wrk and rocksdb-tools from Debian when they are missing (root).
set -euo pipefail

build=${1:-build}
seconds=${WANGGE_BENCH_SECONDS:-20}
port=18480
pg_port=18481
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/bench/pg.sh"
wangge="$build/cli/wangge"
loadgen="$build/bench/wangge-loadgen"
for bin in "$wangge" "$loadgen"; do
  [[ -x $bin ]] || { echo "http_load: $bin is missing; build first (scripts/test.sh)" >&2; exit 2; }
done

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v db_bench >/dev/null || missing+=(rocksdb-tools)
[[ -x /usr/lib/postgresql/15/bin/postgres ]] || missing+=(postgresql)
if ((${#missing[@]})); then
  echo "http_load: installing ${missing[*]}" >&2
  apt-get install -y -q "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/wangge-bench.XXXXXX)
chmod 755 "$work"  # PostgreSQL runs as its own user and needs to reach $work/pg
serve_pid=""
cleanup() {
  [[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  pg_stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "== data on: $(df -h "$work" | tail -1 | awk '{print $1" ("$2")"}')"

# --- wangge serve ---------------------------------------------------------------------
"$wangge" token add --tokens "$work/tokens" --actor W-LOAD --role worker >"$work/token" 2>/dev/null
token=$(cat "$work/token")
start_server() {
  rm -rf "$work/data"
  "$wangge" serve --data "$work/data" --create --tokens "$work/tokens" \
    --listen "127.0.0.1:$port" --threads 2 2>"$work/serve.log" &
  serve_pid=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0
    sleep 0.1
  done
  echo "http_load: the server did not start:" >&2; cat "$work/serve.log" >&2; exit 1
}
stop_server() { kill "$serve_pid"; wait "$serve_pid" || true; serve_pid=""; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | head -1; }

echo "== wangge: single POST /v1/reports, 64 connections, as fast as answered"
start_server
"$loadgen" --port $port --token "$token" -c 64 -t 1 -d "$seconds" --prefix max | tee "$work/max"
stop_server
max_rate=$(field requests_per_s <"$work/max")
half=$(awk -v r="$max_rate" 'BEGIN { printf "%d", r / 2 }')

echo "== wangge: single POST /v1/reports, 64 connections, fixed rate $half/s (half of the maximum)"
start_server
"$loadgen" --port $port --token "$token" -c 64 -t 1 -d "$seconds" --rate "$half" --prefix half
stop_server

echo "== wangge: POST /v1/reports:batch, 1,000 reports a request, 4 connections"
start_server
"$loadgen" --port $port --token "$token" -c 4 -t 1 -d "$seconds" --batch 1000 --prefix batch
stop_server

echo "== wrk cross-check: single POST /v1/reports, 64 connections"
start_server
WANGGE_TOKEN=$token wrk -t1 -c64 -d"${seconds}s" --latency -s "$here/bench/wrk-report.lua" \
  "http://127.0.0.1:$port" | grep -E "Requests/sec|50%|99%|Non-2xx|requests in"
stop_server

# --- RocksDB's ceiling ----------------------------------------------------------------
echo "== db_bench fillseq --sync=1 --batch_size=100 (RocksDB's ceiling on this disk)"
db_bench --benchmarks=fillseq --sync=1 --batch_size=100 --num=1000000 --db="$work/dbb" 2>&1 |
  grep -E "^fillseq"

# --- PostgreSQL -----------------------------------------------------------------------
echo "== PostgreSQL 15: one INSERT per report, synchronous_commit=on"
pg_start "$work/pg" $pg_port synchronous_commit=on fsync=on max_connections=100
"${psql[@]}" <<'SQL'
CREATE TABLE reports (
  client_id text PRIMARY KEY, category text NOT NULL, village text NOT NULL,
  grid text NOT NULL, severity int NOT NULL, body text, lat float8, lon float8,
  reported_at timestamptz NOT NULL, received_at timestamptz NOT NULL DEFAULT now());
CREATE SEQUENCE ids;
SQL
cat >"$work/insert.sql" <<'SQL'
INSERT INTO reports (client_id, category, village, grid, severity, body, lat, lon, reported_at)
VALUES ('pg-' || nextval('ids'), 'env.garbage', 'V07', 'V07-G3', 2, 'load test report',
        29.87, 120.28, '2026-01-05T09:00:00+08:00') ON CONFLICT DO NOTHING;
SQL
chmod 644 "$work/insert.sql"
for clients in 1 64; do
  echo "-- pgbench -c $clients"
  runuser -u postgres -- pgbench -n -h 127.0.0.1 -p $pg_port -c $clients -j 2 -T "$seconds" \
    -f "$work/insert.sql" postgres 2>&1 | grep -E "^tps|latency average"
done
