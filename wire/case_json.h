// The one view of a case, and of one step of its history, as JSON.
#pragma once

#include <boost/json.hpp>

#include "engine/case_query.h"
#include "engine/domain.h"
#include "engine/media.h"
#include "rules/calendar.h"

namespace wangge::wire {

// Case `c` as `viewer` sees it: addressed as they address it (engine/access.h). The same
// fields wherever a case is shown: the API, exports, the CLI (docs/api.md).
// REQUIRES: engine::MaySee(viewer, c).
boost::json::object CaseJson(const engine::Actor& viewer, const engine::Case& c);

// Adds `working_hours_left` to an open case's view: the working time from `now` to its
// deadline in force under `calendar` (holidays and adjusted workdays included), in hours
// to one decimal; negative, the working time since, once it is overdue. Closed and
// cancelled cases get nothing. For answers read now (lists, a case), not for exports.
void AddWorkingHoursLeft(boost::json::object& view, const engine::Case& c,
                         const rules::Calendar& calendar, TimeMs now);

// One step of a case's history: who did what when, and where it left the case.
boost::json::object StepJson(const engine::HistoryStep& step);

// A stored photo as the API shows it: its hash, type, size, pixel size and, where its EXIF
// gave them, capture time and position.
boost::json::object MediaJson(std::string_view hash, const engine::MediaInfo& info);

// The actor an export or a tool reads as: it sees every case, by its case id.
inline const engine::Actor kReader{"wangge", engine::Role::kAuditor, ""};

}  // namespace wangge::wire
