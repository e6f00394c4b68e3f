#include "audit/explain.h"

#include "engine/codec.h"
#include "rules/calendar.h"
#include "rules/geography.h"

namespace wangge::audit {

using engine::CaseIdOf;
using engine::DecodeRecord;
using engine::LoadActivation;
using engine::Record;
using engine::Report;
using engine::Routing;
using engine::RoutingOf;
using engine::RulesActivation;

Result<RoutingExplanation> ExplainRouting(const storage::EventLog& log, const Record& report) {
  const auto* body = std::get_if<Report>(&report.body);
  if (!body)
    return InvalidArgument("record " + std::to_string(report.seq.value) + " is not a report");
  RoutingExplanation out;
  // The payload's second byte is the record kind (docs/storage-format.md): no decoding.
  constexpr char kActivationKind = 3;
  WANGGE_RETURN_IF_ERROR(log.Scan(Seq{1}, report.seq, [&](Seq seq, std::string_view payload) {
    if (payload.size() > 1 && payload[1] == kActivationKind) out.rules_seq = seq;
    return true;
  }));
  std::shared_ptr<const rules::Ruleset> ruleset = rules::Ruleset::BuiltIn();
  if (out.rules_seq.value != 0) {
    std::optional<Record> activation;
    WANGGE_RETURN_IF_ERROR(log.Scan(out.rules_seq, out.rules_seq, [&](Seq seq, std::string_view p) {
      auto r = DecodeRecord(seq, p);
      if (r.ok()) activation = std::move(r).value();
      return false;
    }));
    const auto* a = activation ? std::get_if<RulesActivation>(&activation->body) : nullptr;
    if (!a) return Corruption("record " + std::to_string(out.rules_seq.value) + " does not decode");
    WANGGE_ASSIGN_OR_RETURN(ruleset, LoadActivation(*a));
  }
  out.derived = RoutingOf(
      ruleset->Explain(rules::RouteInput{body->category, body->severity, body->village, body->grid,
                                         report.at, body->text, report.actor.id},
                       out.trace));
  out.matches_record = out.derived == report.routing;
  if (const rules::Geography* g = ruleset->geography(); g && body->has_position()) {
    if (const rules::GridArea* at = g->Locate(body->lat, body->lon)) out.located_grid = at->grid;
  }
  if (report.place.how == engine::PlaceHow::kLocated) {
    out.matches_record = out.matches_record && out.located_grid == body->grid;
  }
  return out;
}

Result<WhatIfResult> WhatIf(const storage::EventLog& log, const rules::Ruleset& rules,
                            const WhatIfOptions& options) {
  WhatIfResult out;
  Status failure;
  constexpr char kReportKind = 1;
  WANGGE_RETURN_IF_ERROR(log.Scan(Seq{1}, Seq{}, [&](Seq seq, std::string_view payload) {
    if (payload.size() < 2 || payload[1] != kReportKind) return true;
    auto record = DecodeRecord(seq, payload);
    if (!record.ok()) {
      failure = record.status();
      return false;
    }
    if ((options.from && record->at < *options.from) || (options.to && record->at >= *options.to)) {
      return true;
    }
    const auto& report = std::get<Report>(record->body);
    const rules::Decision d =
        rules.Route(rules::RouteInput{report.category, report.severity, report.village, report.grid,
                                      record->at, report.text, record->actor.id});
    ++out.reports;
    const Routing& was = record->routing;
    if (d.deadline < was.deadline) ++out.deadline_earlier;
    if (d.deadline > was.deadline) ++out.deadline_later;
    if (d.office != was.office) {
      ++out.owner_changed;
      OfficeMove& move = out.moves[{was.office, d.office}];
      ++move.count;
      if (move.examples.size() < options.examples) {
        move.examples.push_back(std::string(CaseIdOf(*record)));
      }
    }
    return true;
  }));
  WANGGE_RETURN_IF_ERROR(failure);
  return out;
}

}  // namespace wangge::audit
