// The province's figures on the wire: stats requests and answers between the HTTP node
// and the town engines, and the control and status answers (cluster/cluster.h).
#include <map>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <simdjson.h>

#include "cluster/cluster.h"
#include "wire/json_writer.h"

namespace wangge::cluster {

namespace json = boost::json;
using wire::StatsParams;

std::string EncodeStatsRequest(const StatsParams& p) {
  return wire::WriteJson(json::object{{"from", p.from},
                                      {"to", p.to},
                                      {"group_by", p.group_by},
                                      {"office", p.office},
                                      {"village", p.village},
                                      {"category", p.category},
                                      {"as_of", p.as_of},
                                      {"interval", p.interval}});
}

namespace {

Status Malformed(std::string_view what) {
  return Corruption("malformed stats message: " + std::string(what));
}

}  // namespace

Result<StatsParams> DecodeStatsRequest(std::string_view text) {
  // The DOM API validates the whole text before any field is read.
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text.data(), text.size()).get(doc)) return Malformed("not JSON");
  StatsParams p;
  std::pair<const char*, std::string*> fields[] = {
      {"from", &p.from},         {"to", &p.to},
      {"group_by", &p.group_by}, {"office", &p.office},
      {"village", &p.village},   {"category", &p.category},
      {"as_of", &p.as_of},       {"interval", &p.interval}};
  for (auto& [name, out] : fields) {
    std::string_view v;
    if (doc[name].get_string().get(v)) return Malformed(name);
    *out = std::string(v);
  }
  return p;
}

std::string EncodeStatsAnswer(const Result<engine::StatsResult>& result) {
  if (!result.ok()) {
    return wire::WriteJson(
        json::object{{"error", json::object{{"code", static_cast<int>(result.status().code())},
                                            {"message", result.status().message()},
                                            {"field", result.status().field()}}}});
  }
  json::array rows;
  for (const auto& r : result->rows) {
    json::array counters, backlog;
    for (const auto& [slot, value] : r.counters.slots()) counters.push_back({slot, value});
    for (int64_t b : r.backlog) backlog.push_back(b);
    rows.push_back(json::object{{"period", r.period},
                                {"key", r.key},
                                {"counters", std::move(counters)},
                                {"overdue_open", r.overdue_open},
                                {"backlog", std::move(backlog)}});
  }
  return wire::WriteJson(json::object{{"rows", std::move(rows)}});
}

namespace {

// |v| < 2^60 (a country's closure-time sum, in ms, over decades is below 2^60): answers
// so bounded are refused rather than overflowing when added up.
bool Plausible(int64_t v) { return v > -(int64_t{1} << 60) && v < (int64_t{1} << 60); }

Result<engine::StatsRow> DecodeRow(simdjson::dom::element row) {
  engine::StatsRow r;
  std::string_view text;
  if (row["period"].get_string().get(text)) return Malformed("period");
  r.period = std::string(text);
  if (row["key"].get_string().get(text)) return Malformed("key");
  r.key = std::string(text);
  simdjson::dom::array counters;
  if (row["counters"].get_array().get(counters)) return Malformed("counters");
  int64_t last_slot = -1;
  for (simdjson::dom::element pair : counters) {
    simdjson::dom::array a;
    int64_t slot = 0, value = 0;
    if (pair.get_array().get(a) || a.size() != 2 || a.at(0).get_int64().get(slot) ||
        a.at(1).get_int64().get(value)) {
      return Malformed("counter");
    }
    // Slots ascend, as Encode writes them; values stay far from overflow when added up.
    if (slot <= last_slot || slot > 0xffff || !Plausible(value)) return Malformed("counter");
    last_slot = slot;
    r.counters.Add(static_cast<uint16_t>(slot), value);
  }
  if (row["overdue_open"].get_int64().get(r.overdue_open) || !Plausible(r.overdue_open)) {
    return Malformed("overdue_open");
  }
  simdjson::dom::array backlog;
  if (row["backlog"].get_array().get(backlog) || backlog.size() != r.backlog.size()) {
    return Malformed("backlog");
  }
  size_t i = 0;
  for (simdjson::dom::element x : backlog) {
    if (x.get_int64().get(r.backlog[i]) || !Plausible(r.backlog[i])) return Malformed("backlog");
    ++i;
  }
  return r;
}

}  // namespace

Result<engine::StatsResult> DecodeStatsAnswer(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text.data(), text.size()).get(doc) || !doc.is_object()) {
    return Malformed("not a JSON object");
  }
  simdjson::dom::element error;
  if (!doc["error"].get(error)) {
    int64_t code = 0;
    std::string_view message, field;
    if (error["code"].get_int64().get(code) || error["message"].get_string().get(message) ||
        error["field"].get_string().get(field) || code < 1 ||
        code > static_cast<int64_t>(StatusCode::kOutOfRange)) {
      return Malformed("error");
    }
    return Status(static_cast<StatusCode>(code), std::string(message), std::string(field));
  }
  simdjson::dom::array rows;
  if (doc["rows"].get_array().get(rows)) return Malformed("rows");
  engine::StatsResult result;
  for (simdjson::dom::element row : rows) {
    WANGGE_ASSIGN_OR_RETURN(auto r, DecodeRow(row));
    result.rows.push_back(std::move(r));
  }
  return result;
}

void MergeStats(engine::StatsResult& total, const engine::StatsResult& part) {
  std::map<std::pair<std::string, std::string>, engine::StatsRow> rows;
  const engine::StatsResult* sources[] = {&total, &part};
  for (const engine::StatsResult* source : sources) {
    for (const auto& r : source->rows) {
      auto [it, fresh] = rows.try_emplace({r.period, r.key}, r);
      if (fresh) continue;
      it->second.counters.AddAll(r.counters);
      it->second.overdue_open += r.overdue_open;
      for (size_t i = 0; i < r.backlog.size(); ++i) it->second.backlog[i] += r.backlog[i];
    }
  }
  total.rows.clear();
  for (auto& [key, row] : rows) total.rows.push_back(std::move(row));
}

Status DecodeControlAnswer(std::string_view answer) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  bool ok = false;
  if (parser.parse(answer.data(), answer.size()).get(doc) || doc["ok"].get_bool().get(ok)) {
    return Internal("malformed control answer: " + std::string(answer));
  }
  if (ok) return Status::Ok();
  std::string_view error = "no reason given";
  if (doc["error"].get_string().get(error)) error = "no reason given";
  return FailedPrecondition(std::string(error));
}

Result<std::vector<TownProgress>> DecodeStatusAnswer(std::string_view answer,
                                                     const std::string& name) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array towns;
  if (parser.parse(answer.data(), answer.size()).get(doc) || doc["towns"].get_array().get(towns)) {
    return Internal("malformed status answer from " + name);
  }
  std::vector<TownProgress> out;
  for (simdjson::dom::element t : towns) {
    std::string_view id;
    TownProgress p;
    if (t["town"].get_string().get(id) || t["applied"].get_uint64().get(p.applied) ||
        t["lag_p50_ms"].get_double().get(p.lag_p50_ms) ||
        t["lag_p99_ms"].get_double().get(p.lag_p99_ms)) {
      return Internal("malformed status answer from " + name);
    }
    p.town = std::string(id);
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace wangge::cluster
