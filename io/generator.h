// A deterministic synthetic town-year (or province-year) of recorded commands: reports
// and every later transition, each with its own time and actor, in time order. The
// shape is documented in docs/generator.md. Same options and seed, same stream, on any
// platform.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

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

}  // namespace wangge::io
