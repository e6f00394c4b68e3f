// `wangge engine --cluster`: an engine instance that applies the towns it owns from the
// JetStream command stream (docs/scale-out.md).
//
// Each owned town has its own data directory (DATA/towns/TOWN: its own log, hash chain
// and derived state, exactly what a single node holding only that town would have) and
// a worker thread that pulls the town's subject through a durable consumer, applies the
// commands through the town's sequencer, and acknowledges them once durable. The
// stream sequence of the last applied command is written in the same WriteBatch as its
// effects (engine::kSourcePositionKey), and the consumer is (re)created at that position
// + 1 whenever the worker starts. So every command is applied exactly once across
// crashes, redeliveries and moves; the consumer's own acknowledgement state only
// throttles delivery.
//
// The instance also answers, per owned town, `wangge.stats.TOWN` (the town's raw stats
// rows for the fan-out) and, for itself, `wangge.ctl.NAME` (release, adopt, status: what
// `wangge cluster move` uses), and publishes each owned town's due deadline timers to
// the town's subject, so timer records come from the stream like everything else.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/cluster.h"
#include "core/mutex.h"
#include "core/status.h"
#include "core/time.h"
#include "storage/store.h"

namespace wangge::cluster {

struct EngineNodeOptions {
  ClusterOptions cluster;
  // This instance's name, unique in the cluster. Required.
  std::string name;
  // The instance's directory; town T lives in DATA/towns/T. Required.
  std::string data;
  // Towns to claim at start (each must be unowned, or already this instance's). The
  // instance also runs every town the ownership bucket gives it.
  std::vector<std::string> towns;
  // fsync every commit. Default: on.
  bool sync = true;
  // Most messages fetched and applied at once. Default: 1024.
  int fetch_batch = 1024;
  // Publish due deadline timers this often; 0 = never. Default: 1 s.
  std::chrono::milliseconds timer_interval{1000};
  // Shared by every town's store: the block cache, and the budget for all memtables (a
  // town whose memtables would pass it flushes). Defaults: 256 MiB, 512 MiB.
  size_t block_cache_bytes = size_t{256} << 20;
  size_t memtable_bytes = size_t{512} << 20;

  Status Validate() const;
};

struct TownState {
  std::string town;
  uint64_t applied = 0;   // stream sequence of the last applied command
  uint64_t log_head = 0;  // the town log's last sequence
  uint64_t commands = 0;  // applied by this run
  // From a command's `at` (stamped by the HTTP node) to its durable commit here, over the
  // last 1,000,000 commands of this run, in milliseconds (0 when none). Across machines
  // it includes their clocks' difference.
  double lag_p50_ms = 0, lag_p99_ms = 0, lag_max_ms = 0;
};

class TownWorker;

// Thread-safe. Start, then Stop (or destroy).
class EngineNode {
 public:
  EngineNode(EngineNodeOptions options, const Clock& clock);
  ~EngineNode();

  // Connects, creates the stream and bucket when missing, claims options.towns, and
  // starts a worker for every town this instance owns. kAlreadyExists: a town in
  // options.towns belongs to another instance.
  Status Start();
  // Stops every worker after its current batch is durable, then disconnects.
  void Stop();

  // Starts applying `town` (after `wangge cluster move` recorded this instance as its
  // owner). A town already running is left as it is.
  Status Adopt(const std::string& town);
  // Stops applying `town` once its current batch is durable, closes its directory and
  // removes its consumer. Returns the town's state at that point.
  Result<TownState> Release(const std::string& town);

  std::vector<TownState> Towns() const;

 private:
  void HandleControl(std::string_view request, std::string& answer);
  void RunTimers();

  EngineNodeOptions options_;
  const Clock& clock_;
  std::unique_ptr<Nats> nats_;
  std::shared_ptr<storage::SharedMemory> memory_;  // set by Start
  mutable Mutex mu_;
  std::map<std::string, std::unique_ptr<TownWorker>> workers_ WANGGE_GUARDED_BY(mu_);
  std::atomic<int> running_{0};  // workers_.size(), read by the workers without mu_
  int lock_fd_ = -1;             // holds the data directory's engine.lock
  struct Control;
  std::unique_ptr<Control> control_;
};

}  // namespace wangge::cluster
