// The service's counters in the Prometheus text exposition format (version 0.0.4):
// requests by route and status code, latency histograms by route, open connections,
// and the engine's figures (commit sizes, queue depth, cases by status, log head).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/engine.h"

namespace wangge::ingest {

// What a request was for, as a bounded label set.
enum class Route : uint8_t {
  kHealthz,
  kReadyz,
  kMetrics,
  kReports,
  kBatch,
  kCase,
  kCases,
  kTransitions,
  kRules,
  kStats,
  kExplain,    // GET /v1/cases/{id}/explain
  kAudit,      // /v1/audit/...
  kMe,         // GET /v1/me
  kDashboard,  // /, /ui/...
  kOpen311,    // /open311/v2/...
  kFeed,       // GET /v1/feed
  kWebhooks,   // /v1/webhooks...
  kMedia,      // /v1/media/{sha256}
  kOther,      // unknown routes and requests that did not parse
};
inline constexpr size_t kRouteCount = 19;

std::string_view RouteName(Route r);

// Thread-safe: Record from any I/O thread; lock-free.
class HttpMetrics {
 public:
  // Upper bounds of the latency buckets, in seconds (then +Inf).
  static constexpr std::array<double, 12> kLatencyBounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};
  // Status codes counted by value; any other is counted as "other".
  static constexpr std::array<int, 16> kCodes = {200, 201, 302, 304, 400, 401, 403, 404,
                                                 405, 409, 413, 415, 431, 500, 503, 507};

  void Record(Route route, int code, std::chrono::nanoseconds elapsed);
  void ConnectionOpened() { ++connections_; }
  void ConnectionClosed() { --connections_; }
  void FeedOpened() { ++feeds_; }
  void FeedClosed() { --feeds_; }
  void FeedSent(size_t events) { feed_events_ += events; }
  // Bytes event streams hold while their writes are in flight: one batch each.
  void FeedBuffered(int64_t delta) { feed_buffered_ += delta; }
  int64_t connections() const { return connections_.load(); }
  void ConnectionRefused() { ++refused_; }

  // These counters in the exposition format.
  std::string Render() const;

 private:
  struct PerRoute {
    std::array<std::atomic<uint64_t>, kCodes.size() + 1> codes{};  // last: other
    std::array<std::atomic<uint64_t>, kLatencyBounds.size() + 1> buckets{};
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> sum_ns{0};
  };
  void RenderRequests(std::string& out) const;
  std::array<PerRoute, kRouteCount> routes_;
  std::atomic<int64_t> connections_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<int64_t> feeds_{0};
  std::atomic<uint64_t> feed_events_{0};
  std::atomic<int64_t> feed_buffered_{0};
};

// The engine's figures in the exposition format: commit sizes, queue depth, log head, cases
// by status.
std::string EngineMetrics(const engine::Engine& engine);

}  // namespace wangge::ingest
