// What the field app (/app/) reads and does, against a real server and RocksDB: its files,
// the catalog of the active ruleset with pinyin initials, locating a position, the working
// time left on a case, a handler's request for more time, and the case number in :batch.
#include <zlib.h>

#include <boost/json.hpp>

#include "tests/testing/http_fixture.h"
#include "tests/testing/town_geography.h"

namespace wangge::ingest {
namespace {

namespace json = boost::json;

class AppHttpTest : public testing::HttpServerFixture {
 protected:
  json::object Object(const testing::Reply& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? json::parse(r.body).as_object() : json::object{};
  }
  double HoursLeft(const std::string& id) {
    auto c = Object(Call(http::verb::get, "/v1/cases/" + id, supervisor_));
    return c.contains("working_hours_left") ? c.at("working_hours_left").to_number<double>() : 1e9;
  }
};

TEST_F(AppHttpTest, TheAppsFilesAreServedWithoutACredential) {
  const std::pair<const char*, const char*> files[] = {
      {"/app/", "text/html; charset=utf-8"},
      {"/app/sw.js", "text/javascript; charset=utf-8"},
      {"/app/manifest.webmanifest", "application/manifest+json"},
      {"/app/icon.svg", "image/svg+xml"},
      {"/app/worker.js", "text/javascript; charset=utf-8"}};
  for (const auto& [target, type] : files) {
    auto r = Fetch(http::verb::get, target);
    ASSERT_EQ(r.status, 200) << target;
    EXPECT_EQ(r.content_type, type) << target;
    EXPECT_FALSE(r.body.empty()) << target;
  }
  auto manifest = json::parse(Fetch(http::verb::get, "/app/manifest.webmanifest").body).as_object();
  EXPECT_EQ(manifest.at("start_url").as_string(), "/app/");
  EXPECT_EQ(manifest.at("display").as_string(), "standalone");
  auto bare = Fetch(http::verb::get, "/app");
  EXPECT_EQ(bare.status, 302);
  EXPECT_EQ(bare.headers[http::field::location], "/app/");
  EXPECT_EQ(Fetch(http::verb::get, "/app/nothing.js").status, 404);
  EXPECT_EQ(Fetch(http::verb::post, "/app/").status, 405);
}

// A gzip member inflated (the client's side of Content-Encoding: gzip).
std::string Gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out(in.size() * 20 + 1024, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

TEST_F(AppHttpTest, PagesGoGzipCompressedToClientsThatTakeIt) {
  for (const std::string target : {"/app/worker.js", "/ui/vendor/chart.min.js"}) {
    auto plain = Fetch(http::verb::get, target);
    auto packed = Fetch(http::verb::get, target, {{"Accept-Encoding", "gzip, deflate, br"}});
    ASSERT_EQ(packed.status, 200) << target;
    EXPECT_EQ(packed.headers[http::field::content_encoding], "gzip") << target;
    EXPECT_EQ(packed.headers[http::field::vary], "Accept-Encoding") << target;
    EXPECT_TRUE(plain.headers[http::field::content_encoding].empty()) << target;
    EXPECT_LT(packed.body.size(), plain.body.size() / 2) << target;
    EXPECT_EQ(Gunzip(packed.body), plain.body) << target;
    const std::string etag(packed.headers[http::field::etag]);
    EXPECT_NE(etag, std::string(plain.headers[http::field::etag])) << target;
    auto again =
        Fetch(http::verb::get, target, {{"Accept-Encoding", "gzip"}, {"If-None-Match", etag}});
    EXPECT_EQ(again.status, 304) << target;
    auto refused = Fetch(http::verb::get, target, {{"Accept-Encoding", "gzip;q=0, identity"}});
    EXPECT_EQ(refused.body, plain.body) << target;
  }
}

TEST_F(AppHttpTest, TheCatalogGroupsCategoriesWithTheirPinyinInitials) {
  auto catalog = Object(Call(http::verb::get, "/v1/catalog", worker_));
  bool garbage = false;
  for (const auto& v : catalog.at("categories").as_array()) {
    const auto& c = v.as_object();
    if (c.at("id") != "env.garbage") continue;
    garbage = true;
    // 环境卫生·垃圾乱堆 (huán jìng wèi shēng · lā jī luàn duī), in the group before the dot.
    EXPECT_EQ(c.at("name").as_string(), "环境卫生·垃圾乱堆");
    EXPECT_EQ(c.at("group").as_string(), "环境卫生");
    EXPECT_EQ(c.at("initials").as_string(), "hjwsljld");
  }
  EXPECT_TRUE(garbage);
  EXPECT_GE(catalog.at("villages").as_array().size(), 30u);
  EXPECT_TRUE(catalog.at("grids").as_array().empty());  // no geography yet
  ASSERT_EQ(Call(http::verb::put, "/v1/geography", admin_, testing::GeoBlock(2, 3)).status, 200);
  auto placed = Object(Call(http::verb::get, "/v1/catalog", handler_));
  ASSERT_EQ(placed.at("grids").as_array().size(), 6u);
  EXPECT_EQ(placed.at("grids").as_array()[0].at("id"), "V01-G1");
  EXPECT_EQ(placed.at("grids").as_array()[0].at("village"), "V01");
  EXPECT_EQ(Call(http::verb::get, "/v1/catalog", "").status, 401);
}

TEST_F(AppHttpTest, LocateNamesTheGridOfAPositionOrTheNearestOne) {
  const auto locate = [&](const std::string& query) {
    return Call(http::verb::get, "/v1/geography/locate?" + query, worker_);
  };
  EXPECT_EQ(locate("lat=29.855&lon=120.255").status, 404);  // no geography
  ASSERT_EQ(Call(http::verb::put, "/v1/geography", admin_, testing::GeoBlock(2, 3)).status, 200);
  auto inside = Object(locate("lat=29.855&lon=120.265"));  // row 0, column 1
  EXPECT_EQ(inside.at("grid"), "V01-G2");
  EXPECT_EQ(inside.at("village"), "V01");
  EXPECT_TRUE(inside.at("inside").as_bool());
  EXPECT_EQ(inside.at("distance_m").to_number<int64_t>(), 0);
  // 0.01° of latitude north of the block: about 1.1 km from the top row.
  auto outside = Object(locate("lat=29.88&lon=120.255"));
  EXPECT_FALSE(outside.at("inside").as_bool());
  EXPECT_EQ(outside.at("grid"), "V02-G1");
  EXPECT_NEAR(outside.at("distance_m").to_number<double>(), 1112, 5);
  for (const auto& [query, field] :
       std::vector<std::pair<std::string, std::string>>{{"lat=91&lon=120", "lat"},
                                                        {"lat=x&lon=120", "lat"},
                                                        {"lat=29&lon=", "lon"},
                                                        {"lat=29.855&lon=120.265&crs=bd09", "crs"},
                                                        {"lat=1&lon=1&zoom=3", "zoom"}}) {
    auto r = locate(query);
    EXPECT_EQ(r.status, 400) << query;
    EXPECT_NE(r.body.find("\"field\":\"" + field + "\""), std::string::npos) << query << r.body;
  }
  EXPECT_EQ(Call(http::verb::post, "/v1/geography/locate", worker_).status, 405);
}

// The fixture's clock starts on Monday 2020-03-02 09:15 +08:00; the working day is
// 08:30-12:00 and 13:30-17:30.
TEST_F(AppHttpTest, AnOpenCaseShowsTheWorkingHoursLeftUntilItsDeadline) {
  ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, ReportBody("left-1")).status, 201);
  const double at_start = HoursLeft("left-1");
  ASSERT_LT(at_start, 1e9);
  EXPECT_GT(at_start, 0);
  clock_.Advance(3'600'000);  // 10:15: an hour of work
  EXPECT_DOUBLE_EQ(HoursLeft("left-1"), at_start - 1.0);
  clock_.Advance(4 * 3'600'000);  // 14:15: four hours, an hour and a half of them lunch
  EXPECT_DOUBLE_EQ(HoursLeft("left-1"), at_start - 3.5);
  clock_.Advance(14 * 86'400'000LL);  // long past the deadline
  EXPECT_LT(HoursLeft("left-1"), 0);
  auto listed = Object(Call(http::verb::get, "/v1/cases?open=true", supervisor_));
  EXPECT_EQ(listed.at("cases").as_array()[0].at("working_hours_left").to_number<double>(),
            HoursLeft("left-1"));
  ASSERT_EQ(Call(http::verb::post, "/v1/cases/left-1/transitions", supervisor_,
                 R"({"action":"cancel","note":"重复"})")
                .status,
            200);
  EXPECT_EQ(HoursLeft("left-1"), 1e9) << "a cancelled case has no time left to show";
}

TEST_F(AppHttpTest, AHandlerAsksForMoreTimeAndASupervisorGrantsIt) {
  ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, ReportBody("ext-1")).status, 201);
  auto c = Object(Call(http::verb::get, "/v1/cases/ext-1", supervisor_));
  const std::string office(c.at("office").as_string());
  const std::string deadline(c.at("deadline").as_string());
  ASSERT_EQ(office, "zonghe-zhifa") << "the fixture's handler owns the report's office";
  const std::string later = "2020-03-20T17:30:00+08:00";
  const auto ask = [&](const std::string& token, const std::string& body) {
    return Call(http::verb::post, "/v1/cases/ext-1/transitions", token, body);
  };
  EXPECT_EQ(ask(handler_, R"({"action":"request_extension","until":")" + later + R"("})").status,
            400);  // the reason is missing
  EXPECT_EQ(ask(handler_, R"({"action":"request_extension","note":"需要协调"})").status, 400);
  EXPECT_EQ(ask(worker_, R"({"action":"request_extension","note":"x","until":")" + later + R"("})")
                .status,
            403);
  auto asked = ask(handler_, R"({"action":"request_extension","note":"需要协调拆除","until":")" +
                                 later + R"("})");
  ASSERT_EQ(asked.status, 200) << asked.body;
  auto after = json::parse(asked.body).as_object();
  EXPECT_EQ(after.at("status"), "dispatched");
  EXPECT_EQ(after.at("deadline").as_string(), deadline) << "asking moves no deadline";
  EXPECT_EQ(after.at("extensions").as_int64(), 0);
  auto granted =
      ask(supervisor_, R"({"action":"extend","note":"同意","until":")" + later + R"("})");
  ASSERT_EQ(granted.status, 200) << granted.body;
  EXPECT_EQ(json::parse(granted.body).at("extensions").as_int64(), 1);
}

TEST_F(AppHttpTest, ABatchNamesEachCaseByItsNumber) {
  auto r = Fetch(http::verb::post, "/v1/reports:batch",
                 {{"Authorization", "Bearer " + worker_}, {"Content-Type", "application/x-ndjson"}},
                 ReportBody("b-1") + "\n" + ReportBody("b-1") + "\n");
  ASSERT_EQ(r.status, 200) << r.body;
  auto results = json::parse(r.body).at("results").as_array();
  ASSERT_EQ(results.size(), 2u);
  const int64_t number = results[0].at("number").as_int64();
  EXPECT_EQ(number,
            Object(Call(http::verb::get, "/v1/cases/b-1", worker_)).at("number").as_int64());
  EXPECT_EQ(results[1].at("status"), "duplicate");
  EXPECT_EQ(results[1].at("number").as_int64(), number);
}

}  // namespace
}  // namespace wangge::ingest
