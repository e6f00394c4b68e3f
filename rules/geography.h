// A town's geography: its grids (网格) as polygons, each in a village, loaded from a
// GeoJSON FeatureCollection (RFC 7946, WGS 84) and checked. Locates a position's grid
// with an R-tree of the grids' bounding boxes, then an exact point-in-polygon test
// (Boost.Geometry). Coordinates are longitude/latitude degrees and, as RFC 7946 has it,
// edges are straight lines in those coordinates. Distances are metres.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace wangge::rules {

class Ruleset;

struct GridArea {
  std::string grid;     // unique in the geography
  std::string village;  // declared by the ruleset when one is given to Load
  std::string name;     // optional
  std::string worker;   // optional: the grid's responsible worker
};

struct GeographyOptions {
  // Two grids may overlap by at most this many square metres (drawing slack).
  double overlap_tolerance_m2 = 100;
};

// Where a position lies: the grid containing it, or the nearest one and how far.
struct Location {
  const GridArea* grid = nullptr;  // nullptr: the geography has no grids
  double distance_m = 0;           // 0 when inside
  bool inside() const { return grid != nullptr && distance_m == 0; }
};

// Immutable; thread-safe.
class Geography {
 public:
  // Parses and checks `json`. Every problem is listed as "SOURCE:LINE:COLUMN: path:
  // message" in one kInvalidArgument, naming the feature by its index and grid. With
  // `rules`, every grid's village must be one the ruleset declares (a village office).
  static Result<std::shared_ptr<const Geography>> Load(std::string_view json,
                                                       std::string_view source,
                                                       const Ruleset* rules,
                                                       const GeographyOptions& options = {});
  ~Geography();

  // The file's "version" member.
  const std::string& version() const { return version_; }
  const std::vector<GridArea>& grids() const { return grids_; }
  const GridArea* Find(std::string_view grid) const;

  // The grid containing the position (on its border counts), or nullptr: R-tree candidates,
  // then an exact test.
  const GridArea* Locate(double lat, double lon) const;
  // The same by testing every grid in turn (the reference for tests and benchmarks).
  const GridArea* LocateByScan(double lat, double lon) const;
  // The containing grid, else the nearest one with its distance.
  Location Nearest(double lat, double lon) const;
  // Metres from the position to grid `grid` (0 inside it); nullopt: no such grid.
  std::optional<double> DistanceTo(std::string_view grid, double lat, double lon) const;

  struct Index;

 private:
  Geography();
  std::string version_;
  std::vector<GridArea> grids_;
  std::unique_ptr<Index> index_;
};

// Checks a position: finite, latitude within ±90, longitude within ±180. kInvalidArgument
// naming "lat" or "lon".
Status CheckPosition(double lat, double lon);

// GCJ-02 (the offset datum of Chinese map SDKs) to WGS 84, by iterating the published
// forward transform to its fixed point. Outside China GCJ-02 equals WGS 84 and the
// position is returned as is. The result is within 0.5 m of the true WGS 84 position
// wherever the forward transform is the reference (docs/place.md).
struct LatLon {
  double lat = 0;
  double lon = 0;
};
LatLon Gcj02ToWgs84(double lat, double lon);
// The forward transform, WGS 84 to GCJ-02.
LatLon Wgs84ToGcj02(double lat, double lon);

}  // namespace wangge::rules
