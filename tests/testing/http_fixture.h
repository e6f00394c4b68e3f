// An in-process LocalServer over a real RocksDB in a temp directory, with one token per
// role and a blocking loopback client (the HTTP tests).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "engine/engine.h"
#include "ingest/local_server.h"
#include "ingest/tokens.h"
#include "tests/testing/builders.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/http_client.h"
#include "tests/testing/temp_dir.h"

namespace wangge::testing {

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
    return Fetch(method, target, Bearer(token), body);
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

  // A request with `headers` added, on a new connection (tests/testing/http_client.h).
  Reply Fetch(http::verb method, const std::string& target, const Headers& headers = {},
              const std::string& body = {}) {
    return testing::Fetch(server_->port(), method, target, headers, body);
  }

  // Sends `bytes` as they are on a new connection and reads one answer.
  Reply Raw(const std::string& bytes) { return testing::Raw(server_->port(), bytes); }

  // Whether GET /metrics holds `line`.
  bool MetricsShow(const std::string& line) {
    return Call(http::verb::get, "/metrics", "").body.find(line + "\n") != std::string::npos;
  }

  static std::string ReportBody(const std::string& id, int severity = 2,
                                const std::string& village = "V07") {
    return ReportJson(id, severity, village);
  }

  wangge::testing::TempDir dir_;
  wangge::testing::FakeClock clock_;
  std::unique_ptr<engine::Engine> engine_;
  ingest::TokenStore tokens_ = *ingest::TokenStore::Parse("", "none");
  std::unique_ptr<ingest::LocalServer> server_;
  std::string worker_, other_worker_, handler_, other_handler_, supervisor_, admin_;
};

}  // namespace wangge::testing
