// The Boost.Geometry types and measures behind rules::Geography. Private to rules/.
#pragma once

#include <cstddef>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/geometry.hpp>
#include <boost/geometry/geometries/box.hpp>
#include <boost/geometry/geometries/multi_polygon.hpp>
#include <boost/geometry/geometries/point_xy.hpp>
#include <boost/geometry/geometries/polygon.hpp>
#include <boost/geometry/index/rtree.hpp>

#include "rules/geography.h"

namespace wangge::rules {

namespace bg = boost::geometry;
namespace bgi = boost::geometry::index;

// x is the longitude, y the latitude, in degrees.
using GeoPoint = bg::model::d2::point_xy<double>;
using GeoPolygon = bg::model::polygon<GeoPoint>;  // clockwise outer rings, closed
using GeoShape = bg::model::multi_polygon<GeoPolygon>;
using GeoBox = bg::model::box<GeoPoint>;

struct Geography::Index {
  std::vector<GeoShape> shapes;  // by grid index
  bgi::rtree<std::pair<GeoBox, size_t>, bgi::quadratic<16>> tree;
  std::unordered_map<std::string, size_t> by_grid;
};

namespace internal {

// Metres per degree of latitude, and of longitude at latitude `lat`, on a sphere of the
// Earth's mean radius: the local projection distances are measured in. Within 10 km of
// the position it errs by under 0.5%.
double MetresPerDegreeLat();
double MetresPerDegreeLon(double lat);

// Metres from the position to the shape's boundary; 0 when the shape covers it.
double DistanceMetres(const GeoShape& shape, double lat, double lon);

// The area of the shape in square metres, projected at latitude `lat`.
double AreaSquareMetres(const GeoShape& shape, double lat);

}  // namespace internal
}  // namespace wangge::rules
