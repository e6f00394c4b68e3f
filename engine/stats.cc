#include "engine/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <span>
#include <unordered_map>

#include "core/bytes.h"
#include "engine/case_index.h"
#include "engine/codec.h"
#include "engine/media.h"
#include "engine/stats_keys.h"

namespace wangge::engine {

using namespace stats_keys;  // NOLINT(google-build-using-namespace): this file's own layout
using storage::Counters;
using storage::Family;

std::string_view DimName(Dim d) { return kDimNames[static_cast<size_t>(d)]; }

std::string_view GroupValue(const Case& c, Dim d) {
  switch (d) {
    case Dim::kOffice:
      return c.office;
    case Dim::kVillage:
      return c.report.village;
    case Dim::kGrid:
      return c.report.grid;
    case Dim::kWorker:
      return c.reporter.id;
    case Dim::kCategory:
      return c.report.category;
    case Dim::kNone:
      break;
  }
  return {};
}

std::optional<Dim> DimFromName(std::string_view name) {
  for (size_t i = 0; i < kDimNames.size(); ++i) {
    if (kDimNames[i] == name) return static_cast<Dim>(i);
  }
  return std::nullopt;
}

std::optional<Interval> IntervalFromName(std::string_view name) {
  if (name == "none") return Interval::kNone;
  if (name == "day") return Interval::kDay;
  if (name == "week") return Interval::kWeek;
  if (name == "month") return Interval::kMonth;
  return std::nullopt;
}

int DurationBucket(int64_t ms) {
  if (ms < 1000) return 0;
  const double seconds = static_cast<double>(ms) / 1000.0;
  const int k = static_cast<int>(std::ceil(std::log(seconds) / std::log(kHistogramGamma) - 1e-9));
  return std::clamp(1 + k, 1, kHistogramBuckets - 1);
}

double BucketSeconds(int bucket) {
  if (bucket <= 0) return 0;
  return 2.0 * std::pow(kHistogramGamma, bucket - 1) / (kHistogramGamma + 1.0);
}

Counters Contribution(const Case& c, int64_t work_ms) {
  Counters out;
  if (c.status == CaseStatus::kCancelled) {
    out.Add(slot::kCancelled, 1);
    return out;
  }
  out.Add(slot::kTotal, 1);
  if (c.evidence != 0) out.Add(slot::kEvidenceFlagged, 1);
  if (c.evidence & evidence::kLocationMismatch) out.Add(slot::kLocationMismatch, 1);
  if (c.extension_count > 0) out.Add(slot::kExtended, 1);
  if (c.status != CaseStatus::kClosed) {
    out.Add(slot::kOpen, 1);
    return out;
  }
  const int64_t wall_ms = std::max<int64_t>(0, c.closed_at.ms - c.received_at.ms);
  out.Add(slot::kClosed, 1);
  if (c.closed_at <= c.deadline) out.Add(slot::kOnTime, 1);
  if (c.reopen_count > 0) out.Add(slot::kRework, 1);
  if (c.satisfaction > 0) {
    out.Add(slot::kRated, 1);
    if (c.satisfaction >= 4) out.Add(slot::kSatisfied, 1);
  }
  out.Add(slot::kCloseMsSum, wall_ms);
  out.Add(slot::kCloseWorkMsSum, work_ms);
  out.Add(static_cast<uint16_t>(slot::kWallHistogram + DurationBucket(wall_ms)), 1);
  out.Add(static_cast<uint16_t>(slot::kWorkHistogram + DurationBucket(work_ms)), 1);
  return out;
}

void StatsDelta::Apply(const Case* before, const Case& after, int64_t work_ms) {
  const Counters now = Contribution(after, work_ms);
  if (before && before->office == after.office) {
    // Same groups and buckets (only the office of a case can change): one net change.
    Counters change = now;
    change.AddAll(Contribution(*before, 0), -1);
    Add(after, change);
    return;
  }
  if (before)
    Add(*before, [&] {
      Counters minus;
      minus.AddAll(Contribution(*before, 0), -1);
      return minus;
    }());
  Add(after, now);
}

// Keys are held as (cube, level, bucket, interned filter value, interned group value):
// a case change touches up to 66 keys, and building and hashing 66 strings cost more
// than the rest of the commit. Strings are made once per key, when written.
namespace {
struct DeltaKey {
  uint8_t cube;
  uint8_t level;
  int32_t bucket;
  uint32_t filter;  // interned filter value
  uint32_t group;   // interned group value
  friend bool operator==(const DeltaKey&, const DeltaKey&) = default;
};
struct DeltaKeyHash {
  size_t operator()(const DeltaKey& k) const {
    uint64_t h =
        (uint64_t{k.cube} << 56) ^ (uint64_t{k.level} << 48) ^ static_cast<uint32_t>(k.bucket);
    h = h * 0x9E3779B97F4A7C15ull ^ (uint64_t{k.filter} << 32 | k.group);
    return static_cast<size_t>(h * 0xBF58476D1CE4E5B9ull ^ (h >> 31));
  }
};
}  // namespace

struct StatsDelta::Rep {
  std::unordered_map<DeltaKey, Counters, DeltaKeyHash> changes;
  std::vector<std::string> names{""};  // id -> value; 0 is ""
  std::unordered_map<std::string, uint32_t> ids{{"", 0}};

  uint32_t Intern(std::string_view value) {
    auto it = ids.find(std::string(value));
    if (it != ids.end()) return it->second;
    const auto id = static_cast<uint32_t>(names.size());
    names.emplace_back(value);
    ids.emplace(std::string(value), id);
    return id;
  }
  std::string KeyOf(const DeltaKey& k) const {
    std::string key = Prefix(Cubes()[k.cube], names[k.filter], static_cast<Level>(k.level));
    PutBucket(key, k.bucket);
    key.append(names[k.group]);
    return key;
  }
};

StatsDelta::StatsDelta() : rep_(std::make_unique<Rep>()) {}
StatsDelta::~StatsDelta() = default;
StatsDelta::StatsDelta(StatsDelta&&) noexcept = default;
StatsDelta& StatsDelta::operator=(StatsDelta&&) noexcept = default;

void StatsDelta::Add(const Case& c, const Counters& delta) {
  if (delta.empty()) return;
  const int64_t day = ShanghaiDay(c.received_at);
  const int64_t month = MonthOfDay(day);
  const std::pair<Level, int64_t> buckets[] = {
      {kMonth, month}, {kDay, day}, {kQuarter, FloorDiv(month, 3)}, {kYear, FloorDiv(month, 12)}};
  uint32_t id[kAllDims.size()];
  for (Dim d : kAllDims) id[static_cast<size_t>(d)] = rep_->Intern(GroupValue(c, d));
  const auto& cubes = Cubes();
  for (size_t i = 0; i < cubes.size(); ++i) {
    const Cube cube = cubes[i];
    const size_t levels = HasRollups(cube) ? 4 : 2;
    for (size_t l = 0; l < levels; ++l) {
      const DeltaKey key{static_cast<uint8_t>(i), buckets[l].first,
                         static_cast<int32_t>(buckets[l].second),
                         id[static_cast<size_t>(cube.filter)], id[static_cast<size_t>(cube.group)]};
      rep_->changes[key].AddAll(delta);
    }
  }
}

void StatsDelta::WriteTo(storage::WriteSet& set) const {
  for (const auto& [key, delta] : rep_->changes) {
    if (!delta.empty()) set.Merge(Family::kStats, rep_->KeyOf(key), delta.Encode());
  }
}

void StatsDelta::ForEach(const std::function<void(const std::string&, const Counters&)>& fn) const {
  for (const auto& [key, delta] : rep_->changes) fn(rep_->KeyOf(key), delta);
}

size_t StatsDelta::size() const { return rep_->changes.size(); }

void StatsDelta::Clear() { rep_->changes.clear(); }

bool IsRollupKey(std::string_view key) {
  const size_t nul = key.find('\0', 2);  // after the filter value
  if (key.size() < 2 || nul == std::string_view::npos || nul + 1 >= key.size()) return false;
  const Cube cube{static_cast<Dim>(key[0]), static_cast<Dim>(key[1])};
  const auto level = static_cast<uint8_t>(key[nul + 1]);
  return HasRollups(cube) && (level == kQuarter || level == kYear);
}

}  // namespace wangge::engine
