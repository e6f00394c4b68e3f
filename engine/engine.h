// The engine: one data directory's store, log and sequencer, opened together.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "engine/core/status.h"
#include "engine/core/time.h"
#include "engine/domain.h"
#include "engine/sequencer.h"
#include "rules/minimal_table.h"
#include "storage/event_log.h"
#include "storage/store.h"

namespace wangge::engine {

struct EngineOptions {
  storage::StoreOptions store;
  SequencerOptions sequencer;

  Status Validate() const;
};

// Thread-safe. Shutdown order: Stop() (drains and commits the queue), then destroy.
class Engine {
 public:
  // Opens the store, checks the log head and starts the sequencer. Codes: those of
  // storage::Store::Open and storage::EventLog::Open. `clock` outlives the engine.
  static Result<std::unique_ptr<Engine>> Open(const EngineOptions& options, const Clock& clock);
  ~Engine();

  Sequencer& sequencer() { return *sequencer_; }
  storage::Store& store() { return *store_; }
  const storage::EventLog& log() const { return *log_; }
  storage::LogHead head() const { return log_->head(); }

  // The case addressed by client id, or nullopt.
  Result<std::optional<Case>> GetCase(std::string_view id) const;

  // Stops the sequencer after committing what is queued. Idempotent.
  void Stop();

 private:
  Engine() = default;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::EventLog> log_;
  rules::MinimalTable table_ = rules::MinimalTable::Default();
  std::unique_ptr<Sequencer> sequencer_;
};

}  // namespace wangge::engine
