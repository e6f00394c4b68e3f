// Where the HTTP service hands the commands it has validated, and where it reads figures.
// A single node plugs in its engine (ingest/local_backend.h); an HTTP node in cluster mode
// plugs in JetStream and the towns' engines (cluster/http_node.h). The server knows only
// these interfaces.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/status.h"
#include "core/time.h"
#include "engine/domain.h"
#include "engine/sequencer.h"
#include "engine/stats.h"
#include "wire/stats_json.h"

namespace wangge::wire {

// What became of a command a sink took: exactly one of the two is set.
struct Accepted {
  // Applied durably here: the engine's outcome.
  std::optional<engine::Outcome> outcome;
  // Held durably by a replicated log, to be applied in order by its partition's engine.
  struct Queued {
    std::string partition;   // the town
    uint64_t position = 0;   // the command's place in the log (a stream sequence)
    bool duplicate = false;  // the log held this key already (a retry)
    TimeMs received_at;      // the time stamped on the command
  };
  std::optional<Queued> queued;
};

// Thread-safe.
class CommandSink {
 public:
  virtual ~CommandSink() = default;
  // Whether commands name a partition (a town: ?town= on the request).
  virtual bool partitioned() const = 0;
  // Whether `partition` names one this sink can take. kInvalidArgument naming "town".
  virtual Status CheckPartition(const std::string& partition) const = 0;
  // Takes `command`. `partition` (when partitioned) and `key` (an idempotency key for the
  // log's own deduplication; empty for none) travel with it. `done` runs exactly once,
  // on any thread, once the command is durable or refused, with the engine's codes
  // (engine/sequencer.h Submit) or the log's; it must not block.
  virtual void Submit(engine::Command command, const std::string& partition, const std::string& key,
                      std::function<void(Result<Accepted>)> done) = 0;
};

// The figures of a stats query, and how many partitions they add up (cluster mode).
struct Figures {
  engine::StatsResult result;
  std::optional<size_t> partitions;
};

// Thread-safe.
class FiguresSource {
 public:
  virtual ~FiguresSource() = default;
  // The figures of `query` (`params` are the request's, for a source that forwards them).
  // `done` runs exactly once, on any thread; it must not block.
  virtual void Read(const StatsParams& params, const engine::StatsQuery& query,
                    std::function<void(Result<Figures>)> done) = 0;
};

}  // namespace wangge::wire
