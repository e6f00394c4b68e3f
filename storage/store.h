// The RocksDB-backed store: column families of keys and bytes, atomic batches, scans.
// It knows bytes and keys, not cases; engine/ gives the bytes their meaning.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace wangge::storage {

// Column families. Values are persisted names, not numbers; see docs/storage-format.md.
enum class Family : uint8_t {
  kLog = 0,      // sequence (u64 BE) -> chained record
  kCases = 1,    // case id -> case state
  kDue = 2,      // deadline (i64 BE) + client id -> empty; open cases only
  kOwner = 3,    // office + 0x00 + status (u8) + client id -> empty
  kStats = 4,    // dimension + bucket -> counters (maintained by the stats issue)
  kMeta = 5,     // name -> value (format version, log head)
  kHistory = 6,  // client id + 0x00 + sequence (u64 BE) -> empty: a case's records
  kTimers = 7,   // fire time (i64 BE) + timer kind (u8) + case id -> empty; open cases
  kDedupe = 8,   // reporter + 0x00 + client id -> case id: a report's idempotency key
  kMedia = 9,    // photos by SHA-256 (blob files), their metadata, thumbnails, references
};
inline constexpr int kFamilyCount = 10;

std::string_view FamilyName(Family f);

// The on-disk format this build writes and reads. A directory with a larger
// number was written by a newer wangge and is refused.
// Format 2 added the history family, format 3 the stats family's contents, format 4
// the timers family and case format 2, format 5 the quarter and year stats keys, format 6
// the dedupe family (idempotency keys per reporter), format 7 the media family; an older directory
// is upgraded by the first writer that opens it (engine::Engine::Open).
inline constexpr uint32_t kFormatVersion = 7;
// The meta key that holds it (u32 BE).
inline constexpr std::string_view kFormatKey = "format_version";
// Meta keys under this prefix hold state that is not derived from the log (webhook
// registrations and their delivery state): state digests and replays leave them out.
inline constexpr std::string_view kOutsideStatePrefix = "outside/";

// Memory that many stores in one process share: one block cache, and one budget for all
// their memtables (RocksDB's WriteBufferManager: a store whose memtables would pass it
// flushes). An engine instance running many towns gives every town's store the same one.
struct SharedMemory;
// kInvalidArgument: a budget under 1 MiB.
Result<std::shared_ptr<SharedMemory>> NewSharedMemory(size_t block_cache_bytes,
                                                      size_t memtable_bytes);

struct StoreOptions {
  // Data directory. Required.
  std::string path;
  // Create the directory and a fresh store when it does not exist. Default: false.
  bool create_if_missing = false;
  // fsync the write-ahead log on every Write, so a successful Write survives power
  // loss. false trades that for speed: a crash of the machine (not of the process)
  // may lose the last writes. Default: true.
  bool sync = true;
  // Open without writing anything (inspection tools). Default: false.
  bool read_only = false;
  // Block cache for reads, in bytes. Default: 64 MiB.
  size_t block_cache_bytes = 64 << 20;
  // When set, the store uses this block cache and memtable budget instead of its own
  // (block_cache_bytes is then unused), does not preallocate files and keeps at most 16
  // table files open: many small stores in one process. Default: none.
  std::shared_ptr<SharedMemory> shared_memory;
  // Bulk rebuild (replay into a new directory): writes skip the write-ahead log and
  // memtables are larger. Nothing written is durable until Flush() returns. Default: false.
  bool bulk = false;
  // Open a directory whose write-ahead log is damaged by keeping the records before the
  // damage and dropping the rest (`wangge salvage`). Without it such an open fails with
  // kCorruption: a torn last record (a crash mid-write, never acknowledged) is
  // tolerated, damage anywhere else is not, since it could drop acknowledged writes.
  // Default: false.
  bool salvage_wal = false;
  // With salvage_wal: skip damaged write-ahead log records and go on past them, instead
  // of stopping at the first. The log family may then have a gap; only for reading the
  // intact prefix of the log out of a directory that opens no other way. Default: false.
  bool salvage_skip = false;

  Status Validate() const;
};

// A data file whose checksums do not match its contents.
struct DamagedFile {
  std::string file;              // path
  std::optional<Family> family;  // nullopt: not a live table file of a family
  std::string problem;           // RocksDB's words
};

class Store;

// Puts and deletes that commit together or not at all. Not thread-safe.
class WriteSet {
 public:
  explicit WriteSet(Store& store);
  ~WriteSet();
  WriteSet(WriteSet&&) noexcept;
  WriteSet& operator=(WriteSet&&) noexcept;

  void Put(Family f, std::string_view key, std::string_view value);
  void Delete(Family f, std::string_view key);
  // Deletes every key in [begin, end) (one range tombstone).
  void DeleteRange(Family f, std::string_view begin, std::string_view end);
  // Adds the encoded storage::Counters `delta` to the value at `key`. Only for kStats.
  void Merge(Family f, std::string_view key, std::string_view delta);
  // Number of puts, merges and deletes.
  size_t Count() const;
  // Bytes the batch holds.
  size_t ByteSize() const;
  void Clear();

 private:
  friend class Store;
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

// Thread-safe: reads and writes may come from any thread (RocksDB's guarantees).
class Store {
 public:
  // Opens (or with create_if_missing, creates) the store at options.path.
  // kNotFound: no directory and !create_if_missing. kFailedPrecondition: locked by
  // another process, not a wangge directory, or written by a newer format.
  // kCorruption / kIOError: RocksDB could not open it; the message names the cause.
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();

  // Reads every table file and checks its block checksums. nullopt: all intact.
  Result<std::optional<DamagedFile>> VerifyFiles() const;

  // Applies the whole set atomically; durable on return when options.sync.
  // kIOError, or kNoSpace (the disk is full): nothing was applied. After a kNoSpace,
  // RocksDB refuses writes until resumed: each later Write first tries to resume it (at
  // most once a second), so writing goes on by itself once space is freed.
  Status Write(WriteSet& set);
  // The same without the write-ahead log: nothing of it is durable until FlushFamily of
  // each family it wrote returns, and a crash before then loses it. For large values that
  // would otherwise be written twice (photos: once to the log, once to their blob file).
  Status WriteUnlogged(WriteSet& set);
  // Writes the family's memtables to disk and syncs them; waits. Concurrent calls share
  // RocksDB's flushes.
  Status FlushFamily(Family f);

  // The value at key, or nullopt.
  Result<std::optional<std::string>> Get(Family f, std::string_view key) const;

  // Calls fn(key, value) for keys in [start, end) in key order (end empty = to the
  // end of the family) until fn returns false.
  Status Scan(Family f, std::string_view start, std::string_view end,
              const std::function<bool(std::string_view, std::string_view)>& fn) const;

  // The last key and value of a family, or nullopt when it is empty.
  Result<std::optional<std::pair<std::string, std::string>>> Last(Family f) const;

  const StoreOptions& options() const { return options_; }

  // Flushes and compacts a family (merge operands are folded into values). For tools
  // and benchmarks; RocksDB compacts on its own in normal running.
  Status Compact(Family f);

  // Reclaims the space of deleted blob values (photos) in family `f`: compacts it so that
  // the deletions are counted as garbage, then, when the garbage is at least `min_ratio`
  // of the blob bytes, compacts it again relocating every live blob, so that the files
  // holding garbage are dropped. Writes never relocate blobs themselves: in an archive that
  // only grows, that would rewrite the same photos again and again. The garbage ratio
  // before the call.
  Result<double> CollectBlobGarbage(Family f, double min_ratio);

  // Writes every family's memtable to disk and syncs it: what a bulk store has written
  // is durable on return.
  Status Flush();

  // An openable copy of the store as of now at `dest` (a RocksDB checkpoint: SST files
  // hard-linked where the file system allows, the rest copied). `dest` must not exist.
  // Safe while writers run.
  Status Checkpoint(const std::string& dest);

  // The format the directory was written in (kFormatVersion for a new one).
  uint32_t format_version() const { return format_version_; }
  // Adds to `set` the record that the directory is now in kFormatVersion; the version
  // reported by format_version() changes after a successful Write of `set`.
  void PutCurrentFormat(WriteSet& set);

 private:
  friend class WriteSet;
  Status WriteWith(bool logged, WriteSet& set);
  struct Rep;
  Store(StoreOptions options, std::unique_ptr<Rep> rep);
  Status ResumeAfterFull();
  StoreOptions options_;
  std::unique_ptr<Rep> rep_;
  uint32_t format_version_ = kFormatVersion;
  bool format_pending_ = false;  // a PutCurrentFormat awaits its Write
};

}  // namespace wangge::storage
