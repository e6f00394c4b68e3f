// The read side of the figures: a query's window decomposed into day, month, quarter and
// year keys, read and summed per group (QueryStats).
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <span>
#include <unordered_map>

#include "core/bytes.h"
#include "engine/case_index.h"
#include "engine/codec.h"
#include "engine/stats.h"
#include "engine/stats_keys.h"

namespace wangge::engine {

using namespace stats_keys;  // NOLINT(google-build-using-namespace): this file's own layout
using storage::Counters;
using storage::Family;

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
