#include "io/generator.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "audit/replay.h"
#include "engine/engine.h"
#include "engine/rebuild.h"
#include "rules/geography.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace wangge::io {
using namespace engine;  // NOLINT: the engine's domain throughout
namespace {

std::vector<Command> Generate(const GeneratorOptions& o) {
  std::vector<Command> out;
  Status s =
      GenerateTownYear(o, *rules::Ruleset::BuiltIn(), [&](const Command& c) { out.push_back(c); });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

GeneratorOptions WithReports(uint64_t reports, uint64_t seed = 1) {
  GeneratorOptions o;
  o.reports = reports;
  o.seed = seed;
  return o;
}

TEST(GeneratorTest, TheTownsGeographyChecksAndHoldsNearlyEveryReportInItsGrid) {
  GeneratorOptions o = WithReports(4000, 3);
  auto geo = rules::Geography::Load(TownGeography(o), "gen", rules::Ruleset::BuiltIn().get());
  ASSERT_TRUE(geo.ok()) << geo.status().ToString();
  EXPECT_EQ((*geo)->grids().size(), 200u);
  EXPECT_EQ((*geo)->version(), "gen-3-40");
  int reports = 0, inside = 0, near_border = 0;
  for (const auto& c : Generate(o)) {
    const auto* r = std::get_if<Report>(&c.body);
    if (!r) continue;
    ++reports;
    const rules::GridArea* at = (*geo)->Locate(r->lat, r->lon);
    ASSERT_NE(at, nullptr) << r->lat << "," << r->lon;  // every position is in some grid
    if (at->grid != r->grid) continue;
    ++inside;
    // Within 100 m of another grid: a worker at a border.
    const GridBox b = GridBoxOf(std::stoi(r->village.substr(1)) - 1, r->grid.back() - '1', 40);
    const double to_edge_deg = std::min(r->lat - b.south, b.north - r->lat);
    near_border += to_edge_deg * 111'195 < 100;
  }
  EXPECT_GE(reports, 4000);  // and the colleagues' repeats
  // About 2% are made from another village's grid.
  EXPECT_GT(inside, reports * 96 / 100);
  EXPECT_LT(inside, reports * 995 / 1000);
  EXPECT_GT(near_border, reports / 5);
}

TEST(GeneratorTest, SameSeedSameStreamOtherSeedOtherStream) {
  auto a = Generate(WithReports(300, 7)), b = Generate(WithReports(300, 7));
  auto c = Generate(WithReports(300, 8));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].at, b[i].at) << i;
    ASSERT_EQ(a[i].actor, b[i].actor) << i;
    ASSERT_EQ(a[i].body, b[i].body) << i;
  }
  EXPECT_FALSE(a.size() == c.size() && a[0].body == c[0].body);
}

TEST(GeneratorTest, StreamIsInTimeOrder) {
  auto commands = Generate(WithReports(2000));
  for (size_t i = 1; i < commands.size(); ++i) {
    ASSERT_LE(*commands[i - 1].at, *commands[i].at) << i;
  }
}

// The documented shape of a default town-year (docs/generator.md), measured on what
// the generator emits after it went through the real engine.
TEST(GeneratorTest, DefaultTownYearHasTheDocumentedShape) {
  const GeneratorOptions options;  // 18,824 reports, 133 workers, 40 villages, 2020
  auto commands = Generate(options);
  testing::TempDir dir;
  testing::FakeClock clock;
  EngineOptions eo;
  eo.store.path = dir.Sub("data");
  eo.store.create_if_missing = true;
  eo.store.sync = false;
  auto engine = Engine::Open(eo, clock);
  ASSERT_TRUE(engine.ok());
  // Submit in windows, as the importer does: the sequencer's queue is bounded.
  size_t rejected = 0;
  for (size_t i = 0; i < commands.size(); i += 4096) {
    std::vector<std::future<Result<Outcome>>> futures;
    for (size_t j = i; j < std::min(commands.size(), i + 4096); ++j) {
      futures.push_back((*engine)->sequencer().Submit(commands[j]));
    }
    for (auto& f : futures) rejected += f.get().ok() ? 0 : 1;
  }
  EXPECT_EQ(rejected, 0u) << "every generated transition is legal";
  auto state = RebuildInMemory((*engine)->log());
  ASSERT_TRUE(state.ok());

  size_t closed = 0, cancelled = 0, on_time = 0, reopened = 0, extended = 0, returned = 0;
  std::map<std::string, size_t> by_worker, by_village, by_category;
  size_t weekday_reports = 0, weekend_reports = 0, env_summer = 0, summer = 0, env_rest = 0;
  std::set<int64_t> weekday_days, weekend_days;
  const auto& cal = rules::Ruleset::BuiltIn()->calendar();
  for (const auto& [id, c] : state->cases) {
    if (c.status == CaseStatus::kCancelled) {
      ++cancelled;
      continue;
    }
    ASSERT_EQ(c.status, CaseStatus::kClosed) << id;
    ++closed;
    on_time += c.closed_at <= c.deadline ? 1 : 0;
    reopened += c.reopen_count > 0 ? 1 : 0;
    extended += c.extension_count > 0 ? 1 : 0;
    returned += c.return_count > 0 ? 1 : 0;
    ++by_worker[c.reporter.id];
    ++by_village[c.report.village];
    ++by_category[c.report.category];
    const int64_t day = cal.LocalDay(c.received_at);
    if (cal.IsWorkingDay(day)) {
      ++weekday_reports;
      weekday_days.insert(day);
    } else {
      ++weekend_reports;
      weekend_days.insert(day);
    }
    std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{day}}};
    const unsigned month = static_cast<unsigned>(ymd.month());
    const bool env = c.report.category.starts_with("env.");
    if (month >= 6 && month <= 8) {
      ++summer;
      env_summer += env;
    } else {
      env_rest += env;
    }
  }
  EXPECT_EQ(closed, options.reports);
  EXPECT_GT(cancelled, 100u);  // ~1% duplicates, cancelled
  EXPECT_LT(cancelled, 300u);

  const double on_time_rate = static_cast<double>(on_time) / static_cast<double>(closed);
  std::vector<size_t> worker_counts;
  for (const auto& [w, n] : by_worker) worker_counts.push_back(n);
  std::sort(worker_counts.rbegin(), worker_counts.rend());
  std::vector<size_t> category_counts;
  for (const auto& [k, n] : by_category) category_counts.push_back(n);
  std::sort(category_counts.rbegin(), category_counts.rend());
  const double top3 =
      static_cast<double>(category_counts[0] + category_counts[1] + category_counts[2]) /
      static_cast<double>(closed);
  const double per_working_day =
      static_cast<double>(weekday_reports) / static_cast<double>(weekday_days.size());
  const double per_off_day =
      static_cast<double>(weekend_reports) / static_cast<double>(weekend_days.size());
  const double env_share_summer = static_cast<double>(env_summer) / static_cast<double>(summer);
  const double env_share_rest =
      static_cast<double>(env_rest) / static_cast<double>(closed - summer);
  std::printf(
      "shape: closed %zu, cancelled duplicates %zu, on-time %.4f, reopened %zu, extended %zu, "
      "returned %zu\n"
      "shape: workers %zu (busiest %zu, median %zu, quietest %zu), villages %zu, "
      "categories %zu (top three %.3f)\n"
      "shape: per working day %.1f, per off day %.1f; env share summer %.3f vs rest %.3f\n",
      closed, cancelled, on_time_rate, reopened, extended, returned, worker_counts.size(),
      worker_counts.front(), worker_counts[worker_counts.size() / 2], worker_counts.back(),
      by_village.size(), by_category.size(), top3, per_working_day, per_off_day, env_share_summer,
      env_share_rest);

  // Per-office closed counts and median closure times, computed from the input stream
  // alone (the office of the last handler to act, received at the report, closed at the
  // verification), equal what the engine holds.
  std::map<std::string, int64_t> received_at, closed_at;
  std::map<std::string, std::string> office_of;
  for (const auto& c : commands) {
    if (const auto* r = std::get_if<Report>(&c.body)) {
      received_at[r->client_id] = c.at->ms;
    } else if (const auto* t = std::get_if<Transition>(&c.body)) {
      if (c.actor.role == Role::kHandler) office_of[t->case_id] = c.actor.office;
      if (t->action == Action::kVerify) closed_at[t->case_id] = c.at->ms;
    }
  }
  std::map<std::string, std::vector<int64_t>> expected, actual;
  for (const auto& [id, at] : closed_at) expected[office_of[id]].push_back(at - received_at[id]);
  for (const auto& [id, c] : state->cases) {
    if (c.status == CaseStatus::kClosed) {
      actual[c.office].push_back(c.closed_at.ms - c.received_at.ms);
    }
  }
  auto lower_median = [](std::vector<int64_t> v) {
    std::sort(v.begin(), v.end());
    return v[(v.size() - 1) / 2];
  };
  ASSERT_EQ(actual.size(), expected.size());
  for (const auto& [office, durations] : expected) {
    EXPECT_EQ(actual[office].size(), durations.size()) << office;
    EXPECT_EQ(lower_median(actual[office]), lower_median(durations)) << office;
  }

  EXPECT_GE(on_time_rate, 0.80);  // documented band: 80-95%
  EXPECT_LE(on_time_rate, 0.95);
  EXPECT_EQ(worker_counts.size(), 133u);
  EXPECT_GT(worker_counts.front(), 3 * worker_counts[worker_counts.size() / 2]);
  EXPECT_EQ(by_village.size(), 40u);
  EXPECT_GT(top3, 0.30);
  EXPECT_GT(per_working_day, 2.0 * per_off_day);
  EXPECT_GT(env_share_summer, 1.2 * env_share_rest);
  EXPECT_GT(reopened, closed / 100);
  EXPECT_GT(returned, closed / 200);
  EXPECT_GT(extended, closed / 500);
}

TEST(GeneratorTest, TownsHaveDistinctVillagesAndWorkers) {
  GeneratorOptions o = WithReports(200);
  o.towns = 3;
  std::set<std::string> prefixes;
  size_t reports = 0;
  for (const auto& c : Generate(o)) {
    if (const auto* r = std::get_if<Report>(&c.body)) {
      ++reports;
      prefixes.insert(r->village.substr(0, r->village.find('V')));
      EXPECT_EQ(r->village.substr(0, r->village.find('V')),
                c.actor.id.substr(0, c.actor.id.find('W')));
    }
  }
  EXPECT_EQ(prefixes, (std::set<std::string>{"", "T0002-", "T0003-"}));
  EXPECT_GE(reports, 600u);
}

TEST(GeneratorTest, PeriodLimitsReportTimes) {
  GeneratorOptions o = WithReports(500);
  o.from = *ParseRfc3339("2020-03-01T00:00:00+08:00");
  o.to = *ParseRfc3339("2020-04-01T00:00:00+08:00");
  size_t reports = 0;
  for (const auto& c : Generate(o)) {
    if (!std::holds_alternative<Report>(c.body)) continue;
    ++reports;
    EXPECT_GE(*c.at, *o.from);
    EXPECT_LT(*c.at, *o.to);
  }
  EXPECT_GE(reports, 500u);
}

// open_at_end cuts the stream at the end of the period: nothing after it, and the cases
// whose steps fell after it are left open. Without it, the same reports all run to
// their end, past the period.
TEST(GeneratorTest, OpenAtEndStopsEveryCaseAtTheEndOfThePeriod) {
  GeneratorOptions o = WithReports(500);
  o.from = *ParseRfc3339("2020-03-01T00:00:00+08:00");
  o.to = *ParseRfc3339("2020-04-01T00:00:00+08:00");
  const auto closes = [](const std::vector<Command>& commands) {
    std::set<std::string> reported, ended;
    for (const auto& c : commands) {
      if (const auto* r = std::get_if<Report>(&c.body)) reported.insert(r->client_id);
      if (const auto* t = std::get_if<Transition>(&c.body)) {
        if (t->action == Action::kVerify || t->action == Action::kClose ||
            t->action == Action::kCancel) {
          ended.insert(t->case_id);
        }
      }
    }
    return std::make_pair(reported.size(), ended.size());
  };
  const auto full = Generate(o);
  EXPECT_GT(*full.back().at, *o.to);  // late cases close in April
  o.open_at_end = true;
  const auto cut = Generate(o);
  for (const auto& c : cut) ASSERT_LT(*c.at, *o.to);
  const auto [reported, ended] = closes(cut);
  EXPECT_EQ(reported, closes(full).first);  // the same reports
  EXPECT_LT(ended, reported);               // some still open
  EXPECT_GT(ended, reported * 9 / 10);      // most closed within the month
}

TEST(GeneratorTest, RejectsOutOfRangeOptions) {
  GeneratorOptions o;
  o.villages = 0;
  EXPECT_EQ(GenerateTownYear(o, *rules::Ruleset::BuiltIn(), [](const Command&) {}).field(),
            "villages");
  GeneratorOptions empty;
  empty.from = *ParseRfc3339("2020-03-01T00:00:00+08:00");
  empty.to = empty.from;
  EXPECT_EQ(GenerateTownYear(empty, *rules::Ruleset::BuiltIn(), [](const Command&) {}).field(),
            "to");
}

}  // namespace
}  // namespace wangge::io
