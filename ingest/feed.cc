#include "ingest/feed.h"

#include <charconv>

#include "engine/access.h"
#include "engine/codec.h"
#include "wire/json_writer.h"
#include "wire/query_params.h"
#include "wire/record_json.h"

namespace wangge::ingest {
using wire::ForEachParam;
namespace {

namespace json = boost::json;

const std::set<std::string> kKinds = {"report", "transition", "timer", "rules"};

// Whether record `r` passes the filter. When it does and the reader is a worker, `address`
// is set to how they address its case (engine/access.h CaseAddress).
Result<bool> Visible(const engine::Engine& engine, const FeedFilter& f, const engine::Record& r,
                     std::string& address) {
  if (!f.kinds.empty() && !f.kinds.contains(std::string(wire::KindOf(r)))) return false;
  const std::string id(engine::CaseIdOf(r));
  const bool everything = !f.actor || engine::SeesEveryCase(*f.actor);
  if (id.empty()) {  // a ruleset activation belongs to no case
    return f.office.empty() && f.village.empty() && everything;
  }
  // Readers of every case need not read the case unless they filter by it.
  if (everything && f.office.empty() && f.village.empty()) return true;
  WANGGE_ASSIGN_OR_RETURN(auto c, engine.GetCase(id));
  if (!c) return false;
  if (!f.office.empty() && c->office != f.office) return false;
  if (!f.village.empty() && c->report.village != f.village) return false;
  if (!f.actor) return true;
  if (!engine::MaySee(*f.actor, *c)) return false;
  address = std::string(engine::CaseAddress(*f.actor, *c));
  return true;
}

}  // namespace

Status ParseFeedQuery(boost::urls::params_view params, FeedQuery& q) {
  const auto number = [](const std::string& v, const std::string& key, uint64_t hi,
                         uint64_t& out) -> Status {
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || p != v.data() + v.size() || out > hi) {
      return InvalidArgument(key + " must be a whole number up to " + std::to_string(hi), key);
    }
    return Status::Ok();
  };
  return ForEachParam(params, [&](const std::string& key, const std::string& value) -> Status {
    uint64_t n = 0;
    if (key == "after") {
      WANGGE_RETURN_IF_ERROR(number(value, key, UINT64_MAX, n));
      q.after = n;
    } else if (key == "limit") {
      WANGGE_RETURN_IF_ERROR(number(value, key, kMaxFeedLimit, n));
      if (n == 0) return InvalidArgument("limit must be 1-1000", key);
      q.limit = n;
    } else if (key == "wait") {
      const std::string digits = value.ends_with("s") ? value.substr(0, value.size() - 1) : value;
      if (!number(digits, key, static_cast<uint64_t>(kMaxFeedWait.count()), n).ok()) {
        return InvalidArgument("wait must be 0s-60s", key);
      }
      q.wait = std::chrono::seconds(n);
    } else if (key == "office") {
      q.filter.office = value;
    } else if (key == "village") {
      q.filter.village = value;
    } else if (key == "kinds") {
      size_t from = 0;
      while (from <= value.size()) {
        const size_t comma = std::min(value.find(',', from), value.size());
        const std::string kind = value.substr(from, comma - from);
        if (!kKinds.contains(kind)) {
          return InvalidArgument("kinds takes report, transition, timer and rules", key);
        }
        q.filter.kinds.insert(kind);
        from = comma + 1;
      }
    } else {
      return InvalidArgument("unknown query parameter '" + key + "'", key);
    }
    return Status::Ok();
  });
}

Result<FeedBatch> ReadFeed(const engine::Engine& engine, const FeedFilter& filter, uint64_t after,
                           size_t max_events, size_t max_examined) {
  FeedBatch batch;
  batch.last = after;
  const uint64_t head = engine.head().seq.value;
  if (after >= head) return batch;
  const uint64_t to = after + std::min<uint64_t>(max_examined, head - after);
  Status inner = Status::Ok();
  WANGGE_RETURN_IF_ERROR(
      engine.log().Scan(Seq{after + 1}, Seq{to}, [&](Seq seq, std::string_view payload) {
        auto record = engine::DecodeRecord(seq, payload);
        if (!record.ok()) {
          inner = record.status();
          return false;
        }
        std::string address;
        auto visible = Visible(engine, filter, *record, address);
        if (!visible.ok()) {
          inner = visible.status();
          return false;
        }
        batch.last = seq.value;
        if (*visible) {
          json::object fields = wire::RecordFields(*record);
          if (!address.empty()) fields["case_id"] = address;
          batch.events.push_back({seq.value, wire::WriteJson(fields)});
        }
        return batch.events.size() < max_events;
      }));
  WANGGE_RETURN_IF_ERROR(inner);
  return batch;
}

}  // namespace wangge::ingest
