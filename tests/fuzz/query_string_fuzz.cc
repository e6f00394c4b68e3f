// libFuzzer target: request targets with query strings, as GET /v1/cases, GET /v1/stats
// and GET /v1/feed read them. Parsing must never crash, and what it accepts must be in
// range: a page size of 1-500, windows (of a list or of stats) that are not inverted, a
// feed limit of 1-1000 and a wait of at most 60 s.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <boost/url.hpp>

#include "ingest/feed.h"
#include "wire/query_params.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wangge;
  const std::string target = "/v1/cases?" + std::string(reinterpret_cast<const char*>(data), size);
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return 0;
  engine::CaseQuery list;
  if (wire::ParseListQuery(url->params(), list).ok()) {
    if (list.limit < 1 || list.limit > wire::kMaxListLimit) std::abort();
    if (list.from_day && list.to_day && *list.from_day > *list.to_day) std::abort();
  }
  ingest::FeedQuery feed;
  if (ingest::ParseFeedQuery(url->params(), feed).ok()) {
    if (feed.limit < 1 || feed.limit > ingest::kMaxFeedLimit || feed.wait > ingest::kMaxFeedWait) {
      std::abort();
    }
  }
  wire::StatsParams params;
  if (wire::ParseStatsParams(url->params(), params).ok()) {
    engine::StatsQuery q;
    if (wire::BuildStatsQuery(params, TimeMs{1'764'000'000'000}, q).ok()) {
      if (q.from_day && q.to_day && *q.from_day > *q.to_day) std::abort();
    }
  }
  return 0;
}
