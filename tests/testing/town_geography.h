// Small geographies for tests: blocks of square grids (about 1 km a side) near the seed
// town, as GeoJSON text (rules/geography.h).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace wangge::testing {

inline constexpr double kGeoLat0 = 29.85, kGeoLon0 = 120.25, kGeoSide = 0.01;

// A square grid feature whose south-west corner is cell (row, col) of the block; `grow`
// degrees wider on every side.
inline std::string GeoSquare(int row, int col, const std::string& grid, const std::string& village,
                             double grow = 0) {
  const double s = kGeoLat0 + row * kGeoSide - grow, w = kGeoLon0 + col * kGeoSide - grow;
  const double n = s + kGeoSide + 2 * grow, e = w + kGeoSide + 2 * grow;
  char ring[512];
  std::snprintf(ring, sizeof ring, "[[%.9f,%.9f],[%.9f,%.9f],[%.9f,%.9f],[%.9f,%.9f],[%.9f,%.9f]]",
                w, s, e, s, e, n, w, n, w, s);
  return R"({"type":"Feature","properties":{"grid":")" + grid + R"(","village":")" + village +
         R"("},"geometry":{"type":"Polygon","coordinates":[)" + ring + "]}}";
}

inline std::string GeoCollection(const std::vector<std::string>& features,
                                 const std::string& version = "town-2026") {
  std::string out =
      R"({"type":"FeatureCollection","version":")" + version + "\",\n" + R"("features":[)";
  for (size_t i = 0; i < features.size(); ++i) out += (i ? ",\n" : "\n") + features[i];
  return out + "]}";
}

// rows × cols squares; villages by row (V01, V02, … of the built-in ruleset, 30 of them),
// grids "Vvv-Gn" numbered along the row.
inline std::string GeoBlock(int rows, int cols, const std::string& version = "town-2026") {
  std::vector<std::string> features;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      char village[16], grid[48];
      std::snprintf(village, sizeof village, "V%02d", r % 30 + 1);
      std::snprintf(grid, sizeof grid, "%s-G%d", village, r / 30 * cols + c + 1);
      features.push_back(GeoSquare(r, c, grid, village));
    }
  }
  return GeoCollection(features, version);
}

// The centre of cell (row, col).
inline double GeoCellLat(int row) { return kGeoLat0 + (row + 0.5) * kGeoSide; }
inline double GeoCellLon(int col) { return kGeoLon0 + (col + 0.5) * kGeoSide; }

}  // namespace wangge::testing
