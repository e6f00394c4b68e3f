#include "rules/geography.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "rules/ruleset.h"
#include "tests/testing/town_geography.h"

namespace wangge::rules {
namespace {

constexpr double kLat0 = testing::kGeoLat0, kLon0 = testing::kGeoLon0, kSide = testing::kGeoSide;

std::string Square(int row, int col, const std::string& grid, const std::string& village,
                   double grow = 0) {
  return testing::GeoSquare(row, col, grid, village, grow);
}
std::string Collection(const std::vector<std::string>& features) {
  return testing::GeoCollection(features);
}
std::string Block(int rows, int cols) { return testing::GeoBlock(rows, cols); }

TEST(GeographyTest, EveryPositionIsLocatedAsAScanOfEveryGridLocatesIt) {
  auto geo = Geography::Load(Block(6, 8), "town.geojson", Ruleset::BuiltIn().get());
  ASSERT_TRUE(geo.ok()) << geo.status().ToString();
  EXPECT_EQ((*geo)->version(), "town-2026");
  EXPECT_EQ((*geo)->grids().size(), 48u);
  // The centre of cell (2, 3).
  const GridArea* g = (*geo)->Locate(kLat0 + 2.5 * kSide, kLon0 + 3.5 * kSide);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->grid, "V03-G4");
  EXPECT_EQ(g->village, "V03");
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> lat(kLat0 - 0.02, kLat0 + 0.08);
  std::uniform_real_distribution<double> lon(kLon0 - 0.02, kLon0 + 0.10);
  int inside = 0;
  for (int i = 0; i < 5000; ++i) {
    const double a = lat(rng), o = lon(rng);
    const GridArea* fast = (*geo)->Locate(a, o);
    EXPECT_EQ(fast, (*geo)->LocateByScan(a, o)) << a << "," << o;
    inside += fast != nullptr;
  }
  EXPECT_GT(inside, 1000);
  EXPECT_LT(inside, 5000);
}

TEST(GeographyTest, DistancesOutsideAGridAreInMetres) {
  auto geo = Geography::Load(Block(2, 2), "town.geojson", nullptr);
  ASSERT_TRUE(geo.ok()) << geo.status().ToString();
  // 0.001° of longitude east of the block at its middle: 0.001 × 111,195 m × cos(lat).
  const double lat = kLat0 + kSide, lon = kLon0 + 2 * kSide + 0.001;
  const double expected = 0.001 * 6'371'008.8 * M_PI / 180 * std::cos(lat * M_PI / 180);
  Location near = (*geo)->Nearest(lat, lon);
  ASSERT_NE(near.grid, nullptr);
  EXPECT_FALSE(near.inside());
  EXPECT_NEAR(near.distance_m, expected, 0.5);
  EXPECT_EQ(near.grid->grid.substr(near.grid->grid.size() - 1), "2");  // an eastern cell
  // Inside: 0; to another grid: the gap to its edge.
  EXPECT_EQ(*(*geo)->DistanceTo("V01-G1", kLat0 + 0.005, kLon0 + 0.005), 0);
  EXPECT_NEAR(*(*geo)->DistanceTo("V01-G2", kLat0 + 0.005, kLon0 + 0.005),
              0.005 * 6'371'008.8 * M_PI / 180 * std::cos((kLat0 + 0.005) * M_PI / 180), 0.5);
  EXPECT_FALSE((*geo)->DistanceTo("nope", kLat0, kLon0).has_value());
  // A shared border belongs to both; the first in the file answers.
  EXPECT_EQ((*geo)->Locate(kLat0 + 0.005, kLon0 + kSide)->grid, "V01-G1");
}

// Each problem is named with its file, line and column, its feature and what is wrong.
void ExpectProblem(const std::string& json, const std::string& needle,
                   const Ruleset* rules = nullptr) {
  auto geo = Geography::Load(json, "town.geojson", rules);
  ASSERT_FALSE(geo.ok()) << needle;
  EXPECT_EQ(geo.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(geo.status().message().find(needle), std::string::npos) << geo.status().message();
  EXPECT_NE(geo.status().message().find("town.geojson:"), std::string::npos)
      << geo.status().message();
}

TEST(GeographyTest, BadFilesAreRefusedNamingTheFeatureAndTheProblem) {
  ExpectProblem("{\"type\":\"Feature\"}", "must be \"FeatureCollection\"");
  ExpectProblem(R"({"type":"FeatureCollection","version":"v","features":[]})", "features");
  ExpectProblem(R"({"type":"FeatureCollection","features":[)" + Square(0, 0, "G1", "V01") + "]}",
                "version");
  // Not closed: the last position differs from the first.
  std::string open = Square(0, 0, "G1", "V01");
  open.replace(open.rfind("]]]}}"), 5, "],[120.3,29.9]]]}}");
  ExpectProblem(Collection({open}), "is not closed");
  // A bow tie crosses itself.
  ExpectProblem(
      Collection({R"({"type":"Feature","properties":{"grid":"G1","village":"V01"},)"
                  R"("geometry":{"type":"Polygon","coordinates":[[[120,29],[120.01,29.01],)"
                  R"([120.01,29],[120,29.01],[120,29]]]}})"}),
      "is not a valid polygon");
  ExpectProblem(Collection({Square(0, 0, "G1", "V01"), Square(0, 1, "G1", "V01")}),
                "repeats grid G1");
  ExpectProblem(Collection({Square(0, 0, "G1", "V01"), Square(0, 0, "G2", "V01", 0.001)}),
                "features[1] (grid G2): overlaps grid G1 by");
  ExpectProblem(Collection({Square(0, 0, "G1", "V99")}), "village V99 has no village office",
                Ruleset::BuiltIn().get());
  ExpectProblem(
      Collection({R"({"type":"Feature","properties":{"village":"V01"},"geometry":null})"}),
      "features[0].properties.grid: is required");
  std::string far = Square(0, 0, "G1", "V01");
  far.replace(far.find("[120.25"), 7, "[200.25");
  ExpectProblem(Collection({far}), "is out of range");
  // A position's third number is an altitude; anything else there is not a position.
  std::string odd = Square(0, 0, "G1", "V01");
  odd.replace(odd.find("],"), 0, ",\"up\"");
  ExpectProblem(Collection({odd}), "must be a position [longitude, latitude]");
  // Problems are on the line where the feature starts (line 4: the second feature).
  auto geo = Geography::Load(Collection({Square(0, 0, "G1", "V01"), Square(0, 1, "G1", "V01")}),
                             "town.geojson", nullptr);
  EXPECT_NE(geo.status().message().find("town.geojson:4:"), std::string::npos)
      << geo.status().message();
}

TEST(GeographyTest, GridsThatTouchOrOverlapWithinTheToleranceLoad) {
  // 0.00001° of overlap along a 1 km edge: about 1 m × 1.1 km = 1,100 m², over the default
  // 100 m²; with a tolerance of 2,000 m² it loads.
  const std::string slight =
      Collection({Square(0, 0, "G1", "V01"), Square(0, 1, "G2", "V01", 0.000005)});
  EXPECT_FALSE(Geography::Load(slight, "t", nullptr).ok());
  GeographyOptions loose;
  loose.overlap_tolerance_m2 = 2000;
  EXPECT_TRUE(Geography::Load(slight, "t", nullptr, loose).ok());
}

TEST(GeographyTest, PositionsOutOfRangeAreRefused) {
  EXPECT_TRUE(CheckPosition(29.87, 120.28).ok());
  EXPECT_EQ(CheckPosition(91, 120).field(), "lat");
  EXPECT_EQ(CheckPosition(NAN, 120).field(), "lat");
  EXPECT_EQ(CheckPosition(29, -180.5).field(), "lon");
  EXPECT_EQ(CheckPosition(29, INFINITY).field(), "lon");
}

// The published reference points of the GCJ-02 transform, as the widely used open
// implementations test it (WGS 84 -> GCJ-02).
TEST(GeographyTest, Gcj02MatchesThePublishedPointsAndInvertsToACentimetre) {
  struct Pair {
    double wgs_lat, wgs_lon, gcj_lat, gcj_lon;
  };
  for (const Pair& p : {Pair{39.915, 116.404, 39.91640428150164, 116.41024449916938}}) {
    const LatLon gcj = Wgs84ToGcj02(p.wgs_lat, p.wgs_lon);
    EXPECT_NEAR(gcj.lat, p.gcj_lat, 1e-9);
    EXPECT_NEAR(gcj.lon, p.gcj_lon, 1e-9);
    const LatLon back = Gcj02ToWgs84(p.gcj_lat, p.gcj_lon);
    EXPECT_NEAR(back.lat, p.wgs_lat, 1e-7);  // 1e-7° is about a centimetre
    EXPECT_NEAR(back.lon, p.wgs_lon, 1e-7);
  }
  // Over the town and beyond: the inverse undoes the forward transform.
  for (double lat = 18; lat < 53; lat += 3.7) {
    for (double lon = 75; lon < 135; lon += 4.3) {
      const LatLon g = Wgs84ToGcj02(lat, lon);
      const LatLon w = Gcj02ToWgs84(g.lat, g.lon);
      EXPECT_NEAR(w.lat, lat, 1e-7);
      EXPECT_NEAR(w.lon, lon, 1e-7);
    }
  }
  // Outside China the datum is WGS 84 itself.
  const LatLon paris = Gcj02ToWgs84(48.8566, 2.3522);
  EXPECT_EQ(paris.lat, 48.8566);
  EXPECT_EQ(paris.lon, 2.3522);
}

// A ring of [lon, lat] corners, closed.
std::string Ring(double w, double s, double e, double n) {
  char ring[256];
  std::snprintf(ring, sizeof ring, "[[%.9f,%.9f],[%.9f,%.9f],[%.9f,%.9f],[%.9f,%.9f],[%.9f,%.9f]]",
                w, s, e, s, e, n, w, n, w, s);
  return ring;
}

std::string Feature(const std::string& grid, const std::string& type, const std::string& coords) {
  return R"({"type":"Feature","properties":{"grid":")" + grid +
         R"(","village":"V01"},"geometry":{"type":")" + type + R"(","coordinates":)" + coords +
         "}}";
}

TEST(GeographyTest, AHoleBelongsToTheGridThatFillsIt) {
  // "ring" is a 3 km square with a 1 km hole; "core" fills the hole.
  const std::string json =
      Collection({Feature("ring", "Polygon",
                          "[" + Ring(120.20, 29.80, 120.23, 29.83) + "," +
                              Ring(120.21, 29.81, 120.22, 29.82) + "]"),
                  Feature("core", "Polygon", "[" + Ring(120.21, 29.81, 120.22, 29.82) + "]")});
  auto geo = Geography::Load(json, "holes.geojson", nullptr);
  ASSERT_TRUE(geo.ok()) << geo.status().ToString();
  EXPECT_EQ((*geo)->Locate(29.815, 120.215)->grid, "core");
  EXPECT_EQ((*geo)->Locate(29.805, 120.205)->grid, "ring");
  EXPECT_EQ((*geo)->LocateByScan(29.815, 120.215)->grid, "core");
  // The hole's border is the shared border of both: the first in the file answers.
  EXPECT_EQ((*geo)->Locate(29.81, 120.215)->grid, "ring");
}

TEST(GeographyTest, AMultiPolygonGridIsOneGridOfSeveralParts) {
  const std::string json = Collection({Feature("split", "MultiPolygon",
                                               "[[" + Ring(120.20, 29.80, 120.21, 29.81) + "],[" +
                                                   Ring(120.30, 29.80, 120.31, 29.81) + "]]")});
  auto geo = Geography::Load(json, "multi.geojson", nullptr);
  ASSERT_TRUE(geo.ok()) << geo.status().ToString();
  EXPECT_EQ((*geo)->Locate(29.805, 120.205)->grid, "split");
  EXPECT_EQ((*geo)->Locate(29.805, 120.305)->grid, "split");
  EXPECT_EQ((*geo)->Locate(29.805, 120.25), nullptr);
  // Between the parts, 0.01° from the nearer one.
  const double d = *(*geo)->DistanceTo("split", 29.805, 120.29);
  EXPECT_NEAR(d, 0.01 * 6'371'008.8 * M_PI / 180 * std::cos(29.805 * M_PI / 180), 1.0);
}

// Not needed in China, but a grid at the antimeridian must load and answer sensibly.
TEST(GeographyTest, GridsAtTheAntimeridianLoadAndLocate) {
  const std::string json =
      Collection({Feature("east", "Polygon", "[" + Ring(179.99, -17.0, 180.0, -16.99) + "]"),
                  Feature("west", "Polygon", "[" + Ring(-180.0, -17.0, -179.99, -16.99) + "]")});
  auto geo = Geography::Load(json, "fiji.geojson", nullptr);
  ASSERT_TRUE(geo.ok()) << geo.status().ToString();
  EXPECT_EQ((*geo)->Locate(-16.995, 179.995)->grid, "east");
  EXPECT_EQ((*geo)->Locate(-16.995, -179.995)->grid, "west");
  EXPECT_EQ((*geo)->Locate(-16.995, 180.0)->grid, "east");
  const Location near = (*geo)->Nearest(-16.98, 179.995);
  ASSERT_NE(near.grid, nullptr);
  EXPECT_TRUE(std::isfinite(near.distance_m));
  EXPECT_GT(near.distance_m, 0);
}

}  // namespace
}  // namespace wangge::rules
