// The ruleset and geography routes (GET and PUT /v1/rules, /v1/geography) and the audit routes (the
// hash chain, what-if).
#include <charconv>
#include <cmath>

#include "audit/explain.h"
#include "ingest/handlers/handlers.h"
#include "ingest/handlers/submit.h"
#include "rules/geography.h"
#include "wire/audit_json.h"
#include "wire/catalog.h"
#include "wire/query_params.h"

namespace wangge::ingest {

namespace json = boost::json;

namespace {

// GET /v1/rules: the active ruleset and the record that activated it.
void GetRules(Exchange& ex, const engine::Engine& engine) {
  auto record = engine.ActiveRulesRecord();
  if (!record.ok()) return ex.Fail(record.status());
  if (!*record) return ex.Fail(NotFound("no ruleset was ever activated"));
  const auto& a = std::get<engine::RulesActivation>((*record)->body);
  boost::system::error_code ec;
  json::value ruleset = json::parse(a.ruleset, ec);
  if (ec) return ex.Fail(Internal("the active ruleset is not JSON"));
  ex.Answer(http::status::ok, json::object{{"version", a.version},
                                           {"activated_seq", (*record)->seq.value},
                                           {"activated_at", FormatRfc3339((*record)->at)},
                                           {"activated_by", (*record)->actor.id},
                                           {"ruleset", std::move(ruleset)}});
}

// PUT /v1/rules: activates the body as the ruleset, keeping the active calendar.
void PutRules(Exchange& ex, const engine::Engine& engine, wire::CommandSink& sink) {
  if (ex.actor().role != engine::Role::kAdmin) {
    return ex.Fail(PermissionDenied("only an admin may activate a ruleset"));
  }
  auto record = engine.ActiveRulesRecord();
  if (!record.ok()) return ex.Fail(record.status());
  std::string calendar, geography;
  if (*record) {
    const auto& a = std::get<engine::RulesActivation>((*record)->body);
    calendar = a.calendar;
    geography = a.geography;
  }
  Submit(ex, sink,
         engine::Command{ex.actor(), std::nullopt,
                         engine::RulesActivation{ex.request().body(), std::move(calendar), "",
                                                 std::move(geography), ""}},
         "", "", [](Exchange& e, Result<wire::Accepted> r) { AnswerAccepted(e, r, {}); });
}

// GET /v1/geography: the active geography (GeoJSON) and the record that activated it.
void GetGeography(Exchange& ex, const engine::Engine& engine) {
  auto record = engine.ActiveRulesRecord();
  if (!record.ok()) return ex.Fail(record.status());
  const auto* a = *record ? &std::get<engine::RulesActivation>((*record)->body) : nullptr;
  if (!a || a->geography.empty()) return ex.Fail(NotFound("no geography was ever activated"));
  boost::system::error_code ec;
  json::value geography = json::parse(a->geography, ec);
  if (ec) return ex.Fail(Internal("the active geography is not JSON"));
  ex.Answer(http::status::ok, json::object{{"version", a->geography_version},
                                           {"ruleset", a->version},
                                           {"activated_seq", (*record)->seq.value},
                                           {"activated_at", FormatRfc3339((*record)->at)},
                                           {"activated_by", (*record)->actor.id},
                                           {"geography", std::move(geography)}});
}

// GET /v1/catalog: what the active ruleset offers a reporter (categories by group, with
// pinyin initials; offices; villages) and, with a geography, its grids.
void GetCatalog(Exchange& ex, const engine::Engine& engine) {
  auto record = engine.ActiveRulesRecord();
  if (!record.ok()) return ex.Fail(record.status());
  if (!*record) return ex.Fail(NotFound("no ruleset was ever activated"));
  const auto& a = std::get<engine::RulesActivation>((*record)->body);
  auto catalog = wire::CatalogFromRuleset(a.ruleset);
  if (!catalog.ok()) return ex.Fail(catalog.status());
  json::object body = wire::CatalogJson(*catalog);
  json::array grids;
  if (const rules::Geography* g = engine.active_rules()->geography()) {
    for (const auto& grid : g->grids()) {
      json::object o{{"id", grid.grid}, {"village", grid.village}};
      if (!grid.name.empty()) o["name"] = grid.name;
      grids.push_back(std::move(o));
    }
    body["geography"] = g->version();
  }
  body["grids"] = std::move(grids);
  ex.Answer(http::status::ok, body);
}

// A coordinate of the locate query: a finite number within ±`limit`.
Status ReadCoordinate(const std::string& text, const std::string& name, double limit, double& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(out) ||
      std::fabs(out) > limit) {
    return InvalidArgument(name + " must be a number from -" + std::to_string(int(limit)) + " to " +
                               std::to_string(int(limit)),
                           name);
  }
  return Status::Ok();
}

// GET /v1/geography/locate?lat=&lon=&crs=: the grid a position falls in under the
// geography in force (as a report without a grid would be placed), else the nearest grid
// and how far it is. A phone shows it before the worker sends the report.
void LocateOnGeography(Exchange& ex, const engine::Engine& engine) {
  std::string lat_text, lon_text, crs = "wgs84";
  Status bad =
      wire::ForEachParam(ex.params(), [&](const std::string& key, const std::string& value) {
        if (key == "lat") return (lat_text = value, Status::Ok());
        if (key == "lon") return (lon_text = value, Status::Ok());
        if (key == "crs") return (crs = value, Status::Ok());
        return InvalidArgument("unknown query parameter", key);
      });
  if (!bad.ok()) return ex.Fail(bad);
  double lat = 0, lon = 0;
  if (Status s = ReadCoordinate(lat_text, "lat", 90, lat); !s.ok()) return ex.Fail(s);
  if (Status s = ReadCoordinate(lon_text, "lon", 180, lon); !s.ok()) return ex.Fail(s);
  if (crs != "wgs84" && crs != "gcj02") {
    return ex.Fail(InvalidArgument("crs must be wgs84 or gcj02", "crs"));
  }
  if (crs == "gcj02") {
    const rules::LatLon wgs = rules::Gcj02ToWgs84(lat, lon);
    lat = wgs.lat;
    lon = wgs.lon;
  }
  const auto ruleset = engine.active_rules();
  const rules::Geography* geography = ruleset->geography();
  if (!geography) return ex.Fail(NotFound("no geography is active"));
  const rules::Location at = geography->Nearest(lat, lon);
  if (!at.grid) return ex.Fail(NotFound("the active geography has no grids"));
  json::object body{{"geography", geography->version()},
                    {"lat", lat},
                    {"lon", lon},
                    {"grid", at.grid->grid},
                    {"village", at.grid->village},
                    {"inside", at.inside()},
                    {"distance_m", std::lround(at.distance_m)}};
  if (!at.grid->name.empty()) body["name"] = at.grid->name;
  ex.Answer(http::status::ok, body);
}

// PUT /v1/geography: activates the body as the geography, with the ruleset and calendar in
// force.
void PutGeography(Exchange& ex, const engine::Engine& engine, wire::CommandSink& sink) {
  if (ex.actor().role != engine::Role::kAdmin) {
    return ex.Fail(PermissionDenied("only an admin may activate a geography"));
  }
  if (ex.request().body().empty()) {
    return ex.Fail(InvalidArgument("the body must be a GeoJSON FeatureCollection", "body"));
  }
  auto record = engine.ActiveRulesRecord();
  if (!record.ok()) return ex.Fail(record.status());
  if (!*record) return ex.Fail(FailedPrecondition("no ruleset is active to check it against"));
  const auto& a = std::get<engine::RulesActivation>((*record)->body);
  Submit(
      ex, sink,
      engine::Command{ex.actor(), std::nullopt,
                      engine::RulesActivation{a.ruleset, a.calendar, "", ex.request().body(), ""}},
      "", "", [](Exchange& e, Result<wire::Accepted> r) { AnswerAccepted(e, r, {}); });
}

// GET /v1/audit/chain: a walk of the whole hash chain (~2M records/s: it holds this
// I/O thread for that long).
void GetChain(Exchange& ex, const engine::Engine& engine) {
  auto report = engine.log().Verify();
  if (!report.ok()) return ex.Fail(report.status());
  ex.Answer(http::status::ok, wire::ChainJson(*report));
}

// POST /v1/audit/what-if?from=&to=: the body is a ruleset, judged against the
// recorded reports under the active calendar. Writes nothing.
void PostWhatIf(Exchange& ex, const engine::Engine& engine) {
  audit::WhatIfOptions options;
  Status bad =
      wire::ForEachParam(ex.params(), [&](const std::string& key, const std::string& value) {
        if (key != "from" && key != "to") return InvalidArgument("unknown query parameter", key);
        if (value.empty()) return InvalidArgument("empty; give a date or an RFC 3339 time", key);
        auto t = wire::ParseTimeBound(value, key == "from" ? "from" : "to");
        if (!t.ok()) return t.status();
        (key == "from" ? options.from : options.to) = *t;
        return Status::Ok();
      });
  if (!bad.ok()) return ex.Fail(bad);
  if (options.from && options.to && *options.from >= *options.to) {
    return ex.Fail(InvalidArgument("from is not before to", "from"));
  }
  const auto active = engine.active_rules();
  auto ruleset = rules::Ruleset::Load(ex.request().body(), "body", active->calendar());
  if (!ruleset.ok()) return ex.Fail(ruleset.status());
  auto result = audit::WhatIf(engine.log(), **ruleset, options);
  if (!result.ok()) return ex.Fail(result.status());
  ex.Answer(http::status::ok, wire::WhatIfJson(*result));
}

}  // namespace

void AddRulesRoutes(Routes& routes, const engine::Engine& engine, wire::CommandSink& sink) {
  routes.push_back({Route::kRules,
                    [](const auto& path) { return IsV1(path, "rules"); },
                    true,
                    false,
                    {},
                    [&engine, &sink](Exchange& ex) {
                      const auto method = ex.request().method();
                      if (method == http::verb::get) return GetRules(ex, engine);
                      if (method == http::verb::put) return PutRules(ex, engine, sink);
                      ex.MethodNotAllowed("GET, PUT");
                    }});
  routes.push_back({Route::kRules,
                    [](const auto& path) { return IsV1(path, "geography"); },
                    true,
                    false,
                    {},
                    [&engine, &sink](Exchange& ex) {
                      const auto method = ex.request().method();
                      if (method == http::verb::get) return GetGeography(ex, engine);
                      if (method == http::verb::put) return PutGeography(ex, engine, sink);
                      ex.MethodNotAllowed("GET, PUT");
                    }});
}

void AddLocateRoute(Routes& routes, const engine::Engine& engine) {
  routes.push_back({Route::kRules,
                    [](const auto& path) { return IsV1(path, "catalog"); },
                    true,
                    false,
                    {},
                    [&engine](Exchange& ex) {
                      if (ex.request().method() != http::verb::get) {
                        return ex.MethodNotAllowed("GET");
                      }
                      GetCatalog(ex, engine);
                    }});
  routes.push_back({Route::kRules,
                    [](const auto& path) {
                      return path.size() == 3 && path[0] == "v1" && path[1] == "geography" &&
                             path[2] == "locate";
                    },
                    true,
                    false,
                    {},
                    [&engine](Exchange& ex) {
                      if (ex.request().method() != http::verb::get) {
                        return ex.MethodNotAllowed("GET");
                      }
                      LocateOnGeography(ex, engine);
                    }});
}

void AddAuditRoutes(Routes& routes, const engine::Engine& engine) {
  routes.push_back({Route::kAudit,
                    [](const auto& path) {
                      return path.size() == 3 && path[0] == "v1" && path[1] == "audit" &&
                             (path[2] == "chain" || path[2] == "what-if");
                    },
                    true,
                    false,
                    {},
                    [&engine](Exchange& ex) {
                      if (!MayAudit(ex.actor())) return ex.Fail(AuditorsOnly());
                      const auto method = ex.request().method();
                      if (ex.path()[2] == "chain") {
                        if (method != http::verb::get) return ex.MethodNotAllowed("GET");
                        return GetChain(ex, engine);
                      }
                      if (method != http::verb::post) return ex.MethodNotAllowed("POST");
                      PostWhatIf(ex, engine);
                    }});
}

}  // namespace wangge::ingest
