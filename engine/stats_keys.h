// The layout of the figure keys, shared by the write side (stats.cc: what a case change
// adds) and the read side (stats_query.cc: which keys a query reads). Private to engine/.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/time.h"
#include "engine/stats.h"

namespace wangge::engine::stats_keys {

inline constexpr std::array<std::string_view, 6> kDimNames = {"none", "office", "village",
                                                              "grid", "worker", "category"};

// The cubes kept: every grouping without a filter, and every grouping under a filter
// on office, village or category.
struct Cube {
  Dim filter;
  Dim group;
};
inline constexpr std::array<Dim, 6> kAllDims = {Dim::kNone, Dim::kOffice, Dim::kVillage,
                                                Dim::kGrid, Dim::kWorker, Dim::kCategory};
inline constexpr std::array<Dim, 3> kFilterDims = {Dim::kOffice, Dim::kVillage, Dim::kCategory};

inline std::vector<Cube> MakeCubes() {
  std::vector<Cube> cubes;
  for (Dim g : kAllDims) cubes.push_back({Dim::kNone, g});
  for (Dim f : kFilterDims) {
    for (Dim g : kAllDims) {
      if (g != f) cubes.push_back({f, g});
    }
  }
  return cubes;
}
inline const std::vector<Cube>& Cubes() {
  static const std::vector<Cube> cubes = MakeCubes();
  return cubes;
}

inline bool IsFilterDim(Dim d) {
  return std::find(kFilterDims.begin(), kFilterDims.end(), d) != kFilterDims.end();
}

// Period levels of a key. Quarters and years turn a long window into one key per group;
// they are kept where a window would otherwise read many keys with many cases each:
// unfiltered cubes, and cubes grouped by grid or worker (hundreds of groups).
enum Level : uint8_t { kMonth = 1, kDay = 2, kQuarter = 3, kYear = 4 };
inline bool HasRollups(Cube cube) {
  return cube.filter == Dim::kNone || cube.group == Dim::kGrid || cube.group == Dim::kWorker;
}

inline int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

inline int64_t MonthOfDay(int64_t day) {
  const CivilDate d = CivilFromDays(day);
  return int64_t{d.year} * 12 + (d.month - 1);
}
inline int64_t FirstDayOfMonth(int64_t month) {
  const int64_t year = month >= 0 ? month / 12 : (month - 11) / 12;
  return DayNumber(static_cast<int>(year), static_cast<unsigned>(month - year * 12 + 1), 1);
}

inline void PutBucket(std::string& key, int64_t bucket) {
  PutU32(key, static_cast<uint32_t>(static_cast<int32_t>(bucket)) ^ 0x8000'0000u);
}
inline int64_t BucketOf(std::string_view four) {
  uint32_t raw = 0;
  for (char c : four.substr(0, 4)) raw = raw << 8 | static_cast<uint8_t>(c);
  return static_cast<int32_t>(raw ^ 0x8000'0000u);
}

// Key: filter dim, group dim, filter value, 0x00, level, bucket (i32, sign-flipped BE),
// group value. One filter value's buckets are contiguous, and one bucket's groups.
inline std::string Prefix(Cube cube, std::string_view filter_value, Level level) {
  std::string key;
  PutU8(key, static_cast<uint8_t>(cube.filter));
  PutU8(key, static_cast<uint8_t>(cube.group));
  key.append(filter_value);
  PutU8(key, 0);
  PutU8(key, level);
  return key;
}

}  // namespace wangge::engine::stats_keys
