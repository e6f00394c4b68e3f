// The HTTP server (Boost.Asio/Beast): it frames requests, routes them through a route table
// (ingest/exchange.h), checks credentials and answers. What a route does is its handler's
// business (ingest/handlers/); which routes there are is the deployment's
// (ingest/local_server.h for a single node, ingest/node_routes.h for an HTTP node in
// cluster mode). Handlers never block: a command goes to a sink and the answer is written
// when the sink says it is durable.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "core/time.h"
#include "ingest/exchange.h"
#include "ingest/tokens.h"
#include "ingest/webhooks.h"

namespace wangge::ingest {

struct ServerOptions {
  // Address to listen on. Default: 127.0.0.1.
  std::string host = "127.0.0.1";
  // Port; 0 picks a free one (tests). Default: 8080.
  uint16_t port = 8080;
  // Largest request body, in bytes. Default: 64 KiB.
  size_t max_body_bytes = 64 * 1024;
  // Largest body of POST /v1/reports:batch and PUT /v1/rules, in bytes. Default: 1 MiB.
  size_t max_batch_bytes = 1 << 20;
  // Largest photo (PUT /v1/media; a resumable upload's total), in bytes. Default: 10 MiB.
  size_t max_media_bytes = 10 << 20;
  // Most pixels in a photo, read from its header before any decoding. Default: 50 MP.
  uint64_t max_media_pixels = 50'000'000;
  // Most lines in one batch. Default: 1000.
  size_t max_batch_lines = 1000;
  // Largest request header block, in bytes. Default: 8 KiB.
  size_t max_header_bytes = 8 * 1024;
  // A connection that sends nothing for this long is closed (slow clients). Default: 30 s.
  std::chrono::seconds idle_timeout{30};
  // Open connections beyond which a new one is answered 503 and closed. Default: 1024.
  int max_connections = 1024;
  // A file that gets one line per answered request (request id, peer, actor, method,
  // target, status, bytes, microseconds); empty = none. Default: none.
  std::string access_log;
  // I/O threads. Default: 1.
  int threads = 1;
  // Device times further ahead of the server clock are refused. Default: 10 minutes.
  std::chrono::minutes max_clock_skew{10};
  // The Open311 jurisdiction_id this server answers for (docs/open311.md). A request
  // naming another is 404. Default: "wangge".
  std::string jurisdiction = "wangge";
  // Open311 reads without an api_key: when false they answer 401, and a key sees what its
  // role may see. When true (a city that publishes its requests) a caller without a key
  // reads the requests that came in through Open311, with the public fields only.
  // Default: false.
  bool open311_public = false;
  // An event stream (GET /v1/feed) whose client reads nothing for this long is closed;
  // the client resumes with Last-Event-ID. Default: 120 s.
  std::chrono::seconds feed_write_timeout{120};
  // A quiet event stream gets a comment line this often. Default: 15 s.
  std::chrono::milliseconds feed_heartbeat{15'000};
  // Delivery of webhooks (webhooks.h), where a deployment has them (a single node).
  WebhookOptions webhooks;

  Status Validate() const;
};

// Thread-safe. Start, then Stop (or destroy) from the same thread.
class HttpServer {
 public:
  // `routes` are tried in order; `tokens` and `clock` outlive the server, and so does
  // whatever the routes' handlers refer to.
  HttpServer(Routes routes, const TokenStore& tokens, const Clock& clock, ServerOptions options);
  ~HttpServer();

  // Binds and starts serving. kUnavailable: the address cannot be bound.
  Status Start();
  // The bound port (useful with port 0).
  uint16_t port() const;
  // Stops accepting, waits (up to 10 s) for work the handlers started (commands with the
  // sequencer, publishes) so their answers are written, then closes connections and joins
  // the I/O threads. Idempotent.
  void Stop();
  HttpMetrics& metrics();

  struct Impl;  // private to server.cc; public so its sessions can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wangge::ingest
