// The stats query as the HTTP API and `wangge stats` take it, and its answer as JSON
// (the shape in docs/stats.md), a terminal table or CSV. Both front ends share this, so
// they give the same numbers.
#pragma once

#include <string>
#include <vector>

#include <boost/json.hpp>

#include "core/status.h"
#include "core/time.h"
#include "engine/stats.h"

namespace wangge::wire {

// The parameters as text; empty = not given.
struct StatsParams {
  std::string from;      // YYYY-MM-DD, inclusive (UTC+8)
  std::string to;        // YYYY-MM-DD, inclusive
  std::string group_by;  // none, office, village, grid, worker, category
  std::string office;
  std::string village;
  std::string category;
  std::string as_of;     // RFC 3339; default: now
  std::string interval;  // none, day, week, month
};

// kInvalidArgument naming the parameter.
Status BuildStatsQuery(const StatsParams& p, TimeMs now, engine::StatsQuery& q);

boost::json::object StatsJson(const engine::StatsQuery& q, const engine::StatsResult& r);
std::string StatsTable(const engine::StatsQuery& q, const engine::StatsResult& r);
std::string StatsCsv(const engine::StatsQuery& q, const engine::StatsResult& r);

}  // namespace wangge::wire
