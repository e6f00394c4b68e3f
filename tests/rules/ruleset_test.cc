#include "rules/ruleset.h"

#include <random>

#include <gtest/gtest.h>

namespace wangge::rules {
namespace {

TimeMs At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

constexpr const char* kOffices = R"("offices": [
  {"id": "a", "name": "A", "level": "platform"}, {"id": "b", "name": "B", "level": "line"},
  {"id": "c", "name": "C", "level": "sub-centre"}, {"id": "d", "name": "D", "level": "platform"},
  {"id": "e", "name": "E", "level": "platform"}, {"id": "f", "name": "F", "level": "platform"},
  {"id": "g", "name": "G", "level": "platform"}, {"id": "h", "name": "H", "level": "platform"},
  {"id": "i", "name": "I", "level": "platform"}, {"id": "z", "name": "Z", "level": "platform"},
  {"id": "cun-V01", "name": "V01 committee", "level": "village", "village": "V01"}])";

std::string Ruleset1(const std::string& rows) {
  return std::string(R"({"version": "t1", )") + kOffices + R"(, "tables": [{"id": "t", "rows": [)" +
         rows + "]}]}";
}

std::shared_ptr<const Ruleset> MustLoad(const std::string& json) {
  auto rs = Ruleset::Load(json, "test.json", Calendar::BuiltIn());
  EXPECT_TRUE(rs.ok()) << rs.status().message();
  return rs.ok() ? *rs : nullptr;
}

const char* kConditionRows = R"(
  {"id": "exact", "rank": 1, "when": {"category": "env.garbage", "severity": {"min": 3}}, "then": {"office": "a"}},
  {"id": "prefix", "rank": 2, "when": {"category": "env.*", "village": ["V02"]}, "then": {"office": "b"}},
  {"id": "grid", "rank": 3, "when": {"grid": ["V03-G1"]}, "then": {"office": "c"}},
  {"id": "any-words", "rank": 4, "when": {"keywords": {"any": ["漏水", "爆管"]}}, "then": {"office": "d"}},
  {"id": "all-words", "rank": 5, "when": {"keywords": {"all": ["噪声", "夜间"]}}, "then": {"office": "e"}},
  {"id": "night", "rank": 6, "when": {"hours": {"from": 22, "to": 6}}, "then": {"office": "f"}},
  {"id": "weekend", "rank": 7, "when": {"weekdays": [6, 7], "holiday": false}, "then": {"office": "g"}},
  {"id": "holiday", "rank": 8, "when": {"holiday": true}, "then": {"office": "h"}},
  {"id": "reporter", "rank": 9, "when": {"reporter": ["W999"]}, "then": {"office": "i"}},
  {"id": "village-office", "rank": 10, "when": {"category": "dispute.*", "severity": 1}, "then": {"office": "@village"}},
  {"id": "default", "default": true, "then": {"office": "z", "limit": {"working_days": 2}}})";

struct Probe {
  const char* name;
  std::string category = "service.x";
  int severity = 2;
  std::string village = "V09";
  std::string grid = "V09-G1";
  std::string text;
  std::string reporter = "W001";
  const char* at = "2020-03-02T10:00:00+08:00";  // a Monday, a working day
  const char* rule = "t/default";
  const char* office = "z";
};

TEST(RulesetTest, EveryConditionKind) {
  auto rs = MustLoad(Ruleset1(kConditionRows));
  ASSERT_TRUE(rs);
  std::vector<Probe> probes(16);
  probes[0] = {.name = "exact category and severity range",
               .category = "env.garbage",
               .severity = 3,
               .rule = "t/exact",
               .office = "a"};
  probes[1] = {.name = "severity below range falls through", .category = "env.garbage"};
  probes[2] = {.name = "prefix and village",
               .category = "env.sewage",
               .village = "V02",
               .rule = "t/prefix",
               .office = "b"};
  probes[3] = {.name = "grid", .grid = "V03-G1", .rule = "t/grid", .office = "c"};
  probes[4] = {.name = "any keyword", .text = "厨房漏水严重", .rule = "t/any-words", .office = "d"};
  probes[5] = {
      .name = "all keywords", .text = "夜间施工噪声", .rule = "t/all-words", .office = "e"};
  probes[6] = {.name = "only some of all keywords", .text = "施工噪声"};
  probes[7] = {
      .name = "late night", .at = "2020-03-02T23:00:00+08:00", .rule = "t/night", .office = "f"};
  probes[8] = {.name = "early morning wraps",
               .at = "2020-03-03T03:00:00+08:00",
               .rule = "t/night",
               .office = "f"};
  probes[9] = {
      .name = "weekend", .at = "2020-03-07T10:00:00+08:00", .rule = "t/weekend", .office = "g"};
  probes[10] = {
      .name = "holiday", .at = "2020-10-05T10:00:00+08:00", .rule = "t/holiday", .office = "h"};
  probes[11] = {.name = "reporter", .reporter = "W999", .rule = "t/reporter", .office = "i"};
  probes[12] = {.name = "village office",
                .category = "dispute.family",
                .severity = 1,
                .village = "V01",
                .rule = "t/village-office",
                .office = "cun-V01"};
  probes[13] = {.name = "no village office: falls through",
                .category = "dispute.family",
                .severity = 1,
                .village = "V09"};
  probes[14] = {.name = "adjusted working Sunday is not weekend-off",
                .at = "2020-01-19T10:00:00+08:00",
                .rule = "t/weekend",
                .office = "g"};
  probes[15] = {.name = "prefix needs the dot", .category = "envx.garbage", .village = "V02"};
  for (const auto& p : probes) {
    RouteInput in{p.category, p.severity, p.village, p.grid, At(p.at), p.text, p.reporter};
    Decision d = rs->Route(in);
    EXPECT_EQ(d.rule_id, p.rule) << p.name;
    EXPECT_EQ(d.office, p.office) << p.name;
    Decision scan = rs->RouteByScan(in);
    EXPECT_EQ(scan.rule_id, d.rule_id) << p.name;
  }
}

TEST(RulesetTest, RowsAreTriedInRankOrderNotFileOrder) {
  auto rs = MustLoad(Ruleset1(R"(
    {"id": "later", "rank": 20, "when": {"severity": 2}, "then": {"office": "b"}},
    {"id": "sooner", "rank": 10, "when": {"category": "env.*"}, "then": {"office": "a"}},
    {"id": "tie-first", "rank": 30, "when": {"severity": 3}, "then": {"office": "c"}},
    {"id": "tie-second", "rank": 30, "when": {"severity": 3}, "then": {"office": "d"}},
    {"id": "default", "default": true, "then": {"office": "z", "limit": {"calendar_hours": 5}}})"));
  ASSERT_TRUE(rs);
  const TimeMs t = At("2020-03-02T10:00:00+08:00");
  EXPECT_EQ(rs->Route({"env.garbage", 2, "V1", "G1", t, "", "W"}).rule_id, "t/sooner");
  EXPECT_EQ(rs->Route({"service.x", 3, "V1", "G1", t, "", "W"}).rule_id, "t/tie-first");
  Decision d = rs->Route({"service.x", 1, "V1", "G1", t, "", "W"});
  EXPECT_EQ(d.rule_id, "t/default");
  EXPECT_EQ(d.deadline.ms - t.ms, 5 * 3'600'000);
  EXPECT_EQ(d.limit, (TimeLimit{LimitKind::kCalendarHours, 5}));
}

TEST(RulesetTest, TablesCombineTheirOutputs) {
  auto rs = MustLoad(std::string(R"({"version": "t2", )") + kOffices + R"(, "tables": [
    {"id": "owner", "rows": [
      {"id": "env", "when": {"category": "env.*"}, "then": {"office": "a"}},
      {"id": "default", "default": true, "then": {"office": "z"}}]},
    {"id": "limit", "rows": [
      {"id": "urgent", "when": {"severity": 4}, "then": {"limit": {"working_hours": 3}, "priority": 1}},
      {"id": "default", "default": true, "then": {"limit": {"working_days": 3}, "priority": 4,
                                                  "escalation": {"warn_at_percent": 75, "warn": ["b"], "breach": ["c", "b"]}}}]}]})");
  ASSERT_TRUE(rs);
  // Friday 16:30 + 3 working hours: 1 h on Friday, then Monday 08:30 + 2 h.
  Decision d = rs->Route({"env.sewage", 4, "V1", "G1", At("2020-03-06T16:30:00+08:00"), "", "W"});
  EXPECT_EQ(d.rule_id, "owner/env+limit/urgent");
  EXPECT_EQ(d.office, "a");
  EXPECT_EQ(d.priority, 1);
  EXPECT_EQ(FormatRfc3339(d.deadline), "2020-03-09T10:30:00+08:00");
  Decision e = rs->Route({"service.x", 1, "V1", "G1", At("2020-03-06T16:30:00+08:00"), "", "W"});
  EXPECT_EQ(e.escalation.warn_at_percent, 75);
  EXPECT_EQ(e.escalation.breach, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(e.ruleset_version, "t2");
}

// Found by the ruleset fuzzer: a winning row that sets neither office nor limit used to
// shadow the default row that sets them, leaving a decision with no owner and a deadline
// equal to the receive time.
TEST(RulesetTest, OutputsNoWinningRowSetsFallBackToTheDefaults) {
  auto rs = MustLoad(Ruleset1(R"(
    {"id": "urgent", "when": {"severity": 4}, "then": {"priority": 1}},
    {"id": "default", "default": true, "then": {"office": "z", "limit": {"calendar_hours": 5}}})"));
  ASSERT_TRUE(rs);
  const TimeMs t = At("2020-03-02T10:00:00+08:00");
  Decision d = rs->Route({"env.garbage", 4, "V1", "G1", t, "", "W"});
  EXPECT_EQ(d.rule_id, "t/urgent");
  EXPECT_EQ(d.priority, 1);
  EXPECT_EQ(d.office, "z");
  EXPECT_EQ(d.deadline.ms - t.ms, 5 * 3'600'000);
  EXPECT_EQ(rs->RouteByScan({"env.garbage", 4, "V1", "G1", t, "", "W"}).office, "z");
}

TEST(RulesetTest, ExplainNamesEveryRowTriedAndWhy) {
  auto rs = MustLoad(Ruleset1(kConditionRows));
  ASSERT_TRUE(rs);
  std::vector<TraceStep> trace;
  Decision d = rs->Explain(
      {"env.sewage", 2, "V02", "V02-G1", At("2020-03-02T10:00:00+08:00"), "", "W001"}, trace);
  EXPECT_EQ(d.rule_id, "t/prefix");
  ASSERT_EQ(trace.size(), 2u);
  EXPECT_EQ(trace[0].row, "exact");
  EXPECT_FALSE(trace[0].matched);
  EXPECT_NE(trace[0].reason.find("category env.sewage"), std::string::npos) << trace[0].reason;
  EXPECT_TRUE(trace[1].matched);
}

struct Broken {
  std::string json;
  std::string expect;
};

TEST(RulesetTest, BrokenRulesetsGiveTheirExactProblem) {
  const std::string def =
      R"({"id": "default", "default": true, "then": {"office": "z", "limit": {"working_days": 1}}})";
  const std::string head = std::string(R"({"version": "v", )") + kOffices;
  auto table = [&](const std::string& rows) {
    return head + R"(, "tables": [{"id": "t", "rows": [)" + rows + "]}]}";
  };
  const Broken cases[] = {
      {std::string("{") + kOffices + R"(, "tables": [{"id": "t", "rows": [)" + def + "]}]}",
       "version: is required"},
      {R"({"version": "v", "offices": [{"id": "a", "name": "A", "level": "castle"}], "tables": []})",
       "offices[0].level: must be platform, line, sub-centre or village"},
      {table(R"({"id": "r", "when": {"severity": 2}, "then": {"office": "nowhere"}}, )" + def),
       "tables[0].rows[0].then.office: office nowhere is not declared"},
      {table(R"({"id": "r", "when": {"severity": 2}, "then": {"office": "a"}})"),
       "table t needs a default row"},
      {table(def + ", " + def), "more than one default row"},
      {table(
           R"({"id": "d", "default": true, "when": {"severity": 1}, "then": {"office": "z", "limit": {"working_days": 1}}})"),
       "the default row has no conditions"},
      {table(
           R"({"id": "r", "when": {"severity": 2}, "then": {"limit": {"working_days": 1, "calendar_hours": 2}}}, )" +
           def),
       "must hold exactly one of working_days, working_hours, calendar_hours"},
      {table(R"({"id": "r", "when": {"severity": 7}, "then": {"office": "a"}}, )" + def),
       "rows[0].when.severity: must be an integer from 1 to 4"},
      {table(R"({"id": "r", "when": {"category": "env*"}, "then": {"office": "a"}}, )" + def),
       "must be an exact category or end in"},
      {table(R"({"id": "r", "when": {"colour": "red"}, "then": {"office": "a"}}, )" + def),
       "rows[0].when.colour: unknown field"},
      {table(
           R"({"id": "r", "when": {"severity": 2}, "then": {"office": "a"}}, {"id": "r", "when": {"severity": 3}, "then": {"office": "a"}}, )" +
           def),
       "row r appears twice in table t"},
      {table(
           R"({"id": "d", "default": true, "then": {"office": "@village", "limit": {"working_days": 1}}})"),
       "must name a fixed office, not @village"},
      {table(R"({"id": "d", "default": true, "then": {"office": "z"}})"),
       "no default row sets limit"},
      {table(
           R"({"id": "r", "when": {"severity": 2}, "then": {"escalation": {"warn": ["ghost"]}}}, )" +
           def),
       "office ghost is not declared"},
      {table(R"({"id": "r", "when": {"hours": {"from": 8, "to": 8}}, "then": {"office": "a"}}, )" +
             def),
       "from and to must differ"},
      {table(R"({"id": "r", "then": {"office": "a"}}, )" + def), "rows[0].when: is required"},
      {head +
           R"(, "categories": [{"id": "env.garbage", "name": "垃圾"}], "tables": [{"id": "t", "rows": [{"id": "r", "when": {"category": "env.sewage"}, "then": {"office": "a"}}, )" +
           def + "]}]}",
       "category env.sewage is not declared in categories"},
  };
  for (const auto& c : cases) {
    auto rs = Ruleset::Load(c.json, "bad.json", Calendar::BuiltIn());
    ASSERT_FALSE(rs.ok()) << c.json;
    EXPECT_EQ(rs.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(rs.status().message().find(c.expect), std::string::npos)
        << "expected: " << c.expect << "\n got: " << rs.status().message();
    EXPECT_NE(rs.status().message().find("bad.json:"), std::string::npos);
  }
}

TEST(RulesetTest, ReportsEveryProblemWithLineAndColumn) {
  const std::string json = std::string("{\"version\": \"v\",\n") + kOffices + R"(,
 "tables": [{"id": "t", "rows": [
   {"id": "r1", "when": {"severity": 9}, "then": {"office": "ghost"}},
   {"id": "r2", "when": {"weekdays": [0]}, "then": {"priority": 7}}]}]})";
  auto rs = Ruleset::Load(json, "many.json", Calendar::BuiltIn());
  ASSERT_FALSE(rs.ok());
  const std::string m = rs.status().message();
  EXPECT_NE(m.find("5 problem(s)"), std::string::npos) << m;
  EXPECT_NE(m.find("many.json:10:38: tables[0].rows[0].when.severity"), std::string::npos) << m;
  EXPECT_NE(m.find("tables[0].rows[1].when.weekdays[0]"), std::string::npos) << m;
  EXPECT_NE(m.find("tables[0].rows[1].then.priority"), std::string::npos) << m;
  EXPECT_NE(m.find("needs a default row"), std::string::npos) << m;
}

TEST(RulesetTest, BuiltInRulesetIsRealistic) {
  auto rs = Ruleset::BuiltIn();
  ASSERT_TRUE(rs);
  EXPECT_GE(rs->offices().size(), 4u + 40u);
  for (const char* platform : {"zongzhi", "shichang", "zonghe-zhifa", "bianmin"}) {
    ASSERT_NE(rs->FindOffice(platform), nullptr) << platform;
    EXPECT_EQ(rs->FindOffice(platform)->level, OfficeLevel::kPlatform);
  }
  const TimeMs monday = At("2020-03-02T10:00:00+08:00");
  Decision minor = rs->Route({"env.garbage", 1, "V07", "V07-G3", monday, "河道漂浮垃圾", "W017"});
  EXPECT_EQ(minor.office, "cun-V07");
  EXPECT_EQ(FormatRfc3339(minor.deadline), "2020-03-03T10:00:00+08:00");  // one working day
  Decision labour = rs->Route({"dispute.labour", 2, "V07", "V07-G3", monday, "欠薪", "W017"});
  EXPECT_EQ(labour.office, "xb-renshe");
  EXPECT_EQ(labour.limit, (TimeLimit{LimitKind::kWorkingDays, 7}));
  Decision fire =
      rs->Route({"city.occupation", 2, "V07", "V07-G3", monday, "仓库冒烟起火", "W017"});
  EXPECT_EQ(fire.office, "fzx-xiaofang");
  EXPECT_EQ(fire.deadline.ms - monday.ms, 3'600'000);
  Decision emergency = rs->Route({"safety.gas", 4, "V07", "V07-G3", monday, "燃气泄漏", "W017"});
  EXPECT_EQ(emergency.office, "xb-yingji");
  EXPECT_EQ(emergency.priority, 1);
  EXPECT_EQ(emergency.escalation.warn_at_percent, 50);
}

// A random ruleset over small domains, so that rows overlap heavily.
std::string RandomRuleset(std::mt19937& rng, int rows) {
  const char* cats[] = {"env.a", "env.b", "env.c.d", "city.a", "city.b", "food.a", "x.y.z", "q"};
  const char* prefixes[] = {"env.*", "city.*", "env.c.*", "x.*", "x.y.*"};
  const char* villages[] = {"V1", "V2", "V3"};
  const char* words[] = {"水", "火", "路", "灯"};
  std::string out =
      std::string(R"({"version": "rand", )") + kOffices + R"(, "tables": [{"id": "t", "rows": [)";
  for (int i = 0; i < rows; ++i) {
    std::string when;
    auto add = [&](const std::string& cond) { when += (when.empty() ? "" : ", ") + cond; };
    if (rng() % 3 == 0)
      add(std::string(R"("category": ")") + cats[rng() % 8] + "\"");
    else if (rng() % 2 == 0)
      add(std::string(R"("category": [")") + prefixes[rng() % 5] + R"(", ")" + cats[rng() % 8] +
          "\"]");
    if (rng() % 2 == 0) {
      int lo = 1 + static_cast<int>(rng() % 4);
      add(R"("severity": {"min": )" + std::to_string(lo) + R"(, "max": )" +
          std::to_string(lo + static_cast<int>(rng() % (5 - lo))) + "}");
    }
    if (rng() % 4 == 0) add(std::string(R"("village": [")") + villages[rng() % 3] + "\"]");
    if (rng() % 4 == 0) add(std::string(R"("keywords": {"any": [")") + words[rng() % 4] + "\"]}");
    if (rng() % 6 == 0)
      add(R"("hours": {"from": )" + std::to_string(rng() % 24) + R"(, "to": )" +
          std::to_string(1 + rng() % 23) + "}");
    if (rng() % 6 == 0) add(R"("weekdays": [)" + std::to_string(1 + rng() % 7) + "]");
    if (rng() % 8 == 0) add(std::string(R"("working_day": )") + (rng() % 2 ? "true" : "false"));
    if (when.find("hours") != std::string::npos) {
      // from == to is invalid; make sure they differ
      size_t f = when.find("\"from\": ");
      size_t t = when.find("\"to\": ");
      if (when.substr(f + 8, when.find(',', f) - f - 8) ==
          when.substr(t + 6, when.find('}', t) - t - 6)) {
        when.replace(t + 6, when.find('}', t) - t - 6, "24");
      }
    }
    if (when.empty()) add(R"("severity": {"min": 1, "max": 4})");
    out += R"({"id": "r)" + std::to_string(i) + R"(", "rank": )" + std::to_string(rng() % 50) +
           R"(, "when": {)" + when + R"(}, "then": {"office": ")" +
           std::string(1, static_cast<char>('a' + rng() % 9)) + R"("}}, )";
  }
  out +=
      R"({"id": "default", "default": true, "then": {"office": "z", "limit": {"working_hours": 4}}}]}]})";
  return out;
}

TEST(RulesetTest, IndexAndRowScanAgreeOnRandomReports) {
  std::mt19937 rng(20260101);
  auto rs = MustLoad(RandomRuleset(rng, 300));
  ASSERT_TRUE(rs);
  const char* cats[] = {"env.a",  "env.b", "env.c.d", "env.c", "city.a", "city.b",
                        "food.a", "x.y.z", "x.q",     "q",     "qq",     "env"};
  const char* texts[] = {"", "水管", "火", "路灯坏了", "其他"};
  const int64_t base = At("2020-01-01T00:00:00+08:00").ms;
  int differences = 0;
  for (int i = 0; i < 100'000; ++i) {
    std::string village = "V" + std::to_string(1 + rng() % 4);
    RouteInput in{cats[rng() % 12],
                  1 + static_cast<int>(rng() % 4),
                  village,
                  "G",
                  TimeMs{base + static_cast<int64_t>(rng() % (366ull * 86'400'000))},
                  texts[rng() % 5],
                  "W"};
    Decision a = rs->Route(in), b = rs->RouteByScan(in);
    if (a.rule_id != b.rule_id || a.office != b.office || a.deadline != b.deadline) {
      ADD_FAILURE() << "report " << i << ": index " << a.rule_id << ", scan " << b.rule_id;
      if (++differences > 5) break;
    }
  }
}

}  // namespace
}  // namespace wangge::rules
