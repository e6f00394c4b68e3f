#!/usr/bin/env bash
# Installs the Debian 12 packages wangge needs to build, test, fuzz and benchmark, when
# missing. Idempotent: prints what it installs, nothing when all are present.
# Usage: scripts/deps.sh [--test]   (--test adds what the browser tests need:
# Chromium, a CJK font for its screenshots, zbar-tools to read QR codes back, and Node.js
# with npm when there is no node)
set -euo pipefail

packages=(
  cmake g++ make
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  librocksdb-dev rocksdb-tools
  libsimdjson-dev libspdlog-dev libfmt-dev libcli11-dev libssl-dev libcsv-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  libjs-chart.js libpugixml-dev
  libnats-dev nats-server
  libvips-dev libexif-dev libqrencode-dev zlib1g-dev
)
# The browser test's packages are installed with their recommended packages (fonts,
# Mesa, fontconfig), as Chromium was when the test was written and run.
browser=()
if [ "${1:-}" = "--test" ]; then
  browser+=(chromium fonts-wqy-microhei zbar-tools)
  command -v node > /dev/null || browser+=(nodejs npm)
fi

missing_of() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}
mapfile -t missing < <(missing_of "${packages[@]}")
mapfile -t missing_browser < <(missing_of "${browser[@]}")
[ ${#missing[@]} -eq 0 ] && [ ${#missing_browser[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]} ${missing_browser[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
if [ ${#missing[@]} -gt 0 ]; then
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ ${#missing_browser[@]} -gt 0 ]; then
  $sudo apt-get install -y -q "${missing_browser[@]}"
fi
