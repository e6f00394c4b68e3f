// The routes that submit commands: reports, batches of reports, transitions. They check
// the request, hand the command to the deployment's sink (wire/command_sink.h) and answer
// once the sink says it is durable or refused.
#include <algorithm>

#include "core/mutex.h"
#include "engine/access.h"
#include "ingest/handlers/handlers.h"
#include "ingest/handlers/submit.h"
#include "ingest/server.h"
#include "wire/case_json.h"
#include "wire/command_json.h"

namespace wangge::ingest {

namespace json = boost::json;

Result<std::string> Partition(Exchange& ex, const wire::CommandSink& sink) {
  if (!sink.partitioned()) return std::string();
  std::string town;
  if (auto it = ex.params().find("town"); it != ex.params().end()) town = (*it).value;
  if (town.empty()) return InvalidArgument("name the town: ?town=NAME", "town");
  WANGGE_RETURN_IF_ERROR(sink.CheckPartition(town));
  return town;
}

void AnswerAccepted(Exchange& ex, const Result<wire::Accepted>& r, json::object queued_fields) {
  if (!r.ok()) return ex.Fail(r.status());
  if (r->queued) {
    const auto& q = *r->queued;
    queued_fields["town"] = q.partition;
    queued_fields["stream_seq"] = q.position;
    queued_fields["duplicate"] = q.duplicate;
    queued_fields["received_at"] = FormatRfc3339(q.received_at);
    queued_fields["status"] = "queued";
    return ex.Answer(http::status::accepted, queued_fields);
  }
  const engine::Outcome& o = *r->outcome;
  if (o.kind == engine::Outcome::Kind::kActivated) {
    json::object body{{"version", o.state.ruleset_version}, {"seq", o.seq.value}};
    if (!o.geography_version.empty()) body["geography"] = o.geography_version;
    return ex.Answer(http::status::ok, body);
  }
  json::object body = wire::CaseJson(ex.actor(), o.state);
  body["seq"] = o.seq.value;
  if (o.kind == engine::Outcome::Kind::kDuplicate) body["duplicate"] = true;
  ex.Answer(o.kind == engine::Outcome::Kind::kCreated ? http::status::created : http::status::ok,
            body);
}

void Submit(Exchange& ex, wire::CommandSink& sink, engine::Command command,
            const std::string& partition, const std::string& key, Then then) {
  ex.WorkStarted();
  sink.Submit(std::move(command), partition, key,
              [self = ex.Keep(), then = std::move(then)](Result<wire::Accepted> r) mutable {
                self->Post([then = std::move(then), r = std::move(r)](Exchange& e) mutable {
                  then(e, std::move(r));
                });
                self->WorkDone();
              });
}

Status ReadReportBody(Exchange& ex, TimeMs now, engine::Report& report) {
  if (ex.actor().role != engine::Role::kWorker) {
    return PermissionDenied("only grid workers post reports");
  }
  thread_local wire::CommandDecoder decoder;
  WANGGE_ASSIGN_OR_RETURN(report, decoder.DecodeReportBody(ex.request().body()));
  if (report.reported_at.ms > now.ms + ex.options().max_clock_skew.count() * 60'000) {
    return InvalidArgument("reported_at is in the future", "reported_at");
  }
  return Status::Ok();
}

namespace {

void PostReport(Exchange& ex, wire::CommandSink& sink) {
  if (ex.request().method() != http::verb::post) return ex.MethodNotAllowed("POST");
  auto town = Partition(ex, sink);
  if (!town.ok()) return ex.Fail(town.status());
  engine::Report report;
  if (Status bad = ReadReportBody(ex, ex.clock().Now(), report); !bad.ok()) return ex.Fail(bad);
  const std::string id = report.client_id;
  // A replicated log drops a message whose key it saw in its duplicate window: the key is
  // the report's idempotency key, the client id in its reporter's namespace.
  const std::string key = "r-" + ex.actor().id + "-" + id;
  Submit(ex, sink, engine::Command{ex.actor(), std::nullopt, std::move(report)}, *town, key,
         [id](Exchange& e, Result<wire::Accepted> r) {
           AnswerAccepted(e, r, json::object{{"id", id}});
         });
}

// The outcomes of a batch's lines, gathered from the sink's completions.
struct BatchOutcomes {
  Mutex mu;
  json::array results WANGGE_GUARDED_BY(mu);
  int pending WANGGE_GUARDED_BY(mu) = 0;
  uint64_t created WANGGE_GUARDED_BY(mu) = 0;
  uint64_t duplicates WANGGE_GUARDED_BY(mu) = 0;
  uint64_t errors WANGGE_GUARDED_BY(mu) = 0;
  // A line refused for want of disk or queue.
  std::optional<StatusCode> server_failure WANGGE_GUARDED_BY(mu);
};

json::object LineError(size_t line, const Status& problem) {
  json::object e{{"code", std::string(StatusCodeName(problem.code()))},
                 {"message", problem.message()}};
  if (!problem.field().empty()) e["field"] = problem.field();
  return json::object{{"line", line}, {"status", "error"}, {"error", std::move(e)}};
}

void FinishBatch(Exchange& ex, BatchOutcomes& outcomes) {
  MutexLock lock(outcomes.mu);
  std::sort(outcomes.results.begin(), outcomes.results.end(),
            [](const json::value& a, const json::value& b) {
              return a.at("line").to_number<int64_t>() < b.at("line").to_number<int64_t>();
            });
  // Nothing stored because the server could not write (disk full, queue full): the
  // batch answers with that status, so a client's retry policy sees it.
  const bool none_stored = outcomes.created + outcomes.duplicates == 0;
  const auto status = none_stored && outcomes.server_failure
                          ? HttpStatusOf(*outcomes.server_failure)
                          : http::status::ok;
  Response res = Json(ex.request(), status,
                      json::object{{"created", outcomes.created},
                                   {"duplicates", outcomes.duplicates},
                                   {"errors", outcomes.errors},
                                   {"results", outcomes.results}});
  SetRetryAfter(res);
  ex.Send(std::move(res));
}

// One line's outcome, from the sink.
void RecordLine(BatchOutcomes& outcomes, size_t line, const Result<wire::Accepted>& r) {
  MutexLock lock(outcomes.mu);
  if (!r.ok()) {
    ++outcomes.errors;
    if (static_cast<int>(HttpStatusOf(r.status().code())) >= 500) {
      outcomes.server_failure = r.status().code();
    }
    outcomes.results.push_back(LineError(line, r.status()));
    return;
  }
  const engine::Outcome& o = *r->outcome;
  const bool created = o.kind == engine::Outcome::Kind::kCreated;
  (created ? outcomes.created : outcomes.duplicates)++;
  outcomes.results.push_back(json::object{{"line", line},
                                          {"status", created ? "created" : "duplicate"},
                                          // the worker's own address for it
                                          {"case_id", o.state.report.client_id},
                                          {"seq", o.seq.value},
                                          {"number", o.state.created_seq.value},
                                          {"office", o.state.office}});
}

// NDJSON, one report a line. Valid lines are submitted even when others fail; the
// answer lists every line's outcome once all submitted lines are durable.
void PostBatch(Exchange& ex, wire::CommandSink& sink) {
  if (ex.request().method() != http::verb::post) return ex.MethodNotAllowed("POST");
  if (ex.actor().role != engine::Role::kWorker) {
    return ex.Fail(PermissionDenied("only grid workers post reports"));
  }
  auto outcomes = std::make_shared<BatchOutcomes>();
  std::vector<std::pair<size_t, engine::Command>> commands;
  std::string_view body = ex.request().body();
  size_t line_no = 0;
  size_t errors = 0;
  const TimeMs now = ex.clock().Now();
  const auto& options = ex.options();
  thread_local wire::CommandDecoder decoder;
  while (!body.empty()) {
    const size_t end = body.find('\n');
    std::string_view line = body.substr(0, end);
    body = end == std::string_view::npos ? std::string_view() : body.substr(end + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (commands.size() + errors >= options.max_batch_lines) {
      return ex.Fail(InvalidArgument("more than " + std::to_string(options.max_batch_lines) +
                                     " lines in one batch"));
    }
    auto decoded = decoder.DecodeReportBody(line);
    Status problem = decoded.status();
    if (problem.ok() &&
        decoded->reported_at.ms > now.ms + options.max_clock_skew.count() * 60'000) {
      problem = InvalidArgument("reported_at is in the future", "reported_at");
    }
    if (!problem.ok()) {
      MutexLock lock(outcomes->mu);
      outcomes->results.push_back(LineError(line_no, problem));
      ++outcomes->errors;
      ++errors;
      continue;
    }
    commands.emplace_back(line_no,
                          engine::Command{ex.actor(), std::nullopt, std::move(decoded).value()});
  }
  if (commands.empty()) return FinishBatch(ex, *outcomes);
  {
    MutexLock lock(outcomes->mu);
    outcomes->pending = static_cast<int>(commands.size());
  }
  ex.WorkStarted();
  for (auto& item : commands) {
    // A plain variable: clang 14 cannot capture a structured binding in a lambda.
    const size_t line = item.first;
    sink.Submit(std::move(item.second), "", "",
                [self = ex.Keep(), outcomes, line](Result<wire::Accepted> r) {
                  RecordLine(*outcomes, line, r);
                  MutexLock lock(outcomes->mu);
                  if (--outcomes->pending > 0) return;
                  self->Post([outcomes](Exchange& e) { FinishBatch(e, *outcomes); });
                  self->WorkDone();
                });
  }
}

Status CaseIdInPath(const std::vector<std::string>& path) {
  const std::string& id = path[2];
  WANGGE_RETURN_IF_ERROR(engine::ValidateCaseId(id));
  if (ValidUtf8(id) != id) return InvalidArgument("case_id is not valid UTF-8", "case_id");
  return Status::Ok();
}

void PostTransition(Exchange& ex, wire::CommandSink& sink) {
  if (ex.request().method() != http::verb::post) return ex.MethodNotAllowed("POST");
  auto town = Partition(ex, sink);
  if (!town.ok()) return ex.Fail(town.status());
  thread_local wire::CommandDecoder decoder;
  auto decoded = decoder.DecodeTransitionBody(ex.request().body());
  if (!decoded.ok()) return ex.Fail(decoded.status());
  engine::Transition t = std::move(decoded).value();
  const std::string id = ex.path()[2];
  // The sequencer resolves a worker's address and answers a case the actor may not see
  // as if it did not exist.
  t.case_id = id;
  std::string key;
  if (auto header = ex.request().find("Idempotency-Key"); header != ex.request().end()) {
    if (header->value().empty() || header->value().size() > 200) {
      return ex.Fail(
          InvalidArgument("Idempotency-Key must be 1-200 characters", "Idempotency-Key"));
    }
    // A comment keeps its key in the record: retries are found in any mode.
    if (t.action == engine::Action::kComment && t.key.empty()) t.key = header->value();
    if (sink.partitioned()) key = "t-" + ex.actor().id + "-" + std::string(header->value());
  }
  const std::string action(engine::ActionName(t.action));
  Submit(ex, sink, engine::Command{ex.actor(), std::nullopt, std::move(t)}, *town, key,
         [id, action](Exchange& e, Result<wire::Accepted> r) {
           AnswerAccepted(e, r, json::object{{"case_id", id}, {"action", action}});
         });
}

}  // namespace

bool IsCasePath(const std::vector<std::string>& path, size_t size, std::string_view last) {
  return path.size() == size && path[0] == "v1" && path[1] == "cases" && !path[2].empty() &&
         (last.empty() || path[3] == last);
}

Status CheckCaseIdInPath(const std::vector<std::string>& path) { return CaseIdInPath(path); }

void AddReportRoutes(Routes& routes, wire::CommandSink& sink, bool batch) {
  routes.push_back({Route::kReports,
                    [](const auto& path) { return IsV1(path, "reports"); },
                    true,
                    false,
                    {},
                    [&sink](Exchange& ex) { PostReport(ex, sink); }});
  if (!batch) return;
  routes.push_back({Route::kBatch,
                    [](const auto& path) { return IsV1(path, "reports:batch"); },
                    true,
                    true,
                    {},
                    [&sink](Exchange& ex) { PostBatch(ex, sink); }});
}

void AddTransitionRoute(Routes& routes, wire::CommandSink& sink) {
  routes.push_back({Route::kTransitions,
                    [](const auto& path) { return IsCasePath(path, 4, "transitions"); }, true,
                    false, CaseIdInPath, [&sink](Exchange& ex) { PostTransition(ex, sink); }});
}

}  // namespace wangge::ingest
