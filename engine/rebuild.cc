#include "engine/rebuild.h"

#include <optional>

#include "engine/case_index.h"
#include "engine/codec.h"
#include "engine/lifecycle.h"
#include "rules/calendar.h"

namespace wangge::engine {

StatsDelta StatsOf(const RebuiltState& state) {
  StatsDelta stats;
  for (const auto& [id, c] : state.cases) {
    auto w = state.work_ms.find(id);
    stats.Apply(nullptr, c, w == state.work_ms.end() ? 0 : w->second);
  }
  return stats;
}

Result<RebuiltState> RebuildInMemory(const storage::EventLog& log, Seq until) {
  RebuiltState state;
  Status failure;
  // The calendar of the last activation: closures are measured in its working time.
  std::optional<rules::Calendar> calendar;
  WANGGE_RETURN_IF_ERROR(log.Scan(Seq{1}, until, [&](Seq seq, std::string_view payload) {
    auto record = DecodeRecord(seq, payload);
    if (!record.ok()) {
      failure = record.status();
      return false;
    }
    ++state.records;
    if (const auto* a = std::get_if<RulesActivation>(&record->body)) {
      state.rules_seq = seq;
      auto loaded = rules::Calendar::Load(a->calendar, "activated calendar");
      if (!loaded.ok()) {
        failure =
            Corruption("record " + std::to_string(seq.value) +
                       " activates a calendar that does not load: " + loaded.status().message());
        return false;
      }
      calendar = std::move(loaded).value();
      return true;
    }
    if (std::holds_alternative<Report>(record->body)) {
      const std::string id(CaseIdOf(*record));
      if (state.cases.contains(id)) {
        failure = Corruption("record " + std::to_string(seq.value) + " reports " + id + " twice");
        return false;
      }
      state.cases.emplace(id, CaseFromReport(*record));
      state.history.emplace_back(id, seq);
      return true;
    }
    const std::string id(CaseIdOf(*record));
    auto it = state.cases.find(id);
    if (it == state.cases.end()) {
      failure = Corruption("record " + std::to_string(seq.value) + " moves unknown case " + id);
      return false;
    }
    auto next = ApplyCaseRecord(it->second, *record);
    if (!next.ok()) {
      failure = Corruption("record " + std::to_string(seq.value) +
                           " does not apply: " + next.status().message());
      return false;
    }
    if (next->status == CaseStatus::kClosed && it->second.status != CaseStatus::kClosed) {
      const rules::Calendar& cal = calendar ? *calendar : rules::Calendar::BuiltIn();
      state.work_ms[id] = cal.WorkingMsBetween(next->received_at, next->closed_at);
    }
    it->second = std::move(next).value();
    state.history.emplace_back(id, seq);
    const auto* t = std::get_if<Transition>(&record->body);
    if (t && t->action == Action::kComment && !t->key.empty()) {
      state.comment_keys.emplace_back(CommentKey(record->actor.id, id, t->key), seq);
    }
    return true;
  }));
  if (!failure.ok()) return failure;
  return state;
}

}  // namespace wangge::engine
