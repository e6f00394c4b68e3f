// Locating a position among a town's grids: the R-tree and an exact test
// (Geography::Locate) beside testing every grid in turn (LocateByScan), with 2,000 grids
// of 16 vertices each; and loading and checking such a file. docs/benchmarks.md "Place".
#include <cmath>
#include <random>
#include <string>

#include <benchmark/benchmark.h>

#include "rules/geography.h"

namespace {

constexpr double kLat0 = 29.80, kLon0 = 120.20, kSide = 0.004;  // cells of about 400 m
constexpr int kRows = 40, kCols = 50;                           // 2,000 grids

// A cell as a 16-vertex ring: each edge in four pieces, the inner vertices nudged
// outwards or inwards the same way for both neighbours, so cells tile without overlap.
std::string Cell(int r, int c) {
  auto nudge = [](int a, int b, int k) { return 0.00005 * std::sin(a * 7.1 + b * 3.3 + k); };
  std::string ring;
  auto add = [&](double lon, double lat) {
    ring +=
        (ring.empty() ? "" : ",") + ("[" + std::to_string(lon) + "," + std::to_string(lat) + "]");
  };
  const double s = kLat0 + r * kSide, w = kLon0 + c * kSide;
  for (int k = 0; k < 4; ++k) add(w + k * kSide / 4, s + (k ? nudge(r, c, k) : 0));  // south
  for (int k = 0; k < 4; ++k) add(w + kSide + (k ? nudge(r, c + 1, k + 10) : 0), s + k * kSide / 4);
  for (int k = 0; k < 4; ++k)
    add(w + kSide - k * kSide / 4, s + kSide + (k ? nudge(r + 1, c, 4 - k) : 0));
  for (int k = 0; k < 4; ++k) add(w + (k ? nudge(r, c, 14 - k) : 0), s + kSide - k * kSide / 4);
  add(w, s);
  return "[[" + ring + "]]";
}

std::string Town() {
  std::string out = R"({"type":"FeatureCollection","version":"bench","features":[)";
  for (int r = 0; r < kRows; ++r) {
    for (int c = 0; c < kCols; ++c) {
      if (r || c) out += ",";
      out += R"({"type":"Feature","properties":{"grid":"G)" + std::to_string(r * kCols + c) +
             R"(","village":"V)" + std::to_string(r / 4) +
             R"("},"geometry":{"type":"Polygon","coordinates":)" + Cell(r, c) + "}}";
    }
  }
  return out + "]}";
}

const wangge::rules::Geography& Geo() {
  static auto geo = [] {
    auto loaded = wangge::rules::Geography::Load(Town(), "bench", nullptr);
    if (!loaded.ok()) throw std::runtime_error(loaded.status().ToString());
    return *loaded;
  }();
  return *geo;
}

template <bool kScan>
void BM_Locate(benchmark::State& state) {
  const auto& geo = Geo();
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> lat(kLat0, kLat0 + kRows * kSide);
  std::uniform_real_distribution<double> lon(kLon0, kLon0 + kCols * kSide);
  std::vector<std::pair<double, double>> points(4096);
  for (auto& p : points) p = {lat(rng), lon(rng)};
  size_t i = 0, found = 0;
  for (auto _ : state) {
    const auto& [a, o] = points[i++ & 4095];
    const auto* g = kScan ? geo.LocateByScan(a, o) : geo.Locate(a, o);
    found += g != nullptr;
    benchmark::DoNotOptimize(g);
  }
  state.counters["found"] = static_cast<double>(found) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Locate<false>)->Name("Locate/rtree/2000_grids");
BENCHMARK(BM_Locate<true>)->Name("Locate/scan/2000_grids");

void BM_Nearest(benchmark::State& state) {
  const auto& geo = Geo();
  std::mt19937 rng(2);
  // Outside the town, up to 2 km off its east side.
  std::uniform_real_distribution<double> lat(kLat0, kLat0 + kRows * kSide);
  std::uniform_real_distribution<double> lon(kLon0 + kCols * kSide, kLon0 + kCols * kSide + 0.02);
  std::vector<std::pair<double, double>> points(4096);
  for (auto& p : points) p = {lat(rng), lon(rng)};
  size_t i = 0;
  for (auto _ : state) {
    const auto& [a, o] = points[i++ & 4095];
    benchmark::DoNotOptimize(geo.Nearest(a, o));
  }
}
BENCHMARK(BM_Nearest)->Name("Nearest/outside/2000_grids");

void BM_Load(benchmark::State& state) {
  const std::string text = Town();
  for (auto _ : state) {
    auto geo = wangge::rules::Geography::Load(text, "bench", nullptr);
    if (!geo.ok()) state.SkipWithError(geo.status().ToString().c_str());
    benchmark::DoNotOptimize(geo);
  }
  state.counters["bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_Load)->Name("LoadAndCheck/2000_grids")->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
