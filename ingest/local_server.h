// A single node's HTTP service: the engine behind every route. Its sink is the engine's
// sequencer, its figures the engine's, its webhooks delivered from the engine's log.
#pragma once

#include <memory>

#include "engine/engine.h"
#include "ingest/server.h"
#include "ingest/webhooks.h"
#include "wire/command_sink.h"

namespace wangge::ingest {

// The engine as a command sink: commands go to its sequencer, and are answered once their
// group commit is durable. Thread-safe.
class LocalSink final : public wire::CommandSink {
 public:
  explicit LocalSink(engine::Engine& engine) : engine_(engine) {}
  bool partitioned() const override { return false; }
  Status CheckPartition(const std::string&) const override { return Status::Ok(); }
  void Submit(engine::Command command, const std::string& partition, const std::string& key,
              std::function<void(Result<wire::Accepted>)> done) override;

 private:
  engine::Engine& engine_;
};

// The engine's figures, read on the calling thread. Thread-safe.
class LocalFigures final : public wire::FiguresSource {
 public:
  explicit LocalFigures(const engine::Engine& engine) : engine_(engine) {}
  void Read(const wire::StatsParams& params, const engine::StatsQuery& query,
            std::function<void(Result<wire::Figures>)> done) override;

 private:
  const engine::Engine& engine_;
};

class Open311Routes;

// Every route of the API over one engine. Start, then Stop (or destroy) from the same
// thread; shutdown order: Stop, then the engine's Stop.
class LocalServer {
 public:
  // `engine`, `tokens` and `clock` outlive the server.
  LocalServer(engine::Engine& engine, const TokenStore& tokens, const Clock& clock,
              ServerOptions options);
  ~LocalServer();

  // Starts webhook delivery, then serving. kUnavailable: the address cannot be bound.
  Status Start();
  uint16_t port() const { return server_->port(); }
  // The server's Stop (it waits for commands with the sequencer), then webhook delivery.
  // Idempotent.
  void Stop();

 private:
  engine::Engine& engine_;
  LocalSink sink_;
  LocalFigures figures_;
  Webhooks webhooks_;
  std::unique_ptr<Open311Routes> open311_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace wangge::ingest
