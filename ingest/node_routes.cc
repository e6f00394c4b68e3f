#include "ingest/node_routes.h"

#include "ingest/handlers/handlers.h"

namespace wangge::ingest {

Routes NodeRoutes(wire::CommandSink& sink, wire::FiguresSource& figures) {
  Routes routes;
  AddHealthRoutes(
      routes, [](boost::json::object& body) { body["cluster"] = true; },
      [] { return std::string(); });
  AddReportRoutes(routes, sink, /*batch=*/false);
  AddStatsRoute(routes, figures);
  AddMeRoute(routes);
  AddTransitionRoute(routes, sink);
  // Everything that reads one case, the log or the dashboard's files is an engine's
  // business.
  routes.push_back(
      {Route::kOther,
       [](const std::vector<std::string>& path) {
         return path.empty() || path[0] == "ui" || path[0] == "open311" || path[0] == "v1";
       },
       false,
       false,
       {},
       [](Exchange& ex) {
         ex.Fail(Status(StatusCode::kFailedPrecondition,
                        "not served by an HTTP node in cluster mode: this node takes reports, "
                        "transitions and stats (docs/scale-out.md)",
                        "route"),
                 http::status::not_implemented);
       }});
  return routes;
}

}  // namespace wangge::ingest
