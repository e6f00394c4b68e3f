// Supervision figures (closure rate, on-time rate, closure-time percentiles, backlog),
// maintained on write and read in O(groups × buckets). See docs/stats.md.
//
// Every case contributes a storage::Counters vector (Contribution) to a set of keys:
// for each kept cube (filter dimension, group dimension) and each period level of the
// cube (the month and the day of its receipt, UTC+8; for unfiltered cubes and cubes
// grouped by grid or worker also its quarter and year). A change of case state adds
// Contribution(after) − Contribution(before) to those keys, in the commit that changes
// the case, through the stats family's merge operator. Closed and cancelled cases never
// change again, so a closed case's working-time figure is computed once, at closure.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "engine/domain.h"
#include "storage/counters.h"
#include "storage/store.h"

namespace wangge::engine {

// What figures are grouped or filtered by. Persisted in keys: never renumbered.
enum class Dim : uint8_t {
  kNone = 0,
  kOffice = 1,  // the owning office now
  kVillage = 2,
  kGrid = 3,
  kWorker = 4,  // the reporting worker
  kCategory = 5,
};
std::string_view DimName(Dim d);  // "none", "office", ...
// The case's value of a dimension ("" for kNone): its office now, village, grid,
// reporting worker or category.
std::string_view GroupValue(const Case& c, Dim d);
std::optional<Dim> DimFromName(std::string_view name);

// Counter slots of a stats value. Persisted: never renumbered.
namespace slot {
inline constexpr uint16_t kTotal = 0;  // cases not cancelled
inline constexpr uint16_t kClosed = 1;
inline constexpr uint16_t kOnTime = 2;  // closed by the deadline in force
inline constexpr uint16_t kOpen = 3;
inline constexpr uint16_t kRated = 4;      // closed with a satisfaction rating
inline constexpr uint16_t kSatisfied = 5;  // rated 4 or 5
inline constexpr uint16_t kRework = 6;     // closed after at least one reopen
inline constexpr uint16_t kExtended = 7;   // not cancelled, extended at least once
inline constexpr uint16_t kCancelled = 8;
inline constexpr uint16_t kCloseMsSum = 9;         // receipt to closure, wall clock
inline constexpr uint16_t kCloseWorkMsSum = 10;    // the same in working time
inline constexpr uint16_t kEvidenceFlagged = 11;   // not cancelled, any evidence flag
inline constexpr uint16_t kLocationMismatch = 12;  // not cancelled, flagged location_mismatch
inline constexpr uint16_t kWallHistogram = 1000;   // + bucket, 0..1999
inline constexpr uint16_t kWorkHistogram = 3000;   // + bucket, 0..1999
}  // namespace slot

// Closure-time histogram. Bucket 0 holds durations under one second; bucket 1 + k holds
// (γ^(k−1), γ^k] seconds with γ = 1.02. A bucket's representative value 2γ^k / (γ + 1)
// is within α = (γ − 1) / (γ + 1) = 0.990% of every duration in it.
inline constexpr double kHistogramGamma = 1.02;
inline constexpr int kHistogramBuckets = 2000;
int DurationBucket(int64_t ms);
double BucketSeconds(int bucket);

// What one case state adds to the figures of its groups. `work_ms` is its working time
// from receipt to closure (used only when the case is closed).
storage::Counters Contribution(const Case& c, int64_t work_ms);

// Adds the figures' changes of a group commit, then writes them as merges.
// Not thread-safe.
class StatsDelta {
 public:
  StatsDelta();
  ~StatsDelta();
  StatsDelta(StatsDelta&&) noexcept;
  StatsDelta& operator=(StatsDelta&&) noexcept;

  // The change of one case from `before` (nullptr: new) to `after`. `work_ms` as in
  // Contribution, for `after`.
  void Apply(const Case* before, const Case& after, int64_t work_ms);
  // One merge per key with a non-zero change.
  void WriteTo(storage::WriteSet& set) const;
  // Every key (as stored) and its summed change, in no particular order.
  void ForEach(const std::function<void(const std::string&, const storage::Counters&)>& fn) const;
  // Keys with a change held.
  size_t size() const;
  void Clear();

 private:
  struct Rep;
  void Add(const Case& c, const storage::Counters& delta);
  std::unique_ptr<Rep> rep_;
};

// Whether a stats key is a quarter or year key (added in storage format 5).
bool IsRollupKey(std::string_view key);

// The period an interval splits a window into.
enum class Interval : uint8_t { kNone, kDay, kWeek, kMonth };
std::optional<Interval> IntervalFromName(std::string_view name);

struct StatsQuery {
  // Inclusive days of receipt (UTC+8); nullopt = unbounded on that side.
  std::optional<int64_t> from_day;
  std::optional<int64_t> to_day;
  Dim group_by = Dim::kNone;
  // At most one filter. kNone = no filter.
  Dim filter = Dim::kNone;
  std::string filter_value;
  Interval interval = Interval::kNone;
  // Overdue and backlog are judged at this instant. It may not be before the last
  // recorded event: those figures come from the current state.
  TimeMs as_of;
};

// Backlog: open cases by age in whole days at as_of: [0,1) [1,3) [3,7) [7,15) [15,30) 30+.
inline constexpr std::array<int, 5> kBacklogBandDays = {1, 3, 7, 15, 30};

struct StatsRow {
  std::string period;  // "" without an interval; else the first day of the period
  std::string key;     // the group's value; "" without group_by
  storage::Counters counters;
  int64_t overdue_open = 0;
  std::array<int64_t, kBacklogBandDays.size() + 1> backlog{};

  int64_t Get(uint16_t s) const { return counters.Get(s); }
  // Closure time at quantile q (0 < q <= 1) in hours, wall clock or working time;
  // nullopt when nothing closed.
  std::optional<double> ClosureHours(double q, bool working) const;
};

struct StatsResult {
  std::vector<StatsRow> rows;  // by period, then key
};

// kInvalidArgument: a filter on a dimension whose cubes are not kept, a window with
// from after to, or as_of before `last_event`.
Result<StatsResult> QueryStats(const storage::Store& store, const StatsQuery& query,
                               TimeMs last_event);

}  // namespace wangge::engine
