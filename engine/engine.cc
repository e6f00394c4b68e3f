#include "engine/engine.h"

#include "engine/codec.h"
#include "engine/core/bytes.h"

namespace wangge::engine {

Status EngineOptions::Validate() const {
  WANGGE_RETURN_IF_ERROR(store.Validate());
  return sequencer.Validate();
}

namespace {

// The ruleset of the last activation record, or nullptr when the log has none.
Result<std::shared_ptr<const rules::Ruleset>> LoadActivatedRules(const storage::Store& store,
                                                                 const storage::EventLog& log) {
  WANGGE_ASSIGN_OR_RETURN(auto seq_bytes, store.Get(storage::Family::kMeta, kActiveRulesKey));
  if (!seq_bytes) return std::shared_ptr<const rules::Ruleset>();
  if (seq_bytes->size() != 8) return Corruption("meta active_rules is malformed");
  const Seq seq{DecodeU64(*seq_bytes)};
  std::string payload;
  WANGGE_RETURN_IF_ERROR(log.Scan(seq, seq, [&](Seq, std::string_view p) {
    payload.assign(p);
    return false;
  }));
  WANGGE_ASSIGN_OR_RETURN(Record record, DecodeRecord(seq, payload));
  const auto* a = std::get_if<RulesActivation>(&record.body);
  if (!a)
    return Corruption("meta active_rules names record " + std::to_string(seq.value) +
                      ", which is not a rules activation");
  auto calendar = rules::Calendar::Load(a->calendar, "activated calendar");
  if (!calendar.ok()) {
    return Corruption("the calendar activated at record " + std::to_string(seq.value) +
                      " no longer loads: " + calendar.status().message());
  }
  auto ruleset = rules::Ruleset::Load(a->ruleset, "activated ruleset", *calendar);
  if (!ruleset.ok()) {
    return Corruption("the ruleset activated at record " + std::to_string(seq.value) +
                      " no longer loads: " + ruleset.status().message());
  }
  return std::move(ruleset).value();
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options, const Clock& clock) {
  WANGGE_RETURN_IF_ERROR(options.Validate());
  auto engine = std::unique_ptr<Engine>(new Engine());
  WANGGE_ASSIGN_OR_RETURN(engine->store_, storage::Store::Open(options.store));
  WANGGE_ASSIGN_OR_RETURN(engine->log_, storage::EventLog::Open(*engine->store_));
  WANGGE_ASSIGN_OR_RETURN(engine->loaded_rules_,
                          LoadActivatedRules(*engine->store_, *engine->log_));
  const bool activated = engine->loaded_rules_ != nullptr;
  if (!activated) engine->loaded_rules_ = rules::Ruleset::BuiltIn();
  if (options.store.read_only) return engine;

  engine->sequencer_ = std::make_unique<Sequencer>(*engine->store_, *engine->log_,
                                                   engine->loaded_rules_, clock, options.sequencer);
  engine->sequencer_->Start();
  if (!activated) {
    auto r = engine->ActivateRules(std::string(rules::Ruleset::BuiltInText()),
                                   std::string(rules::Calendar::BuiltInText()),
                                   Actor{"system", Role::kAdmin, ""});
    if (!r.ok()) return r.status();
  }
  return engine;
}

std::shared_ptr<const rules::Ruleset> Engine::active_rules() const {
  return sequencer_ ? sequencer_->active_rules() : loaded_rules_;
}

Result<Outcome> Engine::ActivateRules(std::string ruleset_json, std::string calendar_json,
                                      const Actor& actor) {
  if (!sequencer_) return FailedPrecondition("the store is open read-only");
  return sequencer_
      ->Submit(Command{actor, std::nullopt,
                       RulesActivation{std::move(ruleset_json), std::move(calendar_json), ""}})
      .get();
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
