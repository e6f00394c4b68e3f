// Small pieces the `wangge` subcommands share.
#pragma once

#include <memory>
#include <string>

#include "engine/core/status.h"
#include "engine/core/time.h"
#include "engine/engine.h"

namespace wangge::ingest {

// The whole file. kNotFound: it cannot be opened; kIOError: reading failed.
Result<std::string> ReadWholeFile(const std::string& path);

// Opens the data directory for writing, as the importing commands do: `create` makes it
// when missing; `sync` false skips the fsync of each group commit. `clock` outlives it.
// Opens `data` read-only for inspection (info, stats, overdue); `clock` outlives it.
Result<std::unique_ptr<engine::Engine>> OpenReadOnly(const std::string& data, const Clock& clock);

Result<std::unique_ptr<engine::Engine>> OpenForWriting(const std::string& data, bool create,
                                                       bool sync, const Clock& clock,
                                                       bool timers = false);

}  // namespace wangge::ingest
