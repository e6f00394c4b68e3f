// Export: the log or the cases of a data directory for outside tools, and the import of a
// whole-log export into an empty directory (the same state digest).
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "audit/replay.h"
#include "core/status.h"
#include "core/time.h"
#include "engine/engine.h"

namespace wangge::io {

// Every log record recorded in [from, to), one a line: NDJSON (the readable fields of
// wire/record_json.h and the record's bytes in base64, so that an import reproduces it)
// or CSV. Codes: the log's read errors.
Status ExportLog(const engine::Engine& engine, std::optional<TimeMs> from, std::optional<TimeMs> to,
                 bool csv, std::ostream& out);

// Every case received in [from, to), one a line, NDJSON or CSV.
Status ExportCases(const engine::Engine& engine, std::optional<TimeMs> from,
                   std::optional<TimeMs> to, bool csv, std::ostream& out);

// One line of a log export: its sequence and the record's bytes (base64-decoded, and
// checked to decode as a record). kInvalidArgument says what is wrong.
Result<std::pair<uint64_t, std::string>> ParseExportLine(std::string_view line);

// Rebuilds a new directory `data` from an NDJSON log export of the whole log (each
// line's "seq" and "payload"). kInvalidArgument: `data` exists, or a malformed line
// (FILE:LINE: message; nothing is kept); kCorruption: the records do not replay (the
// directory is removed); the store's codes.
Result<audit::ReplayReport> ImportRecords(const std::string& file, const std::string& data);

}  // namespace wangge::io
