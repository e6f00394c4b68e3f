// What an HTTP node in cluster mode plugs into the HTTP service (ingest/node_routes.h):
// a command sink that publishes each command to its town's subject and answers once
// JetStream holds it, and a figures source that adds up every town's figures.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "cluster/cluster.h"
#include "core/mutex.h"
#include "core/time.h"
#include "wire/command_sink.h"

namespace boost::asio {
class thread_pool;
}  // namespace boost::asio

namespace wangge::cluster {

// Thread-safe. Publishes and fan-out requests wait for NATS on the node's own threads,
// never on the HTTP server's I/O threads.
class HttpNode final : public wire::CommandSink, public wire::FiguresSource {
 public:
  // `nats` and `clock` outlive the node; `threads` wait for JetStream (1-1024).
  HttpNode(Nats& nats, const Clock& clock, int threads);
  ~HttpNode() override;

  // Waits for what is under way to finish. Call after the HTTP server's Stop. Idempotent.
  void Stop();

  // wire::CommandSink: commands are stamped with the receive time and published to their
  // town's subject; `done` has the stream's receipt (Accepted::queued). kNotFound: no
  // engine instance owns the town.
  bool partitioned() const override { return true; }
  Status CheckPartition(const std::string& town) const override { return ValidateTown(town); }
  void Submit(engine::Command command, const std::string& town, const std::string& key,
              std::function<void(Result<wire::Accepted>)> done) override;

  // wire::FiguresSource: every town's raw rows, added up; the same figures one node
  // holding every town would give. kUnavailable names a town that did not answer.
  void Read(const wire::StatsParams& params, const engine::StatsQuery& query,
            std::function<void(Result<wire::Figures>)> done) override;

 private:
  // A town with no owning engine would take commands nobody applies.
  Status CheckTown(const std::string& town);

  Nats& nats_;
  const Clock& clock_;
  std::unique_ptr<boost::asio::thread_pool> pool_;
  // Towns known to have an owner, and when that was last checked.
  Mutex towns_mu_;
  std::map<std::string, std::chrono::steady_clock::time_point> known_towns_
      WANGGE_GUARDED_BY(towns_mu_);
};

}  // namespace wangge::cluster
