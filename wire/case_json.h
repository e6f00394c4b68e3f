// The one view of a case, and of one step of its history, as JSON.
#pragma once

#include <boost/json.hpp>

#include "engine/case_query.h"
#include "engine/domain.h"

namespace wangge::wire {

// Case `c` as `viewer` sees it: addressed as they address it (engine/access.h).
// REQUIRES: engine::MaySee(viewer, c).
boost::json::object CaseJson(const engine::Actor& viewer, const engine::Case& c);

// One step of a case's history: who did what when, and where it left the case.
boost::json::object StepJson(const engine::HistoryStep& step);

}  // namespace wangge::wire
