#!/usr/bin/env bash
# Soak: a sustained load on a fresh `wangge serve` at a fixed share of its measured peak,
# in windows, each window's latency percentiles recorded beside the server's memory,
# open sockets and commit-queue depth. Fails (exit 1) when a request fails,
# a 503 appears below capacity, memory or sockets keep growing, or the queue is
# left non-empty.
#
# Usage: bench/soak.sh BUILD_DIR [SECONDS] [SHARE]
#   SECONDS: total load time (default 600; CI runs 60), in windows of 10 s
#   SHARE:   share of the measured peak to offer (default 0.5)
# Env: WANGGE_SOAK_RATE=N offers N reports/s instead of measuring the peak.
set -euo pipefail
build=${1:?usage: bench/soak.sh BUILD_DIR [SECONDS] [SHARE]}
total=${2:-600}
share=${3:-0.5}
window=10
wangge=$build/cli/wangge
loadgen=$build/bench/wangge-loadgen
for exe in "$wangge" "$loadgen"; do
  [ -x "$exe" ] || { echo "soak: $exe is not built" >&2; exit 2; }
done

work=$(mktemp -d)
server=0
cleanup() {
  if [ "$server" -gt 0 ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

token=$("$wangge" token add --tokens "$work/tokens" --actor W-soak --role worker 2> /dev/null |
  tail -n 1 | awk '{print $NF}')
"$wangge" serve --data "$work/data" --create --listen 127.0.0.1:0 --tokens "$work/tokens" \
  2> "$work/serve.log" &
server=$!
port=
for _ in $(seq 1 200); do
  port=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log" | head -n 1 | sed 's/.*://') || true
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { echo "soak: the server did not start" >&2; cat "$work/serve.log" >&2; exit 1; }

metric() { # NAME: a gauge from /metrics (bash's /dev/tcp: no HTTP client needed)
  exec 3<> "/dev/tcp/127.0.0.1/$port"
  printf 'GET /metrics HTTP/1.0\r\nHost: soak\r\n\r\n' >&3
  awk -v n="$1" '$1 == n {print $2}' <&3
  exec 3>&-
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$server/status"; }
# Sockets only: table files are opened as the data grows, connections must not pile up.
fds() { find "/proc/$server/fd" -type l -lname 'socket:*' 2> /dev/null | wc -l; }

kv() { # KEY TEXT: the value of KEY=VALUE in loadgen's output
  echo "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2; exit}'
}

rate=${WANGGE_SOAK_RATE:-}
if [ -z "$rate" ]; then
  peak=$(kv reports_per_s "$("$loadgen" --port "$port" --token "$token" -c 64 -d 5 --warmup 1 \
    --prefix soak-peak 2>&1)")
  rate=$(awk -v p="$peak" -v s="$share" 'BEGIN {printf "%d", p * s}')
  echo "soak: measured peak ${peak} reports/s; offering ${rate}/s (${share} of it)"
fi

echo "window  offered/s  done/s  p50_ms  p99_ms  p999_ms  failed  rss_MiB  sockets  queue"
windows=$(( (total + window - 1) / window ))
failed_total=0
rss_half=0
fds_first=0
for w in $(seq 1 "$windows"); do
  out=$("$loadgen" --port "$port" --token "$token" -c 32 -r "$rate" -d "$window" --warmup 0 \
    --prefix "soak-$w" 2>&1)
  done_rate=$(kv reports_per_s "$out")
  p50=$(kv p50 "$out")
  p99=$(kv p99 "$out")
  p999=$(kv p99.9 "$out")
  failed=$(kv failed "$out")
  failed=${failed:-0}
  failed_total=$((failed_total + failed))
  rss=$(rss_kib)
  nfd=$(fds)
  queue=$(metric wangge_sequencer_queue_depth)
  [ "$w" -eq 2 ] && fds_first=$nfd
  [ "$w" -eq $(((windows + 1) / 2)) ] && rss_half=$rss
  printf "%6d  %9s  %6s  %6s  %6s  %7s  %6s  %7d  %7d  %5s\n" "$w" "$rate" "${done_rate:-?}" \
    "${p50:-?}" "${p99:-?}" "${p999:-?}" "$failed" $((rss / 1024)) "$nfd" "${queue:-?}"
  if [ "$failed" -gt 0 ]; then echo "$out" | grep -i -E "fail|error|503" | head -n 5; fi
done

rss_last=$(rss_kib)
fds_last=$(fds)
status=0
if [ "$failed_total" -gt 0 ]; then
  echo "soak: FAIL: $failed_total requests failed below capacity"; status=1
fi
if [ "$windows" -ge 3 ]; then
  # Memtables fill for the first minutes (up to 64 MiB each), so memory is judged over
  # the second half of the run: it may settle but not keep growing with the load.
  if [ "$rss_last" -gt $((rss_half + 64 * 1024)) ]; then
    echo "soak: FAIL: RSS grew from $((rss_half / 1024)) to $((rss_last / 1024)) MiB in the second half"
    status=1
  fi
  if [ "$fds_last" -gt $((fds_first + 16)) ]; then
    echo "soak: FAIL: open sockets grew from $fds_first to $fds_last"; status=1
  fi
fi
queue=$(metric wangge_sequencer_queue_depth)
if [ "${queue:-0}" != "0" ]; then echo "soak: FAIL: commit queue left at $queue"; status=1; fi
[ "$status" -eq 0 ] && echo "soak: OK: $windows windows of ${window}s at ${rate}/s; nothing failed; memory and sockets flat"
exit "$status"
