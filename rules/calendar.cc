#include "rules/calendar.h"

#include <algorithm>
#include <map>

#include "rules/builtin_data.h"
#include "rules/internal/json_tree.h"

namespace wangge::rules {
namespace {

using internal::JsonNode;
using internal::Problems;

constexpr int64_t kDayMs = 86'400'000;

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : (a - b + 1) / b; }

// "YYYY-MM-DD" to a day number, or false.
bool ParseDate(const JsonNode& n, int64_t& day) {
  const std::string& s = n.string;
  if (n.type != JsonNode::Type::kString || s.size() != 10 || s[4] != '-' || s[7] != '-') {
    return false;
  }
  for (size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  int y = std::stoi(s.substr(0, 4));
  unsigned m = static_cast<unsigned>(std::stoi(s.substr(5, 2)));
  unsigned d = static_cast<unsigned>(std::stoi(s.substr(8, 2)));
  std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  if (!ymd.ok()) return false;
  day = DayNumber(y, m, d);
  return true;
}

// "HH:MM" to minutes from midnight (24:00 allowed as the end of a day), or -1.
int ParseClock(const JsonNode& n) {
  const std::string& s = n.string;
  if (n.type != JsonNode::Type::kString || s.size() != 5 || s[2] != ':') return -1;
  for (size_t i : {0u, 1u, 3u, 4u}) {
    if (s[i] < '0' || s[i] > '9') return -1;
  }
  int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 24 || m > 59 || (h == 24 && m != 0)) return -1;
  return h * 60 + m;
}

void LoadHours(const JsonNode* hours, Problems& p, std::vector<std::pair<int, int>>& out) {
  if (!hours || hours->type != JsonNode::Type::kArray || hours->items.empty()) {
    p.Add(hours ? *hours : JsonNode{}, "working_hours",
          "must be a non-empty array of [\"HH:MM\", \"HH:MM\"]");
    return;
  }
  int last_end = -1;
  for (size_t i = 0; i < hours->items.size(); ++i) {
    const JsonNode& period = hours->items[i];
    const std::string path = "working_hours[" + std::to_string(i) + "]";
    if (period.type != JsonNode::Type::kArray || period.items.size() != 2) {
      p.Add(period, path, "must be [\"HH:MM\", \"HH:MM\"]");
      continue;
    }
    int from = ParseClock(period.items[0]), to = ParseClock(period.items[1]);
    if (from < 0 || to < 0) {
      p.Add(period, path, "times must be \"HH:MM\" between 00:00 and 24:00");
    } else if (from >= to) {
      p.Add(period, path, "must end after it starts");
    } else if (from < last_end) {
      p.Add(period, path, "overlaps or precedes the period before it");
    } else {
      out.emplace_back(from, to);
      last_end = to;
    }
  }
}

}  // namespace

Result<Calendar> Calendar::Load(std::string_view json, std::string_view source) {
  WANGGE_ASSIGN_OR_RETURN(JsonNode root, internal::ParseJsonTree(json, source));
  Problems p(json, source);
  Calendar cal;
  if (root.type != JsonNode::Type::kObject) {
    p.Add(root, "$", "a calendar must be a JSON object");
    return p.ToStatus("calendar");
  }
  for (const auto& value : root.fields) {
    const std::string& key = value.key;
    if (key != "name" && key != "utc_offset_minutes" && key != "working_hours" && key != "years") {
      p.Add(value, key, "unknown field");
    }
  }
  const JsonNode* name = root.Find("name");
  if (!name || name->type != JsonNode::Type::kString || name->string.empty()) {
    p.Add(name ? *name : root, "name", "is required (a non-empty string)");
  } else {
    cal.name_ = name->string;
  }
  if (const JsonNode* off = root.Find("utc_offset_minutes")) {
    if (off->type != JsonNode::Type::kInt || off->integer < -720 || off->integer > 840) {
      p.Add(*off, "utc_offset_minutes", "must be an integer from -720 to 840");
    } else {
      cal.offset_ = std::chrono::minutes{off->integer};
    }
  }
  LoadHours(root.Find("working_hours"), p, cal.periods_);
  for (const auto& [from, to] : cal.periods_) cal.minutes_per_day_ += to - from;

  const JsonNode* years = root.Find("years");
  if (!years || years->type != JsonNode::Type::kArray || years->items.empty()) {
    p.Add(years ? *years : root, "years", "is required (a non-empty array)");
    return p.ToStatus("calendar");
  }
  std::map<int64_t, std::string> holidays, workdays;  // day -> path, to find clashes
  std::vector<int> year_numbers;
  for (size_t i = 0; i < years->items.size(); ++i) {
    const JsonNode& y = years->items[i];
    const std::string path = "years[" + std::to_string(i) + "]";
    const JsonNode* year = y.type == JsonNode::Type::kObject ? y.Find("year") : nullptr;
    if (!year || year->type != JsonNode::Type::kInt || year->integer < 1990 ||
        year->integer > 2200) {
      p.Add(y, path + ".year", "is required (an integer from 1990 to 2200)");
      continue;
    }
    const int yr = static_cast<int>(year->integer);
    if (std::find(year_numbers.begin(), year_numbers.end(), yr) != year_numbers.end()) {
      p.Add(*year, path + ".year", "year " + std::to_string(yr) + " appears twice");
      continue;
    }
    year_numbers.push_back(yr);
    // A year's notice may reach into the end of the year before (New Year's break).
    const int64_t lo = DayNumber(yr - 1, 12, 1), hi = DayNumber(yr, 12, 31);
    for (const auto& value : y.fields) {
      const std::string& key = value.key;
      if (key != "year" && key != "notice" && key != "holidays" && key != "workdays") {
        p.Add(value, path + "." + key, "unknown field");
      }
    }
    if (const JsonNode* hs = y.Find("holidays")) {
      for (size_t j = 0; j < hs->items.size(); ++j) {
        const JsonNode& h = hs->items[j];
        const std::string hp = path + ".holidays[" + std::to_string(j) + "]";
        int64_t from = 0, to = 0;
        if (h.type != JsonNode::Type::kArray || h.items.size() < 2 || h.items.size() > 3 ||
            !ParseDate(h.items[0], from) || !ParseDate(h.items[1], to)) {
          p.Add(h, hp, "must be [\"YYYY-MM-DD\", \"YYYY-MM-DD\", \"name\"]");
        } else if (from > to || to - from > 31) {
          p.Add(h, hp, "must run forwards for at most 32 days");
        } else if (from < lo || to > hi) {
          p.Add(h, hp, "lies outside year " + std::to_string(yr));
        } else {
          for (int64_t d = from; d <= to; ++d) holidays.emplace(d, hp);
        }
      }
    }
    if (const JsonNode* ws = y.Find("workdays")) {
      for (size_t j = 0; j < ws->items.size(); ++j) {
        const std::string wp = path + ".workdays[" + std::to_string(j) + "]";
        int64_t d = 0;
        if (!ParseDate(ws->items[j], d)) {
          p.Add(ws->items[j], wp, "must be \"YYYY-MM-DD\"");
        } else if (d < lo || d > hi) {
          p.Add(ws->items[j], wp, "lies outside year " + std::to_string(yr));
        } else if (Weekday(d) < 6) {
          p.Add(ws->items[j], wp, "is not a Saturday or Sunday; only weekend days are adjusted");
        } else {
          workdays.emplace(d, wp);
        }
      }
    }
  }
  for (const auto& [day, path] : workdays) {
    if (holidays.contains(day)) {
      p.Add(*years, path, "is also inside holiday " + holidays[day]);
    }
  }
  std::sort(year_numbers.begin(), year_numbers.end());
  for (size_t i = 1; i < year_numbers.size(); ++i) {
    if (year_numbers[i] != year_numbers[i - 1] + 1) {
      p.Add(*years, "years",
            "years must be contiguous; " + std::to_string(year_numbers[i - 1] + 1) + " is missing");
      break;
    }
  }
  if (!p.empty()) return p.ToStatus("calendar");
  for (const auto& [day, path] : holidays) cal.holidays_.push_back(day);
  for (const auto& [day, path] : workdays) cal.workdays_.push_back(day);
  cal.first_day_ = DayNumber(year_numbers.front(), 1, 1);
  cal.last_day_ = DayNumber(year_numbers.back(), 12, 31);
  return cal;
}

const Calendar& Calendar::BuiltIn() {
  static const Calendar* calendar = [] {
    auto loaded = Load(BuiltInText(), "rules/calendar-cn.json");
    // The built-in file is checked by tests; failing here is a build defect.
    if (!loaded.ok()) std::abort();
    return new Calendar(std::move(loaded).value());
  }();
  return *calendar;
}

std::string_view Calendar::BuiltInText() { return kBuiltInCalendar; }

int64_t Calendar::LocalDay(TimeMs t) const {
  return FloorDiv(t.ms + offset_.count() * 60'000, kDayMs);
}

int Calendar::LocalHour(TimeMs t) const {
  int64_t local = t.ms + offset_.count() * 60'000;
  return static_cast<int>((local - FloorDiv(local, kDayMs) * kDayMs) / 3'600'000);
}

int Calendar::Weekday(int64_t day) { return static_cast<int>(((day % 7) + 7 + 3) % 7) + 1; }

bool Calendar::IsHoliday(int64_t day) const {
  return std::binary_search(holidays_.begin(), holidays_.end(), day);
}

bool Calendar::IsWorkingDay(int64_t day) const {
  if (std::binary_search(workdays_.begin(), workdays_.end(), day)) return true;
  return Weekday(day) < 6 && !IsHoliday(day);
}

TimeMs Calendar::AddWorkingMinutes(TimeMs start, int64_t minutes) const {
  const int64_t offset_ms = offset_.count() * 60'000;
  int64_t day = LocalDay(start);
  int64_t in_day = start.ms + offset_ms - day * kDayMs;
  int64_t remaining = minutes * 60'000;
  // Ten years of days bounds the walk for any limit a ruleset may set.
  for (int guard = 0; guard < 3660; ++guard, ++day, in_day = 0) {
    if (!IsWorkingDay(day)) continue;
    for (const auto& [from, to] : periods_) {
      const int64_t s = from * 60'000LL, e = to * 60'000LL;
      if (in_day >= e) continue;
      const int64_t cur = std::max(in_day, s);
      if (remaining <= e - cur) return TimeMs{day * kDayMs + cur + remaining - offset_ms};
      remaining -= e - cur;
      in_day = e;
    }
  }
  return TimeMs{day * kDayMs - offset_ms};
}

int64_t Calendar::WorkingMsBetween(TimeMs from, TimeMs to) const {
  if (to <= from) return 0;
  const int64_t offset_ms = offset_.count() * 60'000;
  const int64_t first = LocalDay(from), last = LocalDay(to);
  int64_t total = 0;
  for (int64_t day = first; day <= last; ++day) {
    if (!IsWorkingDay(day)) continue;
    const int64_t day_start = day * kDayMs - offset_ms;  // local midnight, UTC ms
    for (const auto& [s, e] : periods_) {
      const int64_t a = std::max<int64_t>(from.ms, day_start + s * int64_t{60'000});
      const int64_t b = std::min<int64_t>(to.ms, day_start + e * int64_t{60'000});
      if (b > a) total += b - a;
    }
  }
  return total;
}

}  // namespace wangge::rules
