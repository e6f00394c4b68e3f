// Time in wangge: epoch milliseconds inside, RFC 3339 with an offset on the wire,
// and a Clock interface so that nothing in engine/ or rules/ reads the system clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace wangge {

// Milliseconds since the Unix epoch, UTC.
struct TimeMs {
  int64_t ms = 0;
  friend auto operator<=>(const TimeMs&, const TimeMs&) = default;
};

// China Standard Time (Asia/Shanghai has no DST since 1991): the default display offset.
inline constexpr std::chrono::minutes kShanghaiOffset{8 * 60};

// Parses "2020-03-02T09:15:00+08:00", "...T01:15:00Z", with optional fractional seconds
// (milliseconds kept, finer digits dropped). An offset is required.
// kInvalidArgument with a message naming what is wrong.
Result<TimeMs> ParseRfc3339(std::string_view text);

// Days since 1970-01-01 of a civil (proleptic Gregorian) date. REQUIRES: a valid date.
int64_t DayNumber(int year, unsigned month, unsigned day);

struct CivilDate {
  int year = 1970;
  unsigned month = 1;  // 1-12
  unsigned day = 1;    // 1-31
};
// The civil date of a day number (inverse of DayNumber).
CivilDate CivilFromDays(int64_t days);

// The day number of `t` in China Standard Time (UTC+8).
inline int64_t ShanghaiDay(TimeMs t) {
  constexpr int64_t kDayMs = 86'400'000, kOffsetMs = 8 * 3'600'000;
  const int64_t local = t.ms + kOffsetMs;
  return local >= 0 ? local / kDayMs : (local - kDayMs + 1) / kDayMs;
}

// Parses "2026-03-02" into a day number. kInvalidArgument naming what is wrong.
Result<int64_t> ParseDate(std::string_view text);
// Formats a day number as "2026-03-02".
std::string FormatDate(int64_t days);

// Formats as "2020-03-02T09:15:00+08:00" (milliseconds added only when non-zero).
std::string FormatRfc3339(TimeMs t, std::chrono::minutes offset = kShanghaiOffset);

// The source of "now". Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeMs Now() const = 0;
};

// Reads std::chrono::system_clock. Thread-safe.
class SystemClock final : public Clock {
 public:
  TimeMs Now() const override;
};

}  // namespace wangge
