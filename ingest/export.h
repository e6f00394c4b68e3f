// `wangge export`: the log or the cases of a data directory for outside tools, and the
// import of a whole-log export into an empty directory (the same state digest).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "engine/core/status.h"

namespace wangge::ingest {

struct ExportArgs {
  std::string data;
  std::string what = "log";       // log | cases
  std::string format = "ndjson";  // ndjson | csv
  std::string from, to;           // dates (+08:00) or RFC 3339; records by time, cases by receipt
  std::string out;                // file; empty = stdout
};

// One line of a log export: its sequence and the record's bytes (base64-decoded, and
// checked to decode as a record). kInvalidArgument says what is wrong.
Result<std::pair<uint64_t, std::string>> ParseExportLine(std::string_view line);

// Exit codes as docs/cli.md: 0, 2 bad arguments, 3 the directory cannot be read.
int Export(const ExportArgs& args);

// Rebuilds a new directory `data` from an NDJSON log export of the whole log (each
// line's "seq" and "payload"). Exit 0, 2 (a malformed line: FILE:LINE: message; nothing
// is kept), 3, or 4 when the records do not replay.
int ImportRecords(const std::string& file, const std::string& data);

}  // namespace wangge::ingest
