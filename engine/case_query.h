// Listing cases through the indexes, a page at a time. Each call examines a bounded
// number of index entries, so a query costs the same whatever the store holds.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "engine/domain.h"
#include "storage/event_log.h"
#include "storage/store.h"

namespace wangge::engine {

struct CaseQuery {
  // Filters; empty or nullopt = any.
  std::string office;
  std::optional<CaseStatus> status;
  std::string village;
  std::string grid;
  std::string category;
  bool open_only = false;  // only cases not closed or cancelled
  std::string reporter;    // the reporting worker's id
  std::string id_prefix;   // case ids that begin with it (walks only that range of ids)
  // Received on these days (China Standard Time day numbers, both inclusive), as the
  // stats window counts them.
  std::optional<int64_t> from_day, to_day;
  // Only open cases whose deadline is before `as_of`, oldest deadline first.
  bool overdue = false;
  TimeMs as_of;
  // Most cases in one page. Default: 50.
  size_t limit = 50;
  // The `next` of the previous page; empty = from the start.
  std::string after;
  // Most index entries examined in one call. A page may end early, with a `next`,
  // when the filters are selective. Default: 10,000.
  size_t scan_budget = 10'000;
};

struct CasePage {
  std::vector<Case> cases;
  // Where the next page starts; empty when the listing is complete.
  std::string next;
};

// One step of a case's history: a record of the case, and the case as it stood after it.
struct HistoryStep {
  Record record;
  Case after;
};

// Every record of case `id`, oldest first (empty when there is no such case).
// kCorruption when a record does not decode or apply.
Result<std::vector<HistoryStep>> ReadCaseHistory(const storage::Store& store,
                                                 const storage::EventLog& log, std::string_view id);

// Order: with `overdue`, by deadline; else with an office, by status then client id;
// else by client id. kInvalidArgument (field "after") for a cursor that this query did
// not produce.
Result<CasePage> ListCases(const storage::Store& store, const CaseQuery& query);

}  // namespace wangge::engine
