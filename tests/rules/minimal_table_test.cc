#include "rules/minimal_table.h"

#include <gtest/gtest.h>

namespace wangge::rules {
namespace {

TEST(MinimalTableTest, RoutesByCategoryPrefixWithSeverityLimits) {
  MinimalTable table = MinimalTable::Default();
  const TimeMs t{1'000'000};
  struct Case {
    const char* category;
    int severity;
    const char* office;
    int64_t hours;
  } cases[] = {
      {"env.garbage", 1, "zonghe-zhifa", 72},  {"food.stall", 2, "shichang", 48},
      {"dispute.neighbour", 3, "zongzhi", 24}, {"service.streetlight", 4, "bianmin", 8},
      {"unheard.of", 2, "bianmin", 48},
  };
  for (const auto& c : cases) {
    Decision d = table.Route({c.category, c.severity, "V01", "V01-G1", t});
    EXPECT_EQ(d.office, c.office) << c.category;
    EXPECT_EQ(d.deadline.ms - t.ms, c.hours * 3'600'000) << c.category;
    EXPECT_EQ(d.ruleset_version, "minimal-1");
  }
  EXPECT_EQ(table.Route({"unheard.of", 1, "", "", t}).rule_id, "minimal/default");
  EXPECT_EQ(table.Route({"env.sewage", 1, "", "", t}).rule_id, "minimal/env.*");
}

}  // namespace
}  // namespace wangge::rules
