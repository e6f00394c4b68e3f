// An in-process LocalServer over a real RocksDB in a temp directory, with one token per
// role and a blocking loopback client (the HTTP tests).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "ingest/local_server.h"
#include "ingest/tokens.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace wangge::testing {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

struct Reply {
  int status = 0;
  std::string body;
  std::string content_type;
  http::fields headers;
};

class HttpServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    engine::EngineOptions o;
    o.store.path = dir_.Sub("data");
    o.store.create_if_missing = true;
    auto e = engine::Engine::Open(o, clock_);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
    std::string file;
    auto add = [&](engine::Actor a) {
      auto made = ingest::TokenStore::NewToken(a);
      EXPECT_TRUE(made.ok());
      file += made->second + "\n";
      return made->first;
    };
    worker_ = add({"W017", engine::Role::kWorker, ""});
    other_worker_ = add({"W099", engine::Role::kWorker, ""});
    handler_ = add({"H-zf-1", engine::Role::kHandler, "zonghe-zhifa"});
    other_handler_ = add({"H-sc-1", engine::Role::kHandler, "shichang"});
    supervisor_ = add({"S-1", engine::Role::kSupervisor, ""});
    admin_ = add({"A-1", engine::Role::kAdmin, ""});
    auto tokens = ingest::TokenStore::Parse(file, "tokens");
    ASSERT_TRUE(tokens.ok());
    tokens_ = std::move(tokens).value();
    ingest::ServerOptions so;
    so.port = 0;
    so.max_body_bytes = 4096;
    so.threads = 2;
    StartServer(so);
  }

  void StartServer(ingest::ServerOptions so) {
    if (server_) server_->Stop();
    server_ = std::make_unique<ingest::LocalServer>(*engine_, tokens_, clock_, so);
    ASSERT_TRUE(server_->Start().ok());
  }

  void TearDown() override {
    server_->Stop();
    engine_->Stop();
    server_.reset();
  }

  // A request with the bearer `token` (none when empty) and `body`.
  Reply Call(http::verb method, const std::string& target, const std::string& token,
             const std::string& body = {}) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return Fetch(method, target, headers, body);
  }

  // Stops the server and the engine, then opens the engine again on the same directory
  // with `o`'s other settings. The caller starts a server.
  void ReopenEngine(engine::EngineOptions o = {}) {
    server_->Stop();
    engine_->Stop();
    server_.reset();
    engine_.reset();
    o.store.path = dir_.Sub("data");
    auto e = engine::Engine::Open(o, clock_);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
  }

  // A request with `headers` added; HEAD reads no body. The server may answer (413) and
  // close before the whole body is sent: the write then fails, and the answer is still
  // there to read.
  Reply Fetch(http::verb method, const std::string& target,
              const std::vector<std::pair<std::string, std::string>>& headers = {},
              const std::string& body = {}) {
    net::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body() = body;
    req.prepare_payload();
    boost::beast::error_code ec;
    http::write(socket, req, ec);
    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.skip(method == http::verb::head);
    http::read(socket, buffer, parser, ec);
    const auto& res = parser.get();
    return Reply{ec ? -1 : static_cast<int>(res.result_int()), res.body(),
                 std::string(res[http::field::content_type]), res.base()};
  }

  // Sends `bytes` as they are on a new connection and reads one answer, waiting at most
  // 5 s for each. status -1: no answer came (body says why).
  Reply Raw(const std::string& bytes) {
    net::io_context ioc;
    boost::beast::tcp_stream stream(ioc);
    boost::beast::error_code ec;
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()), ec);
    if (ec) return Reply{-1, ec.message(), "", {}};
    // The server may answer and close before it has read everything: a failed write
    // still leaves its answer to read.
    stream.expires_after(std::chrono::seconds(5));
    net::async_write(stream, net::buffer(bytes), [](boost::beast::error_code, size_t) {});
    ioc.run();
    ioc.restart();
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    stream.expires_after(std::chrono::seconds(5));
    http::async_read(stream, buffer, res, [&](boost::beast::error_code e, size_t) { ec = e; });
    ioc.run();
    if (ec) return Reply{-1, ec.message(), "", {}};
    return Reply{static_cast<int>(res.result_int()), res.body(),
                 std::string(res[http::field::content_type]), res.base()};
  }

  // Whether GET /metrics holds `line`.
  bool MetricsShow(const std::string& line) {
    return Call(http::verb::get, "/metrics", "").body.find(line + "\n") != std::string::npos;
  }

  static std::string ReportBody(const std::string& id, int severity = 2,
                                const std::string& village = "V07") {
    return R"({"client_id": ")" + id + R"(", "category": "env.garbage", "village": ")" + village +
           R"(",
      "grid": "V07-G3", "severity": )" +
           std::to_string(severity) + R"(, "text": "河道漂浮垃圾",
      "lat": 29.874, "lon": 120.281, "reported_at": "2020-03-02T09:15:00+08:00"})";
  }

  wangge::testing::TempDir dir_;
  wangge::testing::FakeClock clock_;
  std::unique_ptr<engine::Engine> engine_;
  ingest::TokenStore tokens_ = *ingest::TokenStore::Parse("", "none");
  std::unique_ptr<ingest::LocalServer> server_;
  std::string worker_, other_worker_, handler_, other_handler_, supervisor_, admin_;
};

}  // namespace wangge::testing
