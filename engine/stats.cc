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

namespace wangge::engine {
namespace {

using storage::Counters;
using storage::Family;

constexpr std::array<std::string_view, 6> kDimNames = {"none", "office", "village",
                                                       "grid", "worker", "category"};

// The cubes kept: every grouping without a filter, and every grouping under a filter
// on office, village or category.
struct Cube {
  Dim filter;
  Dim group;
};
constexpr std::array<Dim, 6> kAllDims = {Dim::kNone, Dim::kOffice, Dim::kVillage,
                                         Dim::kGrid, Dim::kWorker, Dim::kCategory};
constexpr std::array<Dim, 3> kFilterDims = {Dim::kOffice, Dim::kVillage, Dim::kCategory};

std::vector<Cube> MakeCubes() {
  std::vector<Cube> cubes;
  for (Dim g : kAllDims) cubes.push_back({Dim::kNone, g});
  for (Dim f : kFilterDims) {
    for (Dim g : kAllDims) {
      if (g != f) cubes.push_back({f, g});
    }
  }
  return cubes;
}
const std::vector<Cube>& Cubes() {
  static const std::vector<Cube> cubes = MakeCubes();
  return cubes;
}

bool IsFilterDim(Dim d) {
  return std::find(kFilterDims.begin(), kFilterDims.end(), d) != kFilterDims.end();
}

// Period levels of a key. Quarters and years turn a long window into one key per group;
// they are kept where a window would otherwise read many keys with many cases each:
// unfiltered cubes, and cubes grouped by grid or worker (hundreds of groups).
enum Level : uint8_t { kMonth = 1, kDay = 2, kQuarter = 3, kYear = 4 };
bool HasRollups(Cube cube) {
  return cube.filter == Dim::kNone || cube.group == Dim::kGrid || cube.group == Dim::kWorker;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

int64_t MonthOfDay(int64_t day) {
  const CivilDate d = CivilFromDays(day);
  return int64_t{d.year} * 12 + (d.month - 1);
}
int64_t FirstDayOfMonth(int64_t month) {
  const int64_t year = month >= 0 ? month / 12 : (month - 11) / 12;
  return DayNumber(static_cast<int>(year), static_cast<unsigned>(month - year * 12 + 1), 1);
}

void PutBucket(std::string& key, int64_t bucket) {
  PutU32(key, static_cast<uint32_t>(static_cast<int32_t>(bucket)) ^ 0x8000'0000u);
}
int64_t BucketOf(std::string_view four) {
  uint32_t raw = 0;
  for (char c : four.substr(0, 4)) raw = raw << 8 | static_cast<uint8_t>(c);
  return static_cast<int32_t>(raw ^ 0x8000'0000u);
}

// Key: filter dim, group dim, filter value, 0x00, level, bucket (i32, sign-flipped BE),
// group value. One filter value's buckets are contiguous, and one bucket's groups.
std::string Prefix(Cube cube, std::string_view filter_value, Level level) {
  std::string key;
  PutU8(key, static_cast<uint8_t>(cube.filter));
  PutU8(key, static_cast<uint8_t>(cube.group));
  key.append(filter_value);
  PutU8(key, 0);
  PutU8(key, level);
  return key;
}

}  // namespace

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

std::optional<double> StatsRow::ClosureHours(double q, bool working) const {
  const uint16_t base = working ? slot::kWorkHistogram : slot::kWallHistogram;
  int64_t n = 0;
  for (const auto& [s, v] : counters.slots()) {
    if (s >= base && s < base + kHistogramBuckets) n += v;
  }
  if (n <= 0) return std::nullopt;
  const auto rank =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * static_cast<double>(n) - 1e-9)));
  int64_t seen = 0;
  for (const auto& [s, v] : counters.slots()) {
    if (s < base || s >= base + kHistogramBuckets) continue;
    seen += v;
    if (seen >= rank) return BucketSeconds(s - base) / 3600.0;
  }
  return std::nullopt;
}

namespace {

constexpr int64_t kMinBucket = std::numeric_limits<int32_t>::min();
constexpr int64_t kMaxBucket = std::numeric_limits<int32_t>::max();

// A range of buckets of one level, inclusive.
struct Span {
  Level level;
  int64_t lo;
  int64_t hi;
};

// Covers the whole months [m0, m1] (kMinBucket/kMaxBucket: unbounded) with the coarsest
// levels from `levels` on: whole units of the first level, and the months left on either
// side with the next ones. The last level must be months.
struct LevelSize {
  Level level;
  int64_t months;
};
void CoverMonths(int64_t m0, int64_t m1, std::span<const LevelSize> levels,
                 std::vector<Span>& spans) {
  const auto [level, size] = levels.front();
  const int64_t u0 = m0 == kMinBucket ? kMinBucket : FloorDiv(m0 + size - 1, size);
  const int64_t u1 = m1 == kMaxBucket ? kMaxBucket : FloorDiv(m1 + 1, size) - 1;
  if (u0 > u1) {
    CoverMonths(m0, m1, levels.subspan(1), spans);
    return;
  }
  spans.push_back(Span{level, u0, u1});
  if (u0 != kMinBucket && m0 < u0 * size) {
    CoverMonths(m0, u0 * size - 1, levels.subspan(1), spans);
  }
  if (u1 != kMaxBucket && (u1 + 1) * size - 1 < m1) {
    CoverMonths((u1 + 1) * size, m1, levels.subspan(1), spans);
  }
}

// The spans that cover the days [from, to]: whole years and quarters when `rollups`
// (the cube keeps them and no interval splits the window), whole months, and the rest
// by day. Intervals finer than a month read days only.
std::vector<Span> Decompose(std::optional<int64_t> from, std::optional<int64_t> to,
                            Interval interval, bool rollups) {
  if (interval == Interval::kDay || interval == Interval::kWeek) {
    return {Span{kDay, from.value_or(kMinBucket), to.value_or(kMaxBucket)}};
  }
  // First and last whole months inside the window.
  const int64_t first_month =
      from ? MonthOfDay(*from) + (FirstDayOfMonth(MonthOfDay(*from)) == *from ? 0 : 1) : kMinBucket;
  const int64_t last_month =
      to ? MonthOfDay(*to) - (FirstDayOfMonth(MonthOfDay(*to) + 1) - 1 == *to ? 0 : 1) : kMaxBucket;
  std::vector<Span> spans;
  if (first_month > last_month) {
    spans.push_back(Span{kDay, *from, *to});  // both bounded: no whole month inside
    return spans;
  }
  static constexpr LevelSize kAll[] = {{kYear, 12}, {kQuarter, 3}, {kMonth, 1}};
  const std::span<const LevelSize> levels(kAll);
  CoverMonths(first_month, last_month,
              rollups && interval == Interval::kNone ? levels : levels.last(1), spans);
  if (from && *from < FirstDayOfMonth(first_month)) {
    spans.push_back(Span{kDay, *from, FirstDayOfMonth(first_month) - 1});
  }
  if (to && *to >= FirstDayOfMonth(last_month + 1)) {
    spans.push_back(Span{kDay, FirstDayOfMonth(last_month + 1), *to});
  }
  return spans;
}

// The period label of a bucket under an interval: the first day of its day, week
// (Monday) or month; "" without an interval.
std::string PeriodOf(Level level, int64_t bucket, Interval interval) {
  switch (interval) {
    case Interval::kNone:
      return {};
    case Interval::kMonth:
      return FormatDate(level == kMonth ? FirstDayOfMonth(bucket)
                                        : FirstDayOfMonth(MonthOfDay(bucket)));
    case Interval::kDay:
      return FormatDate(bucket);
    case Interval::kWeek: {
      const int64_t monday = bucket - ((bucket % 7 + 7 + 3) % 7);  // 1970-01-05 was a Monday
      return FormatDate(monday);
    }
  }
  return {};
}

// Adds encoded vectors into a dense array for the counters and the histogram buckets
// under 1,000 (durations up to ~3 years); the rest go to a sparse overflow. A year of
// a fine grouping adds thousands of vectors into each row, which a sorted sparse
// vector would do in O(row size) each.
class Accumulator {
 public:
  bool AddEncoded(std::string_view bytes) {
    if (dense_.empty()) dense_.assign(kSize, 0);
    return Counters::ForEachEncoded(bytes, [this](uint16_t slot, int64_t v) {
      const int i = Index(slot);
      if (i >= 0) {
        dense_[static_cast<size_t>(i)] += v;
      } else {
        overflow_.Add(slot, v);
      }
    });
  }
  void FoldInto(Counters& out) const {
    if (dense_.empty()) return;
    Counters folded;  // built in slot order: counters, then the two histograms
    for (uint16_t slot = 0; slot < kCounters; ++slot) folded.Append(slot, dense_[slot]);
    for (uint16_t b = 0; b < kBuckets; ++b) {
      folded.Append(static_cast<uint16_t>(slot::kWallHistogram + b), dense_[kCounters + b]);
    }
    for (uint16_t b = 0; b < kBuckets; ++b) {
      folded.Append(static_cast<uint16_t>(slot::kWorkHistogram + b),
                    dense_[kCounters + kBuckets + b]);
    }
    folded.AddAll(overflow_);
    out.AddAll(folded);
  }

 private:
  static constexpr size_t kCounters = 16, kBuckets = 1000, kSize = kCounters + 2 * kBuckets;
  static int Index(uint16_t slot) {
    if (slot < kCounters) return slot;
    if (slot >= slot::kWallHistogram && slot < slot::kWallHistogram + kBuckets) {
      return static_cast<int>(kCounters + slot - slot::kWallHistogram);
    }
    if (slot >= slot::kWorkHistogram && slot < slot::kWorkHistogram + kBuckets) {
      return static_cast<int>(kCounters + kBuckets + slot - slot::kWorkHistogram);
    }
    return -1;
  }
  std::vector<int64_t> dense_;
  Counters overflow_;
};

struct RowState {
  StatsRow row;
  Accumulator sums;
  int added = 0;  // vectors added so far
};
constexpr int kSparseAdds = 3;
// Rows by period + 0x00 + group value (in that order, so rows come out by period).
class Rows {
 public:
  RowState& For(std::string_view period, std::string_view key) {
    scratch_.assign(period);
    scratch_.push_back('\0');
    scratch_.append(key);
    auto it = rows_.find(scratch_);  // no allocation when the row exists
    if (it == rows_.end()) {
      it = rows_.emplace(scratch_, RowState{}).first;
      it->second.row.period = std::string(period);
      it->second.row.key = std::string(key);
    }
    return it->second;
  }
  size_t size() const { return rows_.size(); }
  auto begin() { return rows_.begin(); }
  auto end() { return rows_.end(); }

 private:
  std::map<std::string, RowState, std::less<>> rows_;
  std::string scratch_;
};

// Rows beyond this many add sparse vectors directly: dense arrays (16 KB each) for every
// row of a daily series of a fine grouping would not fit in memory.
constexpr size_t kDenseRows = 2048;

// Calls fn(bucket, group value, encoded counters) for every key of `cube` under
// `filter_value` in the span.
template <typename Fn>
Status ScanSpan(const storage::Store& store, Cube cube, std::string_view filter_value, Span span,
                Fn&& fn) {
  const std::string prefix = Prefix(cube, filter_value, span.level);
  std::string start = prefix, end = prefix;
  PutBucket(start, span.lo);
  if (span.hi >= kMaxBucket) {
    end.back() = static_cast<char>(span.level + 1);  // the next level's prefix
  } else {
    PutBucket(end, span.hi + 1);
  }
  Status failure;
  WANGGE_RETURN_IF_ERROR(
      store.Scan(Family::kStats, start, end, [&](std::string_view k, std::string_view v) {
        if (k.size() < prefix.size() + 4) {
          failure = Corruption("a stats key is malformed");
          return false;
        }
        if (!fn(BucketOf(k.substr(prefix.size(), 4)), k.substr(prefix.size() + 4), v)) {
          failure = Corruption("a stats value does not decode");
          return false;
        }
        return true;
      }));
  return failure;
}

}  // namespace

Result<StatsResult> QueryStats(const storage::Store& store, const StatsQuery& q,
                               TimeMs last_event) {
  if (q.filter != Dim::kNone && !IsFilterDim(q.filter)) {
    return InvalidArgument("filters are kept for office, village and category only",
                           std::string(DimName(q.filter)));
  }
  if (q.from_day && q.to_day && *q.from_day > *q.to_day) {
    return InvalidArgument("from is after to", "from");
  }
  if (q.as_of < last_event) {
    return InvalidArgument("as_of is before the last recorded event (" + FormatRfc3339(last_event) +
                               "); the state at that time needs a replay",
                           "as_of");
  }
  // A filter on the grouped dimension reads the unfiltered cube and keeps one group.
  const bool same = q.filter != Dim::kNone && q.filter == q.group_by;
  const Cube cube{same ? Dim::kNone : q.filter, q.group_by};
  const std::string filter_value = same ? std::string() : q.filter_value;

  Rows rows;
  for (const Span& span : Decompose(q.from_day, q.to_day, q.interval, HasRollups(cube))) {
    WANGGE_RETURN_IF_ERROR(
        ScanSpan(store, cube, filter_value, span,
                 [&](int64_t bucket, std::string_view group, std::string_view value) {
                   RowState& r = rows.For(PeriodOf(span.level, bucket, q.interval), group);
                   // Dense only for rows that add up many vectors (its fixed cost is 16 KB).
                   if (++r.added > kSparseAdds && rows.size() <= kDenseRows) {
                     return r.sums.AddEncoded(value);
                   }
                   Counters c;
                   if (!Counters::Decode(value, c)) return false;
                   r.row.counters.AddAll(c);
                   return true;
                 }));
  }
  for (auto& [k, r] : rows) r.sums.FoldInto(r.row.counters);

  // Backlog: open cases received in the last 30 days by day of receipt; the rest of a
  // row's open cases are older.
  const int64_t as_of_day = ShanghaiDay(q.as_of);
  const int64_t recent_from = std::max(q.from_day.value_or(kMinBucket), as_of_day - 29);
  const int64_t recent_to = std::min(q.to_day.value_or(kMaxBucket), as_of_day);
  if (recent_from <= recent_to) {
    WANGGE_RETURN_IF_ERROR(
        ScanSpan(store, cube, filter_value, Span{kDay, recent_from, recent_to},
                 [&](int64_t day, std::string_view group, std::string_view value) {
                   const int64_t open = Counters::GetEncoded(value, slot::kOpen);
                   if (open == 0) return true;
                   const int64_t age = as_of_day - day;
                   size_t band = 0;
                   while (band < kBacklogBandDays.size() && age >= kBacklogBandDays[band]) ++band;
                   rows.For(PeriodOf(kDay, day, q.interval), group).row.backlog[band] += open;
                   return true;
                 }));
  }
  for (auto& [k, state] : rows) {
    StatsRow& row = state.row;
    int64_t recent = 0;
    for (size_t b = 0; b < kBacklogBandDays.size(); ++b) recent += row.backlog[b];
    row.backlog.back() = row.Get(slot::kOpen) - recent;
  }

  // Overdue: open cases whose deadline passed by as_of, from the deadline index.
  Status failure;
  WANGGE_RETURN_IF_ERROR(
      store.Scan(Family::kDue, "", DueKey(q.as_of, ""), [&](std::string_view k, std::string_view) {
        auto bytes = store.Get(Family::kCases, k.substr(8));
        if (!bytes.ok()) {
          failure = bytes.status();
          return false;
        }
        if (!*bytes) return true;
        auto c = DecodeCase(**bytes);
        if (!c.ok()) {
          failure = c.status();
          return false;
        }
        const int64_t day = ShanghaiDay(c->received_at);
        if (!c->open() || c->deadline >= q.as_of) return true;
        if ((q.from_day && day < *q.from_day) || (q.to_day && day > *q.to_day)) return true;
        if (q.filter != Dim::kNone && GroupValue(*c, q.filter) != q.filter_value) return true;
        rows.For(PeriodOf(kDay, day, q.interval), GroupValue(*c, q.group_by)).row.overdue_open++;
        return true;
      }));
  WANGGE_RETURN_IF_ERROR(failure);

  StatsResult result;
  for (auto& [k, state] : rows) {
    if (same && state.row.key != q.filter_value) continue;
    // A key whose changes summed to zero (a case reassigned away from the office in a
    // later commit than its report) leaves a row with no cases: not a row.
    if (state.row.counters.empty() && state.row.overdue_open == 0) continue;
    result.rows.push_back(std::move(state.row));
  }
  return result;
}

}  // namespace wangge::engine
