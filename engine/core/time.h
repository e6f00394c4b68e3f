// Time in wangge: epoch milliseconds inside, RFC 3339 with an offset on the wire,
// and a Clock interface so that nothing in engine/ or rules/ reads the system clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/core/status.h"

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
