#include "wire/audit_json.h"

#include "core/time.h"

namespace wangge::wire {
namespace {

namespace json = boost::json;

json::object RoutingJson(const engine::Routing& r) {
  json::array warn, breach;
  for (const auto& o : r.escalation.warn) warn.push_back(json::string(o));
  for (const auto& o : r.escalation.breach) breach.push_back(json::string(o));
  return json::object{{"office", r.office},
                      {"deadline", FormatRfc3339(r.deadline)},
                      {"priority", r.priority},
                      {"rule", r.rule_id},
                      {"ruleset", r.ruleset_version},
                      {"escalation", json::object{{"warn_at_percent", r.escalation.warn_at_percent},
                                                  {"warn", std::move(warn)},
                                                  {"breach", std::move(breach)}}}};
}

// How the report was placed against the geography (engine/placement.h).
json::object PlaceJson(const engine::Record& report, const audit::RoutingExplanation& e) {
  const auto& rep = std::get<engine::Report>(report.body);
  json::object o{{"how", std::string(engine::PlaceHowName(report.place.how))},
                 {"geography", report.place.geography_version},
                 {"grid", rep.grid},
                 {"village", rep.village},
                 {"lat", rep.lat},
                 {"lon", rep.lon},
                 {"distance_m", report.place.distance_m}};
  o["located_grid"] = e.located_grid.empty() ? json::value(nullptr) : json::value(e.located_grid);
  return o;
}

}  // namespace

json::object ExplainJson(const engine::Record& report,
                         const audit::RoutingExplanation& explanation) {
  json::array trace;
  for (const auto& step : explanation.trace) {
    trace.push_back(json::object{{"table", step.table},
                                 {"row", step.row},
                                 {"matched", step.matched},
                                 {"reason", step.reason}});
  }
  json::object out{{"case_id", std::string(engine::CaseIdOf(report))},
                   {"report_seq", report.seq.value},
                   {"rules_seq", explanation.rules_seq.value},
                   {"matches_record", explanation.matches_record},
                   {"recorded", RoutingJson(report.routing)},
                   {"derived", RoutingJson(explanation.derived)},
                   {"trace", std::move(trace)}};
  if (!report.place.geography_version.empty()) out["place"] = PlaceJson(report, explanation);
  return out;
}

json::object WhatIfJson(const audit::WhatIfResult& r) {
  json::array moves;
  for (const auto& [pair, move] : r.moves) {
    json::array examples;
    for (const auto& id : move.examples) examples.push_back(json::string(id));
    moves.push_back(json::object{{"from_office", pair.first},
                                 {"to_office", pair.second},
                                 {"cases", move.count},
                                 {"examples", std::move(examples)}});
  }
  return json::object{{"reports", r.reports},
                      {"owner_changed", r.owner_changed},
                      {"deadline_earlier", r.deadline_earlier},
                      {"deadline_later", r.deadline_later},
                      {"moves", std::move(moves)}};
}

json::object ChainJson(const storage::VerifyReport& report) {
  json::object out{{"ok", report.ok},
                   {"records", report.records},
                   {"head", std::to_string(report.head.seq.value) + ":" + HexOf(report.head.hash)}};
  if (!report.ok) {
    out["first_bad"] = report.first_bad.value;
    out["problem"] = report.problem;
  }
  return out;
}

}  // namespace wangge::wire
