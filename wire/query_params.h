// Query strings of the HTTP API: each parameter at most once, unknown ones refused by
// name. Shared by the server and the query-string fuzzer.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include <boost/url.hpp>

#include "core/status.h"
#include "engine/case_query.h"
#include "wire/stats_json.h"

namespace wangge::wire {

// Most cases in one page of GET /v1/cases.
inline constexpr size_t kMaxListLimit = 500;

// Calls fn(key, value) for each query parameter, in order; a key given twice is
// refused before fn sees it. fn refuses keys it does not know.
template <typename Fn>
Status ForEachParam(boost::urls::params_view params, Fn&& fn) {
  std::vector<std::string> seen;
  for (const auto& p : params) {
    const std::string& key = p.key;
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return InvalidArgument("query parameter given twice", key);
    }
    seen.push_back(key);
    WANGGE_RETURN_IF_ERROR(fn(key, p.value));
  }
  return Status::Ok();
}

// GET /v1/cases: office, village, category, from, to (days of receipt), after, status,
// overdue, limit. kInvalidArgument naming the parameter.
Status ParseListQuery(boost::urls::params_view params, engine::CaseQuery& q);

// GET /v1/stats: the parameters as text (BuildStatsQuery checks their values).
Status ParseStatsParams(boost::urls::params_view params, StatsParams& p);

// A date YYYY-MM-DD (its midnight, +08:00) or an RFC 3339 time; nullopt when `text` is
// empty. kInvalidArgument names `field`.
Result<std::optional<TimeMs>> ParseTimeBound(const std::string& text, const char* field);

}  // namespace wangge::wire
