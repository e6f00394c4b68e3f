// Sequencer throughput: producers submit reports and wait for the durable
// acknowledgement, as HTTP handlers will. Compare with RocksDB's own ceiling on the
// same disk (db_bench fillseq --sync=1 --batch_size=100); see docs/benchmarks.md.
//
//   build/bench/engine_bench --benchmark_filter=Sequencer
//   WANGGE_BENCH_DIR=/path/on/the/disk/to/measure  (default: the system temp dir)
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "core/time.h"
#include "engine/engine.h"
#include "storage/event_log.h"

namespace {

using namespace wangge;

std::unique_ptr<engine::Engine> g_engine;
std::filesystem::path g_dir;
SystemClock g_clock;
std::atomic<uint64_t> g_run{0};

engine::Command Report(const std::string& id) {
  engine::Report r;
  r.client_id = id;
  r.category = "env.garbage";
  r.village = "V07";
  r.grid = "V07-G3";
  r.severity = 2;
  r.text = "河道漂浮垃圾";
  r.lat = 29.874;
  r.lon = 120.281;
  r.reported_at = g_clock.Now();
  r.attachments = 1;
  return engine::Command{engine::Actor{"W017", engine::Role::kWorker, ""}, std::nullopt,
                         std::move(r)};
}

void OpenEngine(bool sync) {
  const char* base = std::getenv("WANGGE_BENCH_DIR");
  g_dir = std::filesystem::path(base ? base : std::filesystem::temp_directory_path().string()) /
          ("wangge-bench-" + std::to_string(::getpid()) + "-" + std::to_string(g_run++));
  std::filesystem::remove_all(g_dir);
  engine::EngineOptions o;
  o.store.path = g_dir.string();
  o.store.create_if_missing = true;
  o.store.sync = sync;
  auto e = engine::Engine::Open(o, g_clock);
  if (!e.ok()) std::abort();
  g_engine = std::move(e).value();
}

void CloseEngine(benchmark::State& state) {
  auto stats = g_engine->sequencer().stats();
  state.counters["records_per_commit"] =
      stats.commits ? static_cast<double>(stats.records) / static_cast<double>(stats.commits) : 0;
  g_engine.reset();
  std::filesystem::remove_all(g_dir);
}

// Each thread is one producer: submit, wait for the durable acknowledgement, repeat.
void Produce(benchmark::State& state, bool sync) {
  if (state.thread_index() == 0) OpenEngine(sync);
  const std::string prefix = "t" + std::to_string(state.thread_index()) + "-";
  uint64_t i = 0;
  for (auto _ : state) {
    auto r = g_engine->sequencer().Submit(Report(prefix + std::to_string(i++))).get();
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) CloseEngine(state);
}

void BM_SequencerSync(benchmark::State& state) { Produce(state, true); }
void BM_SequencerNoSync(benchmark::State& state) { Produce(state, false); }

// Closed loop without a thread per producer: `producers` logical producers each keep
// one command in flight and submit the next from its completion, as connections on
// an event loop do. One iteration is 100 commands per producer.
void ClosedLoop(benchmark::State& state, bool sync) {
  OpenEngine(sync);
  const int producers = static_cast<int>(state.range(0));
  constexpr int kRounds = 100;
  uint64_t next_id = 0;
  for (auto _ : state) {
    std::mutex mu;
    std::condition_variable cv;
    int running = producers;
    std::vector<int> left(static_cast<size_t>(producers), kRounds);
    std::function<void(int)> submit = [&](int p) {
      g_engine->sequencer().Submit(Report("c" + std::to_string(next_id++)),
                                   [&, p](Result<engine::Outcome> r) {
                                     if (!r.ok()) std::abort();
                                     if (--left[static_cast<size_t>(p)] > 0) return submit(p);
                                     std::lock_guard lock(mu);
                                     if (--running == 0) cv.notify_one();
                                   });
    };
    // Completions run on the sequencer thread, so submissions after the first
    // round come from it alone; the first round is made under the lock-free start.
    for (int p = 0; p < producers; ++p) submit(p);
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return running == 0; });
  }
  state.SetItemsProcessed(state.iterations() * producers * kRounds);
  CloseEngine(state);
}

void BM_SequencerClosedLoopSync(benchmark::State& state) { ClosedLoop(state, true); }

BENCHMARK(BM_SequencerClosedLoopSync)->Arg(1)->Arg(8)->Arg(64)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_SequencerSync)->Threads(1)->Threads(8)->Threads(64)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_SequencerNoSync)->Threads(1)->Threads(64)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
