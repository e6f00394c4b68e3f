// The HTTP service's handlers, one group of routes per resource. Each Add* appends its
// routes to a route table (ingest/exchange.h); what it refers to outlives the server.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/json.hpp>

#include "engine/engine.h"
#include "ingest/exchange.h"
#include "ingest/webhooks.h"
#include "wire/command_sink.h"

namespace wangge::ingest {

// GET /healthz, /readyz (its body gets `ready`'s fields), /metrics (the server's
// counters, then `more`'s lines).
void AddHealthRoutes(Routes& routes, std::function<void(boost::json::object&)> ready,
                     std::function<std::string()> more);

// GET|HEAD /, /ui/… and /app/…: the dashboard's and the field app's embedded files.
void AddWebRoutes(Routes& routes);

// POST /v1/reports, and with `batch` POST /v1/reports:batch (NDJSON), through `sink`.
void AddReportRoutes(Routes& routes, wire::CommandSink& sink, bool batch);

// POST /v1/cases/{id}/transitions through `sink`.
void AddTransitionRoute(Routes& routes, wire::CommandSink& sink);

// GET /v1/me.
void AddMeRoute(Routes& routes);

// GET /v1/stats from `figures`.
void AddStatsRoute(Routes& routes, wire::FiguresSource& figures);

// PUT, HEAD and GET /v1/media/{sha256} (photos; ingest/handlers/media.cc).
void AddMediaRoutes(Routes& routes, engine::Engine& engine);

// A photo that arrives inside another request (an Open311 form's file part), checked and
// stored as PUT /v1/media stores one, off the I/O threads. `then` runs once on the
// exchange's executor with the photo's SHA-256 once it is durable, or with why it was
// refused and the HTTP status for that. The server's Stop waits for it.
using PhotoThen = std::function<void(Exchange&, const Result<std::string>&, http::status)>;
void StorePhoto(Exchange& ex, engine::Engine& engine, std::string bytes, PhotoThen then);

// Answers a GET of photo `hash` as GET /v1/media/{hash} does (a range, a thumbnail with
// ?size=, If-None-Match), when `may_see` lets the caller see a case that references it;
// 404 otherwise.
using CaseFilter = std::function<bool(const engine::Case&)>;
void ServePhoto(Exchange& ex, engine::Engine& engine, std::string hash, CaseFilter may_see);

// GET /v1/cases/{id}, GET /v1/cases, GET /v1/cases/{id}/explain.
void AddCaseRoutes(Routes& routes, const engine::Engine& engine);

// GET /v1/feed: Server-Sent Events or a JSON long-poll (ingest/feed.h).
void AddFeedRoute(Routes& routes, const engine::Engine& engine);

// /v1/webhooks…
void AddWebhookRoutes(Routes& routes, const engine::Engine& engine, Webhooks& webhooks);

// The webhooks' figures for /metrics: delivered sequence, failures, paused, by office.
std::string WebhookMetrics(const Webhooks& hooks);

// GET /v1/rules, and PUT /v1/rules through `sink`.
void AddRulesRoutes(Routes& routes, const engine::Engine& engine, wire::CommandSink& sink);

// GET /v1/catalog (the active ruleset's categories, offices, villages and grids) and GET
// /v1/geography/locate (the grid a position falls in).
void AddLocateRoute(Routes& routes, const engine::Engine& engine);

// GET /v1/audit/chain, POST /v1/audit/what-if.
void AddAuditRoutes(Routes& routes, const engine::Engine& engine);

// /open311/v2/… (docs/open311.md); requests are posted through `sink`. The returned
// object holds the Open311 catalog of the active ruleset and must outlive the routes.
class Open311Routes {
 public:
  virtual ~Open311Routes();
};
std::unique_ptr<Open311Routes> AddOpen311Routes(Routes& routes, engine::Engine& engine,
                                                wire::CommandSink& sink);

// The route of the v1 API whose path is `v1/NAME` exactly.
bool IsV1(const std::vector<std::string>& path, std::string_view name);

// What a report request's body holds, from a grid worker, not dated ahead of `now` by more
// than the allowed clock skew. kPermissionDenied for other roles.
Status ReadReportBody(Exchange& ex, TimeMs now, engine::Report& report);

}  // namespace wangge::ingest
