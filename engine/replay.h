// Rebuilding derived state from the log alone, and checking the stored derived state
// against it. The log is the source of truth; this is how that is proven.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/domain.h"
#include "engine/stats.h"
#include "storage/event_log.h"
#include "storage/store.h"

namespace wangge::engine {

struct RebuiltState {
  uint64_t records = 0;
  Seq rules_seq;                                     // the last rules activation
  std::map<std::string, Case, std::less<>> cases;    // by client id
  std::vector<std::pair<std::string, Seq>> history;  // (client id, record) for each case record
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

// Compares the stored cases and their due/owner/history index entries with a rebuild from the
// log. Returns the differences found (empty = consistent), at most `max_problems`.
Result<std::vector<std::string>> CheckDerivedState(const storage::Store& store,
                                                   const storage::EventLog& log,
                                                   size_t max_problems = 20);

}  // namespace wangge::engine
