// A minimal category -> office table with calendar-hour limits by severity. It routes
// until the decision-table rule engine replaces it; its version names it in records.
#pragma once

#include <string>
#include <vector>

#include "rules/decision.h"

namespace wangge::rules {

inline constexpr std::string_view kMinimalRulesetVersion = "minimal-1";

// Immutable; thread-safe.
class MinimalTable {
 public:
  struct Row {
    std::string category_prefix;  // "env." matches "env.garbage"; "" matches everything
    std::string office;
  };

  // The four platforms of a town: 综治工作, 市场监管, 综合执法, 便民服务.
  static MinimalTable Default();

  explicit MinimalTable(std::vector<Row> rows) : rows_(std::move(rows)) {}

  // First row whose prefix matches wins; the last row must match everything.
  // Severity 1..4 gives 72, 48, 24 or 8 calendar hours from received_at.
  Decision Route(const RouteInput& in) const;

  const std::vector<Row>& rows() const { return rows_; }

 private:
  std::vector<Row> rows_;
};

}  // namespace wangge::rules
