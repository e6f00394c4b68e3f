// The data files built into wangge: rules/default.json and rules/calendar-cn.json,
// embedded at build time (rules/CMakeLists.txt generates their definitions).
#pragma once

#include <string_view>

namespace wangge::rules {

extern const std::string_view kBuiltInRuleset;
extern const std::string_view kBuiltInCalendar;

}  // namespace wangge::rules
