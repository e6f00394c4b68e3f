#!/usr/bin/env bash
# Installs the Debian 12 packages wangge needs to build, test, fuzz and benchmark, when
# missing. Idempotent: prints what it installs, nothing when all are present.
# Usage: scripts/deps.sh [--test]   (--test adds what the dashboard's browser test needs:
# Chromium, a CJK font for its screenshots, and Node.js with npm when there is no node)
set -euo pipefail

packages=(
  cmake g++ make
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  librocksdb-dev rocksdb-tools
  libsimdjson-dev libspdlog-dev libfmt-dev libcli11-dev libssl-dev libcsv-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  libjs-chart.js libpugixml-dev
)
if [ "${1:-}" = "--test" ]; then
  packages+=(chromium fonts-wqy-microhei)
  command -v node > /dev/null || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
