// The dashboard's files as `wangge serve` serves them, GET /v1/me, and the case-list
// filters the dashboard uses; over real loopback connections. The page itself is tested
// in headless Chromium (tests/ui/dashboard_test.mjs).
#include <regex>
#include <set>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "ingest/web_files.h"
#include "tests/testing/http_fixture.h"

namespace wangge::ingest {
namespace {

namespace http = boost::beast::http;

class DashboardHttpTest : public testing::HttpServerFixture {
 protected:
  std::string Header(const testing::Reply& r, http::field f) {
    const auto it = r.headers.find(f);
    return it == r.headers.end() ? "" : std::string(it->value());
  }
  std::string Header(const testing::Reply& r, const char* name) {
    const auto it = r.headers.find(name);
    return it == r.headers.end() ? "" : std::string(it->value());
  }
};

TEST_F(DashboardHttpTest, TheRootAndUiRedirectToThePage) {
  for (const char* target : {"/", "/ui"}) {
    auto r = Fetch(http::verb::get, target);
    EXPECT_EQ(r.status, 302) << target;
    EXPECT_EQ(Header(r, http::field::location), "/ui/") << target;
  }
}

TEST_F(DashboardHttpTest, FilesComeWithTheirTypeAValidatorAndThePolicy) {
  const std::pair<const char*, const char*> files[] = {
      {"/ui/", "text/html; charset=utf-8"},
      {"/ui/index.html", "text/html; charset=utf-8"},
      {"/ui/main.js", "text/javascript; charset=utf-8"},
      {"/ui/app.css", "text/css; charset=utf-8"},
      {"/ui/favicon.svg", "image/svg+xml"},
      {"/ui/vendor/chart.min.js", "text/javascript; charset=utf-8"}};
  for (const auto& [target, type] : files) {
    auto r = Fetch(http::verb::get, target);  // no credential: the files hold no data
    ASSERT_EQ(r.status, 200) << target;
    EXPECT_EQ(r.content_type, type) << target;
    EXPECT_FALSE(r.body.empty()) << target;
    EXPECT_EQ(Header(r, http::field::cache_control), "no-cache") << target;
    EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff") << target;
    EXPECT_EQ(Header(r, "Content-Security-Policy"), kWebPolicy) << target;
    EXPECT_EQ(Header(r, http::field::etag).size(), 34u) << target;  // 32 hex digits, quoted
  }
  EXPECT_EQ(Header(Fetch(http::verb::get, "/ui/"), http::field::etag),
            Header(Fetch(http::verb::get, "/ui/index.html"), http::field::etag));
  EXPECT_NE(Header(Fetch(http::verb::get, "/ui/"), http::field::etag),
            Header(Fetch(http::verb::get, "/ui/main.js"), http::field::etag));
  EXPECT_NE(Fetch(http::verb::get, "/ui/vendor/chart.min.js").body.find("Chart.js v3"),
            std::string::npos);
}

TEST_F(DashboardHttpTest, ARevalidationWithTheCurrentETagIs304) {
  const std::string etag = Header(Fetch(http::verb::get, "/ui/app.css"), http::field::etag);
  auto same = Fetch(http::verb::get, "/ui/app.css", {{"If-None-Match", etag}});
  EXPECT_EQ(same.status, 304);
  EXPECT_TRUE(same.body.empty());
  EXPECT_EQ(Header(same, http::field::etag), etag);
  auto listed = Fetch(http::verb::get, "/ui/app.css", {{"If-None-Match", "\"x\", " + etag}});
  EXPECT_EQ(listed.status, 304);
  auto stale = Fetch(http::verb::get, "/ui/app.css", {{"If-None-Match", "\"old\""}});
  EXPECT_EQ(stale.status, 200);
  EXPECT_FALSE(stale.body.empty());
}

TEST_F(DashboardHttpTest, HeadAnswersTheLengthWithoutTheBody) {
  const auto get = Fetch(http::verb::get, "/ui/main.js");
  const auto head = Fetch(http::verb::head, "/ui/main.js");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(Header(head, http::field::content_length), std::to_string(get.body.size()));
  EXPECT_EQ(head.content_type, get.content_type);
}

TEST_F(DashboardHttpTest, UnknownFilesAndOtherMethodsAreRefused) {
  for (const char* target : {"/ui/nope.js", "/ui/vendor/", "/ui/%2e%2e/tokens", "/ui/main.js/x"}) {
    auto r = Fetch(http::verb::get, target);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(r.content_type, "application/json") << target;
  }
  auto post = Fetch(http::verb::post, "/ui/");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(Header(post, http::field::allow), "GET, HEAD");
}

// Every file the page and its modules name is served: the build's list of embedded
// files and the page cannot drift apart.
TEST_F(DashboardHttpTest, EveryFileThePageNamesIsServed) {
  std::set<std::string> named;
  const std::regex ref(R"re((?:src|href)="([^"#?:]+)"|from '\./([^']+)')re");
  std::vector<std::string> pending = {"index.html"};
  while (!pending.empty()) {
    const std::string name = pending.back();
    pending.pop_back();
    auto r = Fetch(http::verb::get, "/ui/" + name);
    ASSERT_EQ(r.status, 200) << name;
    for (std::sregex_iterator it(r.body.begin(), r.body.end(), ref), end; it != end; ++it) {
      std::string file = (*it)[1].matched ? (*it)[1].str() : (*it)[2].str();
      if (file == "./") continue;  // the back link: the page itself
      if (named.insert(file).second) pending.push_back(file);
    }
  }
  for (const char* f : {"app.css", "main.js", "api.js", "views.js", "charts.js", "i18n.js",
                        "map.js", "vendor/chart.min.js", "favicon.svg"}) {
    EXPECT_TRUE(named.contains(f)) << f;
  }
  EXPECT_TRUE(MetricsShow(R"(wangge_http_requests_total{route="dashboard",code="200"} )" +
                          std::to_string(named.size() + 1)));
}

TEST_F(DashboardHttpTest, MeNamesTheTokensActorRoleAndOffice) {
  auto handler = Call(http::verb::get, "/v1/me", handler_);
  ASSERT_EQ(handler.status, 200) << handler.body;
  EXPECT_EQ(boost::json::parse(handler.body),
            boost::json::parse(R"({"actor":"H-zf-1","role":"handler","office":"zonghe-zhifa"})"));
  auto supervisor = Call(http::verb::get, "/v1/me", supervisor_);
  EXPECT_EQ(boost::json::parse(supervisor.body),
            boost::json::parse(R"({"actor":"S-1","role":"supervisor"})"));
  EXPECT_EQ(Call(http::verb::get, "/v1/me", "").status, 401);
  EXPECT_EQ(Call(http::verb::get, "/v1/me", "wg_unknown").status, 401);
  EXPECT_EQ(Call(http::verb::post, "/v1/me", supervisor_).status, 405);
}

// The dashboard's overdue list asks for the window and filter its figures use.
TEST_F(DashboardHttpTest, CaseListsFilterByCategoryAndDayOfReceipt) {
  // The fixture's clock starts on a day; three reports a day apart, the middle one of
  // another category.
  const auto body = [](const std::string& id, const std::string& category) {
    return R"({"client_id":")" + id + R"(","category":")" + category +
           R"(","village":"V07","grid":"V07-G3","severity":2,"reported_at":"2020-03-02T09:15:00+08:00"})";
  };
  std::vector<std::string> days;
  for (int i = 0; i < 3; ++i) {
    auto r = Call(http::verb::post, "/v1/reports", worker_,
                  body("d-" + std::to_string(i), i == 1 ? "food.stall" : "env.garbage"));
    ASSERT_EQ(r.status, 201) << r.body;
    days.push_back(std::string(boost::json::parse(r.body).at("received_at").as_string(), 0, 10));
    clock_.Advance(86'400'000);
  }
  const auto ids = [&](const std::string& query) {
    auto r = Call(http::verb::get, "/v1/cases?" + query, supervisor_);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    std::vector<std::string> out;
    if (r.status != 200) return out;
    const auto parsed = boost::json::parse(r.body);
    for (const auto& c : parsed.at("cases").as_array())
      out.emplace_back(c.at("case_id").as_string());
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids("category=food.stall"), V({"d-1"}));
  EXPECT_EQ(ids("category=env.garbage"), V({"d-0", "d-2"}));
  EXPECT_EQ(ids("from=" + days[1]), V({"d-1", "d-2"}));
  EXPECT_EQ(ids("to=" + days[1]), V({"d-0", "d-1"}));
  EXPECT_EQ(ids("from=" + days[1] + "&to=" + days[1]), V({"d-1"}));
  EXPECT_EQ(ids("from=" + days[2] + "&category=food.stall"), V());
  clock_.Advance(90LL * 86'400'000);
  EXPECT_EQ(ids("overdue=true&from=" + days[1] + "&category=env.garbage"), V({"d-2"}));

  auto reversed =
      Call(http::verb::get, "/v1/cases?from=" + days[2] + "&to=" + days[0], supervisor_);
  EXPECT_EQ(reversed.status, 400);
  EXPECT_NE(reversed.body.find(R"("field":"from")"), std::string::npos) << reversed.body;
  auto bad = Call(http::verb::get, "/v1/cases?to=2020-02-30", supervisor_);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find(R"("field":"to")"), std::string::npos) << bad.body;
}

}  // namespace
}  // namespace wangge::ingest
