#!/usr/bin/env bash
# The main job on its embedded defaults: install what is missing, build, generate a
# town-year of reports (18,824 reports, 133 workers, 40 villages, 2020), import it
# through the sequencer into a fresh local data directory, and check the result.
# Usage: scripts/demo.sh [DATA_DIR]       (default: demo-data; it is recreated)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-demo-data}

scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j "$(nproc)" --target wangge
wangge=build/ingest/wangge

rm -rf "$data"
mkdir -p build/demo
"$wangge" gen --seed 1 --out build/demo/town-2020.ndjson
"$wangge" import --data "$data" --create build/demo/town-2020.ndjson
"$wangge" info --data "$data" --check
