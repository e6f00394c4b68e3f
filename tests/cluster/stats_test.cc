// Province-wide stats in cluster mode add up each town's raw rows (ingest/cluster.h).
// Two generated towns, each in its own engine, sent through the wire form and merged,
// must give exactly the JSON one engine holding both towns gives, for every query shape.
#include <map>
#include <memory>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "cluster/cluster.h"
#include "engine/engine.h"
#include "io/generator.h"
#include "io/importer.h"
#include "rules/ruleset.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"
#include "wire/stats_json.h"

namespace wangge::cluster {
using io::CommandFeeder;
using wire::BuildStatsQuery;
using wire::StatsJson;
using wire::StatsParams;
namespace {

class ClusterStatsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    for (const char* name : {"t1", "t2", "all"}) {
      engine::EngineOptions o;
      o.store.path = dir_->Sub(name);
      o.store.create_if_missing = true;
      o.store.sync = false;
      o.first_activation_at = TimeMs{1'577'808'000'000};  // 2020-01-01, for all three
      auto e = engine::Engine::Open(o, clock_);
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      engines_[name] = std::move(*e);
    }
    // Two towns' year; the second town's villages are prefixed "T0002-".
    io::GeneratorOptions gen;
    gen.towns = 2;
    gen.reports = 2500;
    std::map<std::string, std::string> town_of;  // client id -> engine
    CommandFeeder t1(*engines_["t1"], 4096, "t1", 5), t2(*engines_["t2"], 4096, "t2", 5),
        all(*engines_["all"], 4096, "all", 5);
    uint64_t n = 0;
    Status s = io::GenerateTownYear(gen, *rules::Ruleset::BuiltIn(), [&](const engine::Command& c) {
      std::string town;
      if (const auto* r = std::get_if<engine::Report>(&c.body)) {
        town = r->village.starts_with("T0002-") ? "t2" : "t1";
        town_of[r->client_id] = town;
      } else if (const auto* t = std::get_if<engine::Transition>(&c.body)) {
        town = town_of[t->case_id];
      }
      ++n;
      (town == "t2" ? t2 : t1).Feed(c, n);
      all.Feed(c, n);
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(t1.Finish().rejected, 0u);
    EXPECT_EQ(t2.Finish().rejected, 0u);
    EXPECT_EQ(all.Finish().rejected, 0u);
  }
  static void TearDownTestSuite() {
    engines_.clear();
    delete dir_;
  }

  // The JSON the HTTP node gives (merged wire answers) and a single node's.
  static std::pair<std::string, std::string> Both(StatsParams p) {
    p.as_of = "2021-03-01T00:00:00+08:00";
    engine::StatsQuery q;
    EXPECT_TRUE(BuildStatsQuery(p, clock_.Now(), q).ok());
    auto decoded = cluster::DecodeStatsRequest(cluster::EncodeStatsRequest(p));
    EXPECT_TRUE(decoded.ok());
    engine::StatsResult merged;
    for (const char* town : {"t1", "t2"}) {
      engine::StatsQuery tq;
      EXPECT_TRUE(BuildStatsQuery(*decoded, clock_.Now(), tq).ok());
      auto part = cluster::DecodeStatsAnswer(cluster::EncodeStatsAnswer(engines_[town]->Stats(tq)));
      EXPECT_TRUE(part.ok()) << part.status().ToString();
      if (part.ok()) cluster::MergeStats(merged, *part);
    }
    auto single = engines_["all"]->Stats(q);
    EXPECT_TRUE(single.ok());
    return {boost::json::serialize(StatsJson(q, merged)),
            boost::json::serialize(StatsJson(q, *single))};
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline testing::FakeClock clock_{TimeMs{1'640'966'400'000}};  // 2022
  static inline std::map<std::string, std::unique_ptr<engine::Engine>> engines_;
};

TEST_F(ClusterStatsTest, MergedTownsEqualOneNodeHoldingBoth) {
  const StatsParams shapes[] = {
      {},
      {.group_by = "office"},
      {.group_by = "village"},
      {.group_by = "category", .interval = "month"},
      {.group_by = "worker"},
      {.from = "2020-03-01", .to = "2020-05-31", .group_by = "grid"},
      {.office = "zhihuishi", .interval = "week"},
      {.group_by = "category", .village = "T0002-V03"},
      {.group_by = "office", .category = "env.garbage", .interval = "day"},
  };
  for (const auto& p : shapes) {
    SCOPED_TRACE("group_by=" + p.group_by + " interval=" + p.interval + " office=" + p.office +
                 " village=" + p.village);
    auto [merged, single] = Both(p);
    EXPECT_EQ(merged, single);
    EXPECT_NE(single.find("\"total\":"), std::string::npos) << single;
  }
}

TEST_F(ClusterStatsTest, EachTownAloneIsOnlyPartOfTheWhole) {
  // The merge is not vacuous: one town's figures differ from the sum.
  StatsParams p;
  p.group_by = "office";
  p.as_of = "2021-03-01T00:00:00+08:00";
  engine::StatsQuery q;
  ASSERT_TRUE(BuildStatsQuery(p, clock_.Now(), q).ok());
  auto one = engines_["t1"]->Stats(q);
  ASSERT_TRUE(one.ok());
  EXPECT_NE(boost::json::serialize(StatsJson(q, *one)), Both(p).second);
}

TEST(ClusterWireTest, MalformedAnswersAreRefusedAndErrorsCarried) {
  for (
      const char* bad :
      {"", "[]", "{}", R"({"rows":[{"period":"","key":""}]})",
       R"({"rows":[{"period":"","key":"","counters":[[70000,1]],"overdue_open":0,"backlog":[0,0,0,0,0,0]}]})",
       R"({"rows":[{"period":"","key":"","counters":[[1,2,3]],"overdue_open":0,"backlog":[0,0,0,0,0,0]}]})",
       R"({"rows":[{"period":"","key":"","counters":[],"overdue_open":0,"backlog":[0]}]})"}) {
    SCOPED_TRACE(bad);
    auto r = cluster::DecodeStatsAnswer(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  }
  auto error = cluster::DecodeStatsAnswer(
      cluster::EncodeStatsAnswer(InvalidArgument("as_of is before the last event", "as_of")));
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(error.status().field(), "as_of");
  EXPECT_FALSE(cluster::DecodeStatsRequest(R"({"from":""})").ok());
}

TEST(ClusterWireTest, TownAndInstanceNamesAreChecked) {
  EXPECT_TRUE(cluster::ValidateTown("xiaoshan-01").ok());
  for (const char* bad : {"", "a.b", "a b", "a*", "a>", "镇"}) {
    EXPECT_EQ(cluster::ValidateTown(bad).code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(cluster::ValidateTown(std::string(65, 'a')).ok());
  auto list = cluster::ParseTownList("a,b,a");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(cluster::ParseTownList("a,,b").ok());
  EXPECT_FALSE(cluster::ParseTownList("a,b.c").ok());
}

}  // namespace
}  // namespace wangge::cluster
