#!/usr/bin/env bash
# The main job on its embedded defaults: install what is missing, build, and run
# `wangge demo`: generate a town-year (18,824 reports, 133 workers, 40 villages, 2020)
# into a local data directory the first time, import it through the sequencer, check the
# hash chain and derived state, and serve it on 127.0.0.1:8080 with demo tokens for
# every role. Ctrl-C stops it cleanly; run it again to serve the same data.
# Usage: scripts/demo.sh [DATA_DIR] [HOST:PORT]    (default: demo-data 127.0.0.1:8080)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-demo-data}
listen=${2:-127.0.0.1:8080}

scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j "$(nproc)" --target wangge
exec build/cli/wangge demo --data "$data" --listen "$listen"
