#include "ingest/server.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

namespace wangge::ingest {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

Status ServerOptions::Validate() const {
  if (max_body_bytes == 0 || max_body_bytes > (64u << 20)) {
    return InvalidArgument("max_body_bytes must be 1 B to 64 MiB", "max_body_bytes");
  }
  if (max_media_bytes < 1024 || max_media_bytes > (256u << 20)) {
    return InvalidArgument("max_media_bytes must be 1 KiB to 256 MiB", "max_media_bytes");
  }
  if (max_media_pixels < 1)
    return InvalidArgument("max_media_pixels must be positive", "max_media_pixels");
  if (threads < 1 || threads > 64) return InvalidArgument("threads must be 1-64", "threads");
  if (idle_timeout.count() < 1)
    return InvalidArgument("idle_timeout must be at least 1 s", "idle_timeout");
  if (max_connections < 1) {
    return InvalidArgument("max_connections must be positive", "max_connections");
  }
  return Status::Ok();
}

struct HttpServer::Impl {
  Impl(Routes r, const TokenStore& t, const Clock& c, ServerOptions o)
      : routes(std::move(r)), tokens(t), clock(c), options(std::move(o)) {}

  // Destroyed last: sessions still queued on `ioc` when it is destroyed count themselves
  // out of the metrics.
  HttpMetrics metrics;
  const Routes routes;
  const TokenStore& tokens;
  const Clock& clock;
  const ServerOptions options;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::atomic<uint64_t> next_request{1};
  // Work the handlers started whose answer is not written yet.
  std::atomic<int> in_flight{0};
  std::shared_ptr<spdlog::logger> access;  // null without options.access_log
  std::atomic<bool> running = false;       // read by the accept handler on the pool's threads

  void Accept();
};

namespace {

// The header an Open311 list may send: 1,000 ids of 37 bytes with commas (38 KB), and
// room for its other fields.
constexpr size_t kLongTargetBytes = 64 * 1024;

// One connection. Requests are handled one at a time: the next is read only after
// the response to the last one is written.
class Session final : public Exchange, public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server)
      : stream_(std::move(socket)), server_(server) {
    server_.metrics.ConnectionOpened();
  }
  ~Session() override {
    if (streaming_) server_.metrics.FeedClosed();
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

  // ---- Exchange ----
  const Request& request() const override { return request_; }
  std::string TakeBody() override { return std::exchange(request_.body(), std::string()); }
  const std::vector<std::string>& path() const override { return path_; }
  boost::urls::params_view params() const override { return url_.params(); }
  std::string_view encoded_query() const override { return url_.encoded_query(); }
  const engine::Actor& actor() const override { return *actor_; }
  std::optional<engine::Actor> FindActor(std::string_view token) override {
    auto actor = server_.tokens.Find(token);
    if (actor) actor_id_ = actor->id;
    return actor;
  }
  const Clock& clock() const override { return server_.clock; }
  const ServerOptions& options() const override { return server_.options; }
  HttpMetrics& metrics() override { return server_.metrics; }
  void Post(std::function<void(Exchange&)> fn) override {
    net::post(stream_.get_executor(),
              [self = shared_from_this(), fn = std::move(fn)]() { fn(*self); });
  }
  void WorkStarted() override { ++server_.in_flight; }
  void WorkDone() override { --server_.in_flight; }
  net::any_io_executor executor() override { return stream_.get_executor(); }
  std::shared_ptr<Exchange> Keep() override { return shared_from_this(); }

  std::string StartStream() override {
    const uint64_t id = server_.next_request++;
    server_.metrics.Record(route_, 200, std::chrono::steady_clock::now() - started_);
    server_.metrics.FeedOpened();
    streaming_ = true;
    return std::to_string(id);
  }

  void Write(std::shared_ptr<const std::string> bytes, std::chrono::seconds timeout,
             std::function<void(bool)> done) override {
    stream_.expires_after(timeout);
    net::async_write(stream_, net::buffer(*bytes),
                     [self = shared_from_this(), bytes, done = std::move(done)](
                         beast::error_code ec, size_t) { done(!ec); });
  }

  void Close() override {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  void Send(Response res) override {
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

 private:
  // Reads the header first, so the body limit can depend on the route. Beast checks a
  // declared Content-Length when the header completes, so the header is read under the
  // larger (batch) limit and the route's own limit is applied here.
  void Read() {
    parser_.emplace();
    const auto& o = server_.options;
    parser_->body_limit(
        std::max({o.max_body_bytes, o.max_batch_bytes, o.max_media_bytes + o.max_body_bytes}));
    // Read under the larger limit of Open311 lists, whose target may carry 1,000 request
    // ids; every other route is held to max_header_bytes once its target is known.
    parser_->header_limit(static_cast<uint32_t>(std::max(o.max_header_bytes, kLongTargetBytes)));
    stream_.expires_after(o.idle_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t n) {
          if (ec) return self->OnRead(ec, 0);
          const auto& opts = self->server_.options;
          const auto target = self->parser_->get().target();
          if (n > opts.max_header_bytes && !target.starts_with("/open311/v2/requests")) {
            return self->OnRead(http::error::header_limit, 0);
          }
          // A geography is a document as large as a photo; an Open311 form may carry a
          // photo (its handler holds a form without one to max_body_bytes).
          const bool form = target.starts_with("/open311/v2/requests.") ||
                            target.starts_with("/open311/v2/servicerequestupdates.");
          const size_t limit =
              target.starts_with("/v1/media/") || target == "/v1/geography" ? opts.max_media_bytes
              : form ? opts.max_media_bytes + opts.max_body_bytes
              : target == "/v1/reports:batch" || target == "/v1/rules" ? opts.max_batch_bytes
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
    actor_.reset();
    if (ec) {
      // After a framing error the connection cannot be trusted: answer and close.
      req.version(11);
      req.keep_alive(false);
      request_ = std::move(req);
      if (ec == http::error::body_limit) {
        return Fail(InvalidArgument("request body too large"), http::status::payload_too_large);
      }
      if (ec == http::error::header_limit) {
        return Fail(InvalidArgument("request header too large"),
                    http::status::request_header_fields_too_large);
      }
      return Fail(InvalidArgument("malformed HTTP request: " + ec.message()));
    }
    Handle(std::move(req));
  }

  // Routes the request: the first entry of the table whose match takes its path.
  void Handle(Request req) {
    request_ = std::move(req);
    auto url = boost::urls::parse_origin_form(request_.target());
    if (!url) return Fail(InvalidArgument("malformed request target"));
    url_ = *url;
    path_.assign(url_.segments().begin(), url_.segments().end());
    const RouteEntry* entry = nullptr;
    for (const RouteEntry& e : server_.routes) {
      if (e.match(path_)) {
        entry = &e;
        break;
      }
    }
    if (entry == nullptr) return Fail(NotFound("no such route"));
    route_ = entry->label;
    if (entry->check_path) {
      if (Status bad = entry->check_path(path_); !bad.ok()) return Fail(bad);
    }
    if (entry->bearer) {
      if (!Authenticate()) return;
      Status bad = entry->file_body ? Status::Ok() : CheckContentType(entry->ndjson);
      if (!bad.ok()) {
        return Fail(bad, http::status::unsupported_media_type);
      }
    }
    entry->handle(*this);
  }

  bool Authenticate() {
    auto it = request_.find(http::field::authorization);
    if (it == request_.end()) {
      Fail(Status(StatusCode::kUnauthenticated, "missing bearer token"));
      return false;
    }
    if (request_.count(http::field::authorization) > 1) {
      Fail(InvalidArgument("more than one Authorization header"));
      return false;
    }
    std::string_view value(it->value().data(), it->value().size());
    auto actor = value.starts_with("Bearer ") ? FindActor(value.substr(7)) : std::nullopt;
    if (!actor) {
      Fail(Status(StatusCode::kUnauthenticated, "unknown or malformed token"));
      return false;
    }
    actor_ = std::move(actor);
    return true;
  }

  // A body's Content-Type, when given, must be what the route reads: JSON (application/json
  // or a +json type), or where `ndjson` NDJSON; in UTF-8. Without one the body is read as
  // what the route expects (devices in the field send none).
  Status CheckContentType(bool ndjson) const {
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
    const bool is_ndjson = type == "application/x-ndjson" || type == "application/jsonl";
    if (!(json || (ndjson && is_ndjson))) {
      return InvalidArgument("Content-Type " + type + " is not accepted here; send " +
                                 (ndjson ? "application/x-ndjson" : "application/json"),
                             "Content-Type");
    }
    if (!params.empty() && params != "charset=utf-8") {
      return InvalidArgument("the body must be UTF-8 (charset=utf-8)", "Content-Type");
    }
    return Status::Ok();
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

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Request request_;
  boost::urls::url_view url_;  // into request_'s target
  std::vector<std::string> path_;
  std::optional<engine::Actor> actor_;
  std::shared_ptr<Response> response_;
  Route route_ = Route::kOther;
  std::string actor_id_;    // of the request being answered, for the access log
  bool streaming_ = false;  // an event stream was started on this connection
  std::chrono::steady_clock::time_point started_;
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      // Stop closed the acceptor, perhaps between two accepts: no further accept, or
      // each would fail at once and spin.
      if (ec == net::error::operation_aborted || !running) return;
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

HttpServer::HttpServer(Routes routes, const TokenStore& tokens, const Clock& clock,
                       ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(routes), tokens, clock, std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

HttpMetrics& HttpServer::metrics() { return impl_->metrics; }

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
  // Let work already with a sink complete and its answers be written.
  for (int i = 0; i < 1000 && impl_->in_flight.load() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  if (impl_->access) {
    impl_->access->flush();
    spdlog::drop(impl_->access->name());
  }
}

}  // namespace wangge::ingest
