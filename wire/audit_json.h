// JSON shapes of the audit answers, shared by the HTTP API and the CLI (docs/api.md).
#pragma once

#include <boost/json.hpp>

#include "audit/explain.h"
#include "storage/event_log.h"

namespace wangge::wire {

// {"case_id", "rules_seq", "ruleset", "matches_record", "recorded": {...}, "derived": {...},
//  "trace": [{"table", "row", "matched", "reason"}]}
boost::json::object ExplainJson(const engine::Record& report,
                                const audit::RoutingExplanation& explanation);

// {"reports", "owner_changed", "deadline_earlier", "deadline_later",
//  "moves": [{"from_office", "to_office", "cases", "examples"}]}
boost::json::object WhatIfJson(const audit::WhatIfResult& result);

// {"ok", "records", "head": "SEQ:HASH"} and, when not ok, "first_bad" and "problem".
boost::json::object ChainJson(const storage::VerifyReport& report);

}  // namespace wangge::wire
