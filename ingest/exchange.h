// One request being answered, as the handlers see it, and the route table that leads to
// them. The server (ingest/server.h) implements Exchange for each connection: it frames,
// routes, authenticates and answers; the handlers (ingest/handlers/) do the rest.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/url.hpp>

#include "core/time.h"
#include "engine/domain.h"
#include "ingest/answers.h"
#include "ingest/http_metrics.h"

namespace wangge::ingest {

struct ServerOptions;

// Not thread-safe: used on its connection's executor. Work finished on another thread
// answers through Post.
class Exchange {
 public:
  virtual ~Exchange() = default;

  virtual const Request& request() const = 0;
  // Moves the request's body out (a large upload is not copied); the body is empty after.
  virtual std::string TakeBody() = 0;
  // The target's decoded path segments, and its query.
  virtual const std::vector<std::string>& path() const = 0;
  virtual boost::urls::params_view params() const = 0;
  virtual std::string_view encoded_query() const = 0;
  // The caller. REQUIRES: the route needs a credential (RouteEntry::bearer).
  virtual const engine::Actor& actor() const = 0;
  // The actor a token stands for, or nullopt (Open311's api_key); the access log names it.
  virtual std::optional<engine::Actor> FindActor(std::string_view token) = 0;
  virtual const Clock& clock() const = 0;
  virtual const ServerOptions& options() const = 0;
  virtual HttpMetrics& metrics() = 0;

  // Answers the request: exactly once per request, unless an event stream takes over
  // the connection (StartStream).
  virtual void Send(Response res) = 0;
  // Runs `fn` on this connection's executor, keeping the connection until then.
  virtual void Post(std::function<void(Exchange&)> fn) = 0;
  // Work that the server's Stop waits for (a command with the sequencer, a publish).
  virtual void WorkStarted() = 0;
  virtual void WorkDone() = 0;

  // An event stream (GET /v1/feed): the connection's executor, the bytes of its header
  // (an answer of its own: metrics and the access log count it as a 200), writes that
  // give up after `timeout`, and the close. The stream keeps the connection alive
  // through Keep().
  virtual boost::asio::any_io_executor executor() = 0;
  virtual std::shared_ptr<Exchange> Keep() = 0;
  virtual std::string StartStream() = 0;  // the X-Request-Id it gets
  virtual void Write(std::shared_ptr<const std::string> bytes, std::chrono::seconds timeout,
                     std::function<void(bool ok)> done) = 0;
  virtual void Close() = 0;

  // Helpers.
  void Answer(http::status status, const boost::json::value& body) {
    Send(Json(request(), status, body));
  }
  void Fail(const Status& s) { Send(Error(request(), s)); }
  void Fail(const Status& s, http::status status) { Send(Error(request(), s, status)); }
  void MethodNotAllowed(const char* allowed) {
    Response res =
        Error(request(), InvalidArgument("method not allowed"), http::status::method_not_allowed);
    res.set(http::field::allow, allowed);
    Send(std::move(res));
  }
};

// One entry of the route table: the first whose `match` takes a target's path serves it.
struct RouteEntry {
  Route label = Route::kOther;  // for metrics
  std::function<bool(const std::vector<std::string>& path)> match;
  // The route needs a bearer token; the body, when there is one, must be JSON (or, with
  // `ndjson`, NDJSON) in UTF-8.
  bool bearer = false;
  bool ndjson = false;
  // Checks the path before the credential is looked at (ids in it); optional.
  std::function<Status(const std::vector<std::string>& path)> check_path;
  std::function<void(Exchange&)> handle;
  // The body is a file of the route's own type (a photo): no JSON Content-Type check.
  bool file_body = false;
};
using Routes = std::vector<RouteEntry>;

// The segment at `i`, or empty.
inline std::string_view Segment(const std::vector<std::string>& path, size_t i) {
  return i < path.size() ? std::string_view(path[i]) : std::string_view();
}

}  // namespace wangge::ingest
