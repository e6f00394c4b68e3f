#include "core/time.h"

#include <charconv>
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
  const int64_t secs = in_day / 1000, millis = in_day % 1000;
  int64_t off = offset.count();
  const char sign = off < 0 ? '-' : '+';
  if (off < 0) off = -off;
  // Written digit by digit: this runs for every time of every exported command.
  char buf[40];
  char* p = buf;
  auto put = [&p](int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += width;
  };
  int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) return std::to_string(t.ms);  // outside RFC 3339's range
  put(year, 4);
  *p++ = '-';
  put(static_cast<unsigned>(ymd.month()), 2);
  *p++ = '-';
  put(static_cast<unsigned>(ymd.day()), 2);
  *p++ = 'T';
  put(secs / 3600, 2);
  *p++ = ':';
  put(secs / 60 % 60, 2);
  *p++ = ':';
  put(secs % 60, 2);
  if (millis != 0) {
    *p++ = '.';
    put(millis, 3);
  }
  *p++ = sign;
  put(off / 60, 2);
  *p++ = ':';
  put(off % 60, 2);
  return std::string(buf, p);
}

int64_t DayNumber(int year, unsigned month, unsigned day) {
  return sys_days(std::chrono::year_month_day{std::chrono::year{year}, std::chrono::month{month},
                                              std::chrono::day{day}})
      .time_since_epoch()
      .count();
}

CivilDate CivilFromDays(int64_t days) {
  const std::chrono::year_month_day ymd{sys_days(std::chrono::days(days))};
  return CivilDate{static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                   static_cast<unsigned>(ymd.day())};
}

Result<int64_t> ParseDate(std::string_view text) {
  int year = 0;
  unsigned month = 0, day = 0;
  auto digits = [&](size_t at, size_t n, auto& out) {
    if (at + n > text.size()) return false;
    auto r = std::from_chars(text.data() + at, text.data() + at + n, out);
    return r.ec == std::errc() && r.ptr == text.data() + at + n;
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !digits(0, 4, year) ||
      !digits(5, 2, month) || !digits(8, 2, day)) {
    return InvalidArgument("'" + std::string(text) + "' is not a date YYYY-MM-DD");
  }
  const std::chrono::year_month_day ymd{std::chrono::year{year}, std::chrono::month{month},
                                        std::chrono::day{day}};
  if (!ymd.ok()) return InvalidArgument("'" + std::string(text) + "' is not a calendar date");
  return DayNumber(year, month, day);
}

std::string FormatDate(int64_t days) {
  const CivilDate d = CivilFromDays(days);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
  return buf;
}

TimeMs SystemClock::Now() const {
  auto since = std::chrono::system_clock::now().time_since_epoch();
  return TimeMs{std::chrono::duration_cast<std::chrono::milliseconds>(since).count()};
}

}  // namespace wangge
