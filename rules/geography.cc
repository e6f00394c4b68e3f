// Geography: locating positions among the grids, distances, and the GCJ-02 datum.
#include "rules/geography.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "rules/internal/geo_shapes.h"

namespace wangge::rules {

namespace internal {

namespace {

constexpr double kEarthRadiusM = 6'371'008.8;  // mean radius
constexpr double kRadPerDeg = std::numbers::pi / 180;

// Distance from the origin to the segment (ax, ay)-(bx, by).
double SegmentDistance(double ax, double ay, double bx, double by) {
  const double dx = bx - ax, dy = by - ay;
  const double len2 = dx * dx + dy * dy;
  double t = len2 == 0 ? 0 : -(ax * dx + ay * dy) / len2;
  t = std::clamp(t, 0.0, 1.0);
  return std::hypot(ax + t * dx, ay + t * dy);
}

}  // namespace

double MetresPerDegreeLat() { return kEarthRadiusM * kRadPerDeg; }
double MetresPerDegreeLon(double lat) {
  return kEarthRadiusM * kRadPerDeg * std::cos(lat * kRadPerDeg);
}

double DistanceMetres(const GeoShape& shape, double lat, double lon) {
  if (bg::covered_by(GeoPoint(lon, lat), shape)) return 0;
  const double ky = MetresPerDegreeLat(), kx = MetresPerDegreeLon(lat);
  double best = std::numeric_limits<double>::infinity();
  auto ring_distance = [&](const auto& ring) {
    for (size_t i = 1; i < ring.size(); ++i) {
      const auto& a = ring[i - 1];
      const auto& b = ring[i];
      best = std::min(best, SegmentDistance((a.x() - lon) * kx, (a.y() - lat) * ky,
                                            (b.x() - lon) * kx, (b.y() - lat) * ky));
    }
  };
  for (const auto& polygon : shape) {
    ring_distance(polygon.outer());
    for (const auto& inner : polygon.inners()) ring_distance(inner);
  }
  return best;
}

double AreaSquareMetres(const GeoShape& shape, double lat) {
  return std::abs(bg::area(shape)) * MetresPerDegreeLat() * MetresPerDegreeLon(lat);
}

}  // namespace internal

using internal::DistanceMetres;

Geography::Geography() : index_(std::make_unique<Index>()) {}
Geography::~Geography() = default;

const GridArea* Geography::Find(std::string_view grid) const {
  auto it = index_->by_grid.find(std::string(grid));
  return it == index_->by_grid.end() ? nullptr : &grids_[it->second];
}

const GridArea* Geography::Locate(double lat, double lon) const {
  const GeoPoint p(lon, lat);
  // Of grids that overlap within the tolerance, the first in the file wins.
  size_t found = grids_.size();
  for (auto it = index_->tree.qbegin(bgi::intersects(p)); it != index_->tree.qend(); ++it) {
    if (it->second < found && bg::covered_by(p, index_->shapes[it->second])) found = it->second;
  }
  return found == grids_.size() ? nullptr : &grids_[found];
}

const GridArea* Geography::LocateByScan(double lat, double lon) const {
  const GeoPoint p(lon, lat);
  for (size_t i = 0; i < grids_.size(); ++i) {
    if (bg::covered_by(p, index_->shapes[i])) return &grids_[i];
  }
  return nullptr;
}

Location Geography::Nearest(double lat, double lon) const {
  if (const GridArea* inside = Locate(lat, lon)) return Location{inside, 0};
  Location best;
  best.distance_m = std::numeric_limits<double>::infinity();
  // The boxes nearest in degrees, then the true distance of each: a degree of longitude
  // is shorter than one of latitude, so the nearest box need not hold the nearest grid.
  const auto& tree = index_->tree;
  for (auto it = tree.qbegin(bgi::nearest(GeoPoint(lon, lat), 16)); it != tree.qend(); ++it) {
    const double d = DistanceMetres(index_->shapes[it->second], lat, lon);
    if (d < best.distance_m) best = Location{&grids_[it->second], d};
  }
  if (!best.grid) best.distance_m = 0;
  return best;
}

std::optional<double> Geography::DistanceTo(std::string_view grid, double lat, double lon) const {
  auto it = index_->by_grid.find(std::string(grid));
  if (it == index_->by_grid.end()) return std::nullopt;
  return DistanceMetres(index_->shapes[it->second], lat, lon);
}

Status CheckPosition(double lat, double lon) {
  if (!std::isfinite(lat) || lat < -90 || lat > 90) {
    return InvalidArgument("must be a latitude from -90 to 90 degrees", "lat");
  }
  if (!std::isfinite(lon) || lon < -180 || lon > 180) {
    return InvalidArgument("must be a longitude from -180 to 180 degrees", "lon");
  }
  return Status::Ok();
}

namespace {

// The published GCJ-02 forward transform (Krasovsky 1940 ellipsoid).
constexpr double kGcjA = 6378245.0;
constexpr double kGcjEe = 0.00669342162296594323;
constexpr double kPi = std::numbers::pi;

bool OutOfChina(double lat, double lon) {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

double ShiftLat(double x, double y) {
  double r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * std::sqrt(std::abs(x));
  r += (20.0 * std::sin(6.0 * x * kPi) + 20.0 * std::sin(2.0 * x * kPi)) * 2.0 / 3.0;
  r += (20.0 * std::sin(y * kPi) + 40.0 * std::sin(y / 3.0 * kPi)) * 2.0 / 3.0;
  r += (160.0 * std::sin(y / 12.0 * kPi) + 320.0 * std::sin(y * kPi / 30.0)) * 2.0 / 3.0;
  return r;
}

double ShiftLon(double x, double y) {
  double r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * std::sqrt(std::abs(x));
  r += (20.0 * std::sin(6.0 * x * kPi) + 20.0 * std::sin(2.0 * x * kPi)) * 2.0 / 3.0;
  r += (20.0 * std::sin(x * kPi) + 40.0 * std::sin(x / 3.0 * kPi)) * 2.0 / 3.0;
  r += (150.0 * std::sin(x / 12.0 * kPi) + 300.0 * std::sin(x / 30.0 * kPi)) * 2.0 / 3.0;
  return r;
}

}  // namespace

LatLon Wgs84ToGcj02(double lat, double lon) {
  if (OutOfChina(lat, lon)) return {lat, lon};
  double d_lat = ShiftLat(lon - 105.0, lat - 35.0);
  double d_lon = ShiftLon(lon - 105.0, lat - 35.0);
  const double rad_lat = lat / 180.0 * kPi;
  double magic = std::sin(rad_lat);
  magic = 1 - kGcjEe * magic * magic;
  const double sqrt_magic = std::sqrt(magic);
  d_lat = (d_lat * 180.0) / ((kGcjA * (1 - kGcjEe)) / (magic * sqrt_magic) * kPi);
  d_lon = (d_lon * 180.0) / (kGcjA / sqrt_magic * std::cos(rad_lat) * kPi);
  return {lat + d_lat, lon + d_lon};
}

LatLon Gcj02ToWgs84(double lat, double lon) {
  if (OutOfChina(lat, lon)) return {lat, lon};
  // The offset changes slowly (under 1e-5 per metre), so the fixed point of
  // w = w + (g - forward(w)) converges to well under a millimetre in a few steps.
  LatLon w{lat, lon};
  for (int i = 0; i < 30; ++i) {
    const LatLon f = Wgs84ToGcj02(w.lat, w.lon);
    const double e_lat = lat - f.lat, e_lon = lon - f.lon;
    w.lat += e_lat;
    w.lon += e_lon;
    if (std::abs(e_lat) < 1e-10 && std::abs(e_lon) < 1e-10) break;
  }
  return w;
}

}  // namespace wangge::rules
