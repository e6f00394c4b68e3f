// The hash-chained command log: every accepted input is one record at the next
// sequence number, carrying the SHA-256 of the record before it, so any edit,
// deletion or reordering of the log is detectable.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/ids.h"
#include "core/mutex.h"
#include "core/sha256.h"
#include "core/status.h"
#include "storage/store.h"

namespace wangge::storage {

// The last record's sequence and hash. Seq 0 with a zero hash is the empty log.
struct LogHead {
  Seq seq;
  Hash hash{};
  friend bool operator==(const LogHead&, const LogHead&) = default;
};

// What Verify found. ok == false names the first bad sequence and the problem.
struct VerifyReport {
  bool ok = true;
  uint64_t records = 0;
  LogHead head;
  Seq first_bad;
  std::string problem;
};

// Log record frame version; the byte that opens every log value.
inline constexpr uint8_t kLogFrameVersion = 1;

// One writer (the sequencer) appends and commits; head(), Scan and Verify are safe
// from other threads.
class EventLog {
 public:
  // Reads the head from the meta family and checks it against the last record.
  // kCorruption when they disagree or the last record is malformed.
  static Result<std::unique_ptr<EventLog>> Open(Store& store);

  // Adds `payload` to `set` as the next record, chained to the pending head.
  // Returns its sequence. The record exists only after Commit(set) succeeds.
  Seq Append(WriteSet& set, std::string_view payload);

  // Writes the pending head into `set` and writes `set` atomically. On success the
  // pending records become the committed head; on failure they are discarded and
  // the next Append continues from the committed head. Codes: those of Store::Write.
  Status Commit(WriteSet& set);

  // The sequence the next Append will assign. Writer thread only.
  Seq NextSeq() const { return Seq{pending_.seq.value + 1}; }

  // Drops records appended since the last Commit (the caller drops the set).
  void Abort();

  // The committed head. Thread-safe.
  LogHead head() const {
    MutexLock lock(mu_);
    return committed_;
  }

  // The chain hash of record `seq` (head().hash, for the last one); nullopt when the log
  // has no such record. Thread-safe.
  Result<std::optional<Hash>> HashAt(Seq seq) const;

  // Calls fn(seq, payload) for records from..to inclusive (to 0 = the end), in order,
  // until fn returns false. kCorruption: a malformed frame (chain not checked).
  Status Scan(Seq from, Seq to, const std::function<bool(Seq, std::string_view)>& fn) const;

  // Walks the whole chain from sequence 1: contiguous sequences, frame versions,
  // each prev-hash equal to the hash of the record before, and the final hash
  // equal to the stored head. progress(seq) is called every 65,536 records. With an
  // `anchor` (a head printed earlier and kept elsewhere), the record at anchor->seq
  // must hash to anchor->hash: a log rewritten with a recomputed chain fails there.
  Result<VerifyReport> Verify(const std::function<void(Seq)>& progress = {},
                              const LogHead* anchor = nullptr) const;

  // The hash a record's key and value chain into: SHA-256(seq BE || value).
  static Hash RecordHash(Sha256& sha, Seq seq, std::string_view value);

 private:
  explicit EventLog(Store& store) : store_(store) {}

  Store& store_;
  mutable Mutex mu_;  // for readers of the head on other threads
  LogHead committed_ WANGGE_GUARDED_BY(mu_);
  LogHead pending_;
  Sha256 sha_;
};

}  // namespace wangge::storage
