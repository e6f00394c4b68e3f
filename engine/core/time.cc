#include "engine/core/time.h"

#include <cstdio>

namespace wangge {
namespace {

using std::chrono::days;
using std::chrono::sys_days;

bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

Status Bad(std::string_view text, std::string_view why) {
  return InvalidArgument("bad RFC 3339 time '" + std::string(text.substr(0, 40)) +
                         "': " + std::string(why));
}

}  // namespace

Result<TimeMs> ParseRfc3339(std::string_view text) {
  int year, month, day, hour, minute, second;
  if (!Digits(text, 0, 4, year) || text.size() < 19 || text[4] != '-' ||
      !Digits(text, 5, 2, month) || text[7] != '-' || !Digits(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !Digits(text, 11, 2, hour) ||
      text[13] != ':' || !Digits(text, 14, 2, minute) || text[16] != ':' ||
      !Digits(text, 17, 2, second)) {
    return Bad(text, "expected YYYY-MM-DDTHH:MM:SS");
  }
  std::chrono::year_month_day ymd{std::chrono::year{year},
                                  std::chrono::month{static_cast<unsigned>(month)},
                                  std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return Bad(text, "no such date");
  if (hour > 23 || minute > 59 || second > 60) return Bad(text, "time of day out of range");
  if (second == 60) second = 59;  // a leap second is held at :59

  size_t pos = 19;
  int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return Bad(text, "empty fraction of a second");
    for (size_t i = digits; i < 3; ++i) millis *= 10;
  }
  if (pos >= text.size()) return Bad(text, "missing offset (Z or +HH:MM)");
  int offset_minutes = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int oh, om;
    if (!Digits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !Digits(text, pos + 4, 2, om) || oh > 23 || om > 59) {
      return Bad(text, "bad offset, expected +HH:MM");
    }
    offset_minutes = (oh * 60 + om) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return Bad(text, "missing offset (Z or +HH:MM)");
  }
  if (pos != text.size()) return Bad(text, "trailing characters");

  int64_t day_count = sys_days(ymd).time_since_epoch().count();
  int64_t secs = day_count * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return TimeMs{secs * 1000 + millis};
}

std::string FormatRfc3339(TimeMs t, std::chrono::minutes offset) {
  int64_t local_ms = t.ms + offset.count() * 60'000;
  int64_t day_count = local_ms >= 0 ? local_ms / 86'400'000 : (local_ms - 86'399'999) / 86'400'000;
  int64_t in_day = local_ms - day_count * 86'400'000;
  std::chrono::year_month_day ymd{sys_days{days{day_count}}};
  int64_t secs = in_day / 1000;
  int64_t millis = in_day % 1000;
  long off = static_cast<long>(offset.count());
  char sign = off < 0 ? '-' : '+';
  if (off < 0) off = -off;
  char buf[64];
  int n;
  if (millis != 0) {
    n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03d%c%02ld:%02ld",
                      static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                      static_cast<unsigned>(ymd.day()), static_cast<int>(secs / 3600),
                      static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60),
                      static_cast<int>(millis), sign, off / 60, off % 60);
  } else {
    n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d%c%02ld:%02ld",
                      static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                      static_cast<unsigned>(ymd.day()), static_cast<int>(secs / 3600),
                      static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60), sign, off / 60,
                      off % 60);
  }
  return std::string(buf, static_cast<size_t>(n));
}

TimeMs SystemClock::Now() const {
  auto since = std::chrono::system_clock::now().time_since_epoch();
  return TimeMs{std::chrono::duration_cast<std::chrono::milliseconds>(since).count()};
}

}  // namespace wangge
