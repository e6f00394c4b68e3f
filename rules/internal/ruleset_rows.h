// The rows and tables of a loaded ruleset, shared by its loader (ruleset_loader.cc) and
// its matching (ruleset.cc). Private to rules/.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rules/ruleset.h"

namespace wangge::rules {

// The office value that means "the report's village's own office".
inline constexpr std::string_view kVillageOffice = "@village";

struct Ruleset::Row {
  std::string id;
  int64_t rank = 0;
  bool is_default = false;
  // Conditions; an empty list or unset optional means "any".
  std::vector<std::string> exact;     // categories
  std::vector<std::string> prefixes;  // "env." for "env.*"
  int severity_min = 1, severity_max = 4;
  std::vector<std::string> villages, grids, reporters;  // sorted
  std::vector<std::string> words_any, words_all;
  int hour_from = -1, hour_to = -1;  // [from, to) local hours; wraps when from > to
  uint8_t weekdays = 0;              // bit d set: weekday d (1 = Monday) matches
  std::optional<bool> holiday, working_day;
  // Outputs; unset ones are left to other tables.
  std::optional<std::string> office;
  std::optional<TimeLimit> limit;
  std::optional<int> priority;
  std::optional<Escalation> escalation;
};

struct Ruleset::Table {
  std::string id;
  std::vector<Row> rows;  // in rank order, the default row last
  std::unordered_map<std::string, std::vector<uint32_t>> by_exact, by_prefix;
  std::vector<uint32_t> any_category;
};

}  // namespace wangge::rules
