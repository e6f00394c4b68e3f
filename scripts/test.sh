#!/usr/bin/env bash
# Builds wangge with its tests (Release, warnings as errors) and runs them with ctest.
# Usage: scripts/test.sh [BUILD_DIR]      (default: build)
# Extra CMake options via WANGGE_CMAKE_ARGS, e.g. WANGGE_CMAKE_ARGS=-DWANGGE_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

scripts/deps.sh
# shellcheck disable=SC2086
cmake -S . -B "$build" -DWANGGE_BUILD_TESTS=ON -DWANGGE_BUILD_BENCH=ON ${WANGGE_CMAKE_ARGS:-}
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 600
