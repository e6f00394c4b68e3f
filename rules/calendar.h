// The working-day calendar: weekends off, official public holidays off, adjusted
// working weekend days (调休) on, and the working hours of a day. Deadlines in working
// days and hours are computed here, in the calendar's local time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/time.h"

namespace wangge::rules {

// Immutable; thread-safe.
class Calendar {
 public:
  // Parses a calendar file (format: docs/rules.md). Every problem is reported as
  // "SOURCE:LINE:COLUMN: path: message" in one kInvalidArgument.
  static Result<Calendar> Load(std::string_view json, std::string_view source);

  // The calendar built into wangge (rules/calendar-cn.json).
  static const Calendar& BuiltIn();
  // The text of the built-in calendar file.
  static std::string_view BuiltInText();

  // Local day number: days since 1970-01-01 in the calendar's time zone.
  int64_t LocalDay(TimeMs t) const;
  // Local hour of day, 0-23.
  int LocalHour(TimeMs t) const;
  // 1 = Monday ... 7 = Sunday.
  static int Weekday(int64_t day);
  // Outside the covered years only weekends are off.
  bool IsWorkingDay(int64_t day) const;
  // Inside an announced holiday period (including weekends within it).
  bool IsHoliday(int64_t day) const;
  bool Covers(int64_t day) const { return day >= first_day_ && day <= last_day_; }

  // The instant `minutes` working minutes after `start`. The clock starts at the next
  // working minute when `start` is outside working time. REQUIRES: minutes >= 0.
  TimeMs AddWorkingMinutes(TimeMs start, int64_t minutes) const;
  // Working time in [from, to), in milliseconds; 0 when to <= from. Costs one step per
  // calendar day of the span.
  int64_t WorkingMsBetween(TimeMs from, TimeMs to) const;
  // Working minutes in a full working day (450 with 08:30-12:00 and 13:30-17:30).
  int64_t working_minutes_per_day() const { return minutes_per_day_; }

  const std::string& name() const { return name_; }
  std::chrono::minutes utc_offset() const { return offset_; }

 private:
  Calendar() = default;

  std::string name_;
  std::chrono::minutes offset_{480};
  std::vector<std::pair<int, int>> periods_;  // working periods, minutes from midnight
  int64_t minutes_per_day_ = 0;
  std::vector<int64_t> holidays_;  // sorted local days
  std::vector<int64_t> workdays_;  // sorted local days (adjusted working weekend days)
  int64_t first_day_ = 0;
  int64_t last_day_ = -1;
};

}  // namespace wangge::rules
