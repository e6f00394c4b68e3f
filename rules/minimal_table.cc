#include "rules/minimal_table.h"

#include <algorithm>
#include <array>

namespace wangge::rules {

MinimalTable MinimalTable::Default() {
  return MinimalTable({
      {"dispute.", "zongzhi"},
      {"security.", "zongzhi"},
      {"petition.", "zongzhi"},
      {"food.", "shichang"},
      {"market.", "shichang"},
      {"env.", "zonghe-zhifa"},
      {"building.", "zonghe-zhifa"},
      {"city.", "zonghe-zhifa"},
      {"safety.", "zonghe-zhifa"},
      {"service.", "bianmin"},
      {"", "bianmin"},
  });
}

Decision MinimalTable::Route(const RouteInput& in) const {
  static constexpr std::array<int64_t, 4> kHoursBySeverity = {72, 48, 24, 8};
  const int severity = std::clamp(in.severity, 1, 4);
  size_t i = 0;
  while (i + 1 < rows_.size() && !in.category.starts_with(rows_[i].category_prefix)) ++i;
  const Row& row = rows_[i];
  Decision d;
  d.office = row.office;
  d.deadline =
      TimeMs{in.received_at.ms + kHoursBySeverity[static_cast<size_t>(severity - 1)] * 3'600'000};
  d.priority = severity;
  d.rule_id = "minimal/" +
              (row.category_prefix.empty() ? std::string("default") : row.category_prefix + "*");
  d.ruleset_version = std::string(kMinimalRulesetVersion);
  return d;
}

}  // namespace wangge::rules
