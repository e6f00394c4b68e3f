// wangge-loadgen: drives a running `wangge serve` over keep-alive HTTP connections and
// reports throughput and latency percentiles. Each connection sends one request at a
// time. With --rate the connections share a fixed schedule and latency is measured from
// each request's scheduled time, so a stalled server is charged for the requests it
// delayed (no coordinated omission); without it they send as fast as answers come back.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/fmt/fmt.h>

#include "core/sha256.h"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string token;
  int connections = 64;
  int threads = 2;
  double seconds = 10;
  double warmup = 1;
  double rate = 0;  // requests per second over all connections; 0 = as fast as possible
  int batch = 0;    // reports per request through /v1/reports:batch; 0 = single POSTs
  std::string prefix = "load";
  // Cluster mode: posts go to /v1/reports?town=T, round-robin over these, and 202 counts
  // as acknowledged. Empty = a single node.
  std::vector<std::string> towns;
  // Photo mode: PUT /v1/media/{sha256} of this file's bytes, each made unique by a tail
  // after the image's end (a reader ignores it), and counted in bytes. Empty = reports.
  std::string photo;
  std::string photo_bytes;  // the file, read once
};

// One report line. Ids are unique per run (prefix), connection and sequence number.
std::string ReportJson(const std::string& id, uint64_t n) {
  static const char* kCategories[] = {"env.garbage", "service.road", "safety.fire",
                                      "market.license", "env.river"};
  return fmt::format(
      R"({{"client_id":"{}","category":"{}","village":"V{:02}","grid":"V{:02}-G{}","severity":{},)"
      R"("text":"load test report","lat":29.87,"lon":120.28,"reported_at":"2026-01-05T09:00:00+08:00"}})",
      id, kCategories[n % 5], n % 12 + 1, n % 12 + 1, n % 6 + 1, n % 3 + 1);
}

struct Results {
  std::vector<uint32_t> latencies_us;  // measured requests only
  uint64_t ok = 0, failed = 0, reports = 0, bytes = 0;
  std::vector<int> failure_codes;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(net::io_context& ioc, const Options& o, int index, Clock::time_point start,
             Clock::time_point measure_from, Clock::time_point end)
      : stream_(ioc),
        o_(o),
        index_(index),
        start_(start),
        measure_from_(measure_from),
        end_(end),
        timer_(ioc) {}

  void Start(const tcp::endpoint& at) {
    stream_.async_connect(at, [self = shared_from_this()](beast::error_code ec) {
      if (ec) {
        std::cerr << "loadgen: connect failed: " << ec.message() << "\n";
        return;
      }
      self->stream_.socket().set_option(tcp::no_delay(true));
      self->Next();
    });
  }

  Results& results() { return results_; }

 private:
  // The scheduled time of this connection's next request under --rate.
  Clock::time_point Scheduled() const {
    const double per_connection = o_.rate / o_.connections;
    const double offset =
        (static_cast<double>(sent_) + static_cast<double>(index_) / o_.connections) /
        per_connection;
    return start_ +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(offset));
  }

  void Next() {
    if (o_.rate <= 0) return Send(Clock::now());
    const auto at = Scheduled();
    if (at >= end_) return;
    timer_.expires_at(at);
    timer_.async_wait([self = shared_from_this(), at](beast::error_code) { self->Send(at); });
  }

  void Send(Clock::time_point issued) {
    if (issued >= end_ || Clock::now() >= end_) return;
    issued_ = issued;
    req_ = {};
    req_.method(http::verb::post);
    req_.version(11);
    req_.keep_alive(true);
    req_.set(http::field::host, o_.host);
    req_.set(http::field::authorization, "Bearer " + o_.token);
    req_.set(http::field::content_type, o_.batch > 0 ? "application/x-ndjson" : "application/json");
    if (!o_.photo.empty()) {
      req_.method(http::verb::put);
      req_.set(http::field::content_type, "image/jpeg");
      std::string body = o_.photo_bytes + Id();
      ++made_;
      req_.target("/v1/media/" + wangge::Sha256Hex(body));
      req_.body() = std::move(body);
    } else if (o_.batch > 0) {
      req_.target("/v1/reports:batch");
      std::string body;
      for (int i = 0; i < o_.batch; ++i) {
        body +=
            ReportJson(Id(), sent_ * static_cast<uint64_t>(o_.batch) + static_cast<uint64_t>(i));
        body += '\n';
        ++made_;
      }
      req_.body() = std::move(body);
    } else {
      req_.target(o_.towns.empty() ? std::string("/v1/reports")
                                   : "/v1/reports?town=" +
                                         o_.towns[(sent_ * static_cast<uint64_t>(o_.connections) +
                                                   static_cast<uint64_t>(index_)) %
                                                  o_.towns.size()]);
      req_.body() = ReportJson(Id(), sent_);
      ++made_;
    }
    req_.prepare_payload();
    ++sent_;
    http::async_write(stream_, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Fail(ec);
      self->res_ = {};
      http::async_read(self->stream_, self->buffer_, self->res_,
                       [self](beast::error_code ec2, size_t) { self->OnResponse(ec2); });
    });
  }

  std::string Id() { return fmt::format("{}-{}-{}", o_.prefix, index_, made_); }

  void OnResponse(beast::error_code ec) {
    if (ec) return Fail(ec);
    const auto now = Clock::now();
    const int code = static_cast<int>(res_.result_int());
    if (issued_ >= measure_from_) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - issued_).count();
      results_.latencies_us.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
      if (code == 200 || code == 201 || code == 202) {
        ++results_.ok;
        results_.reports += o_.batch > 0 ? static_cast<uint64_t>(o_.batch) : 1;
        results_.bytes += req_.body().size();
      } else {
        ++results_.failed;
        if (results_.failure_codes.size() < 5) results_.failure_codes.push_back(code);
      }
    }
    Next();
  }

  void Fail(beast::error_code ec) {
    if (Clock::now() < end_)
      std::cerr << "loadgen: connection " << index_ << ": " << ec.message() << "\n";
    ++results_.failed;
  }

  beast::tcp_stream stream_;
  const Options& o_;
  const int index_;
  const Clock::time_point start_, measure_from_, end_;
  net::steady_timer timer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  beast::flat_buffer buffer_;
  Clock::time_point issued_;
  uint64_t sent_ = 0;
  uint64_t made_ = 0;
  Results results_;
};

double Percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i =
      std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return sorted[i] / 1000.0;
}

int Run(const Options& o) {
  net::io_context ioc;
  beast::error_code ec;
  const tcp::endpoint at(net::ip::make_address(o.host, ec), o.port);
  if (ec) {
    std::cerr << "loadgen: bad --host: " << ec.message() << "\n";
    return 2;
  }
  const auto start = Clock::now() + std::chrono::milliseconds(100);
  const auto measure_from =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
  const auto end = measure_from + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(o.seconds));
  std::vector<std::shared_ptr<Connection>> connections;
  for (int i = 0; i < o.connections; ++i) {
    connections.push_back(std::make_shared<Connection>(ioc, o, i, start, measure_from, end));
    connections.back()->Start(at);
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < o.threads; ++i) threads.emplace_back([&] { ioc.run(); });
  for (auto& t : threads) t.join();

  Results all;
  for (auto& c : connections) {
    auto& r = c->results();
    all.latencies_us.insert(all.latencies_us.end(), r.latencies_us.begin(), r.latencies_us.end());
    all.ok += r.ok;
    all.failed += r.failed;
    all.reports += r.reports;
    all.bytes += r.bytes;
    for (int code : r.failure_codes) {
      if (all.failure_codes.size() < 5) all.failure_codes.push_back(code);
    }
  }
  std::sort(all.latencies_us.begin(), all.latencies_us.end());
  const double secs = o.seconds;
  std::cout << fmt::format(
      "mode={} connections={} rate={} seconds={}\n"
      "requests_ok={} failed={} requests_per_s={:.0f} reports_per_s={:.0f} MB_per_s={:.1f}\n"
      "latency_ms p50={:.2f} p90={:.2f} p99={:.2f} p99.9={:.2f} max={:.2f}\n",
      !o.photo.empty() ? "photo"
      : o.batch > 0    ? fmt::format("batch{}", o.batch)
                       : "single",
      o.connections, o.rate > 0 ? fmt::format("{:.0f}", o.rate) : "max", secs, all.ok, all.failed,
      static_cast<double>(all.ok) / secs, static_cast<double>(all.reports) / secs,
      static_cast<double>(all.bytes) / secs / 1e6, Percentile(all.latencies_us, 0.50),
      Percentile(all.latencies_us, 0.90), Percentile(all.latencies_us, 0.99),
      Percentile(all.latencies_us, 0.999),
      all.latencies_us.empty() ? 0.0 : all.latencies_us.back() / 1000.0);
  if (!all.failure_codes.empty()) {
    std::cout << "first failure codes:";
    for (int c : all.failure_codes) std::cout << " " << c;
    std::cout << "\n";
  }
  return all.failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "Load generator for `wangge serve`: posts generated reports over keep-alive\n"
      "connections and prints throughput and latency percentiles."};
  app.add_option("--host", o.host, "Server address")->capture_default_str();
  app.add_option("--port", o.port, "Server port")->capture_default_str();
  app.add_option("--token", o.token, "A worker's bearer token (wangge token add)")->required();
  app.add_option("--connections,-c", o.connections, "Keep-alive connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--threads,-t", o.threads, "Client I/O threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--seconds,-d", o.seconds, "Measured duration")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--warmup", o.warmup, "Seconds of load before measuring")->capture_default_str();
  app.add_option("--rate,-r", o.rate, "Requests per second in total; 0 = as fast as answered")
      ->capture_default_str();
  app.add_option("--batch", o.batch, "Reports per request via /v1/reports:batch; 0 = single")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  app.add_option("--towns", o.towns,
                 "Cluster mode: post to these towns in turn (/v1/reports?town=T)")
      ->delimiter(',');
  app.add_option("--prefix", o.prefix, "Client id prefix; use a new one per run")
      ->capture_default_str();
  app.add_option("--photo", o.photo,
                 "Upload this JPEG (made unique per request) with PUT /v1/media instead of "
                 "posting reports")
      ->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);
  if (!o.photo.empty()) {
    std::ifstream in(o.photo, std::ios::binary);
    o.photo_bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  return Run(o);
}
