#include "ingest/http_server.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>
#include <simdjson.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include "cluster/cluster.h"
#include "engine/access.h"
#include "ingest/dashboard.h"
#include "ingest/feed.h"
#include "ingest/http_metrics.h"
#include "ingest/open311.h"
#include "wire/audit_json.h"
#include "wire/command_json.h"
#include "wire/query_params.h"
#include "wire/stats_json.h"

namespace wangge::ingest {
using wire::BuildStatsQuery;
using wire::ChainJson;
using wire::CommandDecoder;
using wire::DecodeError;
using wire::EncodeCommand;
using wire::ExplainJson;
using wire::ForEachParam;
using wire::ParseListQuery;
using wire::ParseStatsParams;
using wire::ParseTimeBound;
using wire::StatsJson;
using wire::StatsParams;
using wire::WhatIfJson;
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

http::status HttpStatusOf(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
      return http::status::bad_request;
    case StatusCode::kUnauthenticated:
      return http::status::unauthorized;
    case StatusCode::kPermissionDenied:
      return http::status::forbidden;
    case StatusCode::kNotFound:
      return http::status::not_found;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return http::status::conflict;
    case StatusCode::kNoSpace:
      return http::status::insufficient_storage;
    case StatusCode::kResourceExhausted:
    case StatusCode::kUnavailable:
      return http::status::service_unavailable;
    default:
      return http::status::internal_server_error;
  }
}

Response Json(const Request& req, http::status status, const json::value& body) {
  Response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  res.body() = json::serialize(body);
  res.prepare_payload();
  return res;
}

// The length of the well-formed UTF-8 sequence at s[i], or 0 when none starts there.
size_t Utf8SequenceAt(std::string_view s, size_t i) {
  for (size_t n = 1; n <= 4 && i + n <= s.size(); ++n) {
    if (simdjson::validate_utf8(s.data() + i, n)) return n;
  }
  return 0;
}

// `s` with each byte that starts no well-formed UTF-8 sequence replaced by U+FFFD. Error
// messages echo request text (a path, a query value), and an answer must stay valid JSON.
std::string ValidUtf8(std::string_view s) {
  if (simdjson::validate_utf8(s.data(), s.size())) return std::string(s);
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceAt(s, i);
    out.append(n == 0 ? std::string_view("\xEF\xBF\xBD") : s.substr(i, n));
    i += n == 0 ? 1 : n;
  }
  return out;
}

// When to try again after a refusal for want of capacity (503) or disk space (507).
void SetRetryAfter(Response& res) {
  if (res.result() == http::status::service_unavailable) res.set(http::field::retry_after, "1");
  if (res.result() == http::status::insufficient_storage) res.set(http::field::retry_after, "30");
}

Response Error(const Request& req, const Status& s) {
  json::object err{{"code", std::string(StatusCodeName(s.code()))},
                   {"message", ValidUtf8(s.message())}};
  if (!s.field().empty()) err["field"] = ValidUtf8(s.field());
  Response res = Json(req, HttpStatusOf(s.code()), json::object{{"error", std::move(err)}});
  if (s.code() == StatusCode::kUnauthenticated) res.set(http::field::www_authenticate, "Bearer");
  SetRetryAfter(res);
  return res;
}

// Where a report came from and what an outside interface sent with it, when set.
void AddExtras(const engine::Report& r, json::object& o) {
  if (!r.channel.empty()) o["channel"] = r.channel;
  if (!r.address.empty()) o["address"] = r.address;
  if (!r.address_id.empty()) o["address_id"] = r.address_id;
  if (!r.media_url.empty()) o["media_url"] = r.media_url;
}

// A case as `viewer` sees it: addressed as they address it (engine/access.h).
json::object CaseJson(const engine::Actor& viewer, const engine::Case& c) {
  json::object o{{"case_id", std::string(engine::CaseAddress(viewer, c))},
                 {"number", c.created_seq.value},
                 {"status", std::string(engine::StatusName(c.status))},
                 {"office", c.office},
                 {"category", c.report.category},
                 {"village", c.report.village},
                 {"grid", c.report.grid},
                 {"severity", c.report.severity},
                 {"reporter", c.reporter.id},
                 {"received_at", FormatRfc3339(c.received_at)},
                 {"deadline", FormatRfc3339(c.deadline)},
                 {"priority", c.priority},
                 {"rule", c.rule_id},
                 {"ruleset", c.ruleset_version},
                 {"last_seq", c.last_seq.value}};
  if (c.closed_at.ms != 0) o["closed_at"] = FormatRfc3339(c.closed_at);
  if (!c.report.text.empty()) o["text"] = c.report.text;
  AddExtras(c.report, o);
  return o;
}

// One step of a case's history: who did what when, and where it left the case.
json::object StepJson(const engine::HistoryStep& step) {
  const engine::Record& r = step.record;
  json::object o{{"seq", r.seq.value},
                 {"at", FormatRfc3339(r.at)},
                 {"actor", r.actor.id},
                 {"role", std::string(engine::RoleName(r.actor.role))}};
  if (!r.actor.office.empty()) o["actor_office"] = r.actor.office;
  if (const auto* t = std::get_if<engine::Transition>(&r.body)) {
    o["action"] = std::string(engine::ActionName(t->action));
    if (!t->note.empty()) o["note"] = t->note;
    if (t->satisfaction != 0) o["satisfaction"] = t->satisfaction;
    if (!t->to_office.empty()) o["to_office"] = t->to_office;
    if (t->until) o["until"] = FormatRfc3339(*t->until);
  } else if (const auto* f = std::get_if<engine::TimerFired>(&r.body)) {
    o["action"] = std::string(engine::TimerKindName(f->kind));
    json::array notified;
    for (const auto& office : f->notified) notified.push_back(json::string(office));
    o["notified"] = std::move(notified);
  } else {
    o["action"] = "report";
    o["rule"] = r.routing.rule_id;
    o["ruleset"] = r.routing.ruleset_version;
    o["deadline"] = FormatRfc3339(r.routing.deadline);
    if (const auto* report = std::get_if<engine::Report>(&r.body);
        report && !report->channel.empty()) {
      o["channel"] = report->channel;
    }
  }
  o["status"] = std::string(engine::StatusName(step.after.status));
  o["office"] = step.after.office;
  return o;
}

}  // namespace

Status ServerOptions::Validate() const {
  if (cluster_threads < 1 || cluster_threads > 1024) {
    return InvalidArgument("cluster_threads must be 1-1024", "cluster_threads");
  }
  if (max_body_bytes == 0 || max_body_bytes > (64u << 20)) {
    return InvalidArgument("max_body_bytes must be 1 B to 64 MiB", "max_body_bytes");
  }
  if (threads < 1 || threads > 64) return InvalidArgument("threads must be 1-64", "threads");
  if (idle_timeout.count() < 1)
    return InvalidArgument("idle_timeout must be at least 1 s", "idle_timeout");
  if (max_connections < 1) {
    return InvalidArgument("max_connections must be positive", "max_connections");
  }
  return Status::Ok();
}

struct HttpServer::Impl {
  Impl(engine::Engine* e, cluster::Nats* n, const TokenStore& t, const Clock& c, ServerOptions o)
      : engine(e), cluster(n), tokens(t), clock(c), options(std::move(o)) {}

  // Exactly one of the two: the local engine, or (an HTTP node in cluster mode) the
  // JetStream cluster that commands are published to.
  engine::Engine* engine;
  cluster::Nats* cluster;
  const TokenStore& tokens;
  const Clock& clock;
  ServerOptions options;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::atomic<uint64_t> next_request{1};
  // Commands handed to the sequencer whose completion has not run yet.
  std::atomic<int> in_flight{0};
  HttpMetrics metrics;
  std::shared_ptr<spdlog::logger> access;  // null without options.access_log
  bool running = false;
  // The Open311 catalog of the active ruleset, rebuilt when another is activated.
  std::mutex catalog_mu;
  uint64_t catalog_seq = 0;
  std::shared_ptr<const open311::Catalog> catalog;
  std::unique_ptr<Webhooks> webhooks;  // null in cluster mode
  // Cluster mode: publishes and fan-out requests wait for NATS on these threads, never on
  // the I/O threads.
  std::unique_ptr<net::thread_pool> cluster_pool;
  // Cluster mode: towns known to have an owner, and when that was last checked.
  std::mutex towns_mu;
  std::map<std::string, std::chrono::steady_clock::time_point> known_towns;

  void Accept();
  Result<std::shared_ptr<const open311::Catalog>> Catalog();
};

namespace {

// One connection. Requests are handled one at a time: the next is read only after
// the response to the last one is written.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server)
      : stream_(std::move(socket)), server_(server) {
    server_.metrics.ConnectionOpened();
  }
  ~Session() {
    if (feed_open_) server_.metrics.FeedClosed();
    server_.metrics.ConnectionClosed();
  }

  void Start() { Read(); }

  // Answers 503 at once and closes: the server holds its connection limit.
  void Refuse() {
    server_.metrics.ConnectionRefused();
    request_.version(11);
    request_.keep_alive(false);
    started_ = std::chrono::steady_clock::now();
    Send(Error(request_, Unavailable("too many connections; retry later")));
  }

 private:
  // Reads the header first, so the body limit can depend on the route. Beast checks a
  // declared Content-Length when the header completes, so the header is read under the
  // larger (batch) limit and the route's own limit is applied here.
  void Read() {
    parser_.emplace();
    const auto& o = server_.options;
    parser_->body_limit(std::max(o.max_body_bytes, o.max_batch_bytes));
    parser_->header_limit(static_cast<uint32_t>(o.max_header_bytes));
    stream_.expires_after(o.idle_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
          if (ec) return self->OnRead(ec, 0);
          const auto& opts = self->server_.options;
          const auto target = self->parser_->get().target();
          const size_t limit = target == "/v1/reports:batch" || target == "/v1/rules"
                                   ? opts.max_batch_bytes
                                   : opts.max_body_bytes;
          // The declared length, read from the field (Beast's optional-returning accessor
          // trips GCC's -Wmaybe-uninitialized at some optimisation levels).
          const auto field = self->parser_->get()[http::field::content_length];
          uint64_t declared = 0;
          std::from_chars(field.data(), field.data() + field.size(), declared);
          if (declared > limit) return self->OnRead(http::error::body_limit, 0);
          self->parser_->body_limit(limit);
          http::async_read(self->stream_, self->buffer_, *self->parser_,
                           beast::bind_front_handler(&Session::OnRead, self));
        });
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      return Close();
    }
    Request req = parser_->release();
    started_ = std::chrono::steady_clock::now();
    route_ = Route::kOther;
    if (ec) {
      // After a framing error the connection cannot be trusted: answer and close.
      req.version(11);
      req.keep_alive(false);
      if (ec == http::error::body_limit) {
        return Send(Error(req, InvalidArgument("request body too large")),
                    http::status::payload_too_large);
      }
      if (ec == http::error::header_limit) {
        return Send(Error(req, InvalidArgument("request header too large")),
                    http::status::request_header_fields_too_large);
      }
      return Send(Error(req, InvalidArgument("malformed HTTP request: " + ec.message())));
    }
    Handle(std::move(req));
  }

  void Handle(Request req) {
    request_ = std::move(req);
    auto url = boost::urls::parse_origin_form(request_.target());
    if (!url) return Send(Error(request_, InvalidArgument("malformed request target")));
    std::vector<std::string> path(url->segments().begin(), url->segments().end());
    const auto method = request_.method();
    const auto at = [&](size_t i) -> std::string_view {
      return i < path.size() ? std::string_view(path[i]) : std::string_view();
    };
    if (path.size() == 1 && (at(0) == "healthz" || at(0) == "readyz" || at(0) == "metrics")) {
      route_ = at(0) == "healthz"  ? Route::kHealthz
               : at(0) == "readyz" ? Route::kReadyz
                                   : Route::kMetrics;
      if (method != http::verb::get) return MethodNotAllowed("GET");
      return HandleOpen();
    }
    if (server_.cluster) return HandleCluster(*url, path);
    if (path.empty() || at(0) == "ui") {
      route_ = Route::kDashboard;
      if (method != http::verb::get && method != http::verb::head) {
        return MethodNotAllowed("GET, HEAD");
      }
      return ServeDashboard(path);
    }
    if (at(0) == "open311") {
      route_ = Route::kOpen311;
      if (at(1) != "v2")
        return Send(Error(request_, NotFound("no such route; Open311 is at /open311/v2/")));
      return HandleOpen311(std::vector<std::string>(path.begin() + 2, path.end()), *url);
    }
    if (path.size() < 2 || at(0) != "v1") return Send(Error(request_, NotFound("no such route")));
    if (at(1) == "me" && path.size() == 2) route_ = Route::kMe;
    if (at(1) == "feed" && path.size() == 2) route_ = Route::kFeed;
    if (at(1) == "webhooks" && (path.size() == 2 || (path.size() == 3 && !path[2].empty()) ||
                                (path.size() == 4 && at(3) == "resume"))) {
      route_ = Route::kWebhooks;
    }
    if (at(1) == "reports" && path.size() == 2) route_ = Route::kReports;
    if (at(1) == "reports:batch" && path.size() == 2) route_ = Route::kBatch;
    if (at(1) == "rules" && path.size() == 2) route_ = Route::kRules;
    if (at(1) == "stats" && path.size() == 2) route_ = Route::kStats;
    if (at(1) == "cases" && path.size() == 2) route_ = Route::kCases;
    if (at(1) == "cases" && path.size() == 3 && !path[2].empty()) route_ = Route::kCase;
    if (at(1) == "cases" && path.size() == 4 && at(3) == "transitions" && !path[2].empty()) {
      route_ = Route::kTransitions;
    }
    if (at(1) == "cases" && path.size() == 4 && at(3) == "explain" && !path[2].empty()) {
      route_ = Route::kExplain;
    }
    if (at(1) == "audit" && path.size() == 3 && (at(2) == "chain" || at(2) == "what-if")) {
      route_ = Route::kAudit;
    }
    if (route_ == Route::kOther) return Send(Error(request_, NotFound("no such route")));
    if (route_ == Route::kCase || route_ == Route::kTransitions || route_ == Route::kExplain) {
      Status bad = CaseIdInPath(path[2]);
      if (!bad.ok()) return Send(Error(request_, bad));
    }
    auto actor = Authenticate();
    if (!actor) return;
    if (Status bad = CheckContentType(); !bad.ok()) {
      return Send(Error(request_, bad), http::status::unsupported_media_type);
    }
    switch (route_) {
      case Route::kReports:
        if (method != http::verb::post) return MethodNotAllowed("POST");
        return PostReport(*actor);
      case Route::kBatch:
        if (method != http::verb::post) return MethodNotAllowed("POST");
        return PostBatch(*actor);
      case Route::kCases:
        if (method != http::verb::get) return MethodNotAllowed("GET");
        return ListCases(*actor, url->params());
      case Route::kCase:
        if (method != http::verb::get) return MethodNotAllowed("GET");
        return GetCase(*actor, path[2]);
      case Route::kStats:
        if (method != http::verb::get) return MethodNotAllowed("GET");
        return GetStats(*actor, url->params());
      case Route::kMe:
        if (method != http::verb::get) return MethodNotAllowed("GET");
        return GetMe(*actor);
      case Route::kFeed:
        if (method != http::verb::get) return MethodNotAllowed("GET");
        return GetFeed(*actor, url->params());
      case Route::kWebhooks:
        return HandleWebhooks(*actor, path);
      case Route::kTransitions:
        if (method != http::verb::post) return MethodNotAllowed("POST");
        return PostTransition(*actor, path[2]);
      case Route::kExplain:
        if (method != http::verb::get) return MethodNotAllowed("GET");
        if (!MayAudit(*actor)) return Send(Error(request_, AuditorsOnly()));
        return GetExplain(path[2]);
      case Route::kAudit:
        if (!MayAudit(*actor)) return Send(Error(request_, AuditorsOnly()));
        if (at(2) == "chain") {
          if (method != http::verb::get) return MethodNotAllowed("GET");
          return GetChain();
        }
        if (method != http::verb::post) return MethodNotAllowed("POST");
        return PostWhatIf(url->params());
      default:
        if (method == http::verb::get) return GetRules();
        if (method == http::verb::put) return PutRules(*actor);
        return MethodNotAllowed("GET, PUT");
    }
  }

  // ---- An HTTP node in cluster mode (docs/scale-out.md) ----

  // Reports and transitions are published to their town's subject; stats fan out to the
  // towns' engines. Everything that reads one case or the log is an engine's business,
  // and answers 501 here.
  void HandleCluster(boost::urls::url_view url, const std::vector<std::string>& path) {
    const auto at = [&](size_t i) -> std::string_view {
      return i < path.size() ? std::string_view(path[i]) : std::string_view();
    };
    const auto method = request_.method();
    const bool v1 = path.size() >= 2 && at(0) == "v1";
    if (v1 && path.size() == 2 && at(1) == "reports") route_ = Route::kReports;
    if (v1 && path.size() == 2 && at(1) == "stats") route_ = Route::kStats;
    if (v1 && path.size() == 2 && at(1) == "me") route_ = Route::kMe;
    if (v1 && path.size() == 4 && at(1) == "cases" && at(3) == "transitions") {
      route_ = Route::kTransitions;
    }
    if (route_ == Route::kOther) {
      const bool known = path.empty() || at(0) == "ui" || at(0) == "open311" || v1;
      if (!known) return Send(Error(request_, NotFound("no such route")));
      return Send(Error(request_, Status(StatusCode::kFailedPrecondition,
                                         "not served by an HTTP node in cluster mode: this node "
                                         "takes reports, transitions and stats (docs/scale-out.md)",
                                         "route")),
                  http::status::not_implemented);
    }
    if (route_ == Route::kTransitions) {
      if (Status bad = CaseIdInPath(path[2]); !bad.ok()) return Send(Error(request_, bad));
    }
    auto actor = Authenticate();
    if (!actor) return;
    if (Status bad = CheckContentType(); !bad.ok()) {
      return Send(Error(request_, bad), http::status::unsupported_media_type);
    }
    if (route_ == Route::kMe || route_ == Route::kStats) {
      if (method != http::verb::get) return MethodNotAllowed("GET");
      return route_ == Route::kMe ? GetMe(*actor) : ClusterStats(*actor, url.params());
    }
    if (method != http::verb::post) return MethodNotAllowed("POST");
    std::string town;
    if (auto it = url.params().find("town"); it != url.params().end()) town = (*it).value;
    if (town.empty()) {
      return Send(Error(request_, InvalidArgument("name the town: ?town=NAME", "town")));
    }
    if (Status bad = cluster::ValidateTown(town); !bad.ok()) return Send(Error(request_, bad));
    if (route_ == Route::kReports) return ClusterPostReport(*actor, town);
    return ClusterPostTransition(*actor, path[2], town);
  }

  void ClusterPostReport(const engine::Actor& actor, const std::string& town) {
    engine::Report report;
    const TimeMs now = server_.clock.Now();
    if (Status bad = ReadReport(actor, now, report); !bad.ok()) return Send(Error(request_, bad));
    std::string id = report.client_id;
    // JetStream drops a message whose id it saw in its duplicate window: the id is the
    // report's idempotency key, the client id in its reporter's namespace.
    const std::string msg_id = "r-" + actor.id + "-" + id;
    Publish(town, engine::Command{actor, now, std::move(report)}, msg_id, json::object{{"id", id}});
  }

  void ClusterPostTransition(const engine::Actor& actor, const std::string& id,
                             const std::string& town) {
    engine::Transition t;
    DecodeError error;
    if (!decoder_.DecodeTransitionBody(request_.body(), t, error)) {
      return Send(Error(request_, error.status));
    }
    t.case_id = id;
    std::string msg_id;
    if (auto key = request_.find("Idempotency-Key"); key != request_.end()) {
      if (key->value().empty() || key->value().size() > 200) {
        return Send(Error(request_, InvalidArgument("Idempotency-Key must be 1-200 characters",
                                                    "Idempotency-Key")));
      }
      msg_id = "t-" + actor.id + "-" + std::string(key->value());
    }
    const std::string action(engine::ActionName(t.action));
    Publish(town, engine::Command{actor, server_.clock.Now(), std::move(t)}, msg_id,
            json::object{{"case_id", id}, {"action", action}});
  }

  // Publishes and answers 202 once JetStream has the command on a majority of the
  // stream's replicas: the command will be applied by the town's engine, in stream order.
  void Publish(const std::string& town, const engine::Command& command, const std::string& msg_id,
               json::object body) {
    OffLoop([town, msg_id, body = std::move(body), data = EncodeCommand(command),
             received = FormatRfc3339(*command.at)](
                HttpServer::Impl& server) mutable -> Result<std::pair<http::status, json::object>> {
      WANGGE_RETURN_IF_ERROR(CheckTown(server, town));
      WANGGE_ASSIGN_OR_RETURN(auto ack, server.cluster->Publish(town, data, msg_id));
      body["town"] = town;
      body["stream_seq"] = ack.stream_seq;
      body["duplicate"] = ack.duplicate;
      body["received_at"] = received;
      body["status"] = "queued";
      return std::make_pair(http::status::accepted, std::move(body));
    });
  }

  // A town with no owning engine would take commands nobody applies.
  static Status CheckTown(HttpServer::Impl& server, const std::string& town) {
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(server.towns_mu);
      auto it = server.known_towns.find(town);
      if (it != server.known_towns.end() && now - it->second < std::chrono::seconds(10)) {
        return Status::Ok();
      }
    }
    WANGGE_ASSIGN_OR_RETURN(auto owner, server.cluster->Owner(town));
    if (!owner) return NotFound("no engine instance owns town " + town);
    std::lock_guard lock(server.towns_mu);
    server.known_towns[town] = now;
    return Status::Ok();
  }

  // GET /v1/stats: every town's raw rows, added up; the same figures one node holding
  // every town would give.
  void ClusterStats(const engine::Actor& actor, boost::urls::params_view params) {
    StatsParams p;
    engine::StatsQuery q;
    if (Status bad = StatsRequest(actor, params, p, q); !bad.ok())
      return Send(Error(request_, bad));
    p.as_of = FormatRfc3339(q.as_of);  // one instant for every town
    OffLoop([p, q](HttpServer::Impl& server) -> Result<std::pair<http::status, json::object>> {
      WANGGE_ASSIGN_OR_RETURN(auto towns, server.cluster->StreamTowns());
      const std::string request = cluster::EncodeStatsRequest(p);
      std::vector<std::string> subjects;
      for (const auto& town : towns) subjects.push_back(std::string(cluster::kStatsPrefix) + town);
      WANGGE_ASSIGN_OR_RETURN(
          auto answers,
          server.cluster->RequestAll(subjects, request, server.cluster->options().timeout));
      engine::StatsResult total;
      for (size_t i = 0; i < towns.size(); ++i) {
        if (!answers[i]) {
          return Unavailable("town " + towns[i] +
                             " did not answer in time; the figures would be incomplete");
        }
        WANGGE_ASSIGN_OR_RETURN(auto part, cluster::DecodeStatsAnswer(*answers[i]));
        cluster::MergeStats(total, part);
      }
      json::object body = StatsJson(q, total);
      body["towns"] = towns.size();
      return std::make_pair(http::status::ok, std::move(body));
    });
  }

  // Runs `job` on the cluster pool and writes its answer from the connection's executor.
  template <typename Job>
  void OffLoop(Job job) {
    ++server_.in_flight;
    net::post(*server_.cluster_pool, [self = shared_from_this(), job = std::move(job)]() mutable {
      auto r = job(self->server_);
      net::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable {
        if (!r.ok()) return self->Send(Error(self->request_, r.status()));
        self->Send(Json(self->request_, r->first, r->second));
      });
      --self->server_.in_flight;
    });
  }

  // The routes that need no credential.
  void HandleOpen() {
    if (route_ == Route::kHealthz) {
      return Send(Json(request_, http::status::ok, json::object{{"status", "ok"}}));
    }
    if (route_ == Route::kReadyz) {
      json::object body{{"status", "ready"}};
      if (server_.engine) body["log_head"] = server_.engine->head().seq.value;
      if (server_.cluster) body["cluster"] = true;
      return Send(Json(request_, http::status::ok, body));
    }
    Response res{http::status::ok, request_.version()};
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.keep_alive(request_.keep_alive());
    res.body() = server_.metrics.Render(server_.engine) +
                 (server_.webhooks ? WebhookMetrics() : std::string());
    res.prepare_payload();
    Send(std::move(res));
  }

  // `/` redirects to the dashboard; /ui/NAME is an embedded file. Every answer may be
  // cached but must be revalidated (ETag), so a new binary's files are seen at once.
  void ServeDashboard(const std::vector<std::string>& path) {
    if (path.size() < 2) {
      Response res{http::status::found, request_.version()};
      res.set(http::field::location, "/ui/");
      res.keep_alive(request_.keep_alive());
      res.prepare_payload();
      return Send(std::move(res));
    }
    std::string name;
    for (size_t i = 1; i < path.size(); ++i) name += (i > 1 ? "/" : "") + path[i];
    const DashboardAsset* asset = FindDashboardAsset(name);
    if (asset == nullptr) return Send(Error(request_, NotFound("no such file in the dashboard")));
    const auto match = request_.find(http::field::if_none_match);
    const bool fresh = match != request_.end() &&
                       std::string_view(match->value()).find(asset->etag) != std::string_view::npos;
    Response res{fresh ? http::status::not_modified : http::status::ok, request_.version()};
    res.set(http::field::etag, asset->etag);
    res.set(http::field::cache_control, "no-cache");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
    res.set("Content-Security-Policy", kDashboardPolicy);
    res.keep_alive(request_.keep_alive());
    if (fresh) return Send(std::move(res));
    res.set(http::field::content_type, asset->content_type);
    if (request_.method() == http::verb::head) {
      res.content_length(asset->body.size());
    } else {
      res.body() = std::string(asset->body);
      res.prepare_payload();
    }
    Send(std::move(res));
  }

  // ---- GET /v1/feed: Server-Sent Events, or a JSON long-poll (feed.h) ----

  void GetFeed(const engine::Actor& actor, boost::urls::params_view params) {
    FeedQuery q;
    if (Status bad = ParseFeedQuery(params, q); !bad.ok()) return Send(Error(request_, bad));
    if (actor.role == engine::Role::kHandler && !q.filter.office.empty() &&
        q.filter.office != actor.office) {
      return Send(Error(request_, PermissionDenied("a handler follows only their own office")));
    }
    q.filter.actor = actor;
    // A reconnecting EventSource names the last event it saw; that wins over `after`.
    const auto last_id = request_["Last-Event-ID"];
    if (!last_id.empty()) {
      uint64_t seq = 0;
      auto [p, ec] = std::from_chars(last_id.data(), last_id.data() + last_id.size(), seq);
      if (ec != std::errc() || p != last_id.data() + last_id.size()) {
        return Send(Error(
            request_, InvalidArgument("Last-Event-ID must be a sequence number", "Last-Event-ID")));
      }
      q.after = seq;
    }
    feed_ = std::make_unique<FeedState>(std::move(q), server_.engine->head().seq.value,
                                        stream_.get_executor());
    if (request_[http::field::accept].find("text/event-stream") != std::string_view::npos) {
      return StartEventStream();
    }
    feed_->deadline = std::chrono::steady_clock::now() + feed_->query.wait;
    PollFeed();
  }

  struct FeedState {
    FeedState(FeedQuery q, uint64_t head, net::any_io_executor ex)
        : query(std::move(q)), cursor(query.after.value_or(head)), timer(ex) {}
    FeedQuery query;
    uint64_t cursor;  // the last sequence sent or skipped
    net::steady_timer timer;
    std::chrono::steady_clock::time_point deadline;   // long-poll
    std::chrono::steady_clock::time_point last_sent;  // event stream: for heartbeats
    std::string out;                                  // the bytes being written
  };
  static constexpr auto kFeedPoll = std::chrono::milliseconds(100);
  static constexpr size_t kFeedBatch = 256;
  static constexpr size_t kFeedExamine = 4096;

  // Long-poll: answers with what is there, or waits (polling the head) until something
  // is or the wait is over.
  void PollFeed() {
    auto batch = ReadFeed(*server_.engine, feed_->query.filter, feed_->cursor, feed_->query.limit,
                          kFeedExamine);
    if (!batch.ok()) return Send(Error(request_, batch.status()));
    feed_->cursor = batch->last;
    const bool caught_up = feed_->cursor >= server_.engine->head().seq.value;
    if (batch->events.empty() && caught_up && std::chrono::steady_clock::now() < feed_->deadline) {
      feed_->timer.expires_after(kFeedPoll);
      return feed_->timer.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (!ec) self->PollFeed();
      });
    }
    std::string records = "[";
    for (const auto& e : batch->events) records += (records.size() > 1 ? "," : "") + e.json;
    records += "]";
    Response res{http::status::ok, request_.version()};
    res.set(http::field::content_type, "application/json");
    res.keep_alive(request_.keep_alive());
    res.body() = "{\"records\":" + records + ",\"next\":" + std::to_string(feed_->cursor) +
                 ",\"head\":" + std::to_string(server_.engine->head().seq.value) + "}";
    res.prepare_payload();
    feed_.reset();
    Send(std::move(res));
  }

  // Server-Sent Events: the header, then events as they are read, one batch in flight at
  // a time; a comment line every 15 s of quiet keeps proxies from closing the stream.
  // The stream ends when the client goes or the server stops.
  void StartEventStream() {
    const uint64_t id = server_.next_request++;
    server_.metrics.Record(route_, 200, std::chrono::steady_clock::now() - started_);
    feed_->out =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
        "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\nConnection: close\r\n"
        "X-Request-Id: " +
        std::to_string(id) + "\r\nServer: wangge\r\n\r\nretry: 2000\n\n";
    server_.metrics.FeedOpened();
    feed_open_ = true;
    WriteFeed();
  }

  void WriteFeed() {
    feed_->last_sent = std::chrono::steady_clock::now();
    server_.metrics.FeedBuffered(static_cast<int64_t>(feed_->out.size()));
    stream_.expires_after(server_.options.feed_write_timeout);
    net::async_write(
        stream_, net::buffer(feed_->out),
        [self = shared_from_this()](beast::error_code ec, size_t) {
          self->server_.metrics.FeedBuffered(-static_cast<int64_t>(self->feed_->out.size()));
          if (ec) return self->Close();
          self->feed_->out.clear();
          self->PumpFeed();
        });
  }

  void PumpFeed() {
    auto batch =
        ReadFeed(*server_.engine, feed_->query.filter, feed_->cursor, kFeedBatch, kFeedExamine);
    if (!batch.ok()) {
      spdlog::warn("feed: {}", batch.status().ToString());
      return Close();
    }
    feed_->cursor = batch->last;
    for (const auto& e : batch->events) {
      feed_->out += "id: " + std::to_string(e.seq) + "\nevent: record\ndata: " + e.json + "\n\n";
    }
    server_.metrics.FeedSent(batch->events.size());
    if (!feed_->out.empty()) return WriteFeed();
    if (std::chrono::steady_clock::now() - feed_->last_sent >= server_.options.feed_heartbeat) {
      feed_->out = ": keepalive\n\n";
      return WriteFeed();
    }
    if (feed_->cursor < server_.engine->head().seq.value) return PumpFeed();  // only skipped
    feed_->timer.expires_after(kFeedPoll);
    feed_->timer.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->PumpFeed();
    });
  }

  // ---- /v1/webhooks (webhooks.h) ----

  static json::object WebhookJson(const Webhook& w) {
    json::object o{{"office", w.office},        {"url", w.url},
                   {"delivered", w.delivered},  {"deliveries", w.deliveries},
                   {"failures", w.failures},    {"paused", w.paused},
                   {"last_error", w.last_error}};
    o["next_attempt"] =
        w.next_attempt ? json::value(FormatRfc3339(TimeMs{w.next_attempt})) : json::value(nullptr);
    return o;  // never the secret
  }

  // GET /v1/webhooks lists; PUT and DELETE /v1/webhooks/{office} register and remove;
  // POST /v1/webhooks/{office}/resume resumes a paused one. Admins for any office, a
  // handler for their own; supervisors and auditors may list.
  void HandleWebhooks(const engine::Actor& actor, const std::vector<std::string>& path) {
    Webhooks& hooks = *server_.webhooks;
    const auto method = request_.method();
    if (path.size() == 2) {
      if (method != http::verb::get) return MethodNotAllowed("GET");
      if (actor.role == engine::Role::kWorker) {
        return Send(Error(request_, PermissionDenied("workers have no webhooks")));
      }
      json::array list;
      for (const auto& w : hooks.List()) {
        if (actor.role != engine::Role::kHandler || w.office == actor.office) {
          list.push_back(WebhookJson(w));
        }
      }
      return Send(Json(request_, http::status::ok, json::object{{"webhooks", std::move(list)}}));
    }
    const std::string& office = path[2];
    const bool may = actor.role == engine::Role::kAdmin ||
                     (actor.role == engine::Role::kHandler && actor.office == office);
    if (!may) {
      return Send(Error(request_, PermissionDenied("only an admin or the office's handlers "
                                                   "manage its webhook")));
    }
    if (path.size() == 4) {
      if (method != http::verb::post) return MethodNotAllowed("POST");
      auto w = hooks.Resume(office);
      if (!w.ok()) return Send(Error(request_, w.status()));
      return Send(Json(request_, http::status::ok, WebhookJson(*w)));
    }
    if (method == http::verb::delete_) {
      if (Status s = hooks.Remove(office); !s.ok()) return Send(Error(request_, s));
      return Send(Json(request_, http::status::ok, json::object{{"removed", office}}));
    }
    if (method != http::verb::put) return MethodNotAllowed("PUT, DELETE");
    if (!server_.engine->active_rules()->FindOffice(office)) {
      return Send(Error(request_, NotFound("no office " + office + " in the active ruleset")));
    }
    std::string url, secret;
    if (Status s = ParseWebhookBody(request_.body(), url, secret); !s.ok()) {
      return Send(Error(request_, s));
    }
    auto w = hooks.Put(office, url, secret);
    if (!w.ok()) return Send(Error(request_, w.status()));
    Send(Json(request_, http::status::ok, WebhookJson(*w)));
  }

  // {"url": "http://…", "secret": "…"}, nothing else.
  static Status ParseWebhookBody(const std::string& body, std::string& url, std::string& secret) {
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

  // GET /v1/me: who the token belongs to, so a client can tell what it may show.
  void GetMe(const engine::Actor& actor) {
    json::object body{{"actor", actor.id}, {"role", std::string(engine::RoleName(actor.role))}};
    if (!actor.office.empty()) body["office"] = actor.office;
    Send(Json(request_, http::status::ok, body));
  }

  std::string WebhookMetrics() const {
    std::string out =
        "# HELP wangge_webhook_delivered_seq The last sequence delivered to the office's "
        "webhook.\n# TYPE wangge_webhook_delivered_seq gauge\n";
    std::string failures =
        "# HELP wangge_webhook_failures Failed deliveries in a row.\n"
        "# TYPE wangge_webhook_failures gauge\n";
    std::string paused =
        "# HELP wangge_webhook_paused 1 when the webhook is paused after repeated failures.\n"
        "# TYPE wangge_webhook_paused gauge\n";
    for (const auto& w : server_.webhooks->List()) {
      const std::string label = "{office=\"" + w.office + "\"} ";
      out += "wangge_webhook_delivered_seq" + label + std::to_string(w.delivered) + "\n";
      failures += "wangge_webhook_failures" + label + std::to_string(w.failures) + "\n";
      paused += "wangge_webhook_paused" + label + (w.paused ? "1" : "0") + "\n";
    }
    return out + failures + paused;
  }

  static Status CaseIdInPath(std::string_view id) {
    WANGGE_RETURN_IF_ERROR(engine::ValidateCaseId(id));
    if (!simdjson::validate_utf8(id.data(), id.size())) {
      return InvalidArgument("case_id is not valid UTF-8", "case_id");
    }
    return Status::Ok();
  }

  // A body's Content-Type, when given, must be what the route reads: JSON (application/json
  // or a +json type), or for a batch NDJSON; in UTF-8. Without one the body is read as
  // what the route expects (devices in the field send none).
  Status CheckContentType() const {
    const auto it = request_.find(http::field::content_type);
    if (it == request_.end() || request_.body().empty()) return Status::Ok();
    std::string value(it->value().data(), it->value().size());
    std::transform(value.begin(), value.end(), value.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    value.erase(std::remove(value.begin(), value.end(), ' '), value.end());
    const size_t semi = value.find(';');
    const std::string type = value.substr(0, semi);
    const std::string params = semi == std::string::npos ? "" : value.substr(semi + 1);
    const bool json =
        type == "application/json" || (type.starts_with("application/") && type.ends_with("+json"));
    const bool ndjson = type == "application/x-ndjson" || type == "application/jsonl";
    if (!(json || (route_ == Route::kBatch && ndjson))) {
      return InvalidArgument(
          "Content-Type " + type + " is not accepted here; send " +
              (route_ == Route::kBatch ? "application/x-ndjson" : "application/json"),
          "Content-Type");
    }
    if (!params.empty() && params != "charset=utf-8") {
      return InvalidArgument("the body must be UTF-8 (charset=utf-8)", "Content-Type");
    }
    return Status::Ok();
  }

  std::optional<engine::Actor> Authenticate() {
    auto it = request_.find(http::field::authorization);
    if (it == request_.end()) {
      Send(Error(request_, Status(StatusCode::kUnauthenticated, "missing bearer token")));
      return std::nullopt;
    }
    if (request_.count(http::field::authorization) > 1) {
      Send(Error(request_, InvalidArgument("more than one Authorization header")));
      return std::nullopt;
    }
    std::string_view value(it->value().data(), it->value().size());
    auto actor = value.starts_with("Bearer ") ? server_.tokens.Find(value.substr(7)) : std::nullopt;
    if (!actor) {
      Send(Error(request_, Status(StatusCode::kUnauthenticated, "unknown or malformed token")));
    } else {
      actor_id_ = actor->id;
    }
    return actor;
  }

  // The report in the request body, by a grid worker, not dated ahead of `now` by more
  // than the allowed clock skew.
  Status ReadReport(const engine::Actor& actor, TimeMs now, engine::Report& report) {
    if (actor.role != engine::Role::kWorker) {
      return PermissionDenied("only grid workers post reports");
    }
    DecodeError error;
    if (!decoder_.DecodeReportBody(request_.body(), report, error)) return error.status;
    if (report.reported_at.ms > now.ms + server_.options.max_clock_skew.count() * 60'000) {
      return InvalidArgument("reported_at is in the future", "reported_at");
    }
    return Status::Ok();
  }

  void PostReport(const engine::Actor& actor) {
    engine::Report report;
    const TimeMs now = server_.clock.Now();
    if (Status bad = ReadReport(actor, now, report); !bad.ok()) return Send(Error(request_, bad));
    Submit(engine::Command{actor, std::nullopt, std::move(report)});
  }

  // NDJSON, one report a line. Valid lines are submitted even when others fail; the
  // answer lists every line's outcome once all submitted lines are durable.
  void PostBatch(const engine::Actor& actor) {
    if (actor.role != engine::Role::kWorker) {
      return Send(Error(request_, PermissionDenied("only grid workers post reports")));
    }
    struct Outcomes {
      std::mutex mu;
      json::array results;
      int pending = 0;
      uint64_t created = 0, duplicates = 0, errors = 0;
      std::optional<StatusCode> server_failure;  // a line refused for want of disk or queue
    };
    auto outcomes = std::make_shared<Outcomes>();
    std::vector<std::pair<size_t, engine::Command>> commands;
    std::string_view body = request_.body();
    size_t line_no = 0;
    const TimeMs now = server_.clock.Now();
    while (!body.empty()) {
      const size_t end = body.find('\n');
      std::string_view line = body.substr(0, end);
      body = end == std::string_view::npos ? std::string_view() : body.substr(end + 1);
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      if (commands.size() + outcomes->errors >= server_.options.max_batch_lines) {
        return Send(
            Error(request_,
                  InvalidArgument("more than " + std::to_string(server_.options.max_batch_lines) +
                                  " lines in one batch")));
      }
      engine::Report report;
      DecodeError error;
      Status problem;
      if (!decoder_.DecodeReportBody(line, report, error)) {
        problem = error.status;
      } else if (report.reported_at.ms > now.ms + server_.options.max_clock_skew.count() * 60'000) {
        problem = InvalidArgument("reported_at is in the future", "reported_at");
      }
      if (!problem.ok()) {
        json::object e{{"code", std::string(StatusCodeName(problem.code()))},
                       {"message", problem.message()}};
        if (!problem.field().empty()) e["field"] = problem.field();
        outcomes->results.push_back(
            json::object{{"line", line_no}, {"status", "error"}, {"error", std::move(e)}});
        ++outcomes->errors;
        continue;
      }
      commands.emplace_back(line_no, engine::Command{actor, std::nullopt, std::move(report)});
    }
    if (commands.empty()) return FinishBatch(outcomes);
    outcomes->pending = static_cast<int>(commands.size());
    ++server_.in_flight;
    for (auto& item : commands) {
      // A plain variable: clang 14 cannot capture a structured binding in a lambda.
      const size_t line = item.first;
      engine::Command& command = item.second;
      server_.engine->sequencer().Submit(std::move(command), [self = shared_from_this(), outcomes,
                                                              line](Result<engine::Outcome> r) {
        std::lock_guard lock(outcomes->mu);
        json::object o{{"line", line}};
        if (r.ok()) {
          const bool created = r->kind == engine::Outcome::Kind::kCreated;
          (created ? outcomes->created : outcomes->duplicates)++;
          o["status"] = created ? "created" : "duplicate";
          o["case_id"] = r->state.report.client_id;  // the worker's own address for it
          o["seq"] = r->seq.value;
          o["office"] = r->state.office;
        } else {
          ++outcomes->errors;
          if (static_cast<int>(HttpStatusOf(r.status().code())) >= 500) {
            outcomes->server_failure = r.status().code();
          }
          o["status"] = "error";
          json::object e{{"code", std::string(StatusCodeName(r.status().code()))},
                         {"message", r.status().message()}};
          if (!r.status().field().empty()) e["field"] = r.status().field();
          o["error"] = std::move(e);
        }
        outcomes->results.push_back(std::move(o));
        if (--outcomes->pending == 0) {
          net::post(self->stream_.get_executor(),
                    [self, outcomes] { self->FinishBatch(outcomes); });
          --self->server_.in_flight;
        }
      });
    }
  }

  template <typename Outcomes>
  void FinishBatch(const std::shared_ptr<Outcomes>& outcomes) {
    std::lock_guard lock(outcomes->mu);
    std::sort(outcomes->results.begin(), outcomes->results.end(),
              [](const json::value& a, const json::value& b) {
                return a.at("line").to_number<int64_t>() < b.at("line").to_number<int64_t>();
              });
    // Nothing stored because the server could not write (disk full, queue full): the
    // batch answers with that status, so a client's retry policy sees it.
    const bool none_stored = outcomes->created + outcomes->duplicates == 0;
    const auto status = none_stored && outcomes->server_failure
                            ? HttpStatusOf(*outcomes->server_failure)
                            : http::status::ok;
    Response res = Json(request_, status,
                        json::object{{"created", outcomes->created},
                                     {"duplicates", outcomes->duplicates},
                                     {"errors", outcomes->errors},
                                     {"results", outcomes->results}});
    SetRetryAfter(res);
    Send(std::move(res));
  }

  void PostTransition(const engine::Actor& actor, const std::string& id) {
    engine::Transition t;
    DecodeError error;
    if (!decoder_.DecodeTransitionBody(request_.body(), t, error)) {
      return Send(Error(request_, error.status));
    }
    // A case the actor may not see answers as if it did not exist.
    auto existing = server_.engine->FindCase(actor, id);
    if (!existing.ok()) return Send(Error(request_, existing.status()));
    if (!*existing) return Send(Error(request_, NotFound("no case " + id)));
    t.case_id = (*existing)->id;
    Submit(engine::Command{actor, std::nullopt, std::move(t)});
  }

  void GetCase(const engine::Actor& actor, const std::string& id) {
    auto c = server_.engine->FindCase(actor, id);
    if (!c.ok()) return Send(Error(request_, c.status()));
    if (!*c) return Send(Error(request_, NotFound("no case " + id)));
    auto steps = server_.engine->CaseHistory((*c)->id);
    if (!steps.ok()) return Send(Error(request_, steps.status()));
    // The state after the last step read, so that state and history agree even when
    // a commit lands between the two reads.
    json::object body = CaseJson(actor, steps->empty() ? **c : steps->back().after);
    json::array history;
    for (const auto& step : *steps) history.push_back(StepJson(step));
    body["history"] = std::move(history);
    Send(Json(request_, http::status::ok, body));
  }

  // GET /v1/cases: a page of the cases the actor may see, through the indexes.
  void ListCases(const engine::Actor& actor, boost::urls::params_view params) {
    engine::CaseQuery q;
    q.as_of = server_.clock.Now();
    Status bad = ParseListQuery(params, q);
    if (!bad.ok()) return Send(Error(request_, bad));
    if (actor.role == engine::Role::kWorker) q.reporter = actor.id;
    if (actor.role == engine::Role::kHandler) {
      if (!q.office.empty() && q.office != actor.office) {
        return Send(
            Error(request_, PermissionDenied("a handler lists only their own office's cases")));
      }
      q.office = actor.office;
    }
    auto page = server_.engine->ListCases(q);
    if (!page.ok()) return Send(Error(request_, page.status()));
    json::array cases;
    for (const auto& c : page->cases) cases.push_back(CaseJson(actor, c));
    json::object body{{"cases", std::move(cases)}};
    if (!page->next.empty()) body["next"] = page->next;
    Send(Json(request_, http::status::ok, body));
  }

  // The stats query of a request, by the rules of GET /v1/stats: supervisors, auditors
  // and admins read everything, handlers their own office's figures, workers none.
  Status StatsRequest(const engine::Actor& actor, boost::urls::params_view params, StatsParams& p,
                      engine::StatsQuery& q) const {
    if (actor.role == engine::Role::kWorker) {
      return PermissionDenied("workers do not read statistics");
    }
    WANGGE_RETURN_IF_ERROR(ParseStatsParams(params, p));
    if (actor.role == engine::Role::kHandler) {
      if ((!p.office.empty() && p.office != actor.office) || !p.village.empty() ||
          !p.category.empty()) {
        return PermissionDenied("a handler reads only their own office's figures (filter: office)");
      }
      p.office = actor.office;
    }
    return BuildStatsQuery(p, server_.clock.Now(), q);
  }

  // GET /v1/stats: supervision figures (engine/stats.h). Handlers see their office's.
  void GetStats(const engine::Actor& actor, boost::urls::params_view params) {
    StatsParams p;
    engine::StatsQuery q;
    if (Status bad = StatsRequest(actor, params, p, q); !bad.ok())
      return Send(Error(request_, bad));
    auto result = server_.engine->Stats(q);
    if (!result.ok()) return Send(Error(request_, result.status()));
    Send(Json(request_, http::status::ok, StatsJson(q, *result)));
  }

  // GET /v1/rules: the active ruleset and the record that activated it.
  void GetRules() {
    auto record = server_.engine->ActiveRulesRecord();
    if (!record.ok()) return Send(Error(request_, record.status()));
    if (!*record) return Send(Error(request_, NotFound("no ruleset was ever activated")));
    const auto& a = std::get<engine::RulesActivation>((*record)->body);
    boost::system::error_code ec;
    json::value ruleset = json::parse(a.ruleset, ec);
    if (ec) return Send(Error(request_, Internal("the active ruleset is not JSON")));
    Send(Json(request_, http::status::ok,
              json::object{{"version", a.version},
                           {"activated_seq", (*record)->seq.value},
                           {"activated_at", FormatRfc3339((*record)->at)},
                           {"activated_by", (*record)->actor.id},
                           {"ruleset", std::move(ruleset)}}));
  }

  // PUT /v1/rules: activates the body as the ruleset, keeping the active calendar.
  static bool MayAudit(const engine::Actor& actor) {
    return actor.role == engine::Role::kAuditor || actor.role == engine::Role::kSupervisor ||
           actor.role == engine::Role::kAdmin;
  }
  static Status AuditorsOnly() {
    return PermissionDenied("only auditors, supervisors and admins read the audit");
  }

  // GET /v1/cases/{id}/explain: the report's routing re-derived under its ruleset.
  void GetExplain(const std::string& id) {
    auto steps = server_.engine->CaseHistory(id);
    if (!steps.ok()) return Send(Error(request_, steps.status()));
    if (steps->empty()) return Send(Error(request_, NotFound("no case " + id)));
    const engine::Record& report = steps->front().record;
    auto explained = audit::ExplainRouting(server_.engine->log(), report);
    if (!explained.ok()) return Send(Error(request_, explained.status()));
    Send(Json(request_, http::status::ok, ExplainJson(report, *explained)));
  }

  // GET /v1/audit/chain: a walk of the whole hash chain (~2M records/s: it holds this
  // I/O thread for that long).
  void GetChain() {
    auto report = server_.engine->log().Verify();
    if (!report.ok()) return Send(Error(request_, report.status()));
    Send(Json(request_, http::status::ok, ChainJson(*report)));
  }

  // POST /v1/audit/what-if?from=&to=: the body is a ruleset, judged against the
  // recorded reports under the active calendar. Writes nothing.
  void PostWhatIf(boost::urls::params_view params) {
    audit::WhatIfOptions options;
    Status bad = ForEachParam(params, [&](const std::string& key, const std::string& value) {
      if (key != "from" && key != "to") return InvalidArgument("unknown query parameter", key);
      if (value.empty()) return InvalidArgument("empty; give a date or an RFC 3339 time", key);
      auto t = ParseTimeBound(value, key == "from" ? "from" : "to");
      if (!t.ok()) return t.status();
      (key == "from" ? options.from : options.to) = *t;
      return Status::Ok();
    });
    if (!bad.ok()) return Send(Error(request_, bad));
    if (options.from && options.to && *options.from >= *options.to) {
      return Send(Error(request_, InvalidArgument("from is not before to", "from")));
    }
    const auto active = server_.engine->active_rules();
    auto ruleset = rules::Ruleset::Load(request_.body(), "body", active->calendar());
    if (!ruleset.ok()) return Send(Error(request_, ruleset.status()));
    auto result = audit::WhatIf(server_.engine->log(), **ruleset, options);
    if (!result.ok()) return Send(Error(request_, result.status()));
    Send(Json(request_, http::status::ok, WhatIfJson(*result)));
  }

  void PutRules(const engine::Actor& actor) {
    if (actor.role != engine::Role::kAdmin) {
      return Send(Error(request_, PermissionDenied("only an admin may activate a ruleset")));
    }
    auto record = server_.engine->ActiveRulesRecord();
    if (!record.ok()) return Send(Error(request_, record.status()));
    std::string calendar;
    if (*record) calendar = std::get<engine::RulesActivation>((*record)->body).calendar;
    Submit(engine::Command{actor, std::nullopt,
                           engine::RulesActivation{request_.body(), std::move(calendar), ""}});
  }

  // Hands the command to the sequencer; the response is written from the connection's
  // executor once the command is durable (or refused), by Answer or by `then`.
  void Submit(engine::Command command,
              std::function<void(Session&, Result<engine::Outcome>)> then = nullptr) {
    ++server_.in_flight;
    engine::Actor actor = command.actor;
    server_.engine->sequencer().Submit(
        std::move(command), [self = shared_from_this(), then,
                             actor = std::move(actor)](Result<engine::Outcome> r) mutable {
          net::post(self->stream_.get_executor(),
                    [self, then, actor = std::move(actor), r = std::move(r)]() mutable {
                      then ? then(*self, std::move(r)) : self->Answer(actor, std::move(r));
                    });
          --self->server_.in_flight;
        });
  }

  // ---- Open311 GeoReport v2 (ingest/open311.h, docs/open311.md) ----

  void SendOpen311(open311::Format format, http::status status, const open311::Node& doc) {
    Response res{status, request_.version()};
    res.set(http::field::content_type, open311::ContentType(format));
    res.keep_alive(request_.keep_alive());
    res.body() = open311::Render(doc, format);
    res.prepare_payload();
    SetRetryAfter(res);
    Send(std::move(res));
  }

  // An error as the spec's error list, with the HTTP status as its code. (A bad api_key
  // is kPermissionDenied, so the spec's 403.)
  void Open311Error(open311::Format format, const Status& s) {
    const http::status status = HttpStatusOf(s.code());
    SendOpen311(format, status, open311::Errors(static_cast<int>(status), ValidUtf8(s.message())));
  }

  void HandleOpen311(const std::vector<std::string>& rest, boost::urls::url_view url) {
    open311::Target t;
    if (Status s = open311::ParseTarget(rest, t); !s.ok()) return Open311Error(t.format, s);
    const auto method = request_.method();
    const bool get = method == http::verb::get;
    if (t.resource == "requests" && t.id.empty()) {
      if (method == http::verb::post) return PostOpen311Request(t.format);
      if (!get) return MethodNotAllowed("GET, POST");
    } else if (!get) {
      return MethodNotAllowed("GET");
    }
    auto catalog = server_.Catalog();
    if (!catalog.ok()) return Open311Error(t.format, catalog.status());
    if (t.resource == "requests") {
      return GetOpen311Requests(t, **catalog, std::string(url.encoded_query()));
    }
    // discovery, services, tokens: only jurisdiction_id may be given, and a token's key.
    std::string jurisdiction, api_key;
    for (const auto& p : url.params()) {
      const bool key = t.resource == "tokens" && p.key == "api_key";
      if (p.key != "jurisdiction_id" && !key) {
        return Open311Error(t.format, InvalidArgument("unknown parameter " + p.key));
      }
      (key ? api_key : jurisdiction) = p.value;
    }
    if (Status s = CheckJurisdiction(jurisdiction); !s.ok()) return Open311Error(t.format, s);
    if (t.resource == "discovery") {
      const auto host = request_[http::field::host];
      auto record = server_.engine->ActiveRulesRecord();
      const std::string changeset = record.ok() && *record ? FormatRfc3339((*record)->at)
                                                           : FormatRfc3339(server_.clock.Now());
      return SendOpen311(
          t.format, http::status::ok,
          open311::Discovery("http://" + std::string(host) + "/open311/v2", changeset));
    }
    if (t.resource == "services") {
      if (t.id.empty())
        return SendOpen311(t.format, http::status::ok, open311::Services(**catalog));
      const auto* service = (*catalog)->FindService(t.id);
      if (!service)
        return Open311Error(t.format, NotFound("service_code " + t.id + " was not found"));
      return SendOpen311(t.format, http::status::ok,
                         open311::ServiceDefinition(**catalog, *service));
    }
    // tokens/{token}: wangge answers every POST at once, so a token is the request's id.
    auto reader = Open311Reader(api_key);
    if (!reader.ok()) return Open311Error(t.format, reader.status());
    auto c = FindOpen311(*reader, t.id);
    if (!c.ok()) return Open311Error(t.format, c.status());
    if (!*c || (*c)->report.channel != "open311") {
      return Open311Error(t.format, NotFound("token " + t.id + " was not found"));
    }
    SendOpen311(t.format, http::status::ok, open311::Token(t.id));
  }

  Status CheckJurisdiction(const std::string& id) const {
    if (id.empty() || id == server_.options.jurisdiction) return Status::Ok();
    return NotFound("jurisdiction_id " + id + " was not found");
  }

  // An api_key (or a bearer token) names a wangge actor; none is anonymous.
  Result<std::optional<engine::Actor>> Open311Actor(const std::string& api_key) {
    std::string key = api_key;
    if (key.empty()) {
      const auto auth = request_[http::field::authorization];
      if (auth.starts_with("Bearer ")) key = std::string(auth.substr(7));
    }
    if (key.empty()) return std::optional<engine::Actor>();
    auto actor = server_.tokens.Find(key);
    if (!actor) return PermissionDenied("api_key is not valid");
    actor_id_ = actor->id;
    return actor;
  }

  // Who reads: the actor of the api_key (or bearer token); nullopt for a caller without
  // one, which only a server with open311_public lets read. kUnauthenticated otherwise.
  Result<std::optional<engine::Actor>> Open311Reader(const std::string& api_key) {
    WANGGE_ASSIGN_OR_RETURN(auto actor, Open311Actor(api_key));
    if (!actor && !server_.options.open311_public) {
      return Status(StatusCode::kUnauthenticated, "api_key is required to read requests");
    }
    return actor;
  }

  // A keyed reader sees what their role may see (engine/access.h); a public reader the
  // requests that came in through Open311.
  static bool Open311Visible(const std::optional<engine::Actor>& reader, const engine::Case& c) {
    return reader ? engine::MaySee(*reader, c) : c.report.channel == "open311";
  }

  static std::string Open311Address(const std::optional<engine::Actor>& reader,
                                    const engine::Case& c) {
    return std::string(reader ? engine::CaseAddress(*reader, c) : std::string_view(c.id));
  }

  // The request `reader` means by `id`, or nullopt when there is none they may see.
  Result<std::optional<engine::Case>> FindOpen311(const std::optional<engine::Actor>& reader,
                                                  const std::string& id) {
    if (reader) return server_.engine->FindCase(*reader, id);
    WANGGE_ASSIGN_OR_RETURN(auto c, server_.engine->GetCase(id));
    if (c && !Open311Visible(reader, *c)) c.reset();
    return c;
  }

  void PostOpen311Request(open311::Format format) {
    const auto type = request_[http::field::content_type];
    if (!request_.body().empty() && !type.empty() &&
        !type.starts_with("application/x-www-form-urlencoded")) {
      return Open311Error(format, InvalidArgument("send the request as "
                                                  "application/x-www-form-urlencoded"));
    }
    auto catalog = server_.Catalog();
    if (!catalog.ok()) return Open311Error(format, catalog.status());
    open311::PostedRequest posted;
    Status parsed = open311::ParsePostedRequest(request_.body(), **catalog, posted);
    if (!parsed.ok() && posted.api_key.empty() && parsed.message().starts_with("malformed")) {
      return Open311Error(format, parsed);  // no key could be read from the body
    }
    // The key is checked next: without a valid one, nothing more about the body is said.
    auto actor = Open311Actor(posted.api_key);
    if (!actor.ok()) return Open311Error(format, actor.status());
    if (!*actor) return Open311Error(format, PermissionDenied("api_key is required to post"));
    if ((*actor)->role != engine::Role::kWorker) {
      return Open311Error(format,
                          PermissionDenied("this api_key may not post requests (role " +
                                           std::string(engine::RoleName((*actor)->role)) + ")"));
    }
    if (Status s = CheckJurisdiction(posted.jurisdiction_id); !s.ok())
      return Open311Error(format, s);
    if (!parsed.ok()) return Open311Error(format, parsed);
    const auto key = request_["Idempotency-Key"];
    if (key.size() > 255) {
      return Open311Error(format, InvalidArgument("Idempotency-Key is longer than 255 bytes"));
    }
    engine::Report report = std::move(posted.report);
    report.client_id = open311::RequestId((*actor)->id, std::string_view(key.data(), key.size()));
    report.reported_at = server_.clock.Now();
    Submit(engine::Command{**actor, std::nullopt, std::move(report)},
           [format, catalog = *catalog](Session& self, Result<engine::Outcome> r) {
             if (!r.ok()) return self.Open311Error(format, r.status());
             const std::string notice = catalog->OfficeName(r->state.office) + "办理，期限 " +
                                        FormatRfc3339(r->state.deadline);
             self.SendOpen311(format, http::status::ok,
                              open311::Posted(r->state.report.client_id, notice));
           });
  }

  void GetOpen311Requests(const open311::Target& t, const open311::Catalog& catalog,
                          const std::string& query) {
    open311::Query q;
    if (Status s = open311::ParseQuery(query, server_.clock.Now(), q); !s.ok()) {
      return Open311Error(t.format, s);
    }
    if (Status s = CheckJurisdiction(q.jurisdiction_id); !s.ok()) return Open311Error(t.format, s);
    auto actor = Open311Reader(q.api_key);
    if (!actor.ok()) return Open311Error(t.format, actor.status());
    std::vector<open311::Node> found;
    if (!t.id.empty()) q.ids = {t.id};
    if (!q.ids.empty()) {
      for (const auto& id : q.ids) {
        auto c = FindOpen311(*actor, id);
        if (!c.ok()) return Open311Error(t.format, c.status());
        if (*c) found.push_back(open311::RequestNode(**c, catalog, Open311Address(*actor, **c)));
      }
      if (!t.id.empty() && found.empty()) {
        return Open311Error(t.format, NotFound("service_request_id " + t.id + " was not found"));
      }
      return SendOpen311(t.format, http::status::ok, open311::Requests(std::move(found)));
    }
    auto listed = ListOpen311(*actor, q, catalog);
    if (!listed.ok()) return Open311Error(t.format, listed.status());
    SendOpen311(t.format, http::status::ok, open311::Requests(std::move(*listed)));
  }

  // Walks the cases the caller may see (the Open311 id range for a public reader)
  // received in the window, and returns page `q.page` of the matches, in
  // service_request_id order.
  Result<std::vector<open311::Node>> ListOpen311(const std::optional<engine::Actor>& actor,
                                                 const open311::Query& q,
                                                 const open311::Catalog& catalog) {
    engine::CaseQuery list;
    list.as_of = server_.clock.Now();
    list.limit = 500;
    list.from_day = ShanghaiDay(q.start);
    list.to_day = ShanghaiDay(q.end);
    if (!actor) list.id_prefix = open311::kIdPrefix;
    if (actor && actor->role == engine::Role::kWorker) list.reporter = actor->id;
    if (actor && actor->role == engine::Role::kHandler) list.office = actor->office;
    const size_t skip = (q.page - 1) * q.page_size;
    size_t matched = 0;
    std::vector<open311::Node> out;
    for (int calls = 0; calls < kMaxOpen311Scans; ++calls) {
      WANGGE_ASSIGN_OR_RETURN(engine::CasePage page, server_.engine->ListCases(list));
      for (const engine::Case& c : page.cases) {
        if (c.received_at < q.start || c.received_at > q.end || !Open311Visible(actor, c)) continue;
        if (!q.service_codes.empty() && !q.service_codes.contains(c.report.category)) continue;
        if (q.open && *q.open != c.open()) continue;
        if (matched++ >= skip) {
          out.push_back(open311::RequestNode(c, catalog, Open311Address(actor, c)));
        }
        if (out.size() == q.page_size) return out;
      }
      if (page.next.empty()) return out;
      list.after = page.next;
    }
    return Unavailable("the search examined too many cases; narrow it (service_code, dates)");
  }
  static constexpr int kMaxOpen311Scans = 200;  // ListCases calls: 2M index entries

  void Answer(const engine::Actor& actor, Result<engine::Outcome> r) {
    if (!r.ok()) return Send(Error(request_, r.status()));
    if (r->kind == engine::Outcome::Kind::kActivated) {
      return Send(Json(request_, http::status::ok,
                       json::object{{"version", r->state.ruleset_version}, {"seq", r->seq.value}}));
    }
    json::object body = CaseJson(actor, r->state);
    body["seq"] = r->seq.value;
    const auto status =
        r->kind == engine::Outcome::Kind::kCreated ? http::status::created : http::status::ok;
    Send(Json(request_, status, body));
  }

  void MethodNotAllowed(const char* allowed) {
    Response res = Error(request_, InvalidArgument("method not allowed"));
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, allowed);
    Send(std::move(res));
  }

  void Send(Response res, std::optional<http::status> override_status = std::nullopt) {
    if (override_status) res.result(*override_status);
    const auto elapsed = std::chrono::steady_clock::now() - started_;
    server_.metrics.Record(route_, static_cast<int>(res.result_int()), elapsed);
    const uint64_t id = server_.next_request++;
    res.set("X-Request-Id", std::to_string(id));
    if (server_.access) LogAccess(id, res, elapsed);
    res.set(http::field::server, "wangge");
    response_ = std::make_shared<Response>(std::move(res));
    stream_.expires_after(server_.options.idle_timeout);
    http::async_write(stream_, *response_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec || !self->response_->keep_alive()) return self->Close();
                        self->Read();
                      });
  }

  void LogAccess(uint64_t id, const Response& res, std::chrono::nanoseconds elapsed) {
    beast::error_code ec;
    const auto peer = stream_.socket().remote_endpoint(ec);
    server_.access->info(
        "{} {} {} {} {} {} {} {}", id, ec ? std::string("-") : peer.address().to_string(),
        actor_id_.empty() ? "-" : actor_id_, std::string_view(request_.method_string()),
        std::string_view(request_.target()), res.result_int(), res.body().size(),
        std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
    actor_id_.clear();
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Request request_;
  std::shared_ptr<Response> response_;
  CommandDecoder decoder_;
  Route route_ = Route::kOther;
  std::string actor_id_;             // of the request being answered, for the access log
  std::unique_ptr<FeedState> feed_;  // while answering GET /v1/feed
  bool feed_open_ = false;           // an event stream was started on this connection
  std::chrono::steady_clock::time_point started_;
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted) return;
      spdlog::warn("accept failed: {}", ec.message());
    } else {
      auto session = std::make_shared<Session>(std::move(socket), *this);
      if (metrics.connections() > options.max_connections) {
        session->Refuse();
      } else {
        session->Start();
      }
    }
    Accept();
  });
}

Result<std::shared_ptr<const open311::Catalog>> HttpServer::Impl::Catalog() {
  auto record = engine->ActiveRulesRecord();
  if (!record.ok()) return record.status();
  if (!*record) return NotFound("no ruleset was ever activated");
  std::lock_guard lock(catalog_mu);
  if (!catalog || catalog_seq != (*record)->seq.value) {
    const auto& a = std::get<engine::RulesActivation>((*record)->body);
    WANGGE_ASSIGN_OR_RETURN(open311::Catalog built, open311::CatalogFromRuleset(a.ruleset));
    catalog = std::make_shared<const open311::Catalog>(std::move(built));
    catalog_seq = (*record)->seq.value;
  }
  return catalog;
}

HttpServer::HttpServer(engine::Engine& engine, const TokenStore& tokens, const Clock& clock,
                       ServerOptions options)
    : impl_(std::make_unique<Impl>(&engine, nullptr, tokens, clock, std::move(options))) {}

HttpServer::HttpServer(cluster::Nats& nats, const TokenStore& tokens, const Clock& clock,
                       ServerOptions options)
    : impl_(std::make_unique<Impl>(nullptr, &nats, tokens, clock, std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  WANGGE_RETURN_IF_ERROR(impl_->options.Validate());
  if (!impl_->options.access_log.empty()) {
    try {
      impl_->access =
          spdlog::basic_logger_mt("access:" + impl_->options.access_log, impl_->options.access_log);
    } catch (const spdlog::spdlog_ex& e) {
      return IOError("cannot open access log '" + impl_->options.access_log + "': " + e.what());
    }
    impl_->access->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %v");
    impl_->access->flush_on(spdlog::level::warn);
  }
  beast::error_code ec;
  auto address = net::ip::make_address(impl_->options.host, ec);
  if (ec) return InvalidArgument("bad listen address '" + impl_->options.host + "'", "listen");
  tcp::endpoint endpoint{address, impl_->options.port};
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("cannot listen on " + impl_->options.host + ":" +
                       std::to_string(impl_->options.port) + ": " + ec.message());
  }
  if (impl_->cluster) {
    impl_->cluster_pool = std::make_unique<net::thread_pool>(impl_->options.cluster_threads);
  }
  if (impl_->engine) {
    impl_->webhooks =
        std::make_unique<Webhooks>(*impl_->engine, impl_->clock, impl_->options.webhooks);
    WANGGE_RETURN_IF_ERROR(impl_->webhooks->Start());
  }
  impl_->Accept();
  impl_->running = true;
  for (int i = 0; i < impl_->options.threads; ++i) {
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  }
  return Status::Ok();
}

uint16_t HttpServer::port() const {
  beast::error_code ec;
  auto endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void HttpServer::Stop() {
  if (!impl_->running) return;
  impl_->running = false;
  net::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
  // Let commands already with the sequencer complete and their answers be written.
  for (int i = 0; i < 1000 && impl_->in_flight.load() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (impl_->webhooks) impl_->webhooks->Stop();
  if (impl_->cluster_pool) impl_->cluster_pool->join();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  if (impl_->access) {
    impl_->access->flush();
    spdlog::drop(impl_->access->name());
  }
}

}  // namespace wangge::ingest
