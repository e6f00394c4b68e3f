// What routing looks at and what it decides for one report.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"

namespace wangge::rules {

// The report attributes routing looks at.
struct RouteInput {
  std::string_view category;
  int severity = 1;
  std::string_view village;
  std::string_view grid;
  // The time the deadline counts from (the server's receive time).
  TimeMs received_at;
  std::string_view text;
  std::string_view reporter;
};

// Persisted in records: values never renumbered.
enum class LimitKind : uint8_t {
  kWorkingDays = 1,
  kWorkingHours = 2,
  kCalendarHours = 3,
};

struct TimeLimit {
  LimitKind kind = LimitKind::kCalendarHours;
  int amount = 0;
  friend bool operator==(const TimeLimit&, const TimeLimit&) = default;
};

// Who is told when a case nears its deadline and when it breaches it.
struct Escalation {
  int warn_at_percent = 80;         // of the time limit
  std::vector<std::string> warn;    // office ids
  std::vector<std::string> breach;  // office ids
  friend bool operator==(const Escalation&, const Escalation&) = default;
};

struct Decision {
  std::string office;
  TimeMs deadline;
  int priority = 0;
  std::string rule_id;  // "table/row", joined with "+" across tables
  std::string ruleset_version;
  TimeLimit limit;
  Escalation escalation;
};

}  // namespace wangge::rules
