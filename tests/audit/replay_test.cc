// Replay into a new directory: the state at every cut equals what the live engine had
// after the same records, and a ruleset switch mid-year replays under the right versions.
#include "audit/replay.h"

#include <future>
#include <vector>

#include <gtest/gtest.h>

#include "core/bytes.h"
#include "engine/codec.h"
#include "engine/engine.h"
#include "engine/sequencer.h"
#include "io/generator.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace wangge::audit {
using namespace engine;  // NOLINT: the engine's domain throughout
namespace {

std::unique_ptr<Engine> OpenEngine(const std::string& path, const Clock& clock) {
  EngineOptions o;
  o.store.path = path;
  o.store.create_if_missing = true;
  o.store.sync = false;  // the test is about content, not durability
  auto e = Engine::Open(o, clock);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? std::move(e).value() : nullptr;
}

// Submits commands [from, to) and waits; every one must be accepted.
void Feed(Engine& engine, const std::vector<Command>& commands, size_t from, size_t to) {
  std::vector<std::future<Result<Outcome>>> pending;
  for (size_t i = from; i < to; ++i) {
    pending.push_back(engine.sequencer().Submit(commands[i]));
    if (pending.size() == 1024 || i + 1 == to) {
      for (auto& f : pending) {
        auto r = f.get();
        ASSERT_TRUE(r.ok()) << r.status().ToString();
      }
      pending.clear();
    }
  }
}

std::vector<Command> TownYear(uint64_t reports, uint64_t seed, const rules::Ruleset& rules,
                              std::optional<TimeMs> from = {}, std::optional<TimeMs> to = {}) {
  io::GeneratorOptions g;
  g.reports = reports;
  g.seed = seed;
  g.from = from;
  g.to = to;
  std::vector<Command> out;
  EXPECT_TRUE(io::GenerateTownYear(g, rules, [&](const Command& c) { out.push_back(c); }).ok());
  return out;
}

StateDigest Digest(const storage::Store& store) {
  auto d = DigestState(store);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? *d : StateDigest{};
}

// A store holding a replay of `log` up to `options`.
std::unique_ptr<storage::Store> ReplayToNewStore(const storage::EventLog& log,
                                                 const std::string& path,
                                                 const ReplayOptions& options,
                                                 ReplayReport* report = nullptr) {
  storage::StoreOptions o;
  o.path = path;
  o.create_if_missing = true;
  o.bulk = true;
  auto store = storage::Store::Open(o);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return nullptr;
  auto r = ReplayInto(log, **store, options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (r.ok() && report) *report = *r;
  EXPECT_TRUE((*store)->Flush().ok());
  return std::move(store).value();
}

class ReplayTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  testing::FakeClock clock_;
};

TEST_F(ReplayTest, EveryCutEqualsTheLiveStateAfterTheSameRecords) {
  auto live = OpenEngine(dir_.Sub("live"), clock_);
  ASSERT_TRUE(live);
  const std::vector<Command> commands = TownYear(1500, 7, *live->active_rules());
  Feed(*live, commands, 0, commands.size());
  const uint64_t head = live->head().seq.value;
  ASSERT_EQ(head, commands.size() + 1);  // record 1 activates the built-in ruleset

  // The whole log: the same bytes in every family.
  ReplayReport report;
  auto whole = ReplayToNewStore(live->log(), dir_.Sub("whole"), {}, &report);
  ASSERT_TRUE(whole);
  EXPECT_EQ(report.records, head);
  EXPECT_EQ(report.head, live->head());
  EXPECT_EQ(Digest(*whole), Digest(live->store()));

  // Cuts: a second engine fed the commands up to the cut is the live state at that time.
  for (uint64_t cut : {uint64_t{1}, uint64_t{2}, uint64_t{777}, head / 2, head - 1}) {
    ReplayOptions options;
    options.until_seq = Seq{cut};
    options.batch_records = 100;  // many batches: cases span them
    auto replayed = ReplayToNewStore(live->log(), dir_.Sub("cut" + std::to_string(cut)), options);
    ASSERT_TRUE(replayed);
    auto prefix = OpenEngine(dir_.Sub("prefix" + std::to_string(cut)), clock_);
    ASSERT_TRUE(prefix);
    Feed(*prefix, commands, 0, cut - 1);
    ASSERT_EQ(prefix->head().seq.value, cut);
    EXPECT_EQ(Digest(*replayed), Digest(prefix->store())) << "cut at " << cut;
  }
}

// Reports whose client id another worker used first make cases of their own, and a
// replay derives the same ids, idempotency keys and histories.
TEST_F(ReplayTest, CasesOfReusedClientIdsReplayExactly) {
  auto live = OpenEngine(dir_.Sub("live"), clock_);
  ASSERT_TRUE(live);
  std::vector<Command> commands = TownYear(200, 5, *live->active_rules());
  Feed(*live, commands, 0, commands.size());
  std::vector<Command> reused;
  for (const Command& c : commands) {
    const auto* report = std::get_if<Report>(&c.body);
    if (!report || reused.size() >= 20) continue;
    Command again = c;
    again.actor.id = "W-other";
    again.at = clock_.Now();
    reused.push_back(again);
    Transition t;
    t.case_id = report->client_id;  // the second worker's own address for it
    t.action = Action::kReopen;
    t.note = "not resolved";
    reused.push_back(Command{again.actor, clock_.Now(), t});  // refused: not resolved yet
  }
  size_t created = 0;
  for (auto& c : reused) {
    auto r = live->sequencer().Submit(c).get();
    if (std::holds_alternative<Report>(c.body)) {
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->state.id, std::get<Report>(c.body).client_id + "~W-other");
      ++created;
    } else {
      EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
    }
  }
  EXPECT_EQ(created, 10u);
  auto whole = ReplayToNewStore(live->log(), dir_.Sub("whole"), {});
  ASSERT_TRUE(whole);
  EXPECT_EQ(Digest(*whole), Digest(live->store()));
  auto problems = CheckDerivedState(live->store(), live->log());
  ASSERT_TRUE(problems.ok());
  EXPECT_TRUE(problems->empty()) << problems->front();
}

TEST_F(ReplayTest, UntilTimeStopsBeforeTheFirstLaterRecord) {
  auto live = OpenEngine(dir_.Sub("live"), clock_);
  ASSERT_TRUE(live);
  const std::vector<Command> commands = TownYear(400, 3, *live->active_rules());
  Feed(*live, commands, 0, commands.size());
  const TimeMs until = *commands[commands.size() / 2].at;
  size_t known = 0;  // commands recorded by `until`: a prefix, as the log is in time order
  while (known < commands.size() && *commands[known].at <= until) ++known;
  ReplayOptions options;
  options.until_time = until;
  ReplayReport report;
  auto replayed = ReplayToNewStore(live->log(), dir_.Sub("t"), options, &report);
  ASSERT_TRUE(replayed);
  EXPECT_EQ(report.records, known + 1);
  auto prefix = OpenEngine(dir_.Sub("prefix"), clock_);
  Feed(*prefix, commands, 0, known);
  EXPECT_EQ(Digest(*replayed), Digest(prefix->store()));
}

TEST_F(ReplayTest, ARulesetSwitchMidYearReplaysUnderTheRightVersions) {
  auto live = OpenEngine(dir_.Sub("live"), clock_);
  ASSERT_TRUE(live);
  const TimeMs mid{1'593'532'800'000};  // 2020-07-01T00:00:00+08:00
  const auto first = TownYear(600, 11, *live->active_rules(), std::nullopt, mid);
  Feed(*live, first, 0, first.size());
  // Everything to one office with a 5-hour limit.
  const std::string v2 = R"({"version": "v2", "offices": [{"id": "one", "name": "One",
    "level": "platform"}], "tables": [{"id": "t", "rows": [{"id": "all", "default": true,
    "then": {"office": "one", "limit": {"calendar_hours": 5}}}]}]})";
  auto activated = live->ActivateRules(v2, "", Actor{"admin", Role::kAdmin, ""});
  ASSERT_TRUE(activated.ok()) << activated.status().ToString();
  const Seq switch_seq = activated->seq;
  const auto second = TownYear(600, 12, *live->active_rules(), mid);
  Feed(*live, second, 0, second.size());

  auto replayed = ReplayToNewStore(live->log(), dir_.Sub("r"), {});
  ASSERT_TRUE(replayed);
  EXPECT_EQ(Digest(*replayed), Digest(live->store()));
  int before = 0, after = 0;
  ASSERT_TRUE(replayed
                  ->Scan(storage::Family::kCases, "", "",
                         [&](std::string_view, std::string_view v) {
                           auto c = DecodeCase(v);
                           EXPECT_TRUE(c.ok());
                           if (!c.ok()) return false;
                           if (c->created_seq < switch_seq) {
                             EXPECT_EQ(c->ruleset_version, "default-2026.1");
                             ++before;
                           } else {
                             EXPECT_EQ(c->ruleset_version, "v2");
                             if (c->extension_count == 0) {
                               EXPECT_EQ(c->deadline.ms, c->received_at.ms + 5 * 3'600'000);
                             }
                             ++after;
                           }
                           return true;
                         })
                  .ok());
  EXPECT_GE(before, 600);
  EXPECT_GE(after, 600);

  // Cut just before the switch: the built-in ruleset is still the active one.
  ReplayOptions options;
  options.until_seq = Seq{switch_seq.value - 1};
  auto cut = ReplayToNewStore(live->log(), dir_.Sub("cut"), options);
  auto active = cut->Get(storage::Family::kMeta, kActiveRulesKey);
  ASSERT_TRUE(active.ok() && active->has_value());
  EXPECT_NE(**active, EncodeU64(switch_seq.value));
}

TEST_F(ReplayTest, RefusesAStoreThatAlreadyHasALog) {
  auto live = OpenEngine(dir_.Sub("live"), clock_);
  ASSERT_TRUE(live);
  auto replayed = ReplayToNewStore(live->log(), dir_.Sub("r"), {});
  ASSERT_TRUE(replayed);
  auto again = ReplayInto(live->log(), *replayed, {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace wangge::audit
