// The stats figures against a brute-force reference that recomputes every metric from
// the stored cases, over a generated town-year and random queries.
#include "engine/stats.h"

#include <algorithm>
#include <cmath>
#include <future>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "audit/replay.h"
#include "engine/codec.h"
#include "engine/engine.h"
#include "io/generator.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace wangge::engine {
namespace {

// The reference's row: plain counts and every closure duration.
struct RefRow {
  int64_t total = 0, closed = 0, on_time = 0, open = 0, rated = 0, satisfied = 0, rework = 0,
          extended = 0, cancelled = 0, overdue = 0;
  int64_t wall_sum = 0, work_sum = 0;
  std::array<int64_t, 6> backlog{};
  std::vector<int64_t> wall_ms, work_ms;
};

std::string RefPeriod(int64_t day, Interval interval) {
  switch (interval) {
    case Interval::kNone:
      return "";
    case Interval::kDay:
      return FormatDate(day);
    case Interval::kWeek: {
      int64_t d = day;
      // Walk back to a Monday (Weekday 1); 2020-03-02 was one.
      while (((d - DayNumber(2020, 3, 2)) % 7 + 7) % 7 != 0) --d;
      return FormatDate(d);
    }
    case Interval::kMonth: {
      const CivilDate c = CivilFromDays(day);
      return FormatDate(DayNumber(c.year, c.month, 1));
    }
  }
  return "";
}

// The q-quantile by nearest rank: the ceil(q·n)-th smallest.
double ExactHours(std::vector<int64_t> ms, double q) {
  std::sort(ms.begin(), ms.end());
  const auto rank = std::max<size_t>(
      1, static_cast<size_t>(std::ceil(q * static_cast<double>(ms.size()) - 1e-9)));
  return static_cast<double>(ms[rank - 1]) / 3.6e6;
}

std::map<std::pair<std::string, std::string>, RefRow> Reference(const std::vector<Case>& cases,
                                                                const StatsQuery& q) {
  const auto& cal = rules::Calendar::BuiltIn();
  std::map<std::pair<std::string, std::string>, RefRow> rows;
  const int64_t as_of_day = ShanghaiDay(q.as_of);
  for (const Case& c : cases) {
    const int64_t day = ShanghaiDay(c.received_at);
    if ((q.from_day && day < *q.from_day) || (q.to_day && day > *q.to_day)) continue;
    if (q.filter != Dim::kNone && GroupValue(c, q.filter) != q.filter_value) continue;
    RefRow& r = rows[{RefPeriod(day, q.interval), std::string(GroupValue(c, q.group_by))}];
    if (c.status == CaseStatus::kCancelled) {
      ++r.cancelled;
      continue;
    }
    ++r.total;
    if (c.extension_count > 0) ++r.extended;
    if (c.status != CaseStatus::kClosed) {
      ++r.open;
      const int64_t age = as_of_day - day;
      r.backlog[age < 1 ? 0 : age < 3 ? 1 : age < 7 ? 2 : age < 15 ? 3 : age < 30 ? 4 : 5]++;
      if (c.deadline < q.as_of) ++r.overdue;
      continue;
    }
    ++r.closed;
    if (c.closed_at <= c.deadline) ++r.on_time;
    if (c.reopen_count > 0) ++r.rework;
    if (c.satisfaction > 0) ++r.rated;
    if (c.satisfaction >= 4) ++r.satisfied;
    const int64_t wall = c.closed_at.ms - c.received_at.ms;
    const int64_t work = cal.WorkingMsBetween(c.received_at, c.closed_at);
    r.wall_sum += wall;
    r.work_sum += work;
    r.wall_ms.push_back(wall);
    r.work_ms.push_back(work);
  }
  return rows;
}

class StatsTest : public ::testing::Test {
 protected:
  // A generated town-year cut off at `cutoff`, so the cases still open then stay open.
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    clock_ = new testing::FakeClock();
    EngineOptions o;
    o.store.path = dir_->Sub("data");
    o.store.create_if_missing = true;
    o.store.sync = false;  // a test of figures, not of durability
    auto e = Engine::Open(o, *clock_);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value().release();
    io::GeneratorOptions g;
    std::vector<std::future<Result<Outcome>>> pending;
    Status failure;
    auto drain = [&] {
      for (auto& f : pending) {
        auto r = f.get();
        if (!r.ok() && failure.ok()) failure = r.status();
      }
      pending.clear();
    };
    ASSERT_TRUE(io::GenerateTownYear(g, *Ruleset(), [&](const Command& c) {
                  if (c.at && *c.at > kCutoff) return;
                  pending.push_back(engine_->sequencer().Submit(c));
                  if (pending.size() >= 4096) drain();
                }).ok());
    drain();
    ASSERT_TRUE(failure.ok()) << failure.ToString();
    ASSERT_TRUE(engine_->store()
                    .Scan(storage::Family::kCases, "", "",
                          [&](std::string_view, std::string_view v) {
                            cases_.push_back(*DecodeCase(v));
                            return true;
                          })
                    .ok());
  }
  static void TearDownTestSuite() {
    engine_->Stop();
    delete engine_;
    delete clock_;
    delete dir_;
  }
  static std::shared_ptr<const rules::Ruleset> Ruleset() { return rules::Ruleset::BuiltIn(); }

  // Runs `q` both ways and compares every row and figure.
  static void ExpectAgrees(const StatsQuery& q, const std::string& what) {
    auto served = engine_->Stats(q);
    ASSERT_TRUE(served.ok()) << what << ": " << served.status().ToString();
    auto want = Reference(cases_, q);
    std::map<std::pair<std::string, std::string>, const StatsRow*> have;
    for (const auto& row : served->rows) have[{row.period, row.key}] = &row;
    ASSERT_EQ(have.size(), want.size()) << what;
    for (const auto& [k, ref] : want) {
      auto it = have.find(k);
      ASSERT_NE(it, have.end()) << what << ": no row " << k.first << "/" << k.second;
      const StatsRow& row = *it->second;
      const std::string where = what + " row " + k.first + "/" + k.second;
      EXPECT_EQ(row.Get(slot::kTotal), ref.total) << where;
      EXPECT_EQ(row.Get(slot::kClosed), ref.closed) << where;
      EXPECT_EQ(row.Get(slot::kOnTime), ref.on_time) << where;
      EXPECT_EQ(row.Get(slot::kOpen), ref.open) << where;
      EXPECT_EQ(row.Get(slot::kRated), ref.rated) << where;
      EXPECT_EQ(row.Get(slot::kSatisfied), ref.satisfied) << where;
      EXPECT_EQ(row.Get(slot::kRework), ref.rework) << where;
      EXPECT_EQ(row.Get(slot::kExtended), ref.extended) << where;
      EXPECT_EQ(row.Get(slot::kCancelled), ref.cancelled) << where;
      EXPECT_EQ(row.Get(slot::kCloseMsSum), ref.wall_sum) << where;
      EXPECT_EQ(row.Get(slot::kCloseWorkMsSum), ref.work_sum) << where;
      EXPECT_EQ(row.overdue_open, ref.overdue) << where;
      for (size_t b = 0; b < ref.backlog.size(); ++b) {
        EXPECT_EQ(row.backlog[b], ref.backlog[b]) << where << " band " << b;
      }
      if (ref.closed == 0) {
        EXPECT_FALSE(row.ClosureHours(0.5, false)) << where;
        continue;
      }
      for (double p : {0.5, 0.9, 0.99}) {
        for (bool working : {false, true}) {
          const double exact = ExactHours(working ? ref.work_ms : ref.wall_ms, p);
          const auto got = row.ClosureHours(p, working);
          ASSERT_TRUE(got) << where;
          // Within the histogram's bound (0.990%); durations under a second report 0.
          EXPECT_LE(std::abs(*got - exact), 0.00991 * exact + 1.0 / 3600)
              << where << " p" << p << (working ? " working" : "");
        }
      }
    }
  }

  static constexpr TimeMs kCutoff{1'598'889'600'000};  // 2020-09-01T00:00:00+08:00
  static constexpr TimeMs kAsOf{1'599'000'000'000};    // 2020-09-02T06:40:00+08:00
  static inline testing::TempDir* dir_ = nullptr;
  static inline testing::FakeClock* clock_ = nullptr;
  static inline Engine* engine_ = nullptr;
  static inline std::vector<Case> cases_;
};

TEST_F(StatsTest, TheYearHasOpenClosedAndCancelledCases) {
  int64_t open = 0, closed = 0, cancelled = 0;
  for (const auto& c : cases_) {
    (c.status == CaseStatus::kClosed      ? closed
     : c.status == CaseStatus::kCancelled ? cancelled
                                          : open)++;
  }
  EXPECT_GT(cases_.size(), 10'000u);
  EXPECT_GT(open, 50);
  EXPECT_GT(closed, 10'000);
  EXPECT_GT(cancelled, 10);
}

TEST_F(StatsTest, EveryGroupingOverTheWholeTimeAgrees) {
  for (Dim g :
       {Dim::kNone, Dim::kOffice, Dim::kVillage, Dim::kGrid, Dim::kWorker, Dim::kCategory}) {
    StatsQuery q;
    q.group_by = g;
    q.as_of = kAsOf;
    ExpectAgrees(q, "group_by " + std::string(DimName(g)));
  }
}

TEST_F(StatsTest, RandomWindowsGroupingsFiltersAndIntervalsAgree) {
  std::mt19937_64 rng(20261125);
  const int64_t first = DayNumber(2020, 1, 1), last = DayNumber(2020, 9, 1);
  const Dim dims[] = {Dim::kNone, Dim::kOffice, Dim::kVillage,
                      Dim::kGrid, Dim::kWorker, Dim::kCategory};
  const Dim filters[] = {Dim::kNone, Dim::kOffice, Dim::kVillage, Dim::kCategory};
  const Interval intervals[] = {Interval::kNone, Interval::kDay, Interval::kWeek, Interval::kMonth};
  for (int i = 0; i < 60; ++i) {
    StatsQuery q;
    q.as_of = TimeMs{kAsOf.ms + static_cast<int64_t>(rng() % 5) * 86'400'000};
    const int64_t a = first + static_cast<int64_t>(rng() % 260),
                  b = first + static_cast<int64_t>(rng() % 260);
    if (rng() % 4 != 0) q.from_day = std::min(a, b);
    if (rng() % 4 != 0) q.to_day = std::max(a, b);
    q.group_by = dims[rng() % 6];
    q.filter = filters[rng() % 4];
    if (q.filter != Dim::kNone) {
      q.filter_value = std::string(GroupValue(cases_[rng() % cases_.size()], q.filter));
    }
    q.interval = intervals[rng() % 4];
    if (q.interval == Interval::kDay && !(q.from_day && q.to_day)) q.interval = Interval::kWeek;
    const std::string what =
        "query " + std::to_string(i) + " [" + (q.from_day ? FormatDate(*q.from_day) : "-") + ", " +
        (q.to_day ? FormatDate(*q.to_day) : "-") + "] by " + std::string(DimName(q.group_by)) +
        " where " + std::string(DimName(q.filter)) + "=" + q.filter_value;
    ExpectAgrees(q, what);
    (void)last;
  }
}

// Month, quarter and year edges: the window is read from year, quarter, month and day keys.
TEST_F(StatsTest, WindowsOnMonthQuarterAndYearEdgesAgree) {
  const int64_t edges[] = {DayNumber(2019, 12, 31), DayNumber(2020, 1, 1),   DayNumber(2020, 2, 29),
                           DayNumber(2020, 3, 1),   DayNumber(2020, 3, 2),   DayNumber(2020, 3, 31),
                           DayNumber(2020, 4, 1),   DayNumber(2020, 6, 30),  DayNumber(2020, 7, 1),
                           DayNumber(2020, 9, 30),  DayNumber(2020, 12, 31), DayNumber(2021, 1, 1)};
  for (int64_t from : edges) {
    for (int64_t to : edges) {
      if (from > to) continue;
      for (Interval interval : {Interval::kNone, Interval::kMonth}) {
        StatsQuery q;
        q.as_of = kAsOf;
        q.from_day = from;
        q.to_day = to;
        q.interval = interval;
        q.group_by = Dim::kCategory;  // an unfiltered cube: with quarters and years
        ExpectAgrees(q, "window " + FormatDate(from) + ".." + FormatDate(to));
        q.group_by = Dim::kWorker;  // a filtered cube grouped by worker: with them too
        q.filter = Dim::kOffice;
        q.filter_value = std::string(GroupValue(cases_.front(), Dim::kOffice));
        ExpectAgrees(q, "window " + FormatDate(from) + ".." + FormatDate(to) + " by worker");
        q.group_by = Dim::kVillage;  // and one without
        ExpectAgrees(q, "window " + FormatDate(from) + ".." + FormatDate(to) + " by village");
      }
    }
  }
}

TEST_F(StatsTest, RefusesAsOfBeforeTheLastEventAndFiltersNotKept) {
  StatsQuery q;
  q.as_of = TimeMs{kCutoff.ms - 86'400'000};
  auto early = engine_->Stats(q);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.status().field(), "as_of");
  q.as_of = kAsOf;
  q.filter = Dim::kGrid;
  q.filter_value = "V01-G1";
  auto grid = engine_->Stats(q);
  ASSERT_FALSE(grid.ok());
  EXPECT_EQ(grid.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(StatsTest, StoredFiguresEqualAReplayOfTheLog) {
  auto problems = audit::CheckDerivedState(engine_->store(), engine_->log());
  ASSERT_TRUE(problems.ok()) << problems.status().ToString();
  EXPECT_TRUE(problems->empty()) << (*problems)[0];
}

TEST(StatsHistogramTest, EveryDurationIsWithinOnePercentOfItsBucket) {
  for (int64_t ms = 1000; ms < 400LL * 86'400'000; ms = ms * 1013 / 1000 + 7) {
    const double est = BucketSeconds(DurationBucket(ms));
    const double exact = static_cast<double>(ms) / 1000;
    EXPECT_LE(std::abs(est - exact), 0.00991 * exact) << ms;
  }
  EXPECT_EQ(DurationBucket(0), 0);
  EXPECT_EQ(BucketSeconds(0), 0);
}

}  // namespace
}  // namespace wangge::engine
