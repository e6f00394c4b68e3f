#include "engine/case_query.h"

#include <algorithm>

#include "core/bytes.h"
#include "engine/case_index.h"
#include "engine/codec.h"
#include "engine/lifecycle.h"

namespace wangge::engine {
namespace {

using storage::Family;

// Which index a query walks, and the key range it walks.
struct Plan {
  Family family;
  char mode;  // the cursor's first character: a cursor only fits its own index
  std::string start;
  std::string end;  // exclusive; empty = to the end of the family
};

Plan PlanFor(const CaseQuery& q) {
  if (q.overdue) return Plan{Family::kDue, 'd', "", DueKey(q.as_of, "")};
  if (!q.office.empty()) {
    std::string prefix = q.office;
    PutU8(prefix, 0);
    if (q.status) PutU8(prefix, static_cast<uint8_t>(*q.status));
    return Plan{Family::kOwner, 'o', prefix, PrefixEnd(prefix)};
  }
  if (!q.id_prefix.empty()) {
    return Plan{Family::kCases, 'c', q.id_prefix, PrefixEnd(q.id_prefix)};
  }
  return Plan{Family::kCases, 'c', "", ""};
}

// The client id an index key points at.
std::string_view IdOf(Family f, std::string_view key) {
  if (f == Family::kDue) return key.substr(std::min<size_t>(8, key.size()));
  if (f == Family::kOwner) {
    const size_t nul = key.find('\0');
    return nul == std::string_view::npos ? std::string_view() : key.substr(nul + 2);
  }
  return key;
}

// Index entries can be a commit behind the case they name, so every filter is
// checked on the case itself.
bool Matches(const Case& c, const CaseQuery& q) {
  if (!q.office.empty() && c.office != q.office) return false;
  if (q.status && c.status != *q.status) return false;
  if (!q.village.empty() && c.report.village != q.village) return false;
  if (!q.grid.empty() && c.report.grid != q.grid) return false;
  if (q.open_only && !c.open()) return false;
  if (!q.category.empty() && c.report.category != q.category) return false;
  if (!c.id.starts_with(q.id_prefix)) return false;
  if (!q.reporter.empty() && c.reporter.id != q.reporter) return false;
  const int64_t day = ShanghaiDay(c.received_at);
  if ((q.from_day && day < *q.from_day) || (q.to_day && day > *q.to_day)) return false;
  if (q.overdue && !(c.open() && c.deadline < q.as_of)) return false;
  return true;
}

}  // namespace

Result<CasePage> ListCases(const storage::Store& store, const CaseQuery& query) {
  if (query.limit == 0) return InvalidArgument("limit must be positive", "limit");
  Plan plan = PlanFor(query);
  if (!query.after.empty()) {
    std::string key;
    if (query.after[0] != plan.mode || !HexDecode(query.after.substr(1), key)) {
      return InvalidArgument("this cursor was not made by this query", "after");
    }
    key.push_back('\0');  // the first key after the cursor's
    plan.start = std::max(plan.start, key);
  }
  CasePage page;
  if (!plan.end.empty() && plan.start >= plan.end) return page;
  size_t examined = 0;
  Status failure;
  WANGGE_RETURN_IF_ERROR(store.Scan(
      plan.family, plan.start, plan.end, [&](std::string_view key, std::string_view value) {
        std::optional<std::string> stored;
        if (plan.family != Family::kCases) {
          auto got = store.Get(Family::kCases, IdOf(plan.family, key));
          if (!got.ok()) {
            failure = got.status();
            return false;
          }
          stored = std::move(*got);
        }
        if (plan.family == Family::kCases || stored) {
          auto c = DecodeCase(stored ? std::string_view(*stored) : value);
          if (!c.ok()) {
            failure = c.status();
            return false;
          }
          if (Matches(*c, query)) page.cases.push_back(std::move(*c));
        }
        if (page.cases.size() >= query.limit || ++examined >= query.scan_budget) {
          page.next = plan.mode + HexEncode(key);
          return false;
        }
        return true;
      }));
  WANGGE_RETURN_IF_ERROR(failure);
  return page;
}

Result<std::vector<HistoryStep>> ReadCaseHistory(const storage::Store& store,
                                                 const storage::EventLog& log,
                                                 std::string_view id) {
  std::string prefix(id);
  PutU8(prefix, 0);
  std::vector<Seq> seqs;
  WANGGE_RETURN_IF_ERROR(store.Scan(Family::kHistory, prefix, PrefixEnd(prefix),
                                    [&](std::string_view key, std::string_view) {
                                      if (key.size() == prefix.size() + 8) {
                                        seqs.push_back(Seq{DecodeU64(key.substr(prefix.size()))});
                                      }
                                      return true;
                                    }));
  std::vector<HistoryStep> steps;
  for (Seq seq : seqs) {
    std::string payload;
    WANGGE_RETURN_IF_ERROR(log.Scan(seq, seq, [&](Seq, std::string_view p) {
      payload.assign(p);
      return false;
    }));
    WANGGE_ASSIGN_OR_RETURN(Record record, DecodeRecord(seq, payload));
    const std::string where =
        "history of " + std::string(id) + ": record " + std::to_string(seq.value);
    if (CaseIdOf(record) != id) return Corruption(where + " is not a step of this case");
    if (std::holds_alternative<Report>(record.body)) {
      if (!steps.empty()) return Corruption(where + " reports the case again");
      Case created = CaseFromReport(record);
      steps.push_back(HistoryStep{std::move(record), std::move(created)});
      continue;
    }
    if (steps.empty()) return Corruption(where + " is not a step of this case");
    auto next = ApplyCaseRecord(steps.back().after, record);
    if (!next.ok()) return Corruption(where + " does not apply: " + next.status().message());
    steps.push_back(HistoryStep{std::move(record), std::move(next).value()});
  }
  return steps;
}

}  // namespace wangge::engine
