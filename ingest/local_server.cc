#include "ingest/local_server.h"

#include "ingest/handlers/handlers.h"

namespace wangge::ingest {

namespace json = boost::json;

namespace {

// Out of line: GCC 12 inlining this into the completion below reports a moved-from
// Result as "maybe uninitialized" (a false positive).
[[gnu::noinline]] Result<wire::Accepted> AcceptedOf(Result<engine::Outcome>& r) {
  if (!r.ok()) return r.status();
  wire::Accepted accepted;
  accepted.outcome = std::move(*r);
  return accepted;
}

}  // namespace

void LocalSink::Submit(engine::Command command, const std::string&, const std::string&,
                       std::function<void(Result<wire::Accepted>)> done) {
  engine_.sequencer().Submit(
      std::move(command),
      [done = std::move(done)](Result<engine::Outcome> r) { done(AcceptedOf(r)); });
}

void LocalFigures::Read(const wire::StatsParams&, const engine::StatsQuery& query,
                        std::function<void(Result<wire::Figures>)> done) {
  auto result = engine_.Stats(query);
  if (!result.ok()) return done(result.status());
  done(wire::Figures{std::move(result).value(), std::nullopt});
}

LocalServer::LocalServer(engine::Engine& engine, const TokenStore& tokens, const Clock& clock,
                         ServerOptions options)
    : engine_(engine), sink_(engine), figures_(engine), webhooks_(engine, clock, options.webhooks) {
  Routes routes;
  AddHealthRoutes(
      routes, [this](json::object& body) { body["log_head"] = engine_.head().seq.value; },
      [this] { return EngineMetrics(engine_) + WebhookMetrics(webhooks_); });
  AddWebRoutes(routes);
  open311_ = AddOpen311Routes(routes, engine, sink_);
  AddMeRoute(routes);
  AddFeedRoute(routes, engine);
  AddWebhookRoutes(routes, engine, webhooks_);
  AddReportRoutes(routes, sink_, /*batch=*/true);
  AddRulesRoutes(routes, engine, sink_);
  AddLocateRoute(routes, engine);
  AddStatsRoute(routes, figures_);
  AddCaseRoutes(routes, engine);
  AddMediaRoutes(routes, engine);
  AddTransitionRoute(routes, sink_);
  AddAuditRoutes(routes, engine);
  server_ = std::make_unique<HttpServer>(std::move(routes), tokens, clock, std::move(options));
}

LocalServer::~LocalServer() { Stop(); }

Status LocalServer::Start() {
  WANGGE_RETURN_IF_ERROR(webhooks_.Start());
  return server_->Start();
}

void LocalServer::Stop() {
  server_->Stop();
  webhooks_.Stop();
}

}  // namespace wangge::ingest
