// The HTTP service over real loopback connections, a real RocksDB and a real client.
#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "ingest/local_server.h"
#include "rules/ruleset.h"
#include "tests/testing/builders.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/http_fixture.h"
#include "tests/testing/temp_dir.h"

namespace wangge::ingest {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

class HttpServerTest : public testing::HttpServerFixture {
 protected:
  // Restarts the server with a short idle timeout; returns a raw connection to it.
  tcp::socket RestartWithIdleTimeoutAndConnect(net::io_context& ioc, int seconds) {
    ServerOptions so;
    so.port = 0;
    so.idle_timeout = std::chrono::seconds(seconds);
    StartServer(so);
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    return socket;
  }
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
  auto got = Call(http::verb::get, "/v1/cases/c-1", worker_);
  ASSERT_EQ(got.status, 200) << got.body;
  auto history = boost::json::parse(got.body).at("history").as_array();
  ASSERT_EQ(history.size(), 2u) << got.body;
  EXPECT_EQ(history[0].at("action").as_string(), "report");
  EXPECT_EQ(history[0].at("actor").as_string(), "W017");
  EXPECT_EQ(history[0].at("status").as_string(), "dispatched");
  EXPECT_EQ(history[1].at("action").as_string(), "accept");
  EXPECT_EQ(history[1].at("actor").as_string(), "H-zf-1");
  EXPECT_EQ(history[1].at("status").as_string(), "accepted");
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

TEST_F(HttpServerTest, CaseListPagesThroughWhatTheCallerMaySee) {
  for (int i = 0; i < 25; ++i) {
    const std::string village = i % 5 == 0 ? "V08" : "V07";
    ASSERT_EQ(Call(http::verb::post, "/v1/reports", i < 20 ? worker_ : other_worker_,
                   ReportBody("l-" + std::to_string(100 + i), 2, village))
                  .status,
              201);
  }
  std::vector<std::string> ids;
  std::string after;
  int pages = 0;
  for (;;) {
    auto r = Call(http::verb::get, "/v1/cases?limit=10" + (after.empty() ? "" : "&after=" + after),
                  supervisor_);
    ASSERT_EQ(r.status, 200) << r.body;
    auto body = boost::json::parse(r.body).as_object();
    for (const auto& c : body.at("cases").as_array()) {
      ids.emplace_back(c.at("case_id").as_string());
    }
    ++pages;
    if (!body.contains("next")) break;
    after = std::string(body.at("next").as_string());
    ASSERT_LT(pages, 10);
  }
  EXPECT_GE(pages, 3);
  ASSERT_EQ(ids.size(), 25u);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end());

  auto count = [&](const std::string& query, const std::string& token) {
    auto r = Call(http::verb::get, "/v1/cases?limit=500" + query, token);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    return r.status == 200 ? boost::json::parse(r.body).at("cases").as_array().size() : 0u;
  };
  EXPECT_EQ(count("", worker_), 20u);  // a worker sees their own reports
  EXPECT_EQ(count("", other_worker_), 5u);
  EXPECT_EQ(count("&village=V08", supervisor_), 5u);
  EXPECT_EQ(count("&office=zonghe-zhifa&status=dispatched", supervisor_), 25u);
  EXPECT_EQ(count("&status=accepted", supervisor_), 0u);
  EXPECT_EQ(count("", handler_), 25u);  // a handler sees their office's cases
  EXPECT_EQ(count("", other_handler_), 0u);
  EXPECT_EQ(count("&overdue=true", supervisor_), 0u);
}

TEST_F(HttpServerTest, OverdueListsOpenCasesPastDeadlineOldestFirst) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(
        Call(http::verb::post, "/v1/reports", worker_, ReportBody("o-" + std::to_string(i))).status,
        201);
    clock_.Advance(3'600'000);
  }
  ASSERT_EQ(Call(http::verb::post, "/v1/cases/o-1/transitions", supervisor_,
                 R"({"action": "cancel", "note": "duplicate of o-0"})")
                .status,
            200);
  clock_.Advance(90LL * 24 * 3'600'000);  // well past any deadline
  auto r = Call(http::verb::get, "/v1/cases?overdue=true&limit=1", supervisor_);
  ASSERT_EQ(r.status, 200) << r.body;
  auto page = boost::json::parse(r.body).as_object();
  ASSERT_EQ(page.at("cases").as_array().size(), 1u);
  EXPECT_EQ(page.at("cases").as_array()[0].at("case_id").as_string(), "o-0");
  auto next =
      Call(http::verb::get,
           "/v1/cases?overdue=true&after=" + std::string(page.at("next").as_string()), supervisor_);
  ASSERT_EQ(next.status, 200) << next.body;
  auto rest = boost::json::parse(next.body).at("cases").as_array();
  ASSERT_EQ(rest.size(), 1u);  // o-1 was cancelled
  EXPECT_EQ(rest[0].at("case_id").as_string(), "o-2");
}

TEST_F(HttpServerTest, CaseListRefusesBadQueriesByName) {
  struct Bad {
    std::string query;
    int status;
    std::string field;
  };
  const std::vector<Bad> cases = {
      {"limit=0", 400, "limit"},
      {"limit=501", 400, "limit"},
      {"limit=1x", 400, "limit"},
      {"status=lost", 400, "status"},
      {"overdue=yes", 400, "overdue"},
      {"after=zz", 400, "after"},
      {"after=d00", 400, "after"},
      {"colour=red", 400, "colour"},
      {"village=a&village=b", 400, "village"},
  };
  for (const auto& b : cases) {
    auto r = Call(http::verb::get, "/v1/cases?" + b.query, supervisor_);
    EXPECT_EQ(r.status, b.status) << b.query << ": " << r.body;
    EXPECT_NE(r.body.find("\"field\":\"" + b.field + "\""), std::string::npos)
        << b.query << ": " << r.body;
  }
  EXPECT_EQ(Call(http::verb::get, "/v1/cases?office=shichang", handler_).status, 403);
  EXPECT_EQ(Call(http::verb::get, "/v1/cases", "").status, 401);
  EXPECT_EQ(Call(http::verb::post, "/v1/cases", supervisor_).status, 405);
}

TEST_F(HttpServerTest, AuditRoutesExplainWalkTheChainAndJudgeARuleset) {
  ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, ReportBody("au-1")).status, 201);
  ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, ReportBody("au-2")).status, 201);
  auto explain = Call(http::verb::get, "/v1/cases/au-1/explain", supervisor_);
  ASSERT_EQ(explain.status, 200) << explain.body;
  auto e = boost::json::parse(explain.body).as_object();
  EXPECT_EQ(e.at("case_id").as_string(), "au-1");
  EXPECT_EQ(e.at("rules_seq").as_int64(), 1);
  EXPECT_TRUE(e.at("matches_record").as_bool());
  EXPECT_EQ(e.at("recorded").at("office"), e.at("derived").at("office"));
  EXPECT_GT(e.at("trace").as_array().size(), 1u);
  // Whoever may see the case reads why it went where it went; to others it does not exist.
  EXPECT_EQ(Call(http::verb::get, "/v1/cases/au-1/explain", worker_).status, 200);
  EXPECT_EQ(Call(http::verb::get, "/v1/cases/au-1/explain", other_worker_).status, 404);
  const bool ours = e.at("recorded").at("office").as_string() == "zonghe-zhifa";
  EXPECT_EQ(Call(http::verb::get, "/v1/cases/au-1/explain", handler_).status, ours ? 200 : 404);
  EXPECT_EQ(Call(http::verb::get, "/v1/cases/nope/explain", admin_).status, 404);

  auto chain = Call(http::verb::get, "/v1/audit/chain", admin_);
  ASSERT_EQ(chain.status, 200) << chain.body;
  auto c = boost::json::parse(chain.body).as_object();
  EXPECT_TRUE(c.at("ok").as_bool());
  EXPECT_EQ(c.at("records").as_int64(), 3);
  EXPECT_EQ(std::string(c.at("head").as_string()).substr(0, 2), "3:");
  EXPECT_EQ(Call(http::verb::post, "/v1/audit/chain", admin_).status, 405);

  const std::string one = R"({"version": "v2", "offices": [{"id": "one", "name": "One",
    "level": "platform"}], "tables": [{"id": "t", "rows": [{"id": "all", "default": true,
    "then": {"office": "one", "limit": {"calendar_hours": 5}}}]}]})";
  auto what_if = Call(http::verb::post, "/v1/audit/what-if", supervisor_, one);
  ASSERT_EQ(what_if.status, 200) << what_if.body;
  auto w = boost::json::parse(what_if.body).as_object();
  EXPECT_EQ(w.at("reports").as_int64(), 2);
  EXPECT_EQ(w.at("owner_changed").as_int64(), 2);
  EXPECT_EQ(w.at("moves").as_array()[0].at("to_office").as_string(), "one");
  auto none = Call(http::verb::post, "/v1/audit/what-if?from=2030-01-01", supervisor_, one);
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_EQ(boost::json::parse(none.body).at("reports").as_int64(), 0);
  auto broken = Call(http::verb::post, "/v1/audit/what-if", supervisor_, R"({"version": 1})");
  EXPECT_EQ(broken.status, 400) << broken.body;
  EXPECT_NE(broken.body.find("body:1:"), std::string::npos) << broken.body;
  auto bad_from = Call(http::verb::post, "/v1/audit/what-if?from=someday", supervisor_, one);
  EXPECT_EQ(bad_from.status, 400);
  EXPECT_NE(bad_from.body.find(R"("field":"from")"), std::string::npos) << bad_from.body;
  EXPECT_EQ(Call(http::verb::post, "/v1/audit/what-if?x=1", supervisor_, one).status, 400);
  EXPECT_EQ(Call(http::verb::post, "/v1/audit/what-if", worker_, one).status, 403);
  EXPECT_EQ(engine_->head().seq.value, 3u) << "the audit wrote nothing";
  EXPECT_TRUE(MetricsShow(R"(wangge_http_requests_total{route="audit",code="200"} 3)"));
}

TEST_F(HttpServerTest, RulesAreReadByAllAndActivatedByAdminsOnly) {
  auto got = Call(http::verb::get, "/v1/rules", worker_);
  ASSERT_EQ(got.status, 200) << got.body;
  auto active = boost::json::parse(got.body).as_object();
  EXPECT_EQ(active.at("version").as_string(), rules::Ruleset::BuiltIn()->version());
  EXPECT_EQ(active.at("activated_seq").as_int64(), 1);
  EXPECT_TRUE(active.at("ruleset").as_object().contains("offices"));

  const std::string next = testing::BuiltInRulesetAs("test-2.0");
  EXPECT_EQ(Call(http::verb::put, "/v1/rules", supervisor_, next).status, 403);
  auto broken = Call(http::verb::put, "/v1/rules", admin_, R"({"version": "x", "offices": [})");
  EXPECT_EQ(broken.status, 400) << broken.body;
  EXPECT_EQ(engine_->head().seq.value, 1u);

  auto put = Call(http::verb::put, "/v1/rules", admin_, next);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_NE(put.body.find(R"("version":"test-2.0")"), std::string::npos) << put.body;
  EXPECT_EQ(boost::json::parse(Call(http::verb::get, "/v1/rules", handler_).body)
                .at("version")
                .as_string(),
            "test-2.0");
  auto routed = Call(http::verb::post, "/v1/reports", worker_, ReportBody("after-switch"));
  EXPECT_NE(routed.body.find(R"("ruleset":"test-2.0")"), std::string::npos) << routed.body;
  EXPECT_EQ(Call(http::verb::delete_, "/v1/rules", admin_).status, 405);
}

TEST_F(HttpServerTest, MetricsCountRequestsCommitsAndCases) {
  ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, ReportBody("m-1")).status, 201);
  ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, ReportBody("m-2")).status, 201);
  ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, ReportBody("m-2")).status, 200);
  ASSERT_EQ(Call(http::verb::post, "/v1/cases/m-1/transitions", handler_, R"({"action":"accept"})")
                .status,
            200);
  ASSERT_EQ(Call(http::verb::get, "/v1/cases/none", supervisor_).status, 404);
  auto m = Call(http::verb::get, "/metrics", "");
  ASSERT_EQ(m.status, 200);
  for (const std::string line : {
           R"(wangge_http_requests_total{route="reports",code="201"} 2)",
           R"(wangge_http_requests_total{route="reports",code="200"} 1)",
           R"(wangge_http_requests_total{route="case",code="404"} 1)",
           R"(wangge_http_request_duration_seconds_count{route="reports"} 3)",
           R"(wangge_http_request_duration_seconds_bucket{route="reports",le="+Inf"} 3)",
           R"(wangge_cases{status="dispatched"} 1)",
           R"(wangge_cases{status="accepted"} 1)",
           R"(wangge_log_head_seq 4)",
           "wangge_sequencer_queue_depth 0",
           "# TYPE wangge_commit_batch_commands histogram",
       }) {
    EXPECT_NE(m.body.find(line + "\n"), std::string::npos) << line << "\n" << m.body;
  }
}

TEST_F(HttpServerTest, ConnectionsBeyondTheLimitAreRefusedWith503) {
  ServerOptions so;
  so.port = 0;
  so.max_connections = 2;
  StartServer(so);
  net::io_context ioc;
  std::vector<tcp::socket> held;
  const tcp::endpoint at(net::ip::make_address("127.0.0.1"), server_->port());
  for (int i = 0; i < 2; ++i) {
    held.emplace_back(ioc);
    held.back().connect(at);
  }
  // Let the server accept the two before the third arrives (asking /metrics would
  // itself be a third connection).
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  tcp::socket third(ioc);
  third.connect(at);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  boost::beast::error_code ec;
  http::read(third, buffer, res, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result_int(), 503u);
  EXPECT_NE(res.body().find("too many connections"), std::string::npos) << res.body();
  held.clear();  // the held ones close; new connections are served again
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(MetricsShow("wangge_http_connections 1"));  // the /metrics call itself
  EXPECT_TRUE(MetricsShow("wangge_http_connections_refused_total 1"));
}

TEST_F(HttpServerTest, ASlowClientIsCutOffWithoutHoldingUpOthers) {
  net::io_context ioc;
  tcp::socket slow = RestartWithIdleTimeoutAndConnect(ioc, 1);
  net::write(slow, net::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n")));
  const auto start = std::chrono::steady_clock::now();
  bool cut = false;
  int served = 0;
  // One header line every 200 ms never completes the request.
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(4)) {
    boost::system::error_code ec;
    net::write(slow, net::buffer(std::string("X-Drip: 1\r\n")), ec);
    if (ec) {
      cut = true;
      break;
    }
    if (Call(http::verb::get, "/healthz", "").status == 200) ++served;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(cut) << "the slow client was still connected after 4 s";
  EXPECT_LT(took, std::chrono::milliseconds(3500));
  EXPECT_GE(served, 3);
}

TEST_F(HttpServerTest, AClientThatNeverReadsIsCutOffWithoutHoldingUpOthers) {
  net::io_context ioc;
  tcp::socket deaf = RestartWithIdleTimeoutAndConnect(ioc, 1);
  // Pipelined requests whose answers (several MB in all) outgrow the socket buffers.
  std::string requests;
  for (int i = 0; i < 3000; ++i) requests += "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  boost::system::error_code ec;
  net::write(deaf, net::buffer(requests), ec);
  int served = 0;
  for (int i = 0; i < 10; ++i) {
    if (Call(http::verb::get, "/healthz", "").status == 200) ++served;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(served, 10);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  // The server has given up on it: draining what was sent ends in end-of-stream.
  deaf.non_blocking(true);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::vector<char> buf(1 << 16);
  bool closed = false;
  std::string drained;
  while (!closed && std::chrono::steady_clock::now() < until) {
    const size_t n = deaf.read_some(net::buffer(buf), ec);
    drained.append(buf.data(), n);
    if (ec == net::error::would_block) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } else if (ec) {
      closed = true;  // eof or reset
    }
  }
  EXPECT_TRUE(closed) << "the server kept a connection that never read its answers";
  // It stopped writing when the client stopped reading, long before the last answer.
  size_t answers = 0;
  for (size_t at = drained.find("HTTP/1.1 200"); at != std::string::npos;
       at = drained.find("HTTP/1.1 200", at + 1)) {
    ++answers;
  }
  EXPECT_LT(answers, 3000u);
  EXPECT_TRUE(MetricsShow("wangge_http_connections 1"));  // the /metrics call itself
}

TEST_F(HttpServerTest, AccessLogHasOneLinePerRequestWithActorAndStatus) {
  ServerOptions so;
  so.port = 0;
  so.access_log = dir_.Sub("access.log");
  StartServer(so);
  ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, ReportBody("a-1")).status, 201);
  ASSERT_EQ(Call(http::verb::get, "/v1/cases/a-1", "wg_wrong").status, 401);
  server_->Stop();
  std::ifstream in(dir_.Sub("access.log"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find(" 127.0.0.1 W017 POST /v1/reports 201 "), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find(" 127.0.0.1 - GET /v1/cases/a-1 401 "), std::string::npos) << lines[1];
}

TEST_F(HttpServerTest, InvalidUtf8IsRefusedAndWritesNothing) {
  std::string body = ReportBody("u-1");
  body.replace(body.find("河道"), 3, "\xff\xfe\xfd");
  auto r = Call(http::verb::post, "/v1/reports", worker_, body);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("UTF-8"), std::string::npos) << r.body;
  EXPECT_EQ(engine_->head().seq.value, 1u);
}

TEST_F(HttpServerTest, AFullSequencerQueueAnswers503WithRetryAfterAndLosesNothing) {
  engine::EngineOptions o;
  o.sequencer.max_batch = 1;
  o.sequencer.max_queue = 1;
  ReopenEngine(o);
  ServerOptions so;
  so.port = 0;
  so.threads = 4;
  StartServer(so);
  std::atomic<int> created{0}, refused{0}, other{0};
  std::atomic<bool> retry_after_missing{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        net::io_context ioc;
        tcp::socket socket(ioc);
        socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
        http::request<http::string_body> req{http::verb::post, "/v1/reports", 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::authorization, "Bearer " + worker_);
        req.body() = ReportBody("bp-" + std::to_string(t) + "-" + std::to_string(i));
        req.prepare_payload();
        http::write(socket, req);
        boost::beast::flat_buffer buffer;
        http::response<http::string_body> res;
        http::read(socket, buffer, res);
        if (res.result_int() == 201) {
          ++created;
        } else if (res.result_int() == 503) {
          ++refused;
          if (res[http::field::retry_after] != "1") retry_after_missing = true;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GT(refused.load(), 0) << "a queue of one never filled under 32 clients";
  EXPECT_GT(created.load(), 0);
  EXPECT_EQ(other.load(), 0);
  EXPECT_FALSE(retry_after_missing.load());
  // Exactly the acknowledged reports were written: the activation, then one per 201.
  EXPECT_EQ(engine_->head().seq.value, 1u + static_cast<uint64_t>(created.load()));
}

TEST_F(HttpServerTest, StatsAnswerSupervisorsAndHandlersAndRefuseBadQueries) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, ReportBody("st-" + std::to_string(i)))
                  .status,
              201);
  }
  for (const char* action : {R"({"action":"accept"})", R"({"action":"resolve"})"}) {
    ASSERT_EQ(Call(http::verb::post, "/v1/cases/st-0/transitions", handler_, action).status, 200);
  }
  ASSERT_EQ(Call(http::verb::post, "/v1/cases/st-0/transitions", worker_,
                 R"({"action":"verify","satisfaction":5})")
                .status,
            200);
  auto r = Call(http::verb::get, "/v1/stats?group_by=office", supervisor_);
  ASSERT_EQ(r.status, 200) << r.body;
  auto rows = boost::json::parse(r.body).at("rows").as_array();
  ASSERT_EQ(rows.size(), 1u) << r.body;
  EXPECT_EQ(rows[0].at("key").as_string(), "zonghe-zhifa");
  EXPECT_EQ(rows[0].at("total").as_int64(), 3);
  EXPECT_EQ(rows[0].at("closed").as_int64(), 1);
  EXPECT_EQ(rows[0].at("open").as_int64(), 2);
  EXPECT_EQ(rows[0].at("satisfaction_rate").to_number<double>(), 1.0);
  EXPECT_NE(r.body.find("\"satisfaction_rate\":1,"), std::string::npos) << r.body;  // not 1E0

  auto mine = Call(http::verb::get, "/v1/stats", handler_);
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(boost::json::parse(mine.body).at("office").as_string(), "zonghe-zhifa");
  auto theirs = Call(http::verb::get, "/v1/stats", other_handler_);
  ASSERT_EQ(theirs.status, 200) << theirs.body;
  EXPECT_TRUE(boost::json::parse(theirs.body).at("rows").as_array().empty()) << theirs.body;
  EXPECT_EQ(Call(http::verb::get, "/v1/stats?village=V07", handler_).status, 403);
  EXPECT_EQ(Call(http::verb::get, "/v1/stats", worker_).status, 403);

  const std::pair<std::string, std::string> bad[] = {
      {"from=2020-13-01", "from"},
      {"to=yesterday", "to"},
      {"group_by=colour", "group_by"},
      {"interval=year", "interval"},
      {"as_of=now", "as_of"},
      {"office=a&village=b", "village"},
      {"from=2020-03-02&to=2020-03-01", "from"},
      {"grid=V07-G3", "grid"},
      {"as_of=2001-01-01T00:00:00Z", "as_of"},
  };
  for (const auto& [query, field] : bad) {
    auto b = Call(http::verb::get, "/v1/stats?" + query, supervisor_);
    EXPECT_EQ(b.status, 400) << query << ": " << b.body;
    EXPECT_NE(b.body.find("\"field\":\"" + field + "\""), std::string::npos)
        << query << ": " << b.body;
  }
}

}  // namespace
}  // namespace wangge::ingest
