// Rebuilding case state in memory from the log alone: the derivation that replay, the
// state check and format upgrades share.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "engine/domain.h"
#include "engine/stats.h"
#include "storage/event_log.h"

namespace wangge::engine {

struct RebuiltState {
  uint64_t records = 0;
  Seq rules_seq;                                     // the last rules activation
  std::map<std::string, Case, std::less<>> cases;    // by client id
  std::vector<std::pair<std::string, Seq>> history;  // (client id, record) for each case record
  // The dedupe entries of comments with a key (engine/case_index.h CommentKey -> sequence).
  std::vector<std::pair<std::string, Seq>> comment_keys;
  // Working time from receipt to closure of each closed case, under the calendar in
  // force at its closing record.
  std::map<std::string, int64_t, std::less<>> work_ms;
};

// Applies records 1..until (0 = all) in memory, with the recorded routing decisions.
// kCorruption when a record does not decode or does not apply to the rebuilt state
// (a log the sequencer could not have written).
Result<RebuiltState> RebuildInMemory(const storage::EventLog& log, Seq until = Seq{});

// The stats family that the rebuilt cases imply (engine/stats.h).
StatsDelta StatsOf(const RebuiltState& state);

}  // namespace wangge::engine
