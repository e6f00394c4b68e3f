// Expected routings: a table of sample reports and what each must get, so office staff
// can prove a ruleset change before activating it (`wangge rules test`). Format:
// docs/rules.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "rules/decision.h"
#include "rules/ruleset.h"

namespace wangge::rules {

// A report as routing sees it, owning its strings.
struct SampleReport {
  std::string category;
  int severity = 1;
  std::string village;
  std::string grid;
  std::string text;
  std::string reporter;
  TimeMs received_at;

  RouteInput input() const {
    return RouteInput{category, severity, village, grid, received_at, text, reporter};
  }
};

struct RuleTestCase {
  std::string name;
  SampleReport report;
  // What must hold; unset ones are not checked.
  std::optional<std::string> office;
  std::optional<TimeMs> deadline;
  std::optional<std::string> rule;
  std::optional<int> priority;
};

struct RuleTestFailure {
  std::string name;
  std::string field;
  std::string expected;
  std::string got;
};

// Parses a test file {"cases": [{"name", "report": {...}, "expect": {...}}]}.
// kInvalidArgument listing every problem with SOURCE:LINE:COLUMN.
Result<std::vector<RuleTestCase>> LoadRuleTests(std::string_view json, std::string_view source);

// Parses one report object (the "report" of a test case) for `rules explain`.
Result<SampleReport> LoadSampleReport(std::string_view json, std::string_view source);

// Routes every case; returns the mismatches (empty = all pass).
std::vector<RuleTestFailure> RunRuleTests(const Ruleset& rules,
                                          const std::vector<RuleTestCase>& cases);

}  // namespace wangge::rules
