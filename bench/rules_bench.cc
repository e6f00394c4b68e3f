// Routing decisions per second for tables of 10 to 10,000 rows: the compiled index
// (Route) against trying every row in order (RouteByScan), in the same run.
//
//   build/bench/rules_bench
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "rules/ruleset.h"

namespace {

using namespace wangge;

// `rows` rows over rows/4 categories: four severity bands per category, as a real
// table has, plus one keyword row that applies to every category.
std::string MakeRuleset(int rows) {
  std::string out =
      R"({"version": "bench", "offices": [{"id": "a", "name": "A", "level": "platform"},
    {"id": "b", "name": "B", "level": "platform"}], "tables": [{"id": "t", "rows": [)";
  out +=
      R"({"id": "fire", "rank": 0, "when": {"keywords": {"any": ["起火"]}}, "then": {"office": "b"}}, )";
  for (int i = 0; i < rows - 2; ++i) {
    const int category = i / 4, severity = i % 4 + 1;
    out += R"({"id": "r)" + std::to_string(i) + R"(", "rank": )" + std::to_string(i + 1) +
           R"(, "when": {"category": "cat)" + std::to_string(category) + R"(.x", "severity": )" +
           std::to_string(severity) +
           R"(}, "then": {"office": "a", "limit": {"working_hours": 8}}}, )";
  }
  out +=
      R"({"id": "default", "default": true, "then": {"office": "b", "limit": {"working_days": 2}}}]}]})";
  return out;
}

struct Inputs {
  std::shared_ptr<const rules::Ruleset> rules;
  std::vector<std::string> categories;
};

Inputs Prepare(int rows) {
  auto loaded = rules::Ruleset::Load(MakeRuleset(rows), "bench", rules::Calendar::BuiltIn());
  if (!loaded.ok()) std::abort();
  Inputs in{*loaded, {}};
  for (int i = 0; i < 1024; ++i) {
    // Spread over every category of the table; every 8th one unknown (falls to default).
    const int c = (i * 7919) % std::max(1, rows / 4);
    in.categories.push_back(i % 8 == 7 ? "unknown.y" : "cat" + std::to_string(c) + ".x");
  }
  return in;
}

template <bool kIndexed>
void BM_Route(benchmark::State& state) {
  const Inputs in = Prepare(static_cast<int>(state.range(0)));
  const TimeMs monday{1'583'114'400'000};  // 2020-03-02 10:00 +08:00
  size_t i = 0;
  for (auto _ : state) {
    rules::RouteInput input{in.categories[i++ & 1023],
                            static_cast<int>(i % 4) + 1,
                            "V01",
                            "V01-G1",
                            monday,
                            "路灯损坏",
                            "W001"};
    rules::Decision d = kIndexed ? in.rules->Route(input) : in.rules->RouteByScan(input);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_TEMPLATE(BM_Route, true)
    ->Name("BM_RouteIndexed")
    ->Arg(10)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000);
BENCHMARK_TEMPLATE(BM_Route, false)->Name("BM_RouteScan")->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

void BM_RouteBuiltIn(benchmark::State& state) {
  auto rs = rules::Ruleset::BuiltIn();
  const char* cats[] = {"env.garbage", "dispute.labour", "safety.gas", "food.safety", "other.x"};
  const TimeMs monday{1'583'114'400'000};
  size_t i = 0;
  for (auto _ : state) {
    rules::RouteInput input{
        cats[i % 5], static_cast<int>(i % 4) + 1, "V07", "V07-G3", monday, "河道漂浮垃圾", "W017"};
    ++i;
    benchmark::DoNotOptimize(rs->Route(input));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RouteBuiltIn);

}  // namespace

BENCHMARK_MAIN();
