// Stats query latency over a data directory of generated years, and the same cases as
// CSV for the PostgreSQL side of the comparison (bench/stats_compare.sh).
//
//   stats_bench make DIR REPORTS [TOWNS]   generate and import (no fsync) REPORTS reports
//   stats_bench csv DIR FILE               write the cases as CSV for COPY
//   stats_bench run DIR [benchmark flags]  time queries: each grouping x month, quarter, year
//
// Each benchmark runs the query 200 times per repetition and reports p50 and p99 in µs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "core/time.h"
#include "engine/codec.h"
#include "engine/engine.h"
#include "engine/stats.h"
#include "io/generator.h"

namespace {

using namespace wangge;

SystemClock g_clock;
std::unique_ptr<engine::Engine> g_engine;
TimeMs g_as_of;

int Make(const std::string& dir, uint64_t reports, int towns) {
  engine::EngineOptions o;
  o.store.path = dir;
  o.store.create_if_missing = true;
  o.store.sync = false;
  auto e = engine::Engine::Open(o, g_clock);
  if (!e.ok()) {
    std::cerr << e.status().ToString() << "\n";
    return 1;
  }
  io::GeneratorOptions g;
  g.reports = reports / static_cast<uint64_t>(towns);
  g.towns = towns;
  std::vector<std::future<Result<engine::Outcome>>> pending;
  uint64_t done = 0;
  const auto start = std::chrono::steady_clock::now();
  auto drain = [&] {
    for (auto& f : pending) {
      if (!f.get().ok()) std::abort();
    }
    done += pending.size();
    pending.clear();
    if (done % 400'000 < 4096) {
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::cerr << "make: " << done << " commands, "
                << static_cast<int>(static_cast<double>(done) / s) << "/s\n";
    }
  };
  Status s = io::GenerateTownYear(g, *(*e)->active_rules(), [&](const engine::Command& c) {
    pending.push_back((*e)->sequencer().Submit(c));
    if (pending.size() >= 4096) drain();
  });
  drain();
  (*e)->Stop();
  // As RocksDB's own flushes and compactions would leave it after a while of running.
  for (auto f : {storage::Family::kStats, storage::Family::kDue, storage::Family::kOwner,
                 storage::Family::kCases}) {
    if (Status c = (*e)->store().Compact(f); !c.ok()) s = c;
  }
  if (!s.ok()) {
    std::cerr << s.ToString() << "\n";
    return 1;
  }
  std::cerr << "make: " << done << " commands in " << dir << "\n";
  return 0;
}

int Csv(const std::string& dir, const std::string& file) {
  engine::EngineOptions o;
  o.store.path = dir;
  o.store.read_only = true;
  auto e = engine::Engine::Open(o, g_clock);
  if (!e.ok()) return 1;
  std::ofstream out(file);
  uint64_t n = 0;
  Status s = (*e)->store().Scan(
      storage::Family::kCases, "", "", [&](std::string_view, std::string_view v) {
        auto c = engine::DecodeCase(v);
        if (!c.ok()) return false;
        // id, office, village, grid, worker, category, status, received, deadline, closed,
        // satisfaction, reopens, extensions
        out << c->report.client_id << ',' << c->office << ',' << c->report.village << ','
            << c->report.grid << ',' << c->reporter.id << ',' << c->report.category << ','
            << engine::StatusName(c->status) << ',' << FormatRfc3339(c->received_at) << ','
            << FormatRfc3339(c->deadline) << ','
            << (c->closed_at.ms ? FormatRfc3339(c->closed_at) : std::string()) << ','
            << c->satisfaction << ',' << c->reopen_count << ',' << c->extension_count << '\n';
        ++n;
        return true;
      });
  std::cerr << "csv: " << n << " cases\n";
  return s.ok() ? 0 : 1;
}

// One query, timed 200 times per iteration batch; p50 and p99 as counters.
void BM_Stats(benchmark::State& state, engine::Dim group, int64_t from, int64_t to,
              engine::Dim filter = engine::Dim::kNone, std::string filter_value = {}) {
  engine::StatsQuery q;
  q.group_by = group;
  q.filter = filter;
  q.filter_value = std::move(filter_value);
  q.from_day = from;
  q.to_day = to;
  q.as_of = g_as_of;
  std::vector<double> us;
  size_t rows = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = g_engine->Stats(q);
    const auto t1 = std::chrono::steady_clock::now();
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    rows = r->rows.size();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  state.counters["rows"] = static_cast<double>(rows);
}

// The value of `d` with the most cases over all time: the heaviest filter.
std::string Busiest(engine::Dim d) {
  engine::StatsQuery q;
  q.group_by = d;
  q.as_of = g_as_of;
  auto r = g_engine->Stats(q);
  std::string best;
  int64_t most = -1;
  for (const auto& row : r.ok() ? r->rows : std::vector<engine::StatsRow>{}) {
    if (row.Get(engine::slot::kTotal) > most) {
      most = row.Get(engine::slot::kTotal);
      best = row.key;
    }
  }
  return best;
}

// The directory's format, or 0 when it cannot be read.
uint32_t FormatOf(const std::string& dir) {
  storage::StoreOptions o;
  o.path = dir;
  o.read_only = true;
  auto store = storage::Store::Open(o);
  return store.ok() ? (*store)->format_version() : 0;
}

int Run(const std::string& dir, int argc, char** argv) {
  const bool old = FormatOf(dir) < storage::kFormatVersion;
  engine::EngineOptions o;
  o.store.path = dir;  // writable: a directory of an older format is upgraded first
  auto e = engine::Engine::Open(o, g_clock);
  if (!e.ok()) {
    std::cerr << e.status().ToString() << "\n";
    return 1;
  }
  g_engine = std::move(e).value();
  if (old) {  // the upgrade's merges, compacted as a running server would in a while
    std::cerr << "run: upgraded to format " << storage::kFormatVersion << ", compacting\n";
    if (Status c = g_engine->store().Compact(storage::Family::kStats); !c.ok()) {
      std::cerr << c.ToString() << "\n";
      return 1;
    }
  }
  g_as_of = TimeMs{g_engine->LastEventTime()->ms + 1};
  const struct {
    const char* name;
    int64_t from, to;
  } windows[] = {{"month", DayNumber(2020, 3, 1), DayNumber(2020, 3, 31)},
                 {"quarter", DayNumber(2020, 4, 1), DayNumber(2020, 6, 30)},
                 {"year", DayNumber(2020, 1, 1), DayNumber(2020, 12, 31)}};
  for (engine::Dim g : {engine::Dim::kNone, engine::Dim::kOffice, engine::Dim::kVillage,
                        engine::Dim::kGrid, engine::Dim::kWorker, engine::Dim::kCategory}) {
    for (const auto& w : windows) {
      benchmark::RegisterBenchmark(
          ("BM_Stats/" + std::string(engine::DimName(g)) + "/" + w.name).c_str(),
          [g, w](benchmark::State& s) { BM_Stats(s, g, w.from, w.to); })
          ->Iterations(200)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  // Filtered cubes keep months and days only: a year under the busiest filter value.
  const auto& year = windows[2];
  const std::pair<engine::Dim, engine::Dim> filtered[] = {
      {engine::Dim::kOffice, engine::Dim::kGrid},
      {engine::Dim::kOffice, engine::Dim::kWorker},
      {engine::Dim::kVillage, engine::Dim::kWorker},
      {engine::Dim::kCategory, engine::Dim::kGrid},
      {engine::Dim::kCategory, engine::Dim::kWorker}};
  for (const auto& [f, g] : filtered) {
    const std::string value = Busiest(f);
    benchmark::RegisterBenchmark(
        ("BM_Stats/" + std::string(engine::DimName(g)) + "/year/" + std::string(engine::DimName(f)))
            .c_str(),
        [f, g, value, year](benchmark::State& s) { BM_Stats(s, g, year.from, year.to, f, value); })
        ->Iterations(200)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_engine.reset();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string usage =
      "usage: stats_bench make DIR REPORTS [TOWNS] | csv DIR FILE | run DIR [benchmark flags]\n";
  if (argc < 3) {
    std::cerr << usage;
    return 2;
  }
  const std::string mode = argv[1], dir = argv[2];
  if (mode == "make" && argc >= 4) {
    return Make(dir, std::strtoull(argv[3], nullptr, 10), argc >= 5 ? std::atoi(argv[4]) : 1);
  }
  if (mode == "csv" && argc == 4) return Csv(dir, argv[3]);
  if (mode == "run") {
    argv[2] = argv[0];  // benchmark flags follow DIR
    return Run(dir, argc - 2, argv + 2);
  }
  std::cerr << usage;
  return 2;
}
