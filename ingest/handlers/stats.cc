// GET /v1/stats: supervision figures (engine/stats.h), from the deployment's figures
// source. Handlers see their office's.
#include "ingest/handlers/handlers.h"
#include "wire/query_params.h"
#include "wire/stats_json.h"

namespace wangge::ingest {

namespace json = boost::json;

namespace {

// The stats query of a request, by the rules of GET /v1/stats: supervisors, auditors
// and admins read everything, handlers their own office's figures, workers none.
Status StatsRequest(Exchange& ex, wire::StatsParams& p, engine::StatsQuery& q) {
  const engine::Actor& actor = ex.actor();
  if (actor.role == engine::Role::kWorker) {
    return PermissionDenied("workers do not read statistics");
  }
  WANGGE_RETURN_IF_ERROR(wire::ParseStatsParams(ex.params(), p));
  if (actor.role == engine::Role::kHandler) {
    if ((!p.office.empty() && p.office != actor.office) || !p.village.empty() ||
        !p.category.empty()) {
      return PermissionDenied("a handler reads only their own office's figures (filter: office)");
    }
    p.office = actor.office;
  }
  return wire::BuildStatsQuery(p, ex.clock().Now(), q);
}

void GetStats(Exchange& ex, wire::FiguresSource& figures) {
  if (ex.request().method() != http::verb::get) return ex.MethodNotAllowed("GET");
  wire::StatsParams p;
  engine::StatsQuery q;
  if (Status bad = StatsRequest(ex, p, q); !bad.ok()) return ex.Fail(bad);
  p.as_of = FormatRfc3339(q.as_of);  // one instant, wherever the figures are read
  ex.WorkStarted();
  figures.Read(p, q, [self = ex.Keep(), q](Result<wire::Figures> r) {
    self->Post([q, r = std::move(r)](Exchange& e) {
      if (!r.ok()) return e.Fail(r.status());
      json::object body = wire::StatsJson(q, r->result);
      if (r->partitions) body["towns"] = *r->partitions;
      e.Answer(http::status::ok, body);
    });
    self->WorkDone();
  });
}

}  // namespace

void AddStatsRoute(Routes& routes, wire::FiguresSource& figures) {
  routes.push_back({Route::kStats,
                    [](const auto& path) { return IsV1(path, "stats"); },
                    true,
                    false,
                    {},
                    [&figures](Exchange& ex) { GetStats(ex, figures); }});
}

}  // namespace wangge::ingest
