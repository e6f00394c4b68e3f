// Small pieces the `wangge` subcommands share.
#pragma once

#include <csignal>
#include <memory>
#include <optional>
#include <string>

#include "core/files.h"
#include "core/status.h"
#include "core/time.h"
#include "engine/engine.h"
#include "wire/query_params.h"

namespace wangge::cli {

// Exit codes of the wangge subcommands (docs/cli.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitRejected = 1;   // some commands were refused; a check failed
inline constexpr int kExitBadInput = 2;   // usage or malformed input; nothing written
inline constexpr int kExitDataError = 3;  // the data directory cannot be used
inline constexpr int kExitTampered = 4;   // the log or the derived state was altered

// Prints "wangge: STATUS" on stderr; returns kExitBadInput for invalid arguments, else
// kExitDataError.
int Fail(const Status& s);
// As Fail, and an input file that cannot be found is bad input too (kExitBadInput).
int FailInput(const Status& s);

// Opens the data directory for writing, as the importing commands do: `create` makes it
// when missing; `sync` false skips the fsync of each group commit. `clock` outlives it.
// Opens `data` read-only for inspection (info, stats, overdue); `clock` outlives it.
Result<std::unique_ptr<engine::Engine>> OpenReadOnly(const std::string& data, const Clock& clock);

// Reads every table file of `engine`'s store (serve does so at start): a damaged one is
// a kCorruption naming the file, its family and how to recover.
Status CheckTableFiles(const engine::Engine& engine, const std::string& data);

// Blocks SIGINT and SIGTERM in this thread and every thread started after it, so that
// only sigwait(set) receives them. Call before any thread starts.
sigset_t BlockStopSignals();

// `first_at`: see engine::EngineOptions::first_activation_at.
Result<std::unique_ptr<engine::Engine>> OpenForWriting(const std::string& data, bool create,
                                                       bool sync, const Clock& clock,
                                                       bool timers = false,
                                                       std::optional<TimeMs> first_at = {});

}  // namespace wangge::cli
