// Why a case went where it went: a report's routing re-derived under the ruleset and
// calendar in force at its record, with the rule engine's trace of every row tried.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "engine/domain.h"
#include "rules/ruleset.h"
#include "storage/event_log.h"

namespace wangge::audit {

struct RoutingExplanation {
  Seq rules_seq;  // the activation in force at the report; 0 = none (the built-in ruleset)
  std::vector<rules::TraceStep> trace;
  engine::Routing derived;
  // The grid the geography in force at the report gives its position (empty: none, or no
  // geography). For a report that was located (Record::place), it is the recorded grid.
  std::string located_grid;
  // The derived routing equals the recorded one and, for a located report, so does the
  // grid. false means the record was not routed or located by the ruleset and geography
  // it names: an altered record, or a rule engine that changed meaning.
  bool matches_record = false;
};

// kInvalidArgument: `report` is not a report record. Reads the log from its start to
// the report to find the activation in force (rare records; a full scan is seconds even
// for 10M records).
Result<RoutingExplanation> ExplainRouting(const storage::EventLog& log,
                                          const engine::Record& report);

// What a ruleset would have done with recorded reports: how many would change owner
// or deadline, by old → new office, with examples. Writes nothing.
struct WhatIfOptions {
  std::optional<TimeMs> from;  // reports recorded at or after
  std::optional<TimeMs> to;    // reports recorded before
  size_t examples = 3;         // client ids kept per office pair
};
struct OfficeMove {
  uint64_t count = 0;
  std::vector<std::string> examples;  // client ids
};
struct WhatIfResult {
  uint64_t reports = 0;
  uint64_t owner_changed = 0;
  uint64_t deadline_earlier = 0;
  uint64_t deadline_later = 0;
  std::map<std::pair<std::string, std::string>, OfficeMove> moves;  // (recorded, new) office
};
Result<WhatIfResult> WhatIf(const storage::EventLog& log, const rules::Ruleset& rules,
                            const WhatIfOptions& options);

}  // namespace wangge::audit
