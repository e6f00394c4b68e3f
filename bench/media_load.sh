#!/usr/bin/env bash
# The photo benchmark, side by side on this machine in one run: durable uploads of 2 MB
# photos through `wangge serve` (PUT /v1/media, 16 connections), the same bytes written as
# files with fsync from 16 threads (the file system's ceiling), and RocksDB's db_bench
# writing 2 MB values to blob files with sync. The server's RSS is sampled every 5 s.
#
# Usage: bench/media_load.sh [BUILD_DIR]   (default: build)
# Env:   WANGGE_BENCH_SECONDS  measured seconds per run (default 30)
set -euo pipefail

build=${1:-build}
seconds=${WANGGE_BENCH_SECONDS:-30}
port=18482
wangge="$build/cli/wangge"
loadgen="$build/bench/wangge-loadgen"
fsync_files="$build/bench/wangge-fsync-files"
make_photo="$build/bench/wangge-make-photo"
for bin in "$wangge" "$loadgen" "$fsync_files" "$make_photo"; do
  [[ -x $bin ]] || { echo "media_load: $bin is missing; build first" >&2; exit 2; }
done
command -v db_bench >/dev/null || { echo "media_load: db_bench missing (rocksdb-tools)" >&2; exit 2; }

work=$(mktemp -d /tmp/wangge-media-bench.XXXXXX)
serve_pid=""
sampler_pid=""
cleanup() {
  [[ -n $sampler_pid ]] && kill "$sampler_pid" 2>/dev/null
  [[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
"$make_photo" --bytes 2000000 --out "$work/photo.jpg"
size=$(stat -c %s "$work/photo.jpg")

echo "== wangge: PUT /v1/media, 2 MB photos, 16 connections, durable"
"$wangge" token add --tokens "$work/tokens" --actor W-LOAD --role worker >"$work/token" 2>/dev/null
"$wangge" serve --data "$work/data" --create --tokens "$work/tokens" \
  --listen "127.0.0.1:$port" --threads 2 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.1
done
(while sleep 5; do
   echo "rss_mb=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' /proc/$serve_pid/status 2>/dev/null)"
 done) >"$work/rss" &
sampler_pid=$!
"$loadgen" --port $port --token "$(cat "$work/token")" -c 16 -t 1 -d "$seconds" \
  --photo "$work/photo.jpg" --prefix photo
kill "$sampler_pid"; sampler_pid=""
echo "server RSS every 5 s (MB): $(sed 's/rss_mb=//' "$work/rss" | xargs)"
echo "data directory: $(du -sm "$work/data" | cut -f1) MB"
kill "$serve_pid"; wait "$serve_pid" || true; serve_pid=""
rm -rf "$work/data"

echo "== reference: the same files written with fsync (file and directory), 16 threads"
mkdir "$work/files"
"$fsync_files" --file "$work/photo.jpg" --dir "$work/files" --threads 16 --seconds "$seconds"
rm -rf "$work/files"

echo "== reference: db_bench, 2 MB values into blob files, sync, 16 threads"
db_bench --benchmarks=fillrandom --duration="$seconds" --num=1000000 --threads=16 --value_size="$size" \
  --sync=1 --enable_blob_files=1 --min_blob_size=4096 --compression_type=none \
  --db="$work/dbb" 2>&1 | grep -E "^fillrandom"
