// A deterministic synthetic town-year of recorded commands: reports and the
// transitions that close them. Same options and seed, same stream, on any platform.
#pragma once

#include <cstdint>
#include <functional>

#include "engine/core/status.h"
#include "engine/domain.h"
#include "rules/ruleset.h"

namespace wangge::engine {

struct GeneratorOptions {
  // Reports in the year. Default: 18,824 (one town's valid reports in a year).
  uint64_t reports = 18'824;
  // Full-time grid workers. Default: 133.
  int workers = 133;
  // Villages and communities. Default: 40.
  int villages = 40;
  // Calendar year of the reports (local time, +08:00). Default: 2020.
  int year = 2020;
  // Seed of the pseudo-random stream. Default: 1.
  uint64_t seed = 1;

  Status Validate() const;
};

// Calls emit(command) for every command in time order. Each report is followed
// (later in time) by accept, resolve and verify, with a few reopenings; every case
// ends closed. Routing uses `rules` so handlers act for the office that owns the case.
Status GenerateTownYear(const GeneratorOptions& options, const rules::Ruleset& rules,
                        const std::function<void(const Command&)>& emit);

}  // namespace wangge::engine
