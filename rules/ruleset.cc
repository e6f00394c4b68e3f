#include "rules/ruleset.h"

#include <algorithm>
#include <array>
#include <set>

#include "rules/internal/ruleset_rows.h"

namespace wangge::rules {

namespace {

// What a decision needs to know about the time it is made, computed once.
struct When {
  int hour = 0;
  int weekday = 1;
  bool holiday = false;
  bool working_day = true;
};

bool Contains(const std::vector<std::string>& sorted, std::string_view v) {
  return std::binary_search(sorted.begin(), sorted.end(), v, std::less<>());
}

std::string List(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return "[" + out + "]";
}

}  // namespace

// Whether `row` matches; when `why` is given, the first failing condition goes there.
// Reasons are built only when asked for: Route passes nullptr and allocates nothing.
static bool Matches(const Ruleset::Row& row, const RouteInput& in, const When& when,
                    const std::unordered_map<std::string, std::string>& village_office,
                    std::string* why) {
  auto fail = [why](auto&& reason) {
    if (why) *why = reason();
    return false;
  };
  if (!row.exact.empty() || !row.prefixes.empty()) {
    bool hit = Contains(row.exact, in.category);
    for (const auto& p : row.prefixes) hit = hit || in.category.starts_with(p);
    if (!hit) {
      return fail(
          [&] { return "category " + std::string(in.category) + " not in the row's categories"; });
    }
  }
  if (in.severity < row.severity_min || in.severity > row.severity_max) {
    return fail([&] {
      return "severity " + std::to_string(in.severity) + " outside " +
             std::to_string(row.severity_min) + "-" + std::to_string(row.severity_max);
    });
  }
  if (!row.villages.empty() && !Contains(row.villages, in.village)) {
    return fail(
        [&] { return "village " + std::string(in.village) + " not in " + List(row.villages); });
  }
  if (!row.grids.empty() && !Contains(row.grids, in.grid)) {
    return fail([&] { return "grid " + std::string(in.grid) + " not in " + List(row.grids); });
  }
  if (!row.reporters.empty() && !Contains(row.reporters, in.reporter)) {
    return fail(
        [&] { return "reporter " + std::string(in.reporter) + " not in " + List(row.reporters); });
  }
  if (!row.words_any.empty()) {
    bool hit = false;
    for (const auto& w : row.words_any) hit = hit || in.text.find(w) != std::string_view::npos;
    if (!hit) return fail([&] { return "text has none of " + List(row.words_any); });
  }
  for (const auto& w : row.words_all) {
    if (in.text.find(w) == std::string_view::npos) {
      return fail([&] { return "text lacks \"" + w + "\""; });
    }
  }
  if (row.hour_from >= 0) {
    bool in_hours = row.hour_from < row.hour_to
                        ? when.hour >= row.hour_from && when.hour < row.hour_to
                        : when.hour >= row.hour_from || when.hour < row.hour_to;
    if (!in_hours) {
      return fail([&] {
        return "hour " + std::to_string(when.hour) + " outside " + std::to_string(row.hour_from) +
               "-" + std::to_string(row.hour_to);
      });
    }
  }
  if (row.weekdays != 0 && !(row.weekdays & (1u << when.weekday))) {
    return fail(
        [&] { return "weekday " + std::to_string(when.weekday) + " not in the row's weekdays"; });
  }
  if (row.holiday && *row.holiday != when.holiday) {
    return fail([&] {
      return std::string(when.holiday ? "received on a holiday" : "not received on a holiday");
    });
  }
  if (row.working_day && *row.working_day != when.working_day) {
    return fail([&] {
      return std::string(when.working_day ? "received on a working day"
                                          : "not received on a working day");
    });
  }
  if (row.office && *row.office == kVillageOffice &&
      !village_office.contains(std::string(in.village))) {
    return fail([&] { return "village " + std::string(in.village) + " has no village office"; });
  }
  if (why) *why = "matched";
  return true;
}

Ruleset::Ruleset(Calendar calendar) : calendar_(std::move(calendar)) {}
Ruleset::~Ruleset() = default;

std::shared_ptr<const Ruleset> Ruleset::WithGeography(
    std::shared_ptr<const Geography> geography) const {
  auto copy = std::shared_ptr<Ruleset>(new Ruleset(*this));
  copy->geography_ = std::move(geography);
  return copy;
}

size_t Ruleset::row_count() const {
  size_t n = 0;
  for (const auto& t : tables_) n += t.rows.size();
  return n;
}

bool Ruleset::DeclaresVillage(std::string_view village) const {
  return village_office_.contains(std::string(village));
}

const Office* Ruleset::FindOffice(std::string_view id) const {
  auto it = office_index_.find(std::string(id));
  return it == office_index_.end() ? nullptr : &offices_[it->second];
}

Decision Ruleset::Route(const RouteInput& in) const { return Decide(in, true, nullptr); }
Decision Ruleset::RouteByScan(const RouteInput& in) const { return Decide(in, false, nullptr); }
Decision Ruleset::Explain(const RouteInput& in, std::vector<TraceStep>& trace) const {
  return Decide(in, false, &trace);
}

Decision Ruleset::Decide(const RouteInput& in, bool use_index,
                         std::vector<TraceStep>* trace) const {
  When when;
  const int64_t day = calendar_.LocalDay(in.received_at);
  when.hour = calendar_.LocalHour(in.received_at);
  when.weekday = Calendar::Weekday(day);
  when.holiday = calendar_.IsHoliday(day);
  when.working_day = calendar_.IsWorkingDay(day);

  Decision d;
  d.ruleset_version = version_;
  d.priority = 3;
  std::string office;
  bool limit_set = false;
  for (const Table& table : tables_) {
    const Row* hit = nullptr;
    if (use_index) {
      // Candidate rows: those indexed under the exact category, under each prefix of
      // it, and those with no category condition; tried in rank order.
      std::array<const std::vector<uint32_t>*, 8> lists{};
      size_t n = 0;
      auto add = [&](const std::unordered_map<std::string, std::vector<uint32_t>>& m,
                     std::string_view key) {
        if (m.empty() || n == lists.size()) return;
        auto it = m.find(std::string(key));
        if (it != m.end()) lists[n++] = &it->second;
      };
      add(table.by_exact, in.category);
      for (size_t i = in.category.find('.'); i != std::string_view::npos;
           i = in.category.find('.', i + 1)) {
        add(table.by_prefix, in.category.substr(0, i + 1));
      }
      if (!table.any_category.empty() && n < lists.size()) lists[n++] = &table.any_category;
      std::array<size_t, 8> pos{};
      for (;;) {
        uint32_t next = UINT32_MAX;
        for (size_t k = 0; k < n; ++k) {
          if (pos[k] < lists[k]->size()) next = std::min(next, (*lists[k])[pos[k]]);
        }
        if (next == UINT32_MAX) break;
        for (size_t k = 0; k < n; ++k) {
          if (pos[k] < lists[k]->size() && (*lists[k])[pos[k]] == next) ++pos[k];
        }
        if (Matches(table.rows[next], in, when, village_office_, nullptr)) {
          hit = &table.rows[next];
          break;
        }
      }
      if (!hit) hit = &table.rows.back();
    } else {
      for (const Row& row : table.rows) {
        std::string why;
        bool matched =
            row.is_default || Matches(row, in, when, village_office_, trace ? &why : nullptr);
        if (trace)
          trace->push_back(TraceStep{table.id, row.id, matched, matched ? "matched" : why});
        if (matched) {
          hit = &row;
          break;
        }
      }
    }
    if (!d.rule_id.empty()) d.rule_id += "+";
    d.rule_id += table.id + "/" + hit->id;
    if (hit->office) office = *hit->office;
    if (hit->limit) {
      d.limit = *hit->limit;
      limit_set = true;
    }
    if (hit->priority) d.priority = *hit->priority;
    if (hit->escalation) d.escalation = *hit->escalation;
  }
  // A winning row that sets no office or limit leaves it to the defaults.
  if (office.empty()) office = fallback_office_;
  if (!limit_set) d.limit = fallback_limit_;
  d.office = office == kVillageOffice ? village_office_.at(std::string(in.village)) : office;
  switch (d.limit.kind) {
    case LimitKind::kCalendarHours:
      d.deadline = TimeMs{in.received_at.ms + d.limit.amount * 3'600'000LL};
      break;
    case LimitKind::kWorkingHours:
      d.deadline = calendar_.AddWorkingMinutes(in.received_at, d.limit.amount * 60LL);
      break;
    case LimitKind::kWorkingDays:
      d.deadline = calendar_.AddWorkingMinutes(
          in.received_at, d.limit.amount * calendar_.working_minutes_per_day());
      break;
  }
  return d;
}

}  // namespace wangge::rules
