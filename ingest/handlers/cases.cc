// The routes that read cases: one case with its history, a page of cases, and why a case
// went where it went.
#include "audit/explain.h"
#include "engine/placement.h"
#include "ingest/handlers/handlers.h"
#include "ingest/handlers/submit.h"
#include "wire/audit_json.h"
#include "wire/case_json.h"
#include "wire/query_params.h"

namespace wangge::ingest {

namespace json = boost::json;

namespace {

// The photos of a case per step that carries some (report, resolve, verify), each with
// what is known of it and its evidence flags: "captured_before_report" (EXIF time more
// than 24 h before the report), "reused" (another case references the same photo),
// "photo_outside_grid" (its EXIF position is far outside the case's grid in the geography
// in force now; the case's own flags are those found when each record was written).
Result<json::array> MediaOfSteps(const engine::Engine& engine,
                                 const std::vector<engine::HistoryStep>& steps) {
  json::array out;
  std::optional<TimeMs> reported;
  std::string grid;
  const auto rules = engine.active_rules();
  for (const auto& step : steps) {
    if (const auto* r = std::get_if<engine::Report>(&step.record.body)) {
      reported = r->reported_at;
      grid = r->grid;
    }
    const auto& hashes = engine::MediaOf(step.record);
    if (hashes.empty()) continue;
    const auto* t = std::get_if<engine::Transition>(&step.record.body);
    json::array items;
    for (const auto& hash : hashes) {
      WANGGE_ASSIGN_OR_RETURN(auto info, engine.GetMediaInfo(hash));
      json::object item = info ? wire::MediaJson(hash, *info) : json::object{{"sha256", hash}};
      if (!info) item["missing"] = true;
      WANGGE_ASSIGN_OR_RETURN(auto cases, engine.MediaCases(hash));
      uint8_t bits = engine::PhotoFlags(info, reported.value_or(TimeMs{}), cases.size() > 1);
      if (info) bits |= engine::PhotoPlaceFlags(info->lat, info->lon, grid, rules->geography());
      if (bits != 0) {
        json::array flags;
        for (auto name : engine::EvidenceFlagNames(bits)) flags.push_back(json::string(name));
        item["flags"] = std::move(flags);
      }
      item["url"] = "/v1/media/" + hash;
      items.push_back(std::move(item));
    }
    out.push_back(json::object{{"step", t ? std::string(engine::ActionName(t->action)) : "report"},
                               {"seq", step.record.seq.value},
                               {"items", std::move(items)}});
  }
  return out;
}

void GetCase(Exchange& ex, const engine::Engine& engine) {
  if (ex.request().method() != http::verb::get) return ex.MethodNotAllowed("GET");
  const std::string& id = ex.path()[2];
  auto c = engine.FindCase(ex.actor(), id);
  if (!c.ok()) return ex.Fail(c.status());
  if (!*c) return ex.Fail(NotFound("no case " + id));
  auto steps = engine.CaseHistory((*c)->id);
  if (!steps.ok()) return ex.Fail(steps.status());
  // The state after the last step read, so that state and history agree even when
  // a commit lands between the two reads.
  const engine::Case& now = steps->empty() ? **c : steps->back().after;
  json::object body = wire::CaseJson(ex.actor(), now);
  wire::AddWorkingHoursLeft(body, now, engine.active_rules()->calendar(), ex.clock().Now());
  json::array history;
  for (const auto& step : *steps) history.push_back(wire::StepJson(step));
  body["history"] = std::move(history);
  auto media = MediaOfSteps(engine, *steps);
  if (!media.ok()) return ex.Fail(media.status());
  if (!media->empty()) body["media"] = std::move(*media);
  ex.Answer(http::status::ok, body);
}

// GET /v1/cases: a page of the cases the actor may see, through the indexes.
void ListCases(Exchange& ex, const engine::Engine& engine) {
  if (ex.request().method() != http::verb::get) return ex.MethodNotAllowed("GET");
  const engine::Actor& actor = ex.actor();
  engine::CaseQuery q;
  q.as_of = ex.clock().Now();
  if (Status bad = wire::ParseListQuery(ex.params(), q); !bad.ok()) return ex.Fail(bad);
  if (actor.role == engine::Role::kWorker) q.reporter = actor.id;
  if (actor.role == engine::Role::kHandler) {
    if (!q.office.empty() && q.office != actor.office) {
      return ex.Fail(PermissionDenied("a handler lists only their own office's cases"));
    }
    q.office = actor.office;
  }
  auto page = engine.ListCases(q);
  if (!page.ok()) return ex.Fail(page.status());
  json::array cases;
  const auto rules = engine.active_rules();
  for (const auto& c : page->cases) {
    json::object view = wire::CaseJson(actor, c);
    wire::AddWorkingHoursLeft(view, c, rules->calendar(), q.as_of);
    cases.push_back(std::move(view));
  }
  json::object body{{"cases", std::move(cases)}};
  if (!page->next.empty()) body["next"] = page->next;
  ex.Answer(http::status::ok, body);
}

// GET /v1/cases/{id}/explain: the report's routing re-derived under its ruleset, for
// whoever may see the case (an office asks why a case came to it).
void GetExplain(Exchange& ex, const engine::Engine& engine) {
  if (ex.request().method() != http::verb::get) return ex.MethodNotAllowed("GET");
  auto c = engine.FindCase(ex.actor(), ex.path()[2]);
  if (!c.ok()) return ex.Fail(c.status());
  if (!*c) return ex.Fail(NotFound("no case " + ex.path()[2]));
  const std::string id = (*c)->id;
  auto steps = engine.CaseHistory(id);
  if (!steps.ok()) return ex.Fail(steps.status());
  if (steps->empty()) return ex.Fail(NotFound("no case " + id));
  const engine::Record& report = steps->front().record;
  auto explained = audit::ExplainRouting(engine.log(), report);
  if (!explained.ok()) return ex.Fail(explained.status());
  ex.Answer(http::status::ok, wire::ExplainJson(report, *explained));
}

}  // namespace

bool MayAudit(const engine::Actor& actor) {
  return actor.role == engine::Role::kAuditor || actor.role == engine::Role::kSupervisor ||
         actor.role == engine::Role::kAdmin;
}

Status AuditorsOnly() {
  return PermissionDenied("only auditors, supervisors and admins read the audit");
}

void AddCaseRoutes(Routes& routes, const engine::Engine& engine) {
  routes.push_back({Route::kCases,
                    [](const auto& path) { return IsV1(path, "cases"); },
                    true,
                    false,
                    {},
                    [&engine](Exchange& ex) { ListCases(ex, engine); }});
  routes.push_back({Route::kCase, [](const auto& path) { return IsCasePath(path, 3, ""); }, true,
                    false, CheckCaseIdInPath, [&engine](Exchange& ex) { GetCase(ex, engine); }});
  routes.push_back({Route::kExplain,
                    [](const auto& path) { return IsCasePath(path, 4, "explain"); }, true, false,
                    CheckCaseIdInPath, [&engine](Exchange& ex) { GetExplain(ex, engine); }});
}

}  // namespace wangge::ingest
