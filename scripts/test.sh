#!/usr/bin/env bash
# Builds wangge with its tests (Release, warnings as errors) and runs them with ctest: the
# browser tests of the dashboard and the field app among them (headless Chromium), and
# each fuzz target over its whole in-tree corpus (Fuzz.*). With WANGGE_FUZZ_SECONDS it also
# builds the libFuzzer targets (clang) and fuzzes each for that long first.
# Usage: scripts/test.sh [BUILD_DIR]      (default: build)
# WANGGE_CMAKE_ARGS: extra CMake options, e.g. -DWANGGE_SANITIZE=ON.
# WANGGE_FUZZ_SECONDS: seconds of libFuzzer per target (default 0: none; the corpus runs in
# ctest either way; scripts/fuzz.sh 60 is a local run of a minute each).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
fuzz_seconds=${WANGGE_FUZZ_SECONDS:-0}

scripts/deps.sh --test
# playwright-core for the dashboard's browser test, at the version in package-lock.json.
# Without it (no npm, no registry) that one test skips and says why.
if command -v npm > /dev/null; then
  npm ci --prefix tests/ui --no-audit --no-fund --loglevel=error > /dev/null ||
    echo "test: warning: npm ci in tests/ui failed; the browser test will skip" >&2
fi
# shellcheck disable=SC2086
cmake -S . -B "$build" -DWANGGE_BUILD_TESTS=ON -DWANGGE_BUILD_BENCH=ON ${WANGGE_CMAKE_ARGS:-}
cmake --build "$build" -j "$(nproc)"
if [ "$fuzz_seconds" -gt 0 ]; then
  scripts/fuzz.sh "$fuzz_seconds" > "$build/fuzz.log" 2>&1 || {
    tail -n 60 "$build/fuzz.log"
    echo "test: a fuzz target failed; see $build/fuzz.log and build-fuzz/crashes/" >&2
    exit 1
  }
  grep -E '^fuzz:|^Done [0-9]+ runs' "$build/fuzz.log"
fi
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 600
