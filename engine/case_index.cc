#include "engine/case_index.h"

#include <algorithm>

#include "core/bytes.h"
#include "engine/codec.h"
#include "engine/lifecycle.h"

namespace wangge::engine {

using storage::Family;

std::string DueKey(TimeMs deadline, std::string_view case_id) {
  std::string key;
  key.reserve(8 + case_id.size());
  PutI64(key, deadline.ms);
  key.append(case_id);
  return key;
}

std::string OwnerKey(std::string_view office, CaseStatus status, std::string_view case_id) {
  std::string key;
  key.reserve(office.size() + 2 + case_id.size());
  key.append(office);
  PutU8(key, 0);
  PutU8(key, static_cast<uint8_t>(status));
  key.append(case_id);
  return key;
}

std::string DedupeKey(std::string_view reporter, std::string_view client_id) {
  std::string key;
  key.reserve(reporter.size() + 1 + client_id.size());
  key.append(reporter);
  PutU8(key, 0);
  key.append(client_id);
  return key;
}

std::string CommentKey(std::string_view actor, std::string_view case_id, std::string_view key) {
  std::string out = DedupeKey(actor, case_id);
  PutU8(out, 0);
  out.append(key);
  return out;
}

void WriteCommentKey(storage::WriteSet& set, const Record& record, std::string_view case_id) {
  const auto* t = std::get_if<Transition>(&record.body);
  if (!t || t->action != Action::kComment || t->key.empty()) return;
  set.Put(Family::kDedupe, CommentKey(record.actor.id, case_id, t->key),
          EncodeU64(record.seq.value));
}

std::string HistoryKey(std::string_view case_id, Seq seq) {
  std::string key;
  key.reserve(case_id.size() + 9);
  key.append(case_id);
  PutU8(key, 0);
  PutU64(key, seq.value);
  return key;
}

std::string TimerKey(TimeMs at, TimerKind kind, std::string_view case_id) {
  std::string key;
  key.reserve(9 + case_id.size());
  PutI64(key, at.ms);
  PutU8(key, static_cast<uint8_t>(kind));
  key.append(case_id);
  return key;
}

std::vector<std::string> TimerKeys(const Case& c) {
  std::vector<std::string> keys;
  if (!c.open()) return keys;
  const std::string& id = c.id;
  if (c.warned_at.ms == 0) {
    if (auto at = WarningTime(c)) keys.push_back(TimerKey(*at, TimerKind::kWarning, id));
  }
  if (c.breached_at.ms == 0) keys.push_back(TimerKey(c.deadline, TimerKind::kBreach, id));
  return keys;
}

void WriteCaseChange(storage::WriteSet& set, const Case* before, const Case& after) {
  const std::string& id = after.id;
  set.Put(Family::kCases, id, EncodeCase(after));
  if (!before) set.Put(Family::kDedupe, DedupeKey(after.reporter.id, after.report.client_id), id);

  const bool due_changed =
      !before || before->deadline != after.deadline || before->open() != after.open();
  if (due_changed) {
    if (before && before->open()) set.Delete(Family::kDue, DueKey(before->deadline, id));
    if (after.open()) set.Put(Family::kDue, DueKey(after.deadline, id), {});
  }
  const std::vector<std::string> old_timers =
      before ? TimerKeys(*before) : std::vector<std::string>();
  const std::vector<std::string> new_timers = TimerKeys(after);
  for (const auto& k : old_timers) {
    if (std::find(new_timers.begin(), new_timers.end(), k) == new_timers.end()) {
      set.Delete(Family::kTimers, k);
    }
  }
  for (const auto& k : new_timers) {
    if (std::find(old_timers.begin(), old_timers.end(), k) == old_timers.end()) {
      set.Put(Family::kTimers, k, {});
    }
  }
  const bool owner_changed =
      !before || before->office != after.office || before->status != after.status;
  if (owner_changed) {
    if (before) set.Delete(Family::kOwner, OwnerKey(before->office, before->status, id));
    set.Put(Family::kOwner, OwnerKey(after.office, after.status, id), {});
  }
}

}  // namespace wangge::engine
