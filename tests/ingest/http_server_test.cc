// The HTTP service over real loopback connections, a real RocksDB and a real client.
#include "ingest/http_server.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace wangge::ingest {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

struct Reply {
  int status = 0;
  std::string body;
};

class HttpServerTest : public ::testing::Test {
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
      auto made = TokenStore::NewToken(a);
      EXPECT_TRUE(made.ok());
      file += made->second + "\n";
      return made->first;
    };
    worker_ = add({"W017", engine::Role::kWorker, ""});
    other_worker_ = add({"W099", engine::Role::kWorker, ""});
    handler_ = add({"H-zf-1", engine::Role::kHandler, "zonghe-zhifa"});
    other_handler_ = add({"H-sc-1", engine::Role::kHandler, "shichang"});
    supervisor_ = add({"S-1", engine::Role::kSupervisor, ""});
    auto tokens = TokenStore::Parse(file, "tokens");
    ASSERT_TRUE(tokens.ok());
    tokens_ = std::move(tokens).value();
    ServerOptions so;
    so.port = 0;
    so.max_body_bytes = 4096;
    so.threads = 2;
    server_ = std::make_unique<HttpServer>(*engine_, tokens_, clock_, so);
    ASSERT_TRUE(server_->Start().ok());
  }

  void TearDown() override {
    server_->Stop();
    engine_->Stop();
    server_.reset();
  }

  Reply Call(http::verb method, const std::string& target, const std::string& token,
             const std::string& body = {}) {
    net::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    req.body() = body;
    req.prepare_payload();
    boost::beast::error_code ec;
    // The server may answer (413) and close before the whole body is sent: the write
    // then fails, and the answer is still there to read.
    http::write(socket, req, ec);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res, ec);
    return Reply{ec ? -1 : static_cast<int>(res.result_int()), res.body()};
  }

  static std::string ReportBody(const std::string& id, int severity = 2) {
    return R"({"client_id": ")" + id + R"(", "category": "env.garbage", "village": "V07",
      "grid": "V07-G3", "severity": )" +
           std::to_string(severity) + R"(, "text": "河道漂浮垃圾",
      "lat": 29.874, "lon": 120.281, "reported_at": "2020-03-02T09:15:00+08:00"})";
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<engine::Engine> engine_;
  TokenStore tokens_ = *TokenStore::Parse("", "none");
  std::unique_ptr<HttpServer> server_;
  std::string worker_, other_worker_, handler_, other_handler_, supervisor_;
};

TEST_F(HttpServerTest, HealthAndUnknownRoutes) {
  EXPECT_EQ(Call(http::verb::get, "/healthz", "").status, 200);
  auto ready = Call(http::verb::get, "/readyz", "");
  EXPECT_EQ(ready.status, 200);
  EXPECT_NE(ready.body.find("\"log_head\":1"), std::string::npos) << ready.body;
  EXPECT_EQ(Call(http::verb::get, "/nowhere", "").status, 404);
  EXPECT_EQ(Call(http::verb::get, "/v1/reports", worker_).status, 405);
}

TEST_F(HttpServerTest, ReportIsCreatedOnceAndAnsweredAfterCommit) {
  auto created = Call(http::verb::post, "/v1/reports", worker_, ReportBody("c-1"));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_NE(created.body.find("\"office\":\"zonghe-zhifa\""), std::string::npos) << created.body;
  EXPECT_NE(created.body.find("\"seq\":2"), std::string::npos) << created.body;
  auto again = Call(http::verb::post, "/v1/reports", worker_, ReportBody("c-1"));
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_NE(again.body.find("\"seq\":2"), std::string::npos) << again.body;
  EXPECT_EQ(engine_->head().seq.value, 2u);  // the activation, then the one report
}

TEST_F(HttpServerTest, CredentialsAndRoles) {
  EXPECT_EQ(Call(http::verb::post, "/v1/reports", "", ReportBody("c-1")).status, 401);
  EXPECT_EQ(Call(http::verb::post, "/v1/reports", "wg_bogus", ReportBody("c-1")).status, 401);
  auto by_handler = Call(http::verb::post, "/v1/reports", handler_, ReportBody("c-1"));
  EXPECT_EQ(by_handler.status, 403) << by_handler.body;
  EXPECT_EQ(engine_->head().seq.value, 1u);
}

TEST_F(HttpServerTest, BadInputIsA4xxNamingTheProblemAndWritesNothing) {
  auto bad = Call(http::verb::post, "/v1/reports", worker_, ReportBody("c-1", 9));
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("\"field\":\"severity\""), std::string::npos) << bad.body;
  auto future = Call(http::verb::post, "/v1/reports", worker_,
                     R"({"client_id": "c-2", "category": "c", "village": "v", "grid": "g",
                         "severity": 1, "reported_at": "2030-01-01T00:00:00Z"})");
  EXPECT_EQ(future.status, 400);
  EXPECT_NE(future.body.find("\"field\":\"reported_at\""), std::string::npos) << future.body;
  auto huge = Call(http::verb::post, "/v1/reports", worker_, std::string(5000, ' '));
  EXPECT_EQ(huge.status, 413) << huge.body;
  EXPECT_EQ(Call(http::verb::post, "/v1/reports", worker_, "{").status, 400);
  EXPECT_EQ(engine_->head().seq.value, 1u);
}

TEST_F(HttpServerTest, CasesAreVisibleOnlyToThoseWhoMaySeeThem) {
  ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, ReportBody("c-1")).status, 201);
  EXPECT_EQ(Call(http::verb::get, "/v1/cases/c-1", worker_).status, 200);
  EXPECT_EQ(Call(http::verb::get, "/v1/cases/c-1", handler_).status, 200);
  EXPECT_EQ(Call(http::verb::get, "/v1/cases/c-1", supervisor_).status, 200);
  // Not allowed looks exactly like not there.
  auto hidden = Call(http::verb::get, "/v1/cases/c-1", other_worker_);
  auto missing = Call(http::verb::get, "/v1/cases/c-404", other_worker_);
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Call(http::verb::get, "/v1/cases/c-1", other_handler_).status, 404);
}

TEST_F(HttpServerTest, TransitionsFollowTheLifecycle) {
  ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, ReportBody("c-1")).status, 201);
  auto early =
      Call(http::verb::post, "/v1/cases/c-1/transitions", handler_, R"({"action": "resolve"})");
  EXPECT_EQ(early.status, 409) << early.body;
  auto accept =
      Call(http::verb::post, "/v1/cases/c-1/transitions", handler_, R"({"action": "accept"})");
  EXPECT_EQ(accept.status, 200) << accept.body;
  EXPECT_NE(accept.body.find("\"status\":\"accepted\""), std::string::npos) << accept.body;
  auto foreign = Call(http::verb::post, "/v1/cases/c-1/transitions", other_handler_,
                      R"({"action": "resolve"})");
  EXPECT_EQ(foreign.status, 404) << foreign.body;
  auto bad = Call(http::verb::post, "/v1/cases/c-1/transitions", handler_, R"({"action": "x"})");
  EXPECT_EQ(bad.status, 400);
}

TEST_F(HttpServerTest, BatchAcceptsValidLinesAndReportsEveryLine) {
  // NDJSON: one report a line.
  auto line = [](std::string body) {
    std::replace(body.begin(), body.end(), '\n', ' ');
    return body;
  };
  const std::string body = line(ReportBody("b-1")) + "\n" + line(ReportBody("b-2", 9)) + "\n\n" +
                           line(ReportBody("b-1")) + "\r\n" + line(ReportBody("b-3")) + "\n";
  auto r = Call(http::verb::post, "/v1/reports:batch", worker_, body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"created\":2"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"duplicates\":1"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"errors\":1"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"({"line":1,"status":"created")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"({"line":2,"status":"error")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("field":"severity")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"({"line":4,"status":"duplicate")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"({"line":5,"status":"created")"), std::string::npos) << r.body;
  EXPECT_EQ(engine_->head().seq.value, 3u);

  EXPECT_EQ(Call(http::verb::post, "/v1/reports:batch", handler_, body).status, 403);
  std::string many;
  for (int i = 0; i < 1001; ++i) many += line(ReportBody("m-" + std::to_string(i))) + "\n";
  auto too_many = Call(http::verb::post, "/v1/reports:batch", worker_, many);
  EXPECT_EQ(too_many.status, 400) << too_many.body;
  EXPECT_NE(too_many.body.find("more than 1000 lines"), std::string::npos) << too_many.body;
  auto too_big = Call(http::verb::post, "/v1/reports:batch", worker_, std::string(1 << 21, ' '));
  EXPECT_EQ(too_big.status, 413);
  EXPECT_EQ(engine_->head().seq.value, 3u);
}

TEST_F(HttpServerTest, SameClientIdFromSixteenConnectionsMakesOneCase) {
  std::atomic<int> created{0}, duplicates{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      auto r = Call(http::verb::post, "/v1/reports", worker_, ReportBody("same"));
      (r.status == 201 ? created : r.status == 200 ? duplicates : other)++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(duplicates.load(), 15);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(engine_->head().seq.value, 2u);
}

}  // namespace
}  // namespace wangge::ingest
