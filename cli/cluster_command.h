// `wangge engine` and `wangge cluster move | status | export`: running and operating
// cluster mode (docs/scale-out.md). `wangge serve --cluster` is in main.cc.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "cluster/cluster.h"
#include "core/status.h"

namespace wangge::cli {

struct ClusterArgs {
  std::string servers;  // --cluster
  std::string stream = "WANGGE";
  int replicas = 3;
  int timeout_ms = 5000;

  cluster::ClusterOptions Options() const;
};

struct EngineArgs {
  ClusterArgs cluster;
  std::string name;
  std::string data;
  std::string towns;  // comma-separated; may be empty (run what the bucket gives)
  bool no_sync = false;
  int fetch_batch = 1024;
  size_t cache_mb = 256;
  size_t memtable_mb = 512;
};

struct MoveArgs {
  ClusterArgs cluster;
  std::string town;
  std::string to;
  int wait_s = 300;  // for the new owner to catch up
};

struct ExportTownArgs {
  ClusterArgs cluster;
  std::string town;
  uint64_t from = 1;
  std::string out;  // empty = stdout
};

// Runs an engine instance until SIGINT/SIGTERM. Returns an exit code.
int RunEngineNode(const EngineArgs& args);

// Moves a town in one step: records the new owner, has the old one stop (after its batch
// in hand is durable) and drop its consumer, has the new one start (rebuilding from the
// stream, or from a checkpoint placed in its directory beforehand), and waits until it
// has applied everything the stream held when the move began. Progress goes to
// `progress`. Codes: kFailedPrecondition (no such owner, already there), kUnavailable.
Status MoveTown(cluster::Nats& nats, const std::string& town, const std::string& to,
                std::chrono::seconds wait, std::ostream& progress);
int RunMove(const MoveArgs& args);

// Prints every town's owner and each answering instance's towns and positions.
int RunClusterStatus(const ClusterArgs& args);

// Writes a town's commands from the stream as NDJSON (the `wangge import` format).
int RunExportTown(const ExportTownArgs& args);

}  // namespace wangge::cli
