#include "wire/query_params.h"

#include <charconv>

#include "core/time.h"

namespace wangge::wire {

Status ParseStatsParams(boost::urls::params_view params, StatsParams& p) {
  return ForEachParam(params, [&](const std::string& key, const std::string& value) {
    std::string* field = key == "from"       ? &p.from
                         : key == "to"       ? &p.to
                         : key == "group_by" ? &p.group_by
                         : key == "office"   ? &p.office
                         : key == "village"  ? &p.village
                         : key == "category" ? &p.category
                         : key == "as_of"    ? &p.as_of
                         : key == "interval" ? &p.interval
                                             : nullptr;
    if (!field) return InvalidArgument("unknown query parameter '" + key + "'", key);
    *field = value;
    return Status::Ok();
  });
}

Status ParseListQuery(boost::urls::params_view params, engine::CaseQuery& q) {
  Status s = ForEachParam(params, [&](const std::string& key, const std::string& value) {
    if (key == "office") {
      q.office = value;
    } else if (key == "village") {
      q.village = value;
    } else if (key == "grid") {
      q.grid = value;
    } else if (key == "open") {
      if (value != "true" && value != "false")
        return InvalidArgument("open must be true or false", key);
      q.open_only = value == "true";
    } else if (key == "category") {
      q.category = value;
    } else if (key == "from" || key == "to") {
      auto day = ParseDate(value);
      if (!day.ok()) return InvalidArgument(day.status().message(), key);
      (key == "from" ? q.from_day : q.to_day) = *day;
    } else if (key == "after") {
      q.after = value;
    } else if (key == "status") {
      auto status = engine::StatusFromName(value);
      if (!status) return InvalidArgument("unknown status '" + value + "'", key);
      q.status = status;
    } else if (key == "overdue") {
      if (value != "true" && value != "false") {
        return InvalidArgument("overdue must be true or false", key);
      }
      q.overdue = value == "true";
    } else if (key == "limit") {
      size_t limit = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
      if (ec != std::errc() || end != value.data() + value.size() || limit < 1 ||
          limit > kMaxListLimit) {
        return InvalidArgument("limit must be a whole number from 1 to 500", key);
      }
      q.limit = limit;
    } else {
      return InvalidArgument("unknown query parameter '" + key + "'", key);
    }
    return Status::Ok();
  });
  if (s.ok() && q.from_day && q.to_day && *q.from_day > *q.to_day) {
    return InvalidArgument("from is after to", "from");
  }
  return s;
}

Result<std::optional<TimeMs>> ParseTimeBound(const std::string& text, const char* field) {
  if (text.empty()) return std::optional<TimeMs>();
  auto t = ParseRfc3339(text.size() == 10 ? text + "T00:00:00+08:00" : text);
  if (!t.ok()) return InvalidArgument(t.status().message(), field);
  return std::optional<TimeMs>(*t);
}

}  // namespace wangge::wire
