// Rebuilding derived state from the log alone, and checking the stored derived state
// against it. The log is the source of truth; this is how that is proven.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/domain.h"
#include "engine/engine.h"
#include "engine/stats.h"
#include "storage/event_log.h"
#include "storage/store.h"

namespace wangge::audit {

// Compares the stored cases and their due/owner/history index entries with a rebuild from the
// log. Returns the differences found (empty = consistent), at most `max_problems`.
Result<std::vector<std::string>> CheckDerivedState(const storage::Store& store,
                                                   const storage::EventLog& log,
                                                   size_t max_problems = 20);

// The same for an open engine's store and log.
Result<std::vector<std::string>> CheckDerivedState(const engine::Engine& engine,
                                                   size_t max_problems = 20);

struct ReplayOptions {
  // The last record to apply; 0 = the end of the log.
  Seq until_seq;
  // Stop before the first record recorded after this time. The log's order is the order
  // in which wangge learned things, so the state "as of" a time is a prefix of it.
  std::optional<TimeMs> until_time;
  // Records per write batch: bounds memory (the cases and figures a batch touches).
  size_t batch_records = 16'384;
  // Called after every batch with the records applied so far.
  std::function<void(uint64_t)> progress;
};

struct ReplayReport {
  uint64_t records = 0;
  storage::LogHead head;  // of the rebuilt log
};

// Rebuilds a data directory from a log: copies records 1..until into `into`'s log
// (re-chaining each one, so the rebuilt head hash equals the source's hash at that
// record), and derives case state, indexes, history, timers and figures exactly as the
// sequencer did, in bounded memory. `into` must be an empty store. kCorruption: a
// record that does not decode or apply (a log the sequencer could not have written).
Result<ReplayReport> ReplayInto(const storage::EventLog& from, storage::Store& into,
                                const ReplayOptions& options);

// The same from any source of records in sequence order (an export being imported):
// `scan` calls its argument with each (seq, payload) until it returns false.
using RecordScan = std::function<Status(const std::function<bool(Seq, std::string_view)>& each)>;
Result<ReplayReport> ReplayRecords(const RecordScan& scan, storage::Store& into,
                                   const ReplayOptions& options);

// The same into a new directory at `path` (which must not exist; kInvalidArgument naming
// "into" otherwise), flushed to disk on success.
Result<ReplayReport> ReplayToNewDirectory(const storage::EventLog& from, const std::string& path,
                                          const ReplayOptions& options);
Result<ReplayReport> ReplayToNewDirectory(const RecordScan& scan, const std::string& path,
                                          const ReplayOptions& options);

// SHA-256 digests of a store's contents: each family's (key, value) pairs in key order,
// length-prefixed, and `all`, the digest of the family digests. Left out: stats keys
// whose value summed to zero (the same figures as no key; they depend on how commits
// were batched) and meta's format_version (not state).
struct StateDigest {
  std::array<Hash, storage::kFamilyCount> families{};
  Hash all{};
  friend bool operator==(const StateDigest&, const StateDigest&) = default;
};
Result<StateDigest> DigestState(const storage::Store& store);
Result<StateDigest> DigestState(const engine::Engine& engine);
// The digest of the directory at `path`, opened read-only.
Result<StateDigest> DigestDirectory(const std::string& path);

}  // namespace wangge::audit
