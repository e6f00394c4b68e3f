#include "engine/generator.h"

#include <gtest/gtest.h>

#include "engine/codec.h"
#include "engine/engine.h"
#include "engine/replay.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace wangge::engine {
namespace {

std::vector<Command> Generate(uint64_t reports, uint64_t seed) {
  GeneratorOptions o;
  o.reports = reports;
  o.seed = seed;
  std::vector<Command> out;
  Status s = GenerateTownYear(o, *rules::Ruleset::BuiltIn(),
                              [&](const Command& c) { out.push_back(c); });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST(GeneratorTest, SameSeedSameStreamOtherSeedOtherStream) {
  auto a = Generate(200, 7), b = Generate(200, 7), c = Generate(200, 8);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].at, b[i].at);
    ASSERT_EQ(a[i].actor, b[i].actor);
  }
  EXPECT_FALSE(a.size() == c.size() && a[0].at == c[0].at);
}

TEST(GeneratorTest, EveryCommandAppliesAndEveryCaseEndsClosed) {
  auto commands = Generate(500, 1);
  testing::TempDir dir;
  testing::FakeClock clock;
  EngineOptions o;
  o.store.path = dir.Sub("data");
  o.store.create_if_missing = true;
  auto engine = Engine::Open(o, clock);
  ASSERT_TRUE(engine.ok());
  std::vector<std::future<Result<Outcome>>> futures;
  for (auto& c : commands) futures.push_back((*engine)->sequencer().Submit(c));
  for (auto& f : futures) {
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  auto state = RebuildInMemory((*engine)->log());
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->cases.size(), 500u);
  for (const auto& [id, c] : state->cases) EXPECT_EQ(c.status, CaseStatus::kClosed) << id;
}

TEST(GeneratorTest, RejectsOutOfRangeOptions) {
  GeneratorOptions o;
  o.villages = 0;
  EXPECT_EQ(GenerateTownYear(o, *rules::Ruleset::BuiltIn(), [](const Command&) {}).field(),
            "villages");
}

}  // namespace
}  // namespace wangge::engine
