#include "rules/calendar.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

namespace wangge::rules {
namespace {

TimeMs At(const char* rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.ok() ? *t : TimeMs{};
}

std::string Fmt(TimeMs t) { return FormatRfc3339(t); }

// Reads tests/data/holiday-cn/YEAR.json: date -> isOffDay. A tiny scan, not a JSON
// parser: the files hold one "date" and one "isOffDay" per day entry, in that order.
std::map<std::string, bool> ReferenceDays(const std::filesystem::path& dir) {
  std::map<std::string, bool> days;
  for (int year = 2019; year <= 2026; ++year) {
    std::ifstream in(dir / (std::to_string(year) + ".json"));
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();
    size_t pos = 0;
    while ((pos = text.find("\"date\": \"", pos)) != std::string::npos) {
      std::string date = text.substr(pos + 9, 10);
      size_t off = text.find("\"isOffDay\": ", pos);
      if (off == std::string::npos) break;
      days[date] = text.compare(off + 12, 4, "true") == 0;
      pos = off;
    }
  }
  return days;
}

TEST(CalendarTest, BuiltInAgreesWithTheReferenceOnEveryDay2019To2026) {
  const std::filesystem::path dir =
      std::filesystem::path(WANGGE_SOURCE_DIR) / "tests" / "data" / "holiday-cn";
  ASSERT_TRUE(std::filesystem::exists(dir / "2020.json")) << dir;
  auto reference = ReferenceDays(dir);
  ASSERT_GT(reference.size(), 200u);
  const Calendar& cal = Calendar::BuiltIn();
  int checked = 0;
  for (int64_t day = DayNumber(2019, 1, 1); day <= DayNumber(2026, 12, 31); ++day) {
    std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{day}}};
    char date[32];
    std::snprintf(date, sizeof date, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    auto it = reference.find(date);
    const bool weekend = Calendar::Weekday(day) >= 6;
    const bool expect_working = it == reference.end() ? !weekend : !it->second;
    EXPECT_EQ(cal.IsWorkingDay(day), expect_working) << date;
    ++checked;
  }
  EXPECT_EQ(checked, 2922);
}

struct DeadlineCase {
  const char* name;
  const char* start;
  int64_t minutes;
  const char* expect;
};

TEST(CalendarTest, WorkingTimeArithmetic) {
  const Calendar& cal = Calendar::BuiltIn();
  const int64_t day = cal.working_minutes_per_day();
  ASSERT_EQ(day, 450);  // 08:30-12:00 and 13:30-17:30
  const DeadlineCase cases[] = {
      // The 2020 Spring Festival break was extended to 2 February.
      {"eve of the 2020 Spring Festival", "2020-01-23T10:00:00+08:00", day,
       "2020-02-03T10:00:00+08:00"},
      {"off-hours report starts next working morning", "2020-03-06T19:00:00+08:00", 120,
       "2020-03-09T10:30:00+08:00"},
      {"lunch break is not working time", "2020-03-02T11:30:00+08:00", 60,
       "2020-03-02T14:00:00+08:00"},
      {"adjusted working Sunday 2020-01-19", "2020-01-18T20:00:00+08:00", 60,
       "2020-01-19T09:30:00+08:00"},
      {"a full day from the first minute ends that evening", "2020-03-02T08:30:00+08:00", day,
       "2020-03-02T17:30:00+08:00"},
      {"weekend report", "2020-03-07T10:00:00+08:00", day, "2020-03-09T17:30:00+08:00"},
      {"National Day and Mid-Autumn 2020", "2020-09-30T16:30:00+08:00", 120,
       "2020-10-09T09:30:00+08:00"},
      {"three working days over a weekend", "2020-03-05T09:00:00+08:00", 3 * day,
       "2020-03-10T09:00:00+08:00"},
      {"zero minutes inside working time", "2020-03-02T09:00:00+08:00", 0,
       "2020-03-02T09:00:00+08:00"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Fmt(cal.AddWorkingMinutes(At(c.start), c.minutes)), c.expect) << c.name;
    // Measuring the span back gives the minutes that were added.
    EXPECT_EQ(cal.WorkingMsBetween(At(c.start), At(c.expect)), c.minutes * 60'000) << c.name;
  }
  EXPECT_EQ(cal.WorkingMsBetween(At("2020-03-02T12:00:00+08:00"), At("2020-03-02T13:30:00+08:00")),
            0);  // lunch
  EXPECT_EQ(cal.WorkingMsBetween(At("2020-03-03T09:00:00+08:00"), At("2020-03-02T09:00:00+08:00")),
            0);  // backwards
  EXPECT_EQ(cal.WorkingMsBetween(At("2020-03-02T00:00:00+08:00"), At("2020-03-09T00:00:00+08:00")),
            5 * day * 60'000);  // one ordinary week
}

TEST(CalendarTest, HolidayAndWeekdayFacts) {
  const Calendar& cal = Calendar::BuiltIn();
  EXPECT_EQ(Calendar::Weekday(DayNumber(2020, 3, 2)), 1);  // a Monday
  EXPECT_TRUE(cal.IsHoliday(DayNumber(2020, 2, 1)));
  EXPECT_FALSE(cal.IsWorkingDay(DayNumber(2020, 2, 1)));  // the cancelled make-up Saturday
  EXPECT_TRUE(cal.IsWorkingDay(DayNumber(2020, 1, 19)));  // adjusted working Sunday
  EXPECT_FALSE(cal.IsHoliday(DayNumber(2020, 3, 7)));     // a plain Saturday
  EXPECT_TRUE(cal.Covers(DayNumber(2026, 12, 31)));
  EXPECT_FALSE(cal.Covers(DayNumber(2027, 1, 1)));
  EXPECT_EQ(cal.LocalHour(At("2020-03-02T23:59:00+08:00")), 23);
  EXPECT_EQ(cal.LocalDay(At("2020-03-02T00:00:00+08:00")), DayNumber(2020, 3, 2));
}

struct BadCalendar {
  std::string json;
  std::string expect;  // substring of the error
};

TEST(CalendarTest, BrokenFilesNameEveryProblemWithPosition) {
  const std::string hours = R"("working_hours": [["08:30", "12:00"]])";
  const BadCalendar cases[] = {
      {"{", "cal.json:1:"},
      {R"({"name": "x", )" + hours + R"(, "years": []})", "years: is required"},
      {R"({"name": "x", "working_hours": [["12:00", "08:00"]], "years": [{"year": 2020}]})",
       "working_hours[0]: must end after it starts"},
      {R"({"name": "x", )" + hours + R"(, "years": [{"year": 2020, "workdays": ["2020-03-04"]}]})",
       "is not a Saturday or Sunday"},
      {R"({"name": "x", )" + hours +
           R"(, "years": [{"year": 2020, "holidays": [["2020-02-30", "2020-03-01", "x"]]}]})",
       "years[0].holidays[0]: must be"},
      {R"({"name": "x", )" + hours + R"(, "years": [{"year": 2020}, {"year": 2022}]})",
       "2021 is missing"},
      {R"({"name": "x", )" + hours +
           R"(, "years": [{"year": 2020, "holidays": [["2020-01-18", "2020-01-19", "x"]], "workdays": ["2020-01-19"]}]})",
       "is also inside holiday"},
      {R"({"name": "x", )" + hours + R"(, "years": [{"year": 2020}], "colour": 1})",
       "colour: unknown field"},
  };
  for (const auto& c : cases) {
    auto cal = Calendar::Load(c.json, "cal.json");
    ASSERT_FALSE(cal.ok()) << c.json;
    EXPECT_NE(cal.status().message().find(c.expect), std::string::npos)
        << c.json << "\n -> " << cal.status().message();
    EXPECT_NE(cal.status().message().find("cal.json:1:"), std::string::npos);
  }
}

TEST(CalendarTest, ReportsAllProblemsNotJustTheFirst) {
  auto cal = Calendar::Load(
      R"({"name": "", "working_hours": [["25:00", "26:00"]], "years": [{"year": 1800}]})", "c");
  ASSERT_FALSE(cal.ok());
  EXPECT_NE(cal.status().message().find("3 problem(s)"), std::string::npos)
      << cal.status().message();
}

}  // namespace
}  // namespace wangge::rules
