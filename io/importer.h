// `wangge import`: feeds a recorded command stream (NDJSON) through the sequencer.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/engine.h"

namespace wangge::io {

struct ImportOptions {
  // The NDJSON file. Required.
  std::string path;
  // Commands in flight at once; the sequencer group-commits them. Default: 8192.
  size_t window = 8192;
  // Errors kept for the report (the counts are always complete). Default: 50.
  size_t max_errors = 50;
  // When non-zero, the file already passed CheckFile with this many commands, and
  // ImportFile skips its own validation pass. Default: 0.
  uint64_t prechecked_lines = 0;

  Status Validate() const;
};

struct ImportReport {
  uint64_t lines = 0;        // non-empty lines
  uint64_t created = 0;      // new cases
  uint64_t duplicates = 0;   // reports whose client id was already known
  uint64_t applied = 0;      // transitions recorded
  uint64_t activations = 0;  // rulesets activated
  uint64_t rejected = 0;     // commands the engine refused (nothing written for them)
  uint64_t closed = 0;       // transitions that closed a case
  // "FILE:LINE: message" for rejected commands, at most max_errors.
  std::vector<std::string> errors;
};

// Decodes every line without writing anything. Returns the number of commands, or
// kInvalidArgument listing "FILE:LINE:COLUMN: message" for each malformed line (up to
// max_errors). kNotFound / kIOError: the file cannot be read.
// `first_at`, when not null, gets the first command's `at` (nullopt when it has none or
// the file is empty).
Result<uint64_t> CheckFile(const ImportOptions& options, std::optional<TimeMs>* first_at = nullptr);

// Submits commands in order, at most `window` in flight (so the sequencer batches them
// without its queue overflowing), and tallies the outcomes. Feed and Finish from one
// thread; completions arrive on the sequencer's.
class CommandFeeder {
 public:
  // `source` prefixes error lines ("FILE:LINE: message"); at most `max_errors` are kept.
  CommandFeeder(engine::Engine& engine, size_t window, std::string source, size_t max_errors);
  ~CommandFeeder();

  // Blocks while `window` commands are in flight. `line` is reported with errors.
  void Feed(engine::Command command, uint64_t line);
  // Waits for every command fed so far and returns the tally.
  ImportReport Finish();

 private:
  struct State;
  engine::Engine& engine_;
  size_t window_;
  std::shared_ptr<State> state_;
};

// Reads the file twice: first decoding every line, and if any line is malformed,
// returns kInvalidArgument listing "FILE:LINE:COLUMN: message" for each (up to
// max_errors) with nothing written; then submits every command in file order.
// Commands the engine rejects are counted and listed; the others are durable when
// this returns. `progress`, when not null, gets a progress line about twice a second.
// kNotFound / kIOError: the file cannot be read.
Result<ImportReport> ImportFile(engine::Engine& engine, const ImportOptions& options,
                                std::ostream* progress);

}  // namespace wangge::io
