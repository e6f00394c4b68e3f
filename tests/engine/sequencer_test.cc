#include "engine/sequencer.h"

#include <functional>
#include <future>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "audit/replay.h"
#include "core/bytes.h"
#include "engine/case_index.h"
#include "engine/engine.h"
#include "engine/lifecycle.h"
#include "engine/media.h"
#include "engine/stats.h"
#include "tests/testing/builders.h"
#include "tests/testing/engine_fixture.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace wangge::engine {
namespace {

using testing::ReportCommand;
using testing::TransitionCommand;

class SequencerTest : public testing::EngineFixture {
 protected:
  Result<Outcome> Run(Command c) { return engine_->sequencer().Submit(std::move(c)).get(); }

  void ExpectConsistent() {
    auto problems = audit::CheckDerivedState(engine_->store(), engine_->log());
    ASSERT_TRUE(problems.ok()) << problems.status().ToString();
    EXPECT_TRUE(problems->empty()) << (*problems)[0];
    auto chain = engine_->log().Verify();
    ASSERT_TRUE(chain.ok());
    EXPECT_TRUE(chain->ok) << chain->problem;
  }

  // Edits the closed data directory as an older wangge would have left it, recording
  // `format` as its version.
  void Rewrite(uint32_t format,
               const std::function<void(storage::Store&, storage::WriteSet&)>& edit = {}) {
    engine_.reset();
    storage::StoreOptions so;
    so.path = dir_.Sub("data");
    auto store = storage::Store::Open(so);
    ASSERT_TRUE(store.ok());
    storage::WriteSet set(**store);
    if (edit) edit(**store, set);
    std::string v;
    PutU32(v, format);
    set.Put(storage::Family::kMeta, storage::kFormatKey, v);
    ASSERT_TRUE((*store)->Write(set).ok());
  }
};

// A new store's first record activates the built-in ruleset; commands follow it.
constexpr uint64_t kActivation = 1;

TEST_F(SequencerTest, ReportCreatesARoutedCaseThatSurvivesReopen) {
  auto r = Run(ReportCommand("c-1"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->kind, Outcome::Kind::kCreated);
  EXPECT_EQ(r->seq.value, kActivation + 1);
  EXPECT_EQ(r->state.office, "zonghe-zhifa");
  EXPECT_EQ(r->state.received_at, clock_.Now());
  // Severity 2 gets two working days under the built-in ruleset.
  EXPECT_EQ(FormatRfc3339(r->state.deadline), "2020-03-04T09:15:00+08:00");
  EXPECT_EQ(r->state.rule_id, "route/to-zonghe-zhifa+limit/ordinary+escalation/default");
  EXPECT_EQ(r->state.ruleset_version, "default-2026.1");
  EXPECT_EQ(r->state.status, CaseStatus::kDispatched);

  Open();
  auto stored = engine_->GetCase("c-1");
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ(**stored, r->state);
  EXPECT_EQ(engine_->head().seq.value, kActivation + 1);
  ExpectConsistent();
}

TEST_F(SequencerTest, RecordedTimeComesFromTheCommandWhenGiven) {
  Command c = ReportCommand("c-1");
  c.at = TimeMs{1'577'808'000'000};
  auto r = Run(std::move(c));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state.received_at.ms, 1'577'808'000'000);
}

TEST_F(SequencerTest, ARetryBySameReporterIsTheSameCaseAndWritesNothing) {
  auto first = Run(ReportCommand("c-1"));
  ASSERT_TRUE(first.ok());
  auto again = Run(ReportCommand("c-1"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->kind, Outcome::Kind::kDuplicate);
  EXPECT_EQ(again->seq, first->seq);
  EXPECT_EQ(again->state, first->state);
  EXPECT_EQ(engine_->head().seq.value, kActivation + 1);
}

// The rule of idempotency keys: a key reused for different content is a conflict that
// names the first field that differs, and nothing is written.
TEST_F(SequencerTest, AReusedKeyWithOtherContentIsAConflictNamingTheField) {
  ASSERT_TRUE(Run(ReportCommand("c-1")).ok());
  Command changed = ReportCommand("c-1");
  std::get<Report>(changed.body).text = "another text";
  std::get<Report>(changed.body).severity = 4;
  auto r = Run(std::move(changed));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(r.status().field(), "severity");  // severity comes before text on the wire
  EXPECT_EQ(engine_->head().seq.value, kActivation + 1);
  ExpectConsistent();
}

// A second worker's device that happens to use the first worker's client id gets a case
// of its own and learns nothing of the first: not its text, office, deadline or id.
TEST_F(SequencerTest, AnotherReportersKeyMakesItsOwnCase) {
  auto first = Run(ReportCommand("c-1", "W017"));
  ASSERT_TRUE(first.ok());
  Command other = ReportCommand("c-1", "W099");
  std::get<Report>(other.body).text = "W099's own report";
  auto second = Run(std::move(other));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->kind, Outcome::Kind::kCreated);
  EXPECT_EQ(second->seq.value, kActivation + 2);
  EXPECT_EQ(second->state.id, "c-1~W099");
  EXPECT_EQ(second->state.report.client_id, "c-1");
  EXPECT_EQ(second->state.report.text, "W099's own report");
  EXPECT_EQ(second->state.reporter.id, "W099");
  // Each worker's retry finds their own case.
  EXPECT_EQ(Run(ReportCommand("c-1", "W017"))->state.id, "c-1");
  Command retry = ReportCommand("c-1", "W099");
  std::get<Report>(retry.body).text = "W099's own report";
  EXPECT_EQ(Run(std::move(retry))->kind, Outcome::Kind::kDuplicate);
  // A third reporter whose client id is the second case's id gets yet another.
  auto third = Run(ReportCommand("c-1~W099", "W5"));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->state.id, "c-1~W099~W5");

  // Each worker addresses their own case by the client id they sent.
  auto handler = testing::Handler("zonghe-zhifa");
  ASSERT_TRUE(Run(TransitionCommand("c-1~W099", Action::kAccept, handler)).ok());
  ASSERT_TRUE(Run(TransitionCommand("c-1~W099", Action::kResolve, handler)).ok());
  Command verify = TransitionCommand("c-1", Action::kVerify, testing::Worker("W099"));
  std::get<Transition>(verify.body).satisfaction = 5;
  auto closed = Run(std::move(verify));
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  EXPECT_EQ(closed->state.id, "c-1~W099");
  EXPECT_EQ(closed->state.status, CaseStatus::kClosed);
  auto history = engine_->CaseHistory("c-1~W099");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 4u);
  EXPECT_EQ(std::get<Transition>(history->back().record.body).case_id, "c-1~W099");
  // The first worker's case is untouched, and W099 cannot reach it.
  auto untouched = engine_->GetCase("c-1");
  ASSERT_TRUE(untouched.ok() && untouched->has_value());
  EXPECT_EQ(**untouched, first->state);
  auto found = engine_->FindCase(testing::Worker("W099"), "c-1");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, "c-1~W099");
  EXPECT_FALSE(engine_->FindCase(testing::Worker("W123"), "c-1")->has_value());

  Open();  // the keys are durable, and replay derives them
  EXPECT_EQ(Run(ReportCommand("c-1", "W017"))->state.id, "c-1");
  ExpectConsistent();
}

TEST_F(SequencerTest, AFormatFiveDirectoryGetsItsIdempotencyKeysOnOpen) {
  ASSERT_TRUE(Run(ReportCommand("k-1", "W017")).ok());
  ASSERT_TRUE(Run(ReportCommand("k-2", "W099")).ok());
  Rewrite(5, [](storage::Store& store, storage::WriteSet& set) {
    ASSERT_TRUE(store
                    .Scan(storage::Family::kDedupe, "", "",
                          [&](std::string_view k, std::string_view) {
                            set.Delete(storage::Family::kDedupe, k);
                            return true;
                          })
                    .ok());
  });
  Open();
  EXPECT_EQ(engine_->store().format_version(), storage::kFormatVersion);
  EXPECT_EQ(Run(ReportCommand("k-1", "W017"))->kind, Outcome::Kind::kDuplicate);
  EXPECT_EQ(Run(ReportCommand("k-1", "W099"))->state.id, "k-1~W099");
  EXPECT_EQ(engine_->head().seq.value, kActivation + 3);
  ExpectConsistent();
}

TEST_F(SequencerTest, DuplicatesInsideOneBatchAreCaughtToo) {
  std::vector<std::future<Result<Outcome>>> futures;
  for (int i = 0; i < 50; ++i)
    futures.push_back(engine_->sequencer().Submit(ReportCommand("same")));
  int created = 0, duplicates = 0;
  for (auto& f : futures) {
    auto r = f.get();
    ASSERT_TRUE(r.ok());
    (r->kind == Outcome::Kind::kCreated ? created : duplicates)++;
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(duplicates, 49);
  EXPECT_EQ(engine_->head().seq.value, kActivation + 1);
}

TEST_F(SequencerTest, FullLifecycleMaintainsIndexes) {
  ASSERT_TRUE(Run(ReportCommand("c-1")).ok());
  auto handler = testing::Handler("zonghe-zhifa");
  ASSERT_TRUE(Run(TransitionCommand("c-1", Action::kAccept, handler)).ok());
  clock_.Advance(3'600'000);
  ASSERT_TRUE(Run(TransitionCommand("c-1", Action::kResolve, handler)).ok());
  Command verify = TransitionCommand("c-1", Action::kVerify, testing::Worker());
  std::get<Transition>(verify.body).satisfaction = 5;
  auto closed = Run(std::move(verify));
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  EXPECT_EQ(closed->kind, Outcome::Kind::kApplied);
  EXPECT_EQ(closed->seq.value, kActivation + 4);
  EXPECT_EQ(closed->state.status, CaseStatus::kClosed);
  // A closed case leaves the open-deadline index; the owner index follows its status.
  auto due = engine_->store().Get(storage::Family::kDue, DueKey(closed->state.deadline, "c-1"));
  EXPECT_FALSE(due->has_value());
  auto owner = engine_->store().Get(storage::Family::kOwner,
                                    OwnerKey("zonghe-zhifa", CaseStatus::kClosed, "c-1"));
  EXPECT_TRUE(owner->has_value());
  ExpectConsistent();
}

TEST_F(SequencerTest, RejectedTransitionsWriteNothing) {
  ASSERT_TRUE(Run(ReportCommand("c-1")).ok());
  auto wrong_office = Run(TransitionCommand("c-1", Action::kAccept, testing::Handler("shichang")));
  EXPECT_EQ(wrong_office.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(wrong_office.status().message(), "no case c-1");
  auto not_theirs = Run(TransitionCommand("c-1", Action::kVerify, testing::Worker("W099")));
  EXPECT_EQ(not_theirs.status().code(), StatusCode::kNotFound);
  auto too_early =
      Run(TransitionCommand("c-1", Action::kResolve, testing::Handler("zonghe-zhifa")));
  EXPECT_EQ(too_early.status().code(), StatusCode::kFailedPrecondition);
  auto unknown = Run(TransitionCommand("c-404", Action::kAccept, testing::Handler("x")));
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(engine_->head().seq.value, kActivation + 1);
  // A later legal command takes the very next sequence.
  auto ok = Run(TransitionCommand("c-1", Action::kAccept, testing::Handler("zonghe-zhifa")));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->seq.value, kActivation + 2);
  ExpectConsistent();
}

TEST_F(SequencerTest, ConcurrentProducersGetUniqueContiguousSequences) {
  constexpr int kThreads = 8, kEach = 300;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<uint64_t> seqs;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = Run(ReportCommand("t" + std::to_string(t) + "-" + std::to_string(i)));
        if (!r.ok() || r->kind != Outcome::Kind::kCreated) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mu);
        seqs.insert(r->seq.value);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(seqs.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(*seqs.begin(), kActivation + 1);
  EXPECT_EQ(*seqs.rbegin(), kActivation + kThreads * kEach);
  auto stats = engine_->sequencer().stats();
  EXPECT_EQ(stats.records, kActivation + kThreads * kEach);
  EXPECT_LT(stats.commits, stats.records);  // group commit: fewer writes than records
  ExpectConsistent();
}

TEST_F(SequencerTest, SubmitAfterStopIsUnavailable) {
  engine_->Stop();
  auto r = Run(ReportCommand("late"));
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

TEST_F(SequencerTest, StopCommitsEverythingQueued) {
  std::vector<std::future<Result<Outcome>>> futures;
  for (int i = 0; i < 1000; ++i) {
    futures.push_back(engine_->sequencer().Submit(ReportCommand("q-" + std::to_string(i))));
  }
  engine_->Stop();
  for (auto& f : futures) EXPECT_TRUE(f.get().ok());
  Open();
  EXPECT_EQ(engine_->head().seq.value, kActivation + 1000);
  ExpectConsistent();
}

// A comment changes no status and no figure; one with a key its actor used on the case
// before is the same comment, found again after a restart and in a replay.
TEST_F(SequencerTest, AKeyedCommentIsRecordedOnceAndReplaysExactly) {
  ASSERT_TRUE(Run(ReportCommand("c-1")).ok());
  auto counts_before = engine_->CaseCounts();
  ASSERT_TRUE(counts_before.ok());
  const auto digest_figures = [&] {
    auto d = audit::DigestState(*engine_);
    EXPECT_TRUE(d.ok());
    return d.ok() ? d->families[static_cast<size_t>(storage::Family::kStats)] : Hash{};
  };
  const Hash figures_before = digest_figures();
  const auto comment = [&](const std::string& key, Actor actor) {
    Command c = TransitionCommand("c-1", Action::kComment, std::move(actor));
    auto& t = std::get<Transition>(c.body);
    t.note = "还没清理";
    t.key = key;
    return Run(std::move(c));
  };
  auto first = comment("k-1", testing::Worker());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->kind, Outcome::Kind::kApplied);
  EXPECT_EQ(first->state.status, CaseStatus::kDispatched);
  auto again = comment("k-1", testing::Worker());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->kind, Outcome::Kind::kDuplicate);
  EXPECT_EQ(again->seq, first->seq);
  // Another key, or no key, is another comment; so is the same key from another actor.
  EXPECT_EQ(comment("k-2", testing::Worker())->kind, Outcome::Kind::kApplied);
  EXPECT_EQ(comment("", testing::Worker())->kind, Outcome::Kind::kApplied);
  const Actor office = testing::Handler(first->state.office);
  EXPECT_EQ(comment("k-1", office)->kind, Outcome::Kind::kApplied);
  EXPECT_EQ(engine_->head().seq.value, kActivation + 5);
  EXPECT_EQ(*engine_->CaseCounts(), *counts_before);
  EXPECT_EQ(digest_figures(), figures_before);
  ExpectConsistent();

  Open();
  auto after_restart = comment("k-1", testing::Worker());
  ASSERT_TRUE(after_restart.ok());
  EXPECT_EQ(after_restart->kind, Outcome::Kind::kDuplicate);
  EXPECT_EQ(after_restart->seq, first->seq);
  auto replayed = audit::ReplayToNewDirectory(engine_->log(), dir_.Sub("replayed"), {});
  ASSERT_TRUE(replayed.ok()) << replayed.status().ToString();
  auto live = audit::DigestState(*engine_);
  auto rebuilt = audit::DigestDirectory(dir_.Sub("replayed"));
  ASSERT_TRUE(live.ok() && rebuilt.ok());
  EXPECT_EQ(live->all, rebuilt->all);
}

TEST_F(SequencerTest, ReopenedEngineContinuesTheChain) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Run(ReportCommand("a-" + std::to_string(i))).ok());
  Open();
  auto r = Run(ReportCommand("b-0"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->seq.value, kActivation + 11);
  ExpectConsistent();
}
}  // namespace
}  // namespace wangge::engine

namespace wangge::engine {
namespace {

// A small ruleset that sends everything to one office with a 5-hour limit.
std::string TinyRuleset(const std::string& version) {
  return R"({"version": ")" + version +
         R"(", "offices": [{"id": "one", "name": "One", "level": "platform"}],
    "tables": [{"id": "t", "rows": [{"id": "all", "default": true,
      "then": {"office": "one", "limit": {"calendar_hours": 5}}}]}]})";
}

class RulesActivationTest : public SequencerTest {};

TEST_F(RulesActivationTest, NewStoreActivatesTheBuiltInRuleset) {
  EXPECT_EQ(engine_->active_rules()->version(), "default-2026.1");
  EXPECT_EQ(engine_->head().seq.value, kActivation);
  ExpectConsistent();
}

TEST_F(RulesActivationTest, OnlyAdminsActivateAndBadRulesetsChangeNothing) {
  auto by_supervisor = engine_->ActivateRules(TinyRuleset("v2"), "", testing::Supervisor());
  EXPECT_EQ(by_supervisor.status().code(), StatusCode::kPermissionDenied);
  auto broken = engine_->ActivateRules(R"({"version": "v3", "offices": []})", "",
                                       Actor{"admin", Role::kAdmin, ""});
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(broken.status().message().find("offices"), std::string::npos);
  EXPECT_EQ(engine_->head().seq.value, kActivation);
  EXPECT_EQ(engine_->active_rules()->version(), "default-2026.1");
}

TEST_F(RulesActivationTest, ActivatedRulesetRoutesLaterReportsAndSurvivesReopen) {
  ASSERT_TRUE(Run(ReportCommand("before")).ok());
  auto activated = engine_->ActivateRules(TinyRuleset("v2"), "", Actor{"admin", Role::kAdmin, ""});
  ASSERT_TRUE(activated.ok()) << activated.status().ToString();
  EXPECT_EQ(activated->kind, Outcome::Kind::kActivated);
  auto after = Run(ReportCommand("after"));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state.office, "one");
  EXPECT_EQ(after->state.ruleset_version, "v2");
  EXPECT_EQ(after->state.deadline.ms, clock_.Now().ms + 5 * 3'600'000);
  // The earlier case keeps the decision it was routed with.
  EXPECT_EQ((*engine_->GetCase("before"))->ruleset_version, "default-2026.1");

  Open();
  EXPECT_EQ(engine_->active_rules()->version(), "v2");
  EXPECT_EQ(Run(ReportCommand("reopened"))->state.office, "one");
  ExpectConsistent();
}

TEST_F(SequencerTest, StatusCountsFollowCommitsAndAreRecountedOnOpen) {
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Run(ReportCommand("s-" + std::to_string(i))).ok());
  ASSERT_TRUE(
      Run(TransitionCommand("s-0", Action::kAccept, testing::Handler("zonghe-zhifa"))).ok());
  Command cancel = TransitionCommand("s-1", Action::kCancel, testing::Supervisor());
  std::get<Transition>(cancel.body).note = "reported twice";
  auto cancelled = Run(std::move(cancel));
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().ToString();
  auto counts = engine_->CaseCounts();
  ASSERT_TRUE(counts.ok());
  const auto at = [&](CaseStatus s) { return (*counts)[static_cast<size_t>(s)]; };
  EXPECT_EQ(at(CaseStatus::kDispatched), 2);
  EXPECT_EQ(at(CaseStatus::kAccepted), 1);
  EXPECT_EQ(at(CaseStatus::kCancelled), 1);
  const auto before = *counts;
  Open();
  counts = engine_->CaseCounts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(*counts, before);
  EXPECT_EQ(engine_->sequencer_stats().commits, 0u);  // counters start again at open
}

TEST_F(SequencerTest, CaseListsStayWithinTheScanBudgetAndMissNothing) {
  for (int i = 0; i < 30; ++i) {
    Command c = ReportCommand("q-" + std::to_string(100 + i), i % 3 == 0 ? "W001" : "W002");
    ASSERT_TRUE(Run(std::move(c)).ok());
  }
  CaseQuery q;
  q.reporter = "W001";
  q.scan_budget = 4;
  std::vector<std::string> seen;
  int calls = 0;
  do {
    auto page = engine_->ListCases(q);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_LE(page->cases.size(), 4u);
    for (const auto& c : page->cases) {
      EXPECT_EQ(c.reporter.id, "W001");
      seen.push_back(c.report.client_id);
    }
    q.after = page->next;
    ASSERT_LT(++calls, 20);
  } while (!q.after.empty());
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_GE(calls, 8);  // 30 cases, 4 examined per call

  CaseQuery by_office;
  by_office.office = "zonghe-zhifa";
  by_office.after = "c" + std::string("00");
  auto wrong = engine_->ListCases(by_office);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().field(), "after");
}

TEST_F(SequencerTest, HistoryListsEveryStepOfACaseWithTheStateAfterIt) {
  ASSERT_TRUE(Run(ReportCommand("h-1")).ok());
  ASSERT_TRUE(Run(ReportCommand("h-2")).ok());
  ASSERT_TRUE(
      Run(TransitionCommand("h-1", Action::kAccept, testing::Handler("zonghe-zhifa"))).ok());
  ASSERT_TRUE(
      Run(TransitionCommand("h-1", Action::kResolve, testing::Handler("zonghe-zhifa"))).ok());
  auto steps = engine_->CaseHistory("h-1");
  ASSERT_TRUE(steps.ok()) << steps.status().ToString();
  ASSERT_EQ(steps->size(), 3u);
  EXPECT_TRUE(std::holds_alternative<Report>((*steps)[0].record.body));
  EXPECT_EQ((*steps)[0].after.status, CaseStatus::kDispatched);
  EXPECT_EQ((*steps)[1].after.status, CaseStatus::kAccepted);
  EXPECT_EQ((*steps)[2].after.status, CaseStatus::kResolved);
  EXPECT_EQ((*steps)[2].record.seq.value, kActivation + 4);
  auto stored = engine_->GetCase("h-1");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*steps)[2].after, **stored);
  auto none = engine_->CaseHistory("h-404");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  ExpectConsistent();
}

TEST_F(SequencerTest, AFormatOneDirectoryGetsItsHistoryAndStatsOnOpen) {
  ASSERT_TRUE(Run(ReportCommand("u-1")).ok());
  ASSERT_TRUE(
      Run(TransitionCommand("u-1", Action::kAccept, testing::Handler("zonghe-zhifa"))).ok());
  // Make it look as format 1 wrote it: no history entries, no stats, version 1.
  Rewrite(1, [](storage::Store& store, storage::WriteSet& set) {
    for (auto f : {storage::Family::kHistory, storage::Family::kStats}) {
      ASSERT_TRUE(store
                      .Scan(f, "", "",
                            [&](std::string_view k, std::string_view) {
                              set.Delete(f, k);
                              return true;
                            })
                      .ok());
    }
  });
  Open();
  EXPECT_EQ(engine_->store().format_version(), storage::kFormatVersion);
  auto steps = engine_->CaseHistory("u-1");
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(steps->size(), 2u);
  ExpectConsistent();
}

TEST_F(SequencerTest, AFormatFourDirectoryGetsQuarterAndYearFiguresOnOpen) {
  ASSERT_TRUE(Run(ReportCommand("q-1")).ok());
  ASSERT_TRUE(
      Run(TransitionCommand("q-1", Action::kAccept, testing::Handler("zonghe-zhifa"))).ok());
  int removed = 0;
  Rewrite(4, [&](storage::Store& store, storage::WriteSet& set) {
    ASSERT_TRUE(store
                    .Scan(storage::Family::kStats, "", "",
                          [&](std::string_view k, std::string_view) {
                            if (IsRollupKey(k)) {
                              set.Delete(storage::Family::kStats, k);
                              ++removed;
                            }
                            return true;
                          })
                    .ok());
  });
  EXPECT_EQ(removed, 24);  // 6 unfiltered and 6 grid or worker cubes × quarter and year
  {
    // A reader cannot upgrade: it refuses figures it lacks rather than answer wrong.
    EngineOptions o;
    o.store.path = dir_.Sub("data");
    o.store.read_only = true;
    auto reader = Engine::Open(o, clock_);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    StatsQuery q;
    q.as_of = clock_.Now();
    auto stats = (*reader)->Stats(q);
    ASSERT_FALSE(stats.ok());
    EXPECT_EQ(stats.status().code(), StatusCode::kFailedPrecondition);
  }
  Open();
  EXPECT_EQ(engine_->store().format_version(), storage::kFormatVersion);
  ExpectConsistent();  // the figures equal a rebuild from the log, roll-ups included

  // An upgrade that wrote its keys but died before recording the version runs again on
  // the next open, and must not count twice.
  Rewrite(4);
  Open();
  ExpectConsistent();
}

TEST_F(SequencerTest, DeadlineTimersFireOnceAtTheirMomentAndSurviveRestart) {
  ASSERT_TRUE(Run(ReportCommand("t-1")).ok());
  auto c = engine_->GetCase("t-1");
  ASSERT_TRUE(c.ok() && c->has_value());
  const Case routed = **c;
  const auto warn_at = WarningTime(routed);
  ASSERT_TRUE(warn_at.has_value());
  ASSERT_LT(*warn_at, routed.deadline);

  EXPECT_EQ(*engine_->FireDueTimers(), 0);
  clock_.Set(TimeMs{warn_at->ms - 1});
  EXPECT_EQ(*engine_->FireDueTimers(), 0);
  clock_.Set(*warn_at);
  EXPECT_EQ(*engine_->FireDueTimers(), 1);
  EXPECT_EQ(*engine_->FireDueTimers(), 0);  // once
  auto warned = engine_->GetCase("t-1");
  EXPECT_EQ((*warned)->warned_at, *warn_at);
  EXPECT_EQ((*warned)->breached_at.ms, 0);

  Open();  // a restart neither repeats nor loses a timer
  EXPECT_EQ(*engine_->FireDueTimers(), 0);
  clock_.Set(routed.deadline);
  EXPECT_EQ(*engine_->FireDueTimers(), 1);
  EXPECT_EQ(*engine_->FireDueTimers(), 0);
  auto breached = engine_->GetCase("t-1");
  EXPECT_EQ((*breached)->breached_at, routed.deadline);
  EXPECT_EQ((*breached)->escalation_level, 1);
  EXPECT_EQ((*breached)->status, CaseStatus::kDispatched);

  auto steps = engine_->CaseHistory("t-1");
  ASSERT_TRUE(steps.ok());
  ASSERT_EQ(steps->size(), 3u);
  const auto& warning = std::get<TimerFired>((*steps)[1].record.body);
  EXPECT_EQ(warning.kind, TimerKind::kWarning);
  EXPECT_EQ(warning.notified, routed.escalation.warn);
  EXPECT_EQ((*steps)[1].record.actor.role, Role::kSystem);
  const auto& breach = std::get<TimerFired>((*steps)[2].record.body);
  EXPECT_EQ(breach.kind, TimerKind::kBreach);
  EXPECT_EQ(breach.notified, routed.escalation.breach);
  ExpectConsistent();
}

TEST_F(SequencerTest, ClosedCasesFireNoTimersAndExtensionsMoveTheBreach) {
  ASSERT_TRUE(Run(ReportCommand("t-closed")).ok());
  ASSERT_TRUE(Run(ReportCommand("t-extended")).ok());
  const Actor handler = testing::Handler("zonghe-zhifa");
  for (Action a : {Action::kAccept, Action::kResolve}) {
    ASSERT_TRUE(Run(TransitionCommand("t-closed", a, handler)).ok());
  }
  Command verify = TransitionCommand("t-closed", Action::kVerify, testing::Worker());
  std::get<Transition>(verify.body).satisfaction = 5;
  ASSERT_TRUE(Run(std::move(verify)).ok());

  const Case before = **engine_->GetCase("t-extended");
  Command extend = TransitionCommand("t-extended", Action::kExtend, testing::Supervisor());
  const TimeMs later{before.deadline.ms + 2 * 86'400'000};
  std::get<Transition>(extend.body).until = later;
  ASSERT_TRUE(Run(std::move(extend)).ok());

  // The warning point moved with the deadline (80% of the longer span): nothing is due
  // at the old deadline.
  clock_.Set(before.deadline);
  EXPECT_EQ(*engine_->FireDueTimers(), 0);
  EXPECT_EQ((**engine_->GetCase("t-extended")).breached_at.ms, 0);
  clock_.Set(later);
  EXPECT_EQ(*engine_->FireDueTimers(), 2);  // its warning and its breach
  EXPECT_EQ((**engine_->GetCase("t-extended")).breached_at, later);
  EXPECT_EQ((**engine_->GetCase("t-closed")).warned_at.ms, 0);
  ExpectConsistent();
}

TEST_F(SequencerTest, TheTimerThreadFiresWithoutBeingAsked) {
  engine_.reset();
  EngineOptions o;
  o.store.path = dir_.Sub("data");
  o.timers = true;
  o.timer_interval = std::chrono::milliseconds(10);
  auto e = Engine::Open(o, clock_);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  engine_ = std::move(e).value();
  ASSERT_TRUE(Run(ReportCommand("t-auto")).ok());
  clock_.Set((**engine_->GetCase("t-auto")).deadline);
  bool breached = false;
  for (int i = 0; i < 300 && !breached; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    breached = (**engine_->GetCase("t-auto")).breached_at.ms != 0;
  }
  EXPECT_TRUE(breached);
  engine_->Stop();
  ExpectConsistent();
}

TEST_F(SequencerTest, OnlyTheSystemFiresTimers) {
  ASSERT_TRUE(Run(ReportCommand("t-forged")).ok());
  clock_.Set((**engine_->GetCase("t-forged")).deadline);
  auto forged = Run(
      Command{testing::Supervisor(), std::nullopt, TimerFired{"t-forged", TimerKind::kBreach, {}}});
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(engine_->head().seq.value, kActivation + 1);
}

TEST_F(SequencerTest, AnOfficeACaseLeftHasNoStatsRow) {
  ASSERT_TRUE(Run(ReportCommand("r-1")).ok());  // its own commit: zonghe-zhifa gets +1
  Command reassign = TransitionCommand("r-1", Action::kReassign, testing::Supervisor());
  std::get<Transition>(reassign.body).to_office = "shichang";
  ASSERT_TRUE(Run(std::move(reassign)).ok());  // a later commit: zonghe-zhifa back to 0
  StatsQuery q;
  q.group_by = Dim::kOffice;
  q.as_of = clock_.Now();
  auto r = engine_->Stats(q);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->rows[0].key, "shichang");
  EXPECT_EQ(r->rows[0].Get(slot::kTotal), 1);
  ExpectConsistent();
}

// An upload of a photo in the same group commit as the collection of orphans that deletes
// it: the upload's answer holds, whichever comes first in the batch.
TEST(SequencerPhotoTest, AnUploadInTheBatchThatCollectsItsPhotoKeepsIt) {
  testing::TempDir dir;
  storage::StoreOptions so;
  so.path = dir.Sub("data");
  so.create_if_missing = true;
  auto store = storage::Store::Open(so);
  ASSERT_TRUE(store.ok());
  auto log = storage::EventLog::Open(**store);
  ASSERT_TRUE(log.ok());
  testing::FakeClock clock;
  MediaInfo old;
  old.type = "image/jpeg";
  old.size = 5;
  old.stored_at = TimeMs{1000};
  MediaInfo now = old;
  now.stored_at = TimeMs{10'000'000};
  for (bool upload_first : {false, true}) {
    const std::string hash(64, upload_first ? 'b' : 'a');
    {
      Sequencer first(**store, **log, rules::Ruleset::BuiltIn(), clock, SequencerOptions{});
      first.Start();
      std::promise<Result<bool>> p;
      first.StorePhoto(hash, "bytes", EncodeMediaInfo(old),
                       [&](Result<bool> r) { p.set_value(std::move(r)); });
      auto r = p.get_future().get();
      ASSERT_TRUE(r.ok() && *r) << r.status().ToString();
    }
    // Not started yet: both calls go into its first batch, in the order made.
    Sequencer seq(**store, **log, rules::Ruleset::BuiltIn(), clock, SequencerOptions{});
    std::promise<Result<bool>> stored;
    std::promise<Result<size_t>> collected;
    auto upload = [&] {
      seq.StorePhoto(hash, "bytes", EncodeMediaInfo(now),
                     [&](Result<bool> r) { stored.set_value(std::move(r)); });
    };
    auto collect = [&] {
      seq.CollectMedia(TimeMs{5000}, [&](Result<size_t> r) { collected.set_value(std::move(r)); });
    };
    if (upload_first) {
      upload();
      collect();
    } else {
      collect();
      upload();
    }
    seq.Start();
    auto s = stored.get_future().get();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    auto c = collected.get_future().get();
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    seq.Stop();
    // Collected first: deleted, then stored again (201). Uploaded first: spared (200).
    EXPECT_EQ(*s, !upload_first);
    EXPECT_EQ(*c, upload_first ? 0u : 1u);
    auto bytes = (*store)->Get(storage::Family::kMedia, MediaBytesKey(hash));
    ASSERT_TRUE(bytes.ok());
    EXPECT_TRUE(bytes->has_value()) << (upload_first ? "upload first" : "collection first");
    auto info = (*store)->Get(storage::Family::kMedia, MediaInfoKey(hash));
    ASSERT_TRUE(info.ok() && info->has_value());
    EXPECT_EQ(DecodeMediaInfo(**info)->stored_at, now.stored_at);  // a new day to be referenced
  }
}

}  // namespace
}  // namespace wangge::engine
