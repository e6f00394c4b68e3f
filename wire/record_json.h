// A log record as JSON: the one view of a record that the feed, webhooks and exports show.
#pragma once

#include <string_view>

#include <boost/json.hpp>

#include "engine/domain.h"

namespace wangge::wire {

// "report", "transition", "timer" or "rules".
std::string_view KindOf(const engine::Record& r);

// A record's readable fields: seq, at, actor, role, kind (report, transition, timer,
// rules), case_id, and what the kind carries (the routing of a report, the action of a
// transition or timer, the version of a ruleset).
boost::json::object RecordFields(const engine::Record& r);

}  // namespace wangge::wire
