// Placing reports against the town's geography (rules/geography.h): the grid and village of
// a report that names none, from its position; the evidence flags of a position or a photo
// far from the grid named. The sequencer places each report when it records it and keeps
// the outcome in the record (Record::place), so replay never places again.
#pragma once

#include <cstdint>
#include <optional>

#include "core/status.h"
#include "engine/domain.h"

namespace wangge::rules {
class Geography;
}

namespace wangge::engine {

struct Placed {
  Placement place;    // empty version: nothing was placed
  uint8_t flags = 0;  // evidence::kLocationMismatch or 0
};

// Places `report` (checked by ValidateReport) with `geography` (nullptr: none active).
// - No grid named: grid and village become those of the grid containing the position.
//   kOutOfRange (HTTP 422) when no geography is active, or the position lies outside every
//   grid, naming the nearest grid and its distance.
// - A grid named, with a position: the distance is measured. The report keeps its grid and
//   is flagged kLocationMismatch when the position is more than kMismatchM outside it, or
//   outside every grid at all. A grid the geography lacks is kept and not measured.
// - No position, or no geography: nothing is placed.
Result<Placed> PlaceReport(Report& report, const rules::Geography* geography);

// evidence::kPhotoOutsideGrid when a photo's EXIF position is more than kPhotoFarM outside
// grid `grid`; 0 when either is unknown.
uint8_t PhotoPlaceFlags(std::optional<double> lat, std::optional<double> lon, std::string_view grid,
                        const rules::Geography* geography);

}  // namespace wangge::engine
