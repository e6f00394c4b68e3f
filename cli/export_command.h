// `wangge export` and `wangge import --records`: io/export.h from the command line.
#pragma once

#include <string>

namespace wangge::cli {

struct ExportArgs {
  std::string data;
  std::string what = "log";       // log | cases
  std::string format = "ndjson";  // ndjson | csv
  std::string from, to;           // dates (+08:00) or RFC 3339; records by time, cases by receipt
  std::string out;                // file; empty = stdout
};

// Exit codes as docs/cli.md: 0, 2 bad arguments, 3 the directory cannot be read.
int Export(const ExportArgs& args);

// Exit 0, 2 (a malformed line: FILE:LINE: message; nothing is kept), 3, or 4 when the
// records do not replay.
int ImportRecords(const std::string& file, const std::string& data);

}  // namespace wangge::cli
