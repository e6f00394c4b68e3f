// Hostile and broken HTTP against the running server: each request gets the right 4xx
// with a JSON error body, writes nothing to the log, and leaves the server serving.
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/testing/http_fixture.h"

namespace wangge::ingest {
namespace {

namespace http = boost::beast::http;

struct Abuse {
  std::string name;
  std::string request;  // raw bytes
  int want_status;
};

class HttpAbuseTest : public testing::HttpServerFixture {
 protected:
  // A request to `target` with `headers` (each ending in CRLF) and `body`.
  static std::string Req(const std::string& method, const std::string& target,
                         const std::string& headers, const std::string& body = "") {
    return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  std::string Auth(const std::string& token) const {
    return "Authorization: Bearer " + token + "\r\n";
  }

  // Sends each request; checks the answer and that nothing was written.
  void Expect(const std::vector<Abuse>& cases) {
    for (const auto& a : cases) {
      const uint64_t head = engine_->head().seq.value;
      const auto r = Raw(a.request);
      EXPECT_EQ(r.status, a.want_status) << a.name << ": " << r.body;
      if (r.status >= 400) ExpectJsonError(a.name, r);
      EXPECT_EQ(engine_->head().seq.value, head) << a.name << " wrote to the log";
      EXPECT_EQ(Call(http::verb::get, "/healthz", "").status, 200) << "after " << a.name;
    }
  }

  static void ExpectJsonError(const std::string& name, const testing::Reply& r) {
    EXPECT_EQ(r.content_type, "application/json") << name;
    boost::system::error_code ec;
    const auto v = boost::json::parse(r.body, ec);
    ASSERT_FALSE(ec) << name << ": the error body is not JSON: " << r.body;
    const auto* error = v.is_object() ? v.as_object().if_contains("error") : nullptr;
    ASSERT_TRUE(error && error->is_object()) << name << ": " << r.body;
    EXPECT_TRUE(error->as_object().contains("code")) << name;
    const auto* message = error->as_object().if_contains("message");
    ASSERT_TRUE(message && message->is_string()) << name;
    EXPECT_FALSE(message->as_string().empty()) << name;
  }
};

TEST_F(HttpAbuseTest, BrokenFramingIsA400OrA413AndTheConnectionCloses) {
  const std::string report = ReportBody("f-1");
  Expect({
      {"request line without a version", "GET /healthz\r\n\r\n", 400},
      {"garbage request line", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400},
      {"space in the target", "GET /v1/cases /x HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"header without a colon", "GET /healthz HTTP/1.1\r\nHost h\r\n\r\n", 400},
      {"NUL in a header value", std::string("GET /healthz HTTP/1.1\r\nX-A: a\0b\r\n\r\n", 35), 400},
      // RFC 9112 5.2 lets a server replace an obs-fold with a space instead of refusing it.
      {"an obs-fold continuation line", "GET /healthz HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", 200},
      {"two different Content-Lengths",
       "POST /v1/reports HTTP/1.1\r\nHost: h\r\n" + Auth(worker_) +
           "Content-Length: 5\r\nContent-Length: 6\r\n\r\n" + report,
       400},
      {"Content-Length with chunked (a smuggling shape)",
       "POST /v1/reports HTTP/1.1\r\nHost: h\r\n" + Auth(worker_) +
           "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       400},
      {"a chunk size that is not hex",
       "POST /v1/reports HTTP/1.1\r\nHost: h\r\n" + Auth(worker_) +
           "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
       400},
      {"a chunk longer than it said",
       "POST /v1/reports HTTP/1.1\r\nHost: h\r\n" + Auth(worker_) +
           "Transfer-Encoding: chunked\r\n\r\n2\r\n{}}}\r\n0\r\n\r\n",
       400},
      {"a negative Content-Length",
       "POST /v1/reports HTTP/1.1\r\nHost: h\r\n" + Auth(worker_) + "Content-Length: -1\r\n\r\n",
       400},
      {"a Content-Length past 2^64",
       "POST /v1/reports HTTP/1.1\r\nHost: h\r\n" + Auth(worker_) +
           "Content-Length: 99999999999999999999999\r\n\r\n",
       400},
      {"a declared body over the limit",
       "POST /v1/reports HTTP/1.1\r\nHost: h\r\n" + Auth(worker_) +
           "Content-Length: 1000000\r\n\r\n{",
       413},
      {"chunks adding up past the limit",
       "POST /v1/reports HTTP/1.1\r\nHost: h\r\n" + Auth(worker_) +
           "Transfer-Encoding: chunked\r\n\r\n" +
           [] {
             std::string chunks;
             for (int i = 0; i < 8; ++i) chunks += "400\r\n" + std::string(1024, ' ') + "\r\n";
             return chunks + "0\r\n\r\n";
           }(),
       413},
      {"a header block over the limit",
       "GET /healthz HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n", 431},
      {"a target over the header limit",
       "GET /v1/cases/" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n", 431},
  });
}

TEST_F(HttpAbuseTest, HostileBodiesAreRefusedByName) {
  std::string nested(4000, '[');  // under the 4 KiB body limit, past the depth limit
  std::string bad_utf8 = ReportBody("b-1");
  bad_utf8.replace(bad_utf8.find("河道"), 3, "\xc3\x28\xa0");
  auto report = [&](const std::string& body, const std::string& type = "application/json") {
    return Req("POST", "/v1/reports", Auth(worker_) + "Content-Type: " + type + "\r\n", body);
  };
  auto with = [&](const std::string& field, const std::string& value) {
    std::string b = ReportBody("n-1");
    const size_t at = b.find("\"" + field + "\": ") + field.size() + 4;
    return b.replace(at, b.find_first_of(",}", at) - at, value);
  };
  Expect({
      {"invalid UTF-8 in a string", report(bad_utf8), 400},
      {"4,000 nested arrays", report(nested), 400},
      {"nested objects in a field", report(with("severity", std::string(2000, '[') + "1")), 400},
      {"severity past 2^64", report(with("severity", "99999999999999999999999")), 400},
      {"severity 1e400", report(with("severity", "1e400")), 400},
      {"severity as a float", report(with("severity", "2.5")), 400},
      {"latitude 1e308", report(with("lat", "1e308")), 400},
      {"longitude NaN", report(with("lon", "NaN")), 400},
      {"a duplicate field", report(R"({"severity": 1, )" + ReportBody("d-1").substr(1)), 400},
      {"a JSON string, not an object", report(R"("report")"), 400},
      {"trailing garbage", report(ReportBody("t-1") + "}"), 400},
      {"an empty body", report(""), 400},
      {"a client_id of 129 bytes", report(with("client_id", '"' + std::string(129, 'x') + '"')),
       400},
      {"a control character in an id", report(with("village", R"("V\u0007")")), 400},
      {"XML sent as XML", report("<report/>", "application/xml"), 415},
      {"JSON sent as a form", report(ReportBody("w-1"), "application/x-www-form-urlencoded"), 415},
      {"JSON in another charset", report(ReportBody("w-2"), "application/json; charset=gbk"), 415},
      {"a transition that is a number",
       Req("POST", "/v1/cases/x/transitions", Auth(handler_), "42"), 400},
  });
}

TEST_F(HttpAbuseTest, PathsQueriesAndIdsCannotEscapeOrInject) {
  Expect({
      {"dot segments in a case id",
       Req("GET", "/v1/cases/..%2F..%2Fetc%2Fpasswd", Auth(supervisor_)), 404},
      {"an encoded NUL in a case id", Req("GET", "/v1/cases/a%00b", Auth(supervisor_)), 400},
      {"invalid UTF-8 in a case id", Req("GET", "/v1/cases/%FF%FE", Auth(supervisor_)), 400},
      {"a 300-byte case id", Req("GET", "/v1/cases/" + std::string(300, 'c'), Auth(supervisor_)),
       400},
      {"dot segments out of the API", Req("GET", "/v1/../healthz/../../etc/passwd", ""), 404},
      {"a malformed percent escape", Req("GET", "/v1/cases/%zz", Auth(supervisor_)), 400},
      {"SQL in a query value",
       Req("GET", "/v1/cases?office=%27%20OR%201%3D1%20--&limit=5", Auth(handler_)), 403},
      {"an unknown query parameter", Req("GET", "/v1/cases?drop=table", Auth(supervisor_)), 400},
      {"a limit past 2^64", Req("GET", "/v1/cases?limit=99999999999999999999", Auth(supervisor_)),
       400},
      {"a negative limit", Req("GET", "/v1/cases?limit=-1", Auth(supervisor_)), 400},
      {"invalid UTF-8 in a query parameter name (echoed in the error)",
       Req("GET", "/v1/cases?%FF%FEx=1", Auth(supervisor_)), 400},
      {"invalid UTF-8 in a query value", Req("GET", "/v1/stats?group_by=%C3%28", Auth(supervisor_)),
       400},
      // Found by the query_string fuzzer (tests/fuzz/corpus/query_string/regression-*).
      {"a stats window that ends before it starts",
       Req("GET", "/v1/stats?from=3302-01-01&to=2020-03-31&group_by=office", Auth(supervisor_)),
       400},
      {"a method the route does not take", Req("DELETE", "/v1/cases/x", Auth(admin_)), 405},
      {"an unknown method", Req("BREW", "/v1/reports", Auth(worker_)), 405},
  });
  // An id or a query value that looks like SQL or shell is data, kept and shown verbatim.
  const std::string odd = R"('; DROP TABLE cases; -- $(rm -rf /))";
  std::string body = ReportBody("x");
  body.replace(body.find("\"x\""), 3, "\"" + odd + "\"");
  ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, body).status, 201);
  const auto listed = Call(http::verb::get, "/v1/cases?office=%27%20OR%201%3D1%20--", supervisor_);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(boost::json::parse(listed.body).at("cases").as_array().size(), 0u) << listed.body;
  const auto got = Call(http::verb::get,
                        "/v1/cases/%27%3B%20DROP%20TABLE%20cases%3B%20--%20%24%28rm%20-rf%20%2F%29",
                        supervisor_);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(boost::json::parse(got.body).at("case_id").as_string(), odd);
}

TEST_F(HttpAbuseTest, ForgedReplayedAndCrossOfficeCredentialsGetNothing) {
  ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, ReportBody("o-1")).status, 201);
  std::string altered = worker_;
  altered.back() = altered.back() == 'a' ? 'b' : 'a';
  const std::string transition = R"({"action": "accept"})";
  Expect({
      {"no credential", Req("GET", "/v1/cases/o-1", ""), 401},
      {"a token with one character changed", Req("GET", "/v1/cases/o-1", Auth(altered)), 401},
      {"a token cut short",
       Req("GET", "/v1/cases/o-1", Auth(worker_.substr(0, worker_.size() - 4))), 401},
      {"Basic instead of Bearer", Req("GET", "/v1/cases/o-1", "Authorization: Basic dzpw\r\n"),
       401},
      {"two Authorization headers", Req("GET", "/v1/cases/o-1", Auth(altered) + Auth(supervisor_)),
       400},
      {"another worker's case", Req("GET", "/v1/cases/o-1", Auth(other_worker_)), 404},
      {"another office's case", Req("GET", "/v1/cases/o-1", Auth(other_handler_)), 404},
      {"acting on another office's case",
       Req("POST", "/v1/cases/o-1/transitions", Auth(other_handler_), transition), 404},
      {"listing another office", Req("GET", "/v1/cases?office=zonghe-zhifa", Auth(other_handler_)),
       403},
      {"a worker activating rules", Req("PUT", "/v1/rules", Auth(worker_), "{}"), 403},
      {"a handler reading the audit chain", Req("GET", "/v1/audit/chain", Auth(handler_)), 403},
  });
  // A replayed report is the same report: answered again, recorded once.
  const uint64_t head = engine_->head().seq.value;
  const auto again = Call(http::verb::post, "/v1/reports", worker_, ReportBody("o-1"));
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(engine_->head().seq.value, head);
}

}  // namespace
}  // namespace wangge::ingest
