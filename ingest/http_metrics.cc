#include "ingest/http_metrics.h"

#include <spdlog/fmt/fmt.h>

namespace wangge::ingest {
namespace {

constexpr std::array<std::string_view, kRouteCount> kRouteNames = {
    "healthz",     "readyz", "metrics",  "reports", "reports_batch", "case", "cases",
    "transitions", "rules",  "stats",    "explain", "audit",         "me",   "dashboard",
    "open311",     "feed",   "webhooks", "media",   "other"};
// Every route has a name, in the enum's order.
static_assert(kRouteNames[static_cast<size_t>(Route::kOther)] == "other");

void Header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void RenderEngine(std::string& out, const engine::Engine& engine) {
  const auto stats = engine.sequencer_stats();
  Header(out, "wangge_commit_batch_commands", "histogram", "Commands per durable group commit.");
  uint64_t cumulative = 0;
  for (int i = 0; i < engine::kBatchBuckets; ++i) {
    cumulative += stats.batch_sizes[i];
    if (i + 1 < engine::kBatchBuckets) {
      fmt::format_to(std::back_inserter(out),
                     "wangge_commit_batch_commands_bucket{{le=\"{}\"}} {}\n", uint64_t{1} << i,
                     cumulative);
    }
  }
  fmt::format_to(std::back_inserter(out),
                 "wangge_commit_batch_commands_bucket{{le=\"+Inf\"}} {}\n"
                 "wangge_commit_batch_commands_sum {}\nwangge_commit_batch_commands_count {}\n",
                 cumulative, stats.committed_commands, stats.commits);
  Header(out, "wangge_sequencer_queue_depth", "gauge", "Commands waiting for the sequencer.");
  fmt::format_to(std::back_inserter(out), "wangge_sequencer_queue_depth {}\n", stats.queue_depth);
  Header(out, "wangge_log_records_total", "counter", "Log records written since start.");
  fmt::format_to(std::back_inserter(out), "wangge_log_records_total {}\n", stats.records);
  Header(out, "wangge_log_head_seq", "gauge", "Sequence of the last durable log record.");
  fmt::format_to(std::back_inserter(out), "wangge_log_head_seq {}\n", engine.head().seq.value);
  auto counts = engine.CaseCounts();
  if (!counts.ok()) return;
  Header(out, "wangge_cases", "gauge", "Cases by status.");
  for (size_t s = 1; s < counts->size(); ++s) {
    fmt::format_to(std::back_inserter(out), "wangge_cases{{status=\"{}\"}} {}\n",
                   engine::StatusName(static_cast<engine::CaseStatus>(s)), (*counts)[s]);
  }
}

}  // namespace

std::string_view RouteName(Route r) { return kRouteNames[static_cast<size_t>(r)]; }

void HttpMetrics::Record(Route route, int code, std::chrono::nanoseconds elapsed) {
  PerRoute& r = routes_[static_cast<size_t>(route)];
  size_t c = 0;
  while (c < kCodes.size() && kCodes[c] != code) ++c;
  r.codes[c].fetch_add(1, std::memory_order_relaxed);
  const double seconds = std::chrono::duration<double>(elapsed).count();
  size_t b = 0;
  while (b < kLatencyBounds.size() && seconds > kLatencyBounds[b]) ++b;
  r.buckets[b].fetch_add(1, std::memory_order_relaxed);
  r.count.fetch_add(1, std::memory_order_relaxed);
  r.sum_ns.fetch_add(static_cast<uint64_t>(elapsed.count()), std::memory_order_relaxed);
}

void HttpMetrics::RenderRequests(std::string& out) const {
  auto it = std::back_inserter(out);
  Header(out, "wangge_http_requests_total", "counter", "HTTP responses by route and status code.");
  for (size_t r = 0; r < kRouteCount; ++r) {
    for (size_t c = 0; c <= kCodes.size(); ++c) {
      const uint64_t n = routes_[r].codes[c].load();
      if (n == 0) continue;
      const std::string code = c < kCodes.size() ? std::to_string(kCodes[c]) : "other";
      fmt::format_to(it, "wangge_http_requests_total{{route=\"{}\",code=\"{}\"}} {}\n",
                     kRouteNames[r], code, n);
    }
  }
  Header(out, "wangge_http_request_duration_seconds", "histogram",
         "Time from a request read to its response, by route.");
  for (size_t r = 0; r < kRouteCount; ++r) {
    const PerRoute& p = routes_[r];
    if (p.count.load() == 0) continue;
    uint64_t cumulative = 0;
    for (size_t b = 0; b < kLatencyBounds.size(); ++b) {
      cumulative += p.buckets[b].load();
      fmt::format_to(it,
                     "wangge_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                     kRouteNames[r], kLatencyBounds[b], cumulative);
    }
    cumulative += p.buckets[kLatencyBounds.size()].load();
    fmt::format_to(it,
                   "wangge_http_request_duration_seconds_bucket{{route=\"{0}\",le=\"+Inf\"}} {1}\n"
                   "wangge_http_request_duration_seconds_sum{{route=\"{0}\"}} {2}\n"
                   "wangge_http_request_duration_seconds_count{{route=\"{0}\"}} {3}\n",
                   kRouteNames[r], cumulative, static_cast<double>(p.sum_ns.load()) / 1e9,
                   p.count.load());
  }
  Header(out, "wangge_http_connections", "gauge", "Open client connections.");
  fmt::format_to(it, "wangge_http_connections {}\n", connections_.load());
  Header(out, "wangge_http_connections_refused_total", "counter",
         "Connections refused because the connection limit was reached.");
  fmt::format_to(it, "wangge_http_connections_refused_total {}\n", refused_.load());
  Header(out, "wangge_feed_streams", "gauge", "Open event streams (GET /v1/feed).");
  fmt::format_to(it, "wangge_feed_streams {}\n", feeds_.load());
  Header(out, "wangge_feed_events_total", "counter", "Records sent on event streams.");
  fmt::format_to(it, "wangge_feed_events_total {}\n", feed_events_.load());
  Header(out, "wangge_feed_buffered_bytes", "gauge",
         "Bytes held for event streams while their writes are in flight.");
  fmt::format_to(it, "wangge_feed_buffered_bytes {}\n", feed_buffered_.load());
}

std::string HttpMetrics::Render() const {
  std::string out;
  out.reserve(8192);
  RenderRequests(out);
  return out;
}

std::string EngineMetrics(const engine::Engine& engine) {
  std::string out;
  RenderEngine(out, engine);
  return out;
}

}  // namespace wangge::ingest
