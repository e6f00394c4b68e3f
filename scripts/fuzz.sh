#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan+UBSan) and runs each for SECONDS
# (default 60) on a fresh scratch copy of its in-tree corpus under tests/fuzz/corpus/.
# Crashes are written to build-fuzz/crashes/; turn each into a regression test.
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
# A fixed seed makes a run repeatable: the same inputs in the same order from the same
# corpus, so a longer local run covers what a shorter CI run will try. WANGGE_FUZZ_SEED=0
# asks libFuzzer for a fresh random seed.
seed=${WANGGE_FUZZ_SEED:-1}

scripts/deps.sh  # includes clang-14 and libclang-rt-14-dev (libFuzzer)

# -O1 with line tables only: what libFuzzer's documentation builds with, symbolized stack
# traces in every report, and half the compile time of full debug information.
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DWANGGE_FUZZ=ON \
  -DWANGGE_BUILD_TESTS=OFF -DWANGGE_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Release \
  "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -gline-tables-only"
cmake --build build-fuzz -j "$(nproc)" --target command_decoder_fuzz record_decoder_fuzz ruleset_loader_fuzz csv_311_fuzz http_body_fuzz export_line_fuzz \
  query_string_fuzz calendar_loader_fuzz control_request_fuzz open311_form_fuzz cluster_message_fuzz \
  media_range_fuzz exif_fuzz geography_loader_fuzz multipart_fuzz
mkdir -p build-fuzz/crashes
for target in command_decoder record_decoder ruleset_loader csv_311 http_body export_line cluster_message \
  query_string calendar_loader control_request open311_form media_range exif geography_loader multipart; do
  work=build-fuzz/corpus/$target
  rm -rf "$work"
  mkdir -p "$work"
  cp tests/fuzz/corpus/$target/* "$work"/
  echo "fuzz: $target for ${seconds}s"
  build-fuzz/tests/fuzz/${target}_fuzz -max_total_time="$seconds" -max_len=16384 -seed="$seed" \
    -artifact_prefix=build-fuzz/crashes/$target- "$work"
done
