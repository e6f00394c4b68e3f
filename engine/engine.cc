#include "engine/engine.h"

#include "engine/codec.h"

namespace wangge::engine {

Status EngineOptions::Validate() const {
  WANGGE_RETURN_IF_ERROR(store.Validate());
  return sequencer.Validate();
}

Result<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options, const Clock& clock) {
  WANGGE_RETURN_IF_ERROR(options.Validate());
  auto engine = std::unique_ptr<Engine>(new Engine());
  WANGGE_ASSIGN_OR_RETURN(engine->store_, storage::Store::Open(options.store));
  WANGGE_ASSIGN_OR_RETURN(engine->log_, storage::EventLog::Open(*engine->store_));
  if (!options.store.read_only) {
    const rules::MinimalTable* table = &engine->table_;
    engine->sequencer_ = std::make_unique<Sequencer>(
        *engine->store_, *engine->log_,
        [table](const rules::RouteInput& in) { return table->Route(in); }, clock,
        options.sequencer);
    engine->sequencer_->Start();
  }
  return engine;
}

Engine::~Engine() { Stop(); }

void Engine::Stop() {
  if (sequencer_) sequencer_->Stop();
}

Result<std::optional<Case>> Engine::GetCase(std::string_view id) const {
  WANGGE_ASSIGN_OR_RETURN(auto bytes, store_->Get(storage::Family::kCases, id));
  if (!bytes) return std::optional<Case>();
  WANGGE_ASSIGN_OR_RETURN(Case c, DecodeCase(*bytes));
  return std::optional<Case>(std::move(c));
}

}  // namespace wangge::engine
