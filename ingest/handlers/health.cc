// The routes that need no credential: health, readiness, metrics and the dashboard's files.
#include "ingest/handlers/handlers.h"
#include "ingest/web_files.h"

namespace wangge::ingest {

namespace json = boost::json;

bool IsV1(const std::vector<std::string>& path, std::string_view name) {
  return path.size() == 2 && path[0] == "v1" && path[1] == name;
}

void AddHealthRoutes(Routes& routes, std::function<void(json::object&)> ready,
                     std::function<std::string()> more) {
  const auto only = [](std::string_view name) {
    return [name](const std::vector<std::string>& path) {
      return path.size() == 1 && path[0] == name;
    };
  };
  routes.push_back({Route::kHealthz, only("healthz"), false, false, {}, [](Exchange& ex) {
                      if (ex.request().method() != http::verb::get)
                        return ex.MethodNotAllowed("GET");
                      ex.Answer(http::status::ok, json::object{{"status", "ok"}});
                    }});
  routes.push_back({Route::kReadyz, only("readyz"), false, false, {}, [ready](Exchange& ex) {
                      if (ex.request().method() != http::verb::get)
                        return ex.MethodNotAllowed("GET");
                      json::object body{{"status", "ready"}};
                      ready(body);
                      ex.Answer(http::status::ok, body);
                    }});
  routes.push_back({Route::kMetrics, only("metrics"), false, false, {}, [more](Exchange& ex) {
                      if (ex.request().method() != http::verb::get)
                        return ex.MethodNotAllowed("GET");
                      Response res{http::status::ok, ex.request().version()};
                      res.set(http::field::content_type,
                              "text/plain; version=0.0.4; charset=utf-8");
                      res.keep_alive(ex.request().keep_alive());
                      res.body() = ex.metrics().Render() + more();
                      res.prepare_payload();
                      ex.Send(std::move(res));
                    }});
}

namespace {

// `/` redirects to the dashboard; /ui/NAME and /app/NAME are embedded files (a root
// without its slash redirects to it, so the pages' relative paths resolve). Every answer
// may be cached but must be revalidated (ETag), so a new binary's files are seen at once.
void ServeWebFiles(Exchange& ex) {
  const Request& req = ex.request();
  const auto& path = ex.path();
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    return ex.MethodNotAllowed("GET, HEAD");
  }
  const bool app = !path.empty() && path[0] == "app";
  const bool bare = req.target() == "/app" || req.target() == "/ui";
  if (path.empty() || bare) {
    Response res{http::status::found, req.version()};
    res.set(http::field::location, app ? "/app/" : "/ui/");
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return ex.Send(std::move(res));
  }
  std::string name;
  for (size_t i = 1; i < path.size(); ++i) name += (i > 1 ? "/" : "") + path[i];
  const WebAsset* asset = FindWebAsset(app ? WebApp::kFieldApp : WebApp::kDashboard, name);
  if (asset == nullptr) {
    return ex.Fail(NotFound(app ? "no such file in the app" : "no such file in the dashboard"));
  }
  // gzip when the client takes it (every browser does): the shell's bytes on a 3G link.
  const std::string_view accepts = req[http::field::accept_encoding];
  const bool gzip = !asset->gzip.empty() && accepts.find("gzip") != std::string_view::npos &&
                    accepts.find("gzip;q=0") == std::string_view::npos;
  const std::string& etag = gzip ? asset->gzip_etag : asset->etag;
  const auto match = req.find(http::field::if_none_match);
  const bool fresh =
      match != req.end() && std::string_view(match->value()).find(etag) != std::string_view::npos;
  Response res{fresh ? http::status::not_modified : http::status::ok, req.version()};
  res.set(http::field::etag, etag);
  if (!asset->gzip.empty()) res.set(http::field::vary, "Accept-Encoding");
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("Content-Security-Policy", kWebPolicy);
  res.keep_alive(req.keep_alive());
  if (fresh) return ex.Send(std::move(res));
  res.set(http::field::content_type, asset->content_type);
  if (gzip) res.set(http::field::content_encoding, "gzip");
  const std::string_view body = gzip ? std::string_view(asset->gzip) : asset->body;
  if (req.method() == http::verb::head) {
    res.content_length(body.size());
  } else {
    res.body() = std::string(body);
    res.prepare_payload();
  }
  ex.Send(std::move(res));
}

}  // namespace

void AddWebRoutes(Routes& routes) {
  routes.push_back({Route::kDashboard,
                    [](const std::vector<std::string>& path) {
                      return path.empty() || path[0] == "ui" || path[0] == "app";
                    },
                    false,
                    false,
                    {},
                    ServeWebFiles});
}

void AddMeRoute(Routes& routes) {
  routes.push_back({Route::kMe,
                    [](const auto& path) { return IsV1(path, "me"); },
                    true,
                    false,
                    {},
                    [](Exchange& ex) {
                      if (ex.request().method() != http::verb::get)
                        return ex.MethodNotAllowed("GET");
                      const engine::Actor& actor = ex.actor();
                      json::object body{{"actor", actor.id},
                                        {"role", std::string(engine::RoleName(actor.role))}};
                      if (!actor.office.empty()) body["office"] = actor.office;
                      ex.Answer(http::status::ok, body);
                    }});
}

}  // namespace wangge::ingest
