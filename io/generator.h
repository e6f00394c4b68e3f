// A deterministic synthetic town-year (or province-year) of recorded commands: reports
// and every later transition, each with its own time and actor, in time order. The
// shape is documented in docs/generator.md. Same options and seed, same stream, on any
// platform.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/status.h"
#include "engine/domain.h"
#include "rules/ruleset.h"

namespace wangge::io {

struct GeneratorOptions {
  // Reports per town over the period. Default: 18,824 (one town's valid reports in a
  // year, from the source figures).
  uint64_t reports = 18'824;
  // Towns; each has its own villages and workers (ids prefixed "T0002-" from the second
  // town on). A province is ~1,300. Default: 1.
  int towns = 1;
  // Full-time grid workers per town. Default: 133.
  int workers = 133;
  // Villages and communities per town. Default: 40.
  int villages = 40;
  // Calendar year of the reports (local time, +08:00), used when from/to are unset.
  // Default: 2020.
  int year = 2020;
  // The period [from, to) of report times; default the whole year.
  std::optional<TimeMs> from;
  std::optional<TimeMs> to;
  // Seed of the pseudo-random stream. Default: 1.
  uint64_t seed = 1;
  // Stop at the end of the period: steps that fall after it are not emitted, so cases
  // received near the end are still open, as in a town's live data. Default: every case
  // runs to its end, past the period if need be.
  bool open_at_end = false;

  Status Validate() const;
};

// Calls emit(command) for every command in time order, streaming: memory grows with the
// number of open cases, not with the period. Routing uses `rules`, so handlers act for
// the office that owns each case and the deadlines are the rules' own.
Status GenerateTownYear(const GeneratorOptions& options, const rules::Ruleset& rules,
                        const std::function<void(const engine::Command&)>& emit);

// The synthetic town's layout (docs/generator.md "Place"): its villages as blocks in rows
// of eight around 29.87° N, 120.28° E (1,450 m × 2,220 m each; 40 villages are some
// 130 km²), each cut into kGridsPerVillage strips from south to north. Every town of a
// province uses the same layout. Reports fall inside their grid, save a few (about 2%)
// made from another village's grid.
inline constexpr int kGridsPerVillage = 5;
struct GridBox {
  double south = 0, west = 0, north = 0, east = 0;  // degrees
};
// `village` and `grid` count from 0.
GridBox GridBoxOf(int village, int grid, int villages);
// The first town's geography as GeoJSON (rules/geography.h): one rectangle per grid,
// village V01…, grid V01-G1…. Version "gen-SEED-VILLAGES".
std::string TownGeography(const GeneratorOptions& options);

}  // namespace wangge::io
