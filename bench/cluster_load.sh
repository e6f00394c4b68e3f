#!/usr/bin/env bash
# Cluster mode against a single node, in one run on this machine (docs/scale-out.md):
#  1. JetStream's own async publish rate on a 3-node R=3 cluster: the ceiling;
#  2. cluster mode: one `wangge serve --cluster` HTTP node, two `wangge engine`
#     instances with 10 towns between them, the load generator posting round-robin over
#     the towns: the HTTP acknowledgement rate and latency (JetStream holds the report),
#     then the publish-to-applied rate (every acknowledged report applied, fsynced, in
#     its town's directory) and the apply lag p50/p99 the engines measured;
#  3. the same load against a single `wangge serve`.
# All nine processes share this machine's cores: the figures are a floor for a real
# deployment, where the NATS nodes and engines get machines of their own.
#
# Usage: bench/cluster_load.sh [BUILD_DIR]   (default: build)
# Env:   WANGGE_BENCH_SECONDS  measured seconds per run (default 20)
set -euo pipefail

build=${1:-build}
seconds=${WANGGE_BENCH_SECONDS:-20}
here=$(cd "$(dirname "$0")/.." && pwd)
wangge="$build/cli/wangge"
loadgen="$build/bench/wangge-loadgen"
jsbench="$build/bench/wangge-jsbench"
for bin in "$wangge" "$loadgen" "$jsbench"; do
  [[ -x $bin ]] || { echo "cluster_load: $bin is missing; build first" >&2; exit 2; }
done
command -v nats-server >/dev/null || { echo "cluster_load: apt-get install nats-server" >&2; exit 2; }

work=$(mktemp -d /tmp/wangge-cluster-bench.XXXXXX)
nats_port=24222
http_port=18580
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$here/scripts/nats-cluster.sh" stop "$work/nats"
  sleep 0.5
  rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
wait_http() {
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$http_port/healthz" >/dev/null && return 0; sleep 0.1; done
  echo "cluster_load: the HTTP server did not start" >&2; exit 1
}

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
urls=$("$here/scripts/nats-cluster.sh" start "$work/nats" $nats_port)

echo "== JetStream alone: async publish, 400 B messages, R=3 (the ceiling)"
"$jsbench" --cluster "nats://127.0.0.1:$nats_port" --count 300000 --size 400 --replicas 3

"$wangge" token add --tokens "$work/tokens" --actor W-LOAD --role worker >"$work/token" 2>/dev/null
token=$(cat "$work/token")
towns=t01,t02,t03,t04,t05,t06,t07,t08,t09,t10
"$wangge" engine --cluster "$urls" --name e1 --data "$work/e1" --towns t01,t02,t03,t04,t05 \
  2>"$work/e1.log" &
pids+=($!)
"$wangge" engine --cluster "$urls" --name e2 --data "$work/e2" --towns t06,t07,t08,t09,t10 \
  2>"$work/e2.log" &
pids+=($!)
for log in "$work/e1.log" "$work/e2.log"; do
  for _ in $(seq 300); do grep -q "Ctrl-C stops" "$log" && break; sleep 0.2; done
  grep -q "Ctrl-C stops" "$log" || { echo "cluster_load: an engine did not start:" >&2; cat "$log" >&2; exit 1; }
done
"$wangge" serve --cluster "$urls" --tokens "$work/tokens" --listen "127.0.0.1:$http_port" \
  --threads 2 --cluster-threads "${WANGGE_CLUSTER_THREADS:-32}" 2>"$work/serve.log" &
serve_pid=$!
pids+=($serve_pid)
wait_http

echo "== cluster mode: POST /v1/reports?town=T over 10 towns, 64 connections, as fast as answered"
start=$(now)
"$loadgen" --port $http_port --token "$token" -c 64 -t 1 -d "$seconds" --warmup 0 \
  --towns "$towns" --prefix cl | tee "$work/cluster"
posted=$(now)
# Every acknowledged report is applied when each town's engine has reached the stream's end.
while "$wangge" cluster status --cluster "$urls" 2>/dev/null | awk 'NR > 1 && $3 != $4 { behind = 1 } END { exit !behind }'; do
  sleep 0.2
done
applied=$(now)
"$wangge" cluster status --cluster "$urls" | tee "$work/status"
# Every acknowledged report is applied by now (each town's engine reached the stream's end).
total=$(sed -n 's/.*requests_ok=\([0-9]*\).*/\1/p' "$work/cluster")
awk -v n="$total" -v s="$start" -v p="$posted" -v a="$applied" 'BEGIN {
  printf "publish-to-applied: %d acknowledged reports applied in %.1f s from the first post = %.0f/s; " \
         "the engines caught up %.2f s after the load stopped\n", n, a - s, n / (a - s), a - p }'
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()

echo "== single node: POST /v1/reports, 64 connections, as fast as answered"
"$wangge" serve --data "$work/single" --create --tokens "$work/tokens" \
  --listen "127.0.0.1:$http_port" --threads 2 2>"$work/single.log" &
pids+=($!)
wait_http
"$loadgen" --port $http_port --token "$token" -c 64 -t 1 -d "$seconds" --warmup 0 --prefix one
