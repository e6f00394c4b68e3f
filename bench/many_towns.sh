#!/usr/bin/env bash
# Many towns on one engine instance (docs/scale-out.md): its memory, descriptors, threads
# and disk, idle and after a minute of reports spread over every town. One nats-server
# (R=1), one `wangge engine` claiming TOWNS towns, one `wangge serve --cluster`, and the
# load generator posting round-robin over the towns. Then the time a province-wide stats
# query takes to gather every town's answer, towns asked one at a time and all at once.
#
# Usage: bench/many_towns.sh [BUILD_DIR] [TOWNS]   (defaults: build, 500)
# Env:   WANGGE_BENCH_SECONDS  seconds of load (default 60)
set -euo pipefail

build=${1:-build}
towns=${2:-500}
seconds=${WANGGE_BENCH_SECONDS:-60}
wangge="$build/cli/wangge"
loadgen="$build/bench/wangge-loadgen"
fanout="$build/bench/wangge-fanout"
for bin in "$wangge" "$loadgen" "$fanout"; do
  [[ -x $bin ]] || { echo "many_towns: $bin is missing; build first" >&2; exit 2; }
done
command -v nats-server >/dev/null || { echo "many_towns: apt-get install nats-server" >&2; exit 2; }

work=$(mktemp -d /tmp/wangge-many.XXXXXX)
nats_port=27222
http_port=18780
pids=()
cleanup() {
  # The HTTP node, then the engine, then NATS: the engine stops while NATS still answers.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
usage() {
  local pid=$1
  echo "$(awk '/VmRSS/ { printf "%.0f MB RSS", $2 / 1024 }' "/proc/$pid/status")," \
    "$(ls "/proc/$pid/fd" | wc -l) descriptors, $(ls "/proc/$pid/task" | wc -l) threads"
}

printf 'listen: 127.0.0.1:%d\njetstream { store_dir: "%s/js" }\n' $nats_port "$work" >"$work/n.conf"
nats-server -c "$work/n.conf" >"$work/nats.log" 2>&1 &
pids+=($!)
sleep 1
list=$(seq -f "t%04g" 1 "$towns" | paste -sd,)
"$wangge" engine --cluster "nats://127.0.0.1:$nats_port" --replicas 1 --name many \
  --data "$work/engine" --towns "$list" 2>"$work/engine.log" &
engine_pid=$!
pids+=($engine_pid)
for _ in $(seq 600); do grep -q "Ctrl-C stops" "$work/engine.log" && break; sleep 0.2; done
echo "== $towns towns, idle: $(usage $engine_pid)"

"$wangge" token add --tokens "$work/tokens" --actor W-LOAD --role worker >"$work/token" 2>/dev/null
"$wangge" serve --cluster "nats://127.0.0.1:$nats_port" --tokens "$work/tokens" \
  --listen "127.0.0.1:$http_port" 2>"$work/serve.log" &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$http_port/healthz" >/dev/null && break; sleep 0.1; done
echo "== reports over every town, 32 connections, $seconds s"
"$loadgen" --port $http_port --token "$(cat "$work/token")" -c 32 -t 1 -d "$seconds" --warmup 0 \
  --towns "$list" --prefix many | tail -3 || true
for _ in $(seq 120); do
  behind=$("$wangge" cluster status --cluster "nats://127.0.0.1:$nats_port" 2>/dev/null |
    awk 'NR > 1 && $3 != $4' | wc -l)
  [[ $behind == 0 ]] && break
  sleep 1
done
echo "== after the load: $(usage $engine_pid), $(du -sh "$work/engine" | cut -f1) on disk," \
  "$behind towns behind the stream"
echo "== a province-wide stats query (group by office), gathering every town's answer:"
"$fanout" --cluster "nats://127.0.0.1:$nats_port" --rounds 5
echo "== engine warnings and errors: $(grep -c "warning\|error" "$work/engine.log" || true)"
kill -0 $engine_pid 2>/dev/null || { echo "many_towns: the engine died:" >&2; tail -5 "$work/engine.log" >&2; exit 1; }
