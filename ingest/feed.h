// The change feed (GET /v1/feed, docs/api.md) and what webhooks deliver: log records as
// JSON, read from RocksDB after a sequence and filtered by what the caller may see. A
// reader holds one batch at a time, so a slow consumer costs no memory while it waits.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <boost/url.hpp>

#include "engine/engine.h"

namespace wangge::ingest {

struct FeedFilter {
  std::optional<engine::Actor> actor;  // none: every record (webhooks set office instead)
  std::string office;                  // cases this office owns now
  std::string village;
  std::set<std::string> kinds;  // report, transition, timer, rules; empty: all
};

struct FeedQuery {
  std::optional<uint64_t> after;  // none: from the head now
  size_t limit = 100;             // long-poll: most records in one answer
  std::chrono::seconds wait{0};   // long-poll: how long to wait for the first record
  FeedFilter filter;
};
inline constexpr size_t kMaxFeedLimit = 1000;
inline constexpr std::chrono::seconds kMaxFeedWait{60};

// Parses after, limit, wait ("30s" or "30"), office, village and kinds (comma list).
Status ParseFeedQuery(boost::urls::params_view params, FeedQuery& q);

struct FeedEvent {
  uint64_t seq = 0;
  std::string json;  // the record's fields, serialized
};
struct FeedBatch {
  std::vector<FeedEvent> events;
  uint64_t last = 0;  // the last sequence examined: resume after it
};

// The records after `after` that pass the filter: at most `max_events` of them, having
// examined at most `max_examined` records. A record of a case is judged by the case as
// it is now (the rule of GET /v1/cases/{id}); a ruleset activation is seen by
// supervisors, auditors and admins, without an office or village filter.
Result<FeedBatch> ReadFeed(const engine::Engine& engine, const FeedFilter& filter, uint64_t after,
                           size_t max_events, size_t max_examined);

}  // namespace wangge::ingest
