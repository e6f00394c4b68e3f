#include "engine/placement.h"

#include <cmath>

#include <fmt/format.h>

#include "engine/media.h"
#include "rules/geography.h"

namespace wangge::engine {
namespace {

uint32_t RoundMetres(double d) {
  return d >= 4e9 ? 4'000'000'000u : static_cast<uint32_t>(std::lround(d));
}

Result<Placed> Locate(Report& report, const rules::Geography* geography) {
  if (!geography) {
    return OutOfRange(
        "no geography is active to locate the report by its position; name its village and "
        "grid",
        "grid");
  }
  const rules::Location at = geography->Nearest(report.lat, report.lon);
  if (!at.grid) return OutOfRange("the active geography has no grids; name the grid", "grid");
  if (!at.inside()) {
    return OutOfRange(fmt::format("the position {:.6f}, {:.6f} lies outside every grid: the "
                                  "nearest, {}, is {:.0f} m away; name the grid",
                                  report.lat, report.lon, at.grid->grid, at.distance_m),
                      "lat");
  }
  report.grid = at.grid->grid;
  report.village = at.grid->village;
  return Placed{Placement{geography->version(), PlaceHow::kLocated, 0}, 0};
}

}  // namespace

Result<Placed> PlaceReport(Report& report, const rules::Geography* geography) {
  if (report.grid.empty()) return Locate(report, geography);
  if (!geography || !report.has_position()) return Placed{};
  Placed out;
  out.place.geography_version = geography->version();
  const std::optional<double> d = geography->DistanceTo(report.grid, report.lat, report.lon);
  const bool outside_all = (!d || *d > 0) && !geography->Locate(report.lat, report.lon);
  if (!d) {
    out.place.how = PlaceHow::kGridUnmapped;
  } else {
    out.place.distance_m = RoundMetres(*d);
  }
  if ((d && *d > kMismatchM) || outside_all) out.flags = evidence::kLocationMismatch;
  return out;
}

uint8_t PhotoPlaceFlags(std::optional<double> lat, std::optional<double> lon, std::string_view grid,
                        const rules::Geography* geography) {
  if (!lat || !lon || !geography) return 0;
  const std::optional<double> d = geography->DistanceTo(grid, *lat, *lon);
  return d && *d > kPhotoFarM ? evidence::kPhotoOutsideGrid : 0;
}

}  // namespace wangge::engine
