// Past damage, and copies: keeping what precedes a damaged write-ahead log (salvage), and
// checkpoints of a directory no process holds (backup).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/status.h"

namespace wangge::audit {

// Keeps the records before the damage where the write-ahead log can be cut there: the
// families other than the log were not flushed past the damage. Records the new head as
// the acknowledged one (storage/head_checkpoint.h). kDataLoss when the families were
// flushed past the damage.
Status KeepBeforeDamage(const std::filesystem::path& data);

// Rebuilds the directory from the intact prefix of its log: the records up to the first
// one missing or out of the chain, read past the damage, replayed into a new directory
// that then takes the old one's place. State outside the log (webhook registrations) is
// not kept. Returns how many records were kept.
Result<uint64_t> RebuildFromIntactPrefix(const std::filesystem::path& data);

// A checkpoint of the directory at `data` in `dest` (which must not exist), when no
// process holds it. kUnavailable: a process holds it (a running server: ask it instead).
Status CheckpointDirectory(const std::string& data, const std::string& dest);

}  // namespace wangge::audit
