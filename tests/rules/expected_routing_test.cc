#include "rules/expected_routing.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace wangge::rules {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

TEST(ExpectedRoutingTest, DefaultRulesetPassesItsOwnTests) {
  const std::string path = std::string(WANGGE_SOURCE_DIR) + "/rules/default.tests.json";
  auto cases = LoadRuleTests(Read(path), path);
  ASSERT_TRUE(cases.ok()) << cases.status().message();
  EXPECT_GE(cases->size(), 10u);
  for (const auto& f : RunRuleTests(*Ruleset::BuiltIn(), *cases)) {
    ADD_FAILURE() << f.name << ": " << f.field << " expected " << f.expected << ", got " << f.got;
  }
}

TEST(ExpectedRoutingTest, AWrongExpectationIsReported) {
  auto cases = LoadRuleTests(R"({"cases": [{"name": "n", "report": {"category": "env.garbage",
      "severity": 2, "village": "V01", "received_at": "2020-03-02T10:00:00+08:00"},
      "expect": {"office": "bianmin", "priority": 3}}]})",
                             "t.json");
  ASSERT_TRUE(cases.ok()) << cases.status().message();
  auto failures = RunRuleTests(*Ruleset::BuiltIn(), *cases);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].field, "office");
  EXPECT_EQ(failures[0].expected, "bianmin");
  EXPECT_EQ(failures[0].got, "zonghe-zhifa");
}

TEST(ExpectedRoutingTest, MalformedTestFilesNameTheProblem) {
  auto cases = LoadRuleTests(R"({"cases": [{"name": "n", "report": {"category": "x", "severity": 9,
      "received_at": "soon"}, "expect": {}}]})",
                             "t.json");
  ASSERT_FALSE(cases.ok());
  const std::string m = cases.status().message();
  EXPECT_NE(m.find("cases[0].report.severity"), std::string::npos) << m;
  EXPECT_NE(m.find("cases[0].report.received_at"), std::string::npos) << m;
  EXPECT_NE(m.find("cases[0].expect"), std::string::npos) << m;
}

}  // namespace
}  // namespace wangge::rules
