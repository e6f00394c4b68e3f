#include "wire/stats_json.h"

#include <cmath>
#include <optional>

#include <spdlog/fmt/fmt.h>

namespace wangge::wire {
namespace {

namespace json = boost::json;
namespace slot = engine::slot;

constexpr std::array<const char*, 6> kBandNames = {"0-1d",  "1-3d",   "3-7d",
                                                   "7-15d", "15-30d", "30d+"};

std::optional<double> Rate(int64_t part, int64_t whole) {
  if (whole <= 0) return std::nullopt;
  return static_cast<double>(part) / static_cast<double>(whole);
}

// Rounded for display and JSON: rates to 4 places, hours to 2.
double Round(double v, int places) {
  const double scale = places == 4 ? 1e4 : 1e2;
  return std::round(v * scale) / scale;
}

json::value OrNull(std::optional<double> v, int places) {
  return v ? json::value(Round(*v, places)) : json::value(nullptr);
}

json::object Hours(const engine::StatsRow& row, bool working) {
  const int64_t closed = row.Get(slot::kClosed);
  const int64_t sum = row.Get(working ? slot::kCloseWorkMsSum : slot::kCloseMsSum);
  std::optional<double> mean;
  if (closed > 0) mean = static_cast<double>(sum) / static_cast<double>(closed) / 3.6e6;
  return json::object{{"mean", OrNull(mean, 2)},
                      {"p50", OrNull(row.ClosureHours(0.50, working), 2)},
                      {"p90", OrNull(row.ClosureHours(0.90, working), 2)},
                      {"p99", OrNull(row.ClosureHours(0.99, working), 2)}};
}

std::string CsvQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string Cell(std::optional<double> v, int places, double scale = 1) {
  return v ? fmt::format("{:.{}f}", *v * scale, places) : "-";
}

}  // namespace

Status BuildStatsQuery(const StatsParams& p, TimeMs now, engine::StatsQuery& q) {
  if (!p.from.empty()) {
    auto day = ParseDate(p.from);
    if (!day.ok()) return InvalidArgument(day.status().message(), "from");
    q.from_day = *day;
  }
  if (!p.to.empty()) {
    auto day = ParseDate(p.to);
    if (!day.ok()) return InvalidArgument(day.status().message(), "to");
    q.to_day = *day;
  }
  if (q.from_day && q.to_day && *q.from_day > *q.to_day) {
    return InvalidArgument("from " + p.from + " is after to " + p.to, "from");
  }
  if (!p.group_by.empty()) {
    auto dim = engine::DimFromName(p.group_by);
    if (!dim) {
      return InvalidArgument("group_by must be none, office, village, grid, worker or category",
                             "group_by");
    }
    q.group_by = *dim;
  }
  const std::pair<engine::Dim, const std::string*> filters[] = {
      {engine::Dim::kOffice, &p.office},
      {engine::Dim::kVillage, &p.village},
      {engine::Dim::kCategory, &p.category}};
  for (const auto& [dim, value] : filters) {
    if (value->empty()) continue;
    if (q.filter != engine::Dim::kNone) {
      return InvalidArgument("give at most one of office, village and category",
                             std::string(engine::DimName(dim)));
    }
    q.filter = dim;
    q.filter_value = *value;
  }
  if (!p.interval.empty()) {
    auto interval = engine::IntervalFromName(p.interval);
    if (!interval) return InvalidArgument("interval must be none, day, week or month", "interval");
    q.interval = *interval;
  }
  q.as_of = now;
  if (!p.as_of.empty()) {
    auto t = ParseRfc3339(p.as_of);
    if (!t.ok()) return InvalidArgument(t.status().message(), "as_of");
    q.as_of = *t;
  }
  return Status::Ok();
}

json::object StatsJson(const engine::StatsQuery& q, const engine::StatsResult& r) {
  json::array rows;
  for (const auto& row : r.rows) {
    const int64_t total = row.Get(slot::kTotal), closed = row.Get(slot::kClosed);
    json::object backlog;
    for (size_t b = 0; b < kBandNames.size(); ++b) backlog[kBandNames[b]] = row.backlog[b];
    json::object o;
    if (q.interval != engine::Interval::kNone) o["period"] = row.period;
    o["key"] = row.key;
    o["total"] = total;
    o["closed"] = closed;
    o["closure_rate"] = OrNull(Rate(closed, total), 4);
    o["on_time"] = row.Get(slot::kOnTime);
    o["on_time_rate"] = OrNull(Rate(row.Get(slot::kOnTime), closed), 4);
    o["overdue_open"] = row.overdue_open;
    o["open"] = row.Get(slot::kOpen);
    o["closure_hours"] = Hours(row, false);
    o["closure_working_hours"] = Hours(row, true);
    o["satisfaction_rate"] = OrNull(Rate(row.Get(slot::kSatisfied), row.Get(slot::kRated)), 4);
    o["rework_rate"] = OrNull(Rate(row.Get(slot::kRework), closed), 4);
    o["extension_rate"] = OrNull(Rate(row.Get(slot::kExtended), total), 4);
    o["cancelled"] = row.Get(slot::kCancelled);
    o["evidence_flagged"] = row.Get(slot::kEvidenceFlagged);
    o["location_mismatch"] = row.Get(slot::kLocationMismatch);
    o["backlog"] = std::move(backlog);
    rows.push_back(std::move(o));
  }
  json::object out{{"from", q.from_day ? json::value(FormatDate(*q.from_day)) : nullptr},
                   {"to", q.to_day ? json::value(FormatDate(*q.to_day)) : nullptr},
                   {"as_of", FormatRfc3339(q.as_of)},
                   {"group_by", std::string(engine::DimName(q.group_by))},
                   {"rows", std::move(rows)}};
  if (q.filter != engine::Dim::kNone) out[engine::DimName(q.filter)] = q.filter_value;
  if (q.interval != engine::Interval::kNone) {
    out["interval"] = q.interval == engine::Interval::kDay    ? "day"
                      : q.interval == engine::Interval::kWeek ? "week"
                                                              : "month";
  }
  return out;
}

std::string StatsTable(const engine::StatsQuery& q, const engine::StatsResult& r) {
  std::string out =
      fmt::format("{:<11}{:<22}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}{:>7}\n", "period",
                  DimName(q.group_by) == "none" ? "" : DimName(q.group_by), "total", "closed",
                  "close%", "ontime%", "overdue", "open", "p50h", "p90h", "mean_h", "sat%");
  for (const auto& row : r.rows) {
    const int64_t total = row.Get(slot::kTotal), closed = row.Get(slot::kClosed);
    std::optional<double> mean;
    if (closed > 0) {
      mean = static_cast<double>(row.Get(slot::kCloseMsSum)) / static_cast<double>(closed) / 3.6e6;
    }
    out += fmt::format("{:<11}{:<22}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}{:>7}\n",
                       row.period.empty() ? "all" : row.period, row.key.empty() ? "(all)" : row.key,
                       total, closed, Cell(Rate(closed, total), 1, 100),
                       Cell(Rate(row.Get(slot::kOnTime), closed), 1, 100), row.overdue_open,
                       row.Get(slot::kOpen), Cell(row.ClosureHours(0.5, false), 1),
                       Cell(row.ClosureHours(0.9, false), 1), Cell(mean, 1),
                       Cell(Rate(row.Get(slot::kSatisfied), row.Get(slot::kRated)), 1, 100));
  }
  return out;
}

std::string StatsCsv(const engine::StatsQuery&, const engine::StatsResult& r) {
  std::string out =
      "period,key,total,closed,closure_rate,on_time,on_time_rate,overdue_open,open,"
      "closure_hours_mean,closure_hours_p50,closure_hours_p90,closure_hours_p99,"
      "working_hours_p50,working_hours_p90,satisfaction_rate,rework_rate,extension_rate,"
      "cancelled,evidence_flagged,location_mismatch\n";
  for (const auto& row : r.rows) {
    const int64_t total = row.Get(slot::kTotal), closed = row.Get(slot::kClosed);
    std::optional<double> mean;
    if (closed > 0) {
      mean = static_cast<double>(row.Get(slot::kCloseMsSum)) / static_cast<double>(closed) / 3.6e6;
    }
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                       row.period, CsvQuote(row.key), total, closed, Cell(Rate(closed, total), 4),
                       row.Get(slot::kOnTime), Cell(Rate(row.Get(slot::kOnTime), closed), 4),
                       row.overdue_open, row.Get(slot::kOpen), Cell(mean, 2),
                       Cell(row.ClosureHours(0.5, false), 2), Cell(row.ClosureHours(0.9, false), 2),
                       Cell(row.ClosureHours(0.99, false), 2), Cell(row.ClosureHours(0.5, true), 2),
                       Cell(row.ClosureHours(0.9, true), 2),
                       Cell(Rate(row.Get(slot::kSatisfied), row.Get(slot::kRated)), 4),
                       Cell(Rate(row.Get(slot::kRework), closed), 4),
                       Cell(Rate(row.Get(slot::kExtended), total), 4), row.Get(slot::kCancelled),
                       row.Get(slot::kEvidenceFlagged), row.Get(slot::kLocationMismatch));
  }
  return out;
}

}  // namespace wangge::wire
