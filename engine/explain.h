// Why a case went where it went: a report's routing re-derived under the ruleset and
// calendar in force at its record, with the rule engine's trace of every row tried.
#pragma once

#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/domain.h"
#include "rules/ruleset.h"
#include "storage/event_log.h"

namespace wangge::engine {

// The routing a ruleset's decision becomes in a report record.
Routing RoutingOf(rules::Decision d);

struct RoutingExplanation {
  Seq rules_seq;  // the activation in force at the report; 0 = none (the built-in ruleset)
  std::vector<rules::TraceStep> trace;
  Routing derived;
  // The derived routing equals the recorded one. false means the record was not routed
  // by the ruleset it names: an altered record, or a rule engine that changed meaning.
  bool matches_record = false;
};

// kInvalidArgument: `report` is not a report record. Reads the log from its start to
// the report to find the activation in force (rare records; a full scan is seconds even
// for 10M records).
Result<RoutingExplanation> ExplainRouting(const storage::EventLog& log, const Record& report);

}  // namespace wangge::engine
