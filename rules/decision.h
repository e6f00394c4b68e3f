// What routing decides for one report: owner, deadline and why.
#pragma once

#include <string>
#include <string_view>

#include "engine/core/time.h"

namespace wangge::rules {

// The report attributes routing looks at.
struct RouteInput {
  std::string_view category;
  int severity = 1;
  std::string_view village;
  std::string_view grid;
  // The time the deadline counts from (the server's receive time).
  TimeMs received_at;
};

struct Decision {
  std::string office;
  TimeMs deadline;
  int priority = 0;
  std::string rule_id;
  std::string ruleset_version;
};

}  // namespace wangge::rules
