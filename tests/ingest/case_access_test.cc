// Who may see and do what, over the HTTP API: idempotency keys are each reporter's own,
// and a case the caller may not see is 404 naming nothing of it (docs/reliability.md).
#include <algorithm>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/testing/http_fixture.h"

namespace wangge::ingest {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

class CaseAccessTest : public testing::HttpServerFixture {
 protected:
  static std::string WithText(const std::string& id, const std::string& text) {
    std::string body = ReportBody(id);
    const std::string was = "河道漂浮垃圾";
    body.replace(body.find(was), was.size(), text);
    return body;
  }
  static std::string Line(std::string body) {
    std::replace(body.begin(), body.end(), '\n', ' ');
    return body + "\n";
  }
};

// Before: the second worker got 200 with the first worker's whole case, and their own
// report was acknowledged and never written.
TEST_F(CaseAccessTest, AnotherWorkersClientIdMakesTheirOwnCaseAndShowsNothingOfTheFirst) {
  ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, WithText("c-1", "first secret")).status,
            201);
  auto second = Call(http::verb::post, "/v1/reports", other_worker_, WithText("c-1", "second"));
  ASSERT_EQ(second.status, 201) << second.body;
  EXPECT_EQ(second.body.find("first secret"), std::string::npos) << second.body;
  auto body = json::parse(second.body).as_object();
  EXPECT_EQ(body.at("case_id").as_string(), "c-1");  // the worker's own address for it
  EXPECT_EQ(body.at("reporter").as_string(), "W099");
  EXPECT_EQ(body.at("text").as_string(), "second");
  EXPECT_EQ(engine_->head().seq.value, 3u);

  // Each worker reads and acts on their own case by the client id they sent.
  auto mine = Call(http::verb::get, "/v1/cases/c-1", worker_);
  EXPECT_NE(mine.body.find("first secret"), std::string::npos) << mine.body;
  auto theirs = Call(http::verb::get, "/v1/cases/c-1", other_worker_);
  ASSERT_EQ(theirs.status, 200);
  EXPECT_EQ(theirs.body.find("first secret"), std::string::npos) << theirs.body;
  EXPECT_NE(theirs.body.find("\"case_id\":\"c-1\""), std::string::npos) << theirs.body;
  auto retry = Call(http::verb::post, "/v1/reports", other_worker_, WithText("c-1", "second"));
  EXPECT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(retry.body.find("first secret"), std::string::npos);

  // The office sees two cases, one addressed by its client id, one with its reporter.
  auto listed = Call(http::verb::get, "/v1/cases", handler_);
  ASSERT_EQ(listed.status, 200);
  std::vector<std::string> ids;
  const json::value cases = json::parse(listed.body);
  for (const auto& c : cases.at("cases").as_array()) {
    ids.emplace_back(c.at("case_id").as_string());
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"c-1", "c-1~W099"}));
  for (const char* action : {R"({"action":"accept"})", R"({"action":"resolve"})"}) {
    ASSERT_EQ(Call(http::verb::post, "/v1/cases/c-1~W099/transitions", handler_, action).status,
              200);
  }
  auto verified = Call(http::verb::post, "/v1/cases/c-1/transitions", other_worker_,
                       R"({"action":"verify","satisfaction":4})");
  ASSERT_EQ(verified.status, 200) << verified.body;
  EXPECT_NE(verified.body.find("\"status\":\"closed\""), std::string::npos);
  EXPECT_NE(verified.body.find("\"case_id\":\"c-1\""), std::string::npos) << verified.body;
  auto first = Call(http::verb::get, "/v1/cases/c-1", supervisor_);
  EXPECT_NE(first.body.find("\"status\":\"dispatched\""), std::string::npos) << first.body;

  // The change feed shows the worker their own address too.
  auto feed = Call(http::verb::get, "/v1/feed?after=0", other_worker_);
  ASSERT_EQ(feed.status, 200) << feed.body;
  EXPECT_EQ(feed.body.find("c-1~"), std::string::npos) << feed.body;
  EXPECT_EQ(feed.body.find("first secret"), std::string::npos) << feed.body;
  EXPECT_EQ(json::parse(feed.body).at("records").as_array().size(), 4u) << feed.body;
}

TEST_F(CaseAccessTest, AReusedKeyWithOtherContentIs409NamingTheFieldAndWritesNothing) {
  ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, ReportBody("c-1")).status, 201);
  auto changed = Call(http::verb::post, "/v1/reports", worker_, WithText("c-1", "other"));
  EXPECT_EQ(changed.status, 409) << changed.body;
  auto error = json::parse(changed.body).at("error").as_object();
  EXPECT_EQ(error.at("code").as_string(), "already_exists");
  EXPECT_EQ(error.at("field").as_string(), "text");
  EXPECT_EQ(Call(http::verb::post, "/v1/reports", worker_, ReportBody("c-1", 3)).status, 409);
  EXPECT_EQ(engine_->head().seq.value, 2u);
  auto same = Call(http::verb::post, "/v1/reports", worker_, ReportBody("c-1"));
  EXPECT_EQ(same.status, 200) << same.body;
}

TEST_F(CaseAccessTest, BatchLinesFollowTheSameRules) {
  ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, WithText("b-1", "first secret")).status,
            201);
  const std::string mine = Line(WithText("b-1", "first secret")) + Line(WithText("b-1", "edited"));
  auto r = Call(http::verb::post, "/v1/reports:batch", worker_, mine);
  ASSERT_EQ(r.status, 200) << r.body;
  auto results = json::parse(r.body).at("results").as_array();
  EXPECT_EQ(results[0].at("status").as_string(), "duplicate");
  EXPECT_EQ(results[1].at("status").as_string(), "error");
  EXPECT_EQ(results[1].at("error").at("code").as_string(), "already_exists");
  EXPECT_EQ(results[1].at("error").at("field").as_string(), "text");

  auto theirs = Call(http::verb::post, "/v1/reports:batch", other_worker_,
                     Line(WithText("b-1", "theirs")) + Line(WithText("b-1", "theirs")));
  ASSERT_EQ(theirs.status, 200) << theirs.body;
  EXPECT_EQ(theirs.body.find("first secret"), std::string::npos) << theirs.body;
  auto lines = json::parse(theirs.body).at("results").as_array();
  EXPECT_EQ(lines[0].at("status").as_string(), "created");
  EXPECT_EQ(lines[0].at("case_id").as_string(), "b-1");
  EXPECT_EQ(lines[1].at("status").as_string(), "duplicate");
  EXPECT_EQ(lines[0].at("seq"), lines[1].at("seq"));
  EXPECT_EQ(engine_->head().seq.value, 3u);
}

// Before: a handler racing a supervisor's reassignment got 403 naming the new office.
TEST_F(CaseAccessTest, ACaseReassignedAwayIs404NamingNothingOfIt) {
  ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, ReportBody("c-1")).status, 201);
  ASSERT_EQ(Call(http::verb::post, "/v1/cases/c-1/transitions", handler_, R"({"action":"accept"})")
                .status,
            200);
  ASSERT_EQ(Call(http::verb::post, "/v1/cases/c-1/transitions", supervisor_,
                 R"({"action":"reassign","to_office":"shichang"})")
                .status,
            200);
  for (const auto& [method, target, body] :
       {std::tuple{http::verb::post, "/v1/cases/c-1/transitions", R"({"action":"resolve"})"},
        std::tuple{http::verb::get, "/v1/cases/c-1", ""},
        std::tuple{http::verb::get, "/v1/cases/c-1/explain", ""}}) {
    auto r = Call(method, target, handler_, body);
    SCOPED_TRACE(target);
    EXPECT_TRUE(r.status == 404 || r.status == 403) << r.body;
    EXPECT_EQ(r.body.find("shichang"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("W017"), std::string::npos) << r.body;
  }
  auto resolve =
      Call(http::verb::post, "/v1/cases/c-1/transitions", handler_, R"({"action":"resolve"})");
  EXPECT_EQ(resolve.status, 404);
  EXPECT_EQ(json::parse(resolve.body).at("error").at("message").as_string(), "no case c-1");
  // Another worker's verify on it is the same 404 as a case that does not exist.
  auto verify = Call(http::verb::post, "/v1/cases/c-1/transitions", other_worker_,
                     R"({"action":"verify","satisfaction":5})");
  auto missing = Call(http::verb::post, "/v1/cases/c-404/transitions", other_worker_,
                      R"({"action":"verify","satisfaction":5})");
  EXPECT_EQ(verify.status, 404);
  EXPECT_EQ(missing.status, 404);
}

}  // namespace
}  // namespace wangge::ingest
