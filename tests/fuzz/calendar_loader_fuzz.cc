// libFuzzer target: calendar files (working hours, holidays, make-up working days).
// Loading must never crash; a calendar that loads must answer working-time questions
// within bounds and agree with itself.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rules/calendar.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wangge;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto calendar = rules::Calendar::Load(text, "fuzz.json");
  if (!calendar.ok()) return 0;
  const TimeMs from{1'735'660'800'000};  // 2025-01-01 00:00 +08:00
  const TimeMs to{from.ms + 40LL * 86'400'000};
  const int64_t work = calendar->WorkingMsBetween(from, to);
  if (work < 0 || work > to.ms - from.ms) std::abort();
  const TimeMs later = calendar->AddWorkingMinutes(from, 60);
  if (later < from) std::abort();
  if (calendar->working_minutes_per_day() > 0 &&
      calendar->WorkingMsBetween(from, later) != 60 * 60'000) {
    std::abort();
  }
  return 0;
}
