// /v1/webhooks: an office's webhook, registered, listed, removed and resumed
// (ingest/webhooks.h), and its figures for /metrics.
#include <simdjson.h>

#include "ingest/handlers/handlers.h"

namespace wangge::ingest {

namespace json = boost::json;

namespace {

json::object WebhookJson(const Webhook& w) {
  json::object o{{"office", w.office},         {"url", w.url},           {"delivered", w.delivered},
                 {"deliveries", w.deliveries}, {"failures", w.failures}, {"paused", w.paused},
                 {"last_error", w.last_error}};
  o["next_attempt"] =
      w.next_attempt ? json::value(FormatRfc3339(TimeMs{w.next_attempt})) : json::value(nullptr);
  return o;  // never the secret
}

Status ParseWebhookBody(const std::string& body, std::string& url, std::string& secret) {
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  if (parser.parse(body).get_object().get(o)) {
    return InvalidArgument("the body must be a JSON object {\"url\", \"secret\"}");
  }
  for (auto [key, value] : o) {
    std::string_view text;
    if (key != "url" && key != "secret") {
      return InvalidArgument("unknown field " + std::string(key), std::string(key));
    }
    if (value.get_string().get(text)) {
      return InvalidArgument(std::string(key) + " must be a string", std::string(key));
    }
    (key == "url" ? url : secret) = std::string(text);
  }
  if (url.empty()) return InvalidArgument("url is required", "url");
  if (secret.empty()) return InvalidArgument("secret is required", "secret");
  return Status::Ok();
}

// GET /v1/webhooks lists; PUT and DELETE /v1/webhooks/{office} register and remove;
// POST /v1/webhooks/{office}/resume resumes a paused one. Admins for any office, a
// handler for their own; supervisors and auditors may list.
void HandleWebhooks(Exchange& ex, const engine::Engine& engine, Webhooks& hooks) {
  const engine::Actor& actor = ex.actor();
  const std::vector<std::string>& path = ex.path();
  const auto method = ex.request().method();
  if (path.size() == 2) {
    if (method != http::verb::get) return ex.MethodNotAllowed("GET");
    if (actor.role == engine::Role::kWorker) {
      return ex.Fail(PermissionDenied("workers have no webhooks"));
    }
    json::array list;
    for (const auto& w : hooks.List()) {
      if (actor.role != engine::Role::kHandler || w.office == actor.office) {
        list.push_back(WebhookJson(w));
      }
    }
    return ex.Answer(http::status::ok, json::object{{"webhooks", std::move(list)}});
  }
  const std::string& office = path[2];
  const bool may = actor.role == engine::Role::kAdmin ||
                   (actor.role == engine::Role::kHandler && actor.office == office);
  if (!may) {
    return ex.Fail(
        PermissionDenied("only an admin or the office's handlers "
                         "manage its webhook"));
  }
  if (path.size() == 4) {
    if (method != http::verb::post) return ex.MethodNotAllowed("POST");
    auto w = hooks.Resume(office);
    if (!w.ok()) return ex.Fail(w.status());
    return ex.Answer(http::status::ok, WebhookJson(*w));
  }
  if (method == http::verb::delete_) {
    if (Status s = hooks.Remove(office); !s.ok()) return ex.Fail(s);
    return ex.Answer(http::status::ok, json::object{{"removed", office}});
  }
  if (method != http::verb::put) return ex.MethodNotAllowed("PUT, DELETE");
  if (!engine.active_rules()->FindOffice(office)) {
    return ex.Fail(NotFound("no office " + office + " in the active ruleset"));
  }
  std::string url, secret;
  if (Status s = ParseWebhookBody(ex.request().body(), url, secret); !s.ok()) {
    return ex.Fail(s);
  }
  auto w = hooks.Put(office, url, secret);
  if (!w.ok()) return ex.Fail(w.status());
  ex.Answer(http::status::ok, WebhookJson(*w));
}

std::string WebhookMetricsText(const Webhooks& hooks) {
  std::string out =
      "# HELP wangge_webhook_delivered_seq The last sequence delivered to the office's "
      "webhook.\n# TYPE wangge_webhook_delivered_seq gauge\n";
  std::string failures =
      "# HELP wangge_webhook_failures Failed deliveries in a row.\n"
      "# TYPE wangge_webhook_failures gauge\n";
  std::string paused =
      "# HELP wangge_webhook_paused 1 when the webhook is paused after repeated failures.\n"
      "# TYPE wangge_webhook_paused gauge\n";
  for (const auto& w : hooks.List()) {
    const std::string label = "{office=\"" + w.office + "\"} ";
    out += "wangge_webhook_delivered_seq" + label + std::to_string(w.delivered) + "\n";
    failures += "wangge_webhook_failures" + label + std::to_string(w.failures) + "\n";
    paused += "wangge_webhook_paused" + label + (w.paused ? "1" : "0") + "\n";
  }
  return out + failures + paused;
}

}  // namespace

std::string WebhookMetrics(const Webhooks& hooks) { return WebhookMetricsText(hooks); }

void AddWebhookRoutes(Routes& routes, const engine::Engine& engine, Webhooks& hooks) {
  routes.push_back({Route::kWebhooks,
                    [](const std::vector<std::string>& path) {
                      return path.size() >= 2 && path[0] == "v1" && path[1] == "webhooks" &&
                             (path.size() == 2 || (path.size() == 3 && !path[2].empty()) ||
                              (path.size() == 4 && path[3] == "resume"));
                    },
                    true,
                    false,
                    {},
                    [&engine, &hooks](Exchange& ex) { HandleWebhooks(ex, engine, hooks); }});
}

}  // namespace wangge::ingest
