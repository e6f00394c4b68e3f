// The acknowledged log head, checkpointed outside RocksDB: a small file in the data
// directory that says which record was the last one acknowledged. A write-ahead log that
// was cut (a torn disk, a copy cut short) opens silently, without the records it lost;
// this file is how an open notices that acknowledged records are missing.
#pragma once

#include <optional>
#include <string>

#include "core/status.h"
#include "storage/event_log.h"

namespace wangge::storage {

// The file's name inside the data directory.
inline constexpr std::string_view kHeadCheckpointFile = "wangge-head";

// Writes `head` as the acknowledged head of the log in `dir`: to a temporary file, synced,
// then renamed over the old one and the directory synced, so a crash leaves the old or the
// new file, never a torn one. kIOError: nothing changed. Thread-compatible.
Status WriteHeadCheckpoint(const std::string& dir, const LogHead& head);

// The head last written to `dir`, or nullopt when there is none (a directory a writer
// of this format never stopped or checkpointed in). kDataLoss: the file is malformed.
Result<std::optional<LogHead>> ReadHeadCheckpoint(const std::string& dir);

// Whether `log` still holds what the checkpoint in `dir` says was acknowledged.
// kDataLoss: the log ends before the checkpointed record (acknowledged records are
// missing), naming both heads. kCorruption: the record at the checkpointed sequence is not
// the one acknowledged (the log was rewritten). OK when there is no checkpoint.
Status CheckHeadCheckpoint(const EventLog& log, const std::string& dir);

}  // namespace wangge::storage
