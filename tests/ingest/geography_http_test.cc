// The geography over HTTP against a real server and RocksDB: GET and PUT /v1/geography,
// reports located by their position, refusals, and a photo far from its grid.
#include <boost/json.hpp>

#include "core/sha256.h"
#include "tests/testing/http_fixture.h"
#include "tests/testing/images.h"
#include "tests/testing/town_geography.h"

namespace wangge::ingest {
namespace {

namespace json = boost::json;

class GeographyHttpTest : public testing::HttpServerFixture {
 protected:
  void Activate() {
    auto put = Call(http::verb::put, "/v1/geography", admin_, testing::GeoBlock(8, 4));
    ASSERT_EQ(put.status, 200) << put.body;
  }
  // A report at (lat, lon), without a village and grid unless `grid` is given.
  std::string At(const std::string& id, double lat, double lon, const std::string& grid = {}) {
    json::object o{{"client_id", id},
                   {"category", "env.garbage"},
                   {"severity", 2},
                   {"text", "河道漂浮垃圾"},
                   {"lat", lat},
                   {"lon", lon},
                   {"reported_at", "2020-03-02T09:15:00+08:00"}};
    if (!grid.empty()) {
      o["grid"] = grid;
      o["village"] = grid.substr(0, 3);
    }
    return json::serialize(o);
  }
  static std::string ErrorOf(const testing::Reply& r) {
    return std::string(json::parse(r.body).at("error").at("message").as_string());
  }
};

TEST_F(GeographyHttpTest, AdminsActivateAGeographyThatEveryRoleReads) {
  auto none = Call(http::verb::get, "/v1/geography", worker_);
  EXPECT_EQ(none.status, 404) << none.body;
  EXPECT_EQ(Call(http::verb::get, "/v1/geography", "").status, 401);
  EXPECT_EQ(Call(http::verb::put, "/v1/geography", supervisor_, testing::GeoBlock(2, 2)).status,
            403);
  // A broken file names the line and column; a stray village names it; nothing changes.
  auto broken = Call(http::verb::put, "/v1/geography", admin_,
                     "{\"type\": \"FeatureCollection\", \"version\": \"x\",\n \"features\": 7}");
  EXPECT_EQ(broken.status, 400) << broken.body;
  EXPECT_NE(ErrorOf(broken).find("geography:2:"), std::string::npos) << broken.body;
  auto stray = Call(http::verb::put, "/v1/geography", admin_,
                    testing::GeoCollection({testing::GeoSquare(0, 0, "X-1", "V99")}));
  EXPECT_EQ(stray.status, 400) << stray.body;
  EXPECT_NE(ErrorOf(stray).find("V99"), std::string::npos) << stray.body;
  EXPECT_EQ(Call(http::verb::put, "/v1/geography", admin_, "").status, 400);
  EXPECT_EQ(engine_->head().seq.value, 1u);

  auto put = Call(http::verb::put, "/v1/geography", admin_, testing::GeoBlock(8, 4, "town-7"));
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(json::parse(put.body).at("geography").as_string(), "town-7");
  auto got = Call(http::verb::get, "/v1/geography", handler_);
  ASSERT_EQ(got.status, 200) << got.body;
  auto v = json::parse(got.body);
  EXPECT_EQ(v.at("version").as_string(), "town-7");
  EXPECT_EQ(v.at("geography").at("features").as_array().size(), 32u);
  EXPECT_EQ(Call(http::verb::delete_, "/v1/geography", admin_).status, 405);
}

TEST_F(GeographyHttpTest, AReportIsLocatedOrRefusedByItsPosition) {
  // No geography yet: a report without a grid cannot be placed.
  auto early = Call(http::verb::post, "/v1/reports", worker_,
                    At("early", testing::GeoCellLat(6), testing::GeoCellLon(2)));
  EXPECT_EQ(early.status, 422) << early.body;
  Activate();
  auto located = Call(http::verb::post, "/v1/reports", worker_,
                      At("located", testing::GeoCellLat(6), testing::GeoCellLon(2)));
  ASSERT_EQ(located.status, 201) << located.body;
  auto c = json::parse(located.body);
  EXPECT_EQ(c.at("grid").as_string(), "V07-G3");
  EXPECT_EQ(c.at("village").as_string(), "V07");
  auto outside = Call(http::verb::post, "/v1/reports", worker_,
                      At("outside", testing::kGeoLat0 - 0.005, testing::GeoCellLon(0)));
  EXPECT_EQ(outside.status, 422) << outside.body;
  EXPECT_NE(ErrorOf(outside).find("V01-G1, is 556 m away"), std::string::npos) << outside.body;
  auto zero = Call(http::verb::post, "/v1/reports", worker_, At("zero", 0, 0));
  EXPECT_EQ(zero.status, 400) << zero.body;
  // Named far from its grid: kept, flagged.
  auto far = Call(http::verb::post, "/v1/reports", worker_,
                  At("far", testing::GeoCellLat(0), testing::GeoCellLon(0), "V07-G3"));
  ASSERT_EQ(far.status, 201) << far.body;
  EXPECT_EQ(json::parse(far.body).at("evidence_flags"), json::parse(R"(["location_mismatch"])"));
  // A batch: each line placed on its own; the one outside every grid is its own error.
  auto batch = Call(http::verb::post, "/v1/reports:batch", worker_,
                    At("b-in", testing::GeoCellLat(1), testing::GeoCellLon(1)) + "\n" +
                        At("b-out", testing::kGeoLat0 - 0.005, testing::GeoCellLon(0)) + "\n");
  ASSERT_EQ(batch.status, 200) << batch.body;
  auto results = json::parse(batch.body).at("results").as_array();
  EXPECT_EQ(results.at(0).at("status").as_string(), "created") << batch.body;
  EXPECT_EQ(results.at(1).at("error").at("code").as_string(), "out_of_range") << batch.body;
  EXPECT_EQ(json::parse(Call(http::verb::get, "/v1/cases/b-in", supervisor_).body).at("grid"),
            "V02-G2");
  auto explained = Call(http::verb::get, "/v1/cases/located/explain", supervisor_);
  ASSERT_EQ(explained.status, 200) << explained.body;
  auto e = json::parse(explained.body);
  EXPECT_EQ(e.at("place").at("how").as_string(), "located");
  EXPECT_EQ(e.at("place").at("located_grid").as_string(), "V07-G3");
  EXPECT_TRUE(e.at("matches_record").as_bool());
}

TEST_F(GeographyHttpTest, APhotoTakenFarFromTheReportedGridIsFlagged) {
  Activate();
  // Taken at the centre of V01-G1, some 6 km from V07-G3.
  const std::string far = testing::MakeImage(
      "jpeg", 32, 32, 71,
      testing::ExifFields{"2020:03:02 09:00:00", testing::GeoCellLat(0), testing::GeoCellLon(0)});
  const std::string near = testing::MakeImage(
      "jpeg", 32, 32, 72,
      testing::ExifFields{"2020:03:02 09:00:00", testing::GeoCellLat(6), testing::GeoCellLon(2)});
  for (const auto* bytes : {&far, &near}) {
    ASSERT_EQ(
        Fetch(http::verb::put, "/v1/media/" + Sha256Hex(*bytes), testing::Bearer(worker_), *bytes)
            .status,
        201);
  }
  auto with = [&](const std::string& id, const std::string& photo) {
    std::string body = At(id, testing::GeoCellLat(6), testing::GeoCellLon(2), "V07-G3");
    body.pop_back();
    return Call(http::verb::post, "/v1/reports", worker_,
                body + R"(,"media":[")" + Sha256Hex(photo) + "\"]}");
  };
  auto flagged = with("p-far", far);
  ASSERT_EQ(flagged.status, 201) << flagged.body;
  EXPECT_EQ(json::parse(flagged.body).at("evidence_flags"),
            json::parse(R"(["photo_outside_grid"])"));
  auto fine = with("p-near", near);
  ASSERT_EQ(fine.status, 201) << fine.body;
  EXPECT_FALSE(json::parse(fine.body).as_object().contains("evidence_flags")) << fine.body;
}

}  // namespace
}  // namespace wangge::ingest
