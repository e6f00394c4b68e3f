#include "storage/store.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <vector>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>
#include <spdlog/spdlog.h>

#include "core/bytes.h"
#include "core/mutex.h"
#include "storage/counters.h"

namespace wangge::storage {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, kFamilyCount> kFamilyNames = {
    "log", "cases", "due", "owner", "stats", "meta", "history", "timers", "dedupe", "media"};

// Maps a RocksDB status to ours; `what` says what was being done, for the message.
Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsNoSpace()) return Status(StatusCode::kNoSpace, msg);
  if (s.IsCorruption()) return DataLoss(msg);
  if (s.IsNotFound()) return NotFound(msg);
  if (s.IsInvalidArgument()) return InvalidArgument(msg);
  if (s.IsIOError()) return IOError(msg);
  return Internal(msg);
}

// Whether the writer's lock on `dir` (RocksDB's LOCK file, an fcntl lock) is held by
// another process: its pid, or 0. Asked before opening, so that a busy directory is told
// apart by what it is rather than by RocksDB's words.
pid_t LockHolder(const fs::path& dir) {
  const int fd = ::open((dir / "LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  const int rc = ::fcntl(fd, F_GETLK, &probe);
  ::close(fd);
  return rc == 0 && probe.l_type != F_UNLCK ? probe.l_pid : 0;
}

// The data directories this process has open for writing (canonical paths): RocksDB's
// LOCK is an fcntl lock, which does not tell a process about its own.
Mutex open_mu;
std::set<std::string> open_for_writing WANGGE_GUARDED_BY(open_mu);

std::string Canonical(const fs::path& dir) {
  std::error_code ec;
  auto c = fs::canonical(dir, ec);
  return ec ? dir.lexically_normal().string() : c.string();
}

// Why a writer could not write `dir`, or OK: the directory must be writable (not on a
// read-only file system, and permitted).
Status CheckWritable(const fs::path& dir, const std::string& path) {
  if (::access(dir.c_str(), W_OK) == 0) return Status::Ok();
  const int err = errno;
  if (err != EROFS && err != EACCES && err != EPERM) return Status::Ok();
  return FailedPrecondition("the data directory '" + path + "' cannot be written (" +
                            std::strerror(err) +
                            "): remount it read-write or fix its permissions; read-only "
                            "commands such as info, stats, verify and export still work");
}

// The families of the directory that this build needs and it lacks, by name.
std::vector<std::string> MissingFamilies(const std::string& path) {
  std::vector<std::string> present;
  if (!rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &present).ok()) return {};
  std::vector<std::string> missing;
  for (std::string_view name : kFamilyNames) {
    if (std::find(present.begin(), present.end(), name) == present.end()) {
      missing.emplace_back(name);
    }
  }
  return missing;
}

// The stats family's values are Counters; a merge operand is a Counters delta. All
// operands of a key are summed in one pass (a pairwise merge would re-encode the
// growing sum once per operand).
class CountersMerge final : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    Counters sum;
    if (in.existing_value && !Counters::Decode(in.existing_value->ToStringView(), sum)) {
      return false;
    }
    if (!AddOperands(in.operand_list, sum)) return false;
    out->new_value = sum.Encode();
    return true;
  }
  bool PartialMergeMulti(const rocksdb::Slice&, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger*) const override {
    Counters sum;
    if (!AddOperands(operands, sum)) return false;
    *new_value = sum.Encode();
    return true;
  }
  const char* Name() const override { return "wangge.CountersMerge"; }

 private:
  template <typename List>
  static bool AddOperands(const List& operands, Counters& sum) {
    Counters delta;
    for (const rocksdb::Slice& op : operands) {
      if (!Counters::Decode(op.ToStringView(), delta)) return false;
      sum.AddAll(delta);
    }
    return true;
  }
};

}  // namespace

struct SharedMemory {
  std::shared_ptr<rocksdb::Cache> cache;
  std::shared_ptr<rocksdb::WriteBufferManager> write_buffers;
};

Result<std::shared_ptr<SharedMemory>> NewSharedMemory(size_t block_cache_bytes,
                                                      size_t memtable_bytes) {
  if (block_cache_bytes < (1 << 20) || memtable_bytes < (1 << 20)) {
    return InvalidArgument("shared block cache and memtable budget must be at least 1 MiB");
  }
  auto shared = std::make_shared<SharedMemory>();
  shared->cache = rocksdb::NewLRUCache(block_cache_bytes);
  shared->write_buffers = std::make_shared<rocksdb::WriteBufferManager>(memtable_bytes);
  return shared;
}

namespace {

rocksdb::ColumnFamilyOptions FamilyOptions(Family f, const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  // Point lookups by id dominate on kCases and kDedupe, and most are misses (new reports):
  // bloom filters in the SST files and in the memtable keep them cheap.
  if (f == Family::kCases || f == Family::kDedupe) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    cf.memtable_prefix_bloom_size_ratio = 0.02;
    cf.memtable_whole_key_filtering = true;
  }
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  if (f == Family::kLog) cf.write_buffer_size = 64 << 20;
  if (f == Family::kDue || f == Family::kOwner || f == Family::kTimers) {
    // Index entries are deleted as cases move: tombstones pile up in front of the live
    // entries that scans want. Small memtables and compaction of deletion-dense files
    // keep them few.
    cf.write_buffer_size = 4 << 20;
    cf.table_properties_collector_factories.emplace_back(
        rocksdb::NewCompactOnDeletionCollectorFactory(128, 32));
  }
  if (f == Family::kMedia) {
    // Photos go to blob files (RocksDB's integrated BlobDB); keys, metadata and the
    // reference index stay in the LSM tree.
    cf.enable_blob_files = true;
    cf.min_blob_size = 4096;
    cf.blob_file_size = 256 << 20;
    // Garbage collection runs when orphans were deleted (CollectBlobGarbage), not in
    // every compaction.
    cf.enable_blob_garbage_collection = false;
    // A memtable holds whole photos until flushed: room for a few dozen, and room for
    // level-0 files (each flush makes one small table beside its blob file) before
    // writes slow down.
    // Not above the log family's 64 MB: RocksDB preallocates each write-ahead log file at
    // 1.1 times the largest memtable, and a larger one kept writes from resuming after a
    // full disk was freed on a small volume (DiskFullTest's 160 MiB).
    cf.write_buffer_size = 64 << 20;
    cf.max_write_buffer_number = 4;
    // Each flush of photos (Sequencer::StorePhoto) makes one level-0 table of a few keys:
    // compact them in larger groups, and do not slow writes for their number.
    cf.level0_file_num_compaction_trigger = 16;
    cf.level0_slowdown_writes_trigger = 96;
    cf.level0_stop_writes_trigger = 160;
  }
  if (f == Family::kStats) {
    cf.merge_operator = std::make_shared<CountersMerge>();
    // Hot keys (today, this month) get an operand per commit until a flush folds them:
    // a small memtable keeps the operands a query must add up few.
    cf.write_buffer_size = 4 << 20;
  }
  return cf;
}

// RocksDB's diagnostics go to wangge's log rather than to a LOG file in the data
// directory: that file fills the same disk, and RocksDB 7.8 (as Debian builds it, with
// assertions) aborts when it logs to a file whose earlier write failed, as it does
// when the disk is full.
class RocksLogger final : public rocksdb::Logger {
 public:
  RocksLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    const auto to = level >= rocksdb::InfoLogLevel::ERROR_LEVEL  ? spdlog::level::err
                    : level == rocksdb::InfoLogLevel::WARN_LEVEL ? spdlog::level::warn
                                                                 : spdlog::level::debug;
    if (!spdlog::should_log(to)) return;
    char line[1024];
    const int n = std::vsnprintf(line, sizeof line, format, ap);
    std::string_view text(line,
                          n > 0 ? std::min<size_t>(static_cast<size_t>(n), sizeof line - 1) : 0);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    if (!text.empty()) spdlog::log(to, "rocksdb: {}", text);
  }
};

// The write-ahead log files in `dir`, for messages: "000004.log, 000009.log" or "none".
std::string WalFiles(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".log") names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

}  // namespace

std::string_view FamilyName(Family f) { return kFamilyNames[static_cast<size_t>(f)]; }

Status StoreOptions::Validate() const {
  if (path.empty()) return InvalidArgument("data directory path is empty", "path");
  if (block_cache_bytes < (1 << 20)) {
    return InvalidArgument("block cache must be at least 1 MiB", "block_cache_bytes");
  }
  return Status::Ok();
}

struct Store::Rep {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // indexed by Family
  rocksdb::WriteOptions write_options;

  // The data directory as opened: a write checks it is still there.
  dev_t dev = 0;
  ino_t ino = 0;

  // Set while writes fail for want of disk space.
  Mutex full_mu;
  std::optional<Status> full WANGGE_GUARDED_BY(full_mu);
  std::chrono::steady_clock::time_point last_resume WANGGE_GUARDED_BY(full_mu){};

  // The canonical path this store holds open for writing; empty for a reader.
  std::string registered;

  ~Rep() {
    for (auto* h : handles) {
      if (db) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    if (db) db->Close().PermitUncheckedError();
    if (!registered.empty()) {
      MutexLock lock(open_mu);
      open_for_writing.erase(registered);
    }
  }
  rocksdb::ColumnFamilyHandle* handle(Family f) const { return handles[static_cast<size_t>(f)]; }
};

struct WriteSet::Rep {
  Store* store;
  rocksdb::WriteBatch batch;
};

WriteSet::WriteSet(Store& store) : rep_(std::make_unique<Rep>()) { rep_->store = &store; }
WriteSet::~WriteSet() = default;
WriteSet::WriteSet(WriteSet&&) noexcept = default;
WriteSet& WriteSet::operator=(WriteSet&&) noexcept = default;

void WriteSet::Put(Family f, std::string_view key, std::string_view value) {
  // WriteBatch::Put only fails past its 4 GiB limit, which a group commit never nears.
  rep_->batch.Put(rep_->store->rep_->handle(f), key, value).PermitUncheckedError();
}

void WriteSet::Merge(Family f, std::string_view key, std::string_view delta) {
  rep_->batch.Merge(rep_->store->rep_->handle(f), key, delta).PermitUncheckedError();
}

void WriteSet::Delete(Family f, std::string_view key) {
  rep_->batch.Delete(rep_->store->rep_->handle(f), key).PermitUncheckedError();
}

void WriteSet::DeleteRange(Family f, std::string_view begin, std::string_view end) {
  rep_->batch.DeleteRange(rep_->store->rep_->handle(f), begin, end).PermitUncheckedError();
}

size_t WriteSet::Count() const { return static_cast<size_t>(rep_->batch.Count()); }
size_t WriteSet::ByteSize() const { return rep_->batch.GetDataSize(); }
void WriteSet::Clear() { rep_->batch.Clear(); }

Store::Store(StoreOptions options, std::unique_ptr<Rep> rep)
    : options_(std::move(options)), rep_(std::move(rep)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  WANGGE_RETURN_IF_ERROR(options.Validate());
  std::error_code ec;
  const fs::path dir(options.path);
  const bool exists = fs::exists(dir, ec);
  const bool has_current = exists && fs::exists(dir / "CURRENT", ec);
  if (!exists && (!options.create_if_missing || options.read_only)) {
    return NotFound("data directory '" + options.path + "' does not exist");
  }
  if (exists && !fs::is_directory(dir, ec)) {
    return FailedPrecondition("'" + options.path + "' is not a directory");
  }
  if (exists && !has_current && (!options.create_if_missing || !fs::is_empty(dir, ec))) {
    return FailedPrecondition("'" + options.path +
                              "' is not a wangge data directory (no RocksDB CURRENT file)");
  }
  const bool fresh = !has_current;
  if (exists && !options.read_only) {
    WANGGE_RETURN_IF_ERROR(CheckWritable(dir, options.path));
    if (const pid_t holder = LockHolder(dir); holder != 0) {
      return Unavailable("the data directory '" + options.path +
                         "' is in use by another process (pid " + std::to_string(holder) + ")");
    }
    MutexLock lock(open_mu);
    if (open_for_writing.contains(Canonical(dir))) {
      return Unavailable("the data directory '" + options.path +
                         "' is in use by another store of this process");
    }
  }
  if (has_current && options.read_only) {
    if (const auto missing = MissingFamilies(options.path); !missing.empty()) {
      return FailedPrecondition("data directory '" + options.path +
                                "' was written by an older wangge (it has no '" + missing[0] +
                                "' family); open it once with a writing command to upgrade it");
    }
  }
  if (!exists && !fs::create_directories(dir, ec) && ec) {
    return IOError("cannot create data directory '" + options.path + "': " + ec.message());
  }

  auto cache = options.shared_memory ? options.shared_memory->cache
                                     : rocksdb::NewLRUCache(options.block_cache_bytes);
  rocksdb::DBOptions db_options;
  if (options.shared_memory) {
    db_options.write_buffer_manager = options.shared_memory->write_buffers;
    // A town's store is small; preallocating its write-ahead log (about 70 MB with the
    // log family's 64 MB memtable) would cost more disk than its data for years.
    db_options.allow_fallocate = false;
    // And keeps few table files open: hundreds of stores share the process's descriptors.
    db_options.max_open_files = 16;
  }
  db_options.create_if_missing = options.create_if_missing;
  // A family added by a newer format is created in an older directory (then upgraded
  // by the engine); a read-only open needs every family present.
  db_options.create_missing_column_families = !options.read_only;
  db_options.paranoid_checks = true;
  // The sizes of closed write-ahead logs are recorded in the MANIFEST, and an open finds
  // one cut short: RocksDB tolerates a torn tail on every log file, which for any log but
  // the last drops acknowledged records from the middle. The last log is checked against
  // the head checkpoint (storage/head_checkpoint.h).
  db_options.track_and_verify_wals_in_manifest = !options.salvage_wal;
  db_options.IncreaseParallelism(2);
  db_options.max_background_jobs = 2;
  // Photos are written without the log (WriteUnlogged) but flushed before they are
  // acknowledged, so a close need not flush: it leaves the log as it was, as a crash
  // would. A bulk store is written without the log throughout and is flushed on close.
  db_options.avoid_flush_during_shutdown = !options.bulk;
  db_options.info_log = std::make_shared<RocksLogger>();
  db_options.wal_recovery_mode =
      !options.salvage_wal   ? rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords
      : options.salvage_skip ? rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords
                             : rocksdb::WALRecoveryMode::kPointInTimeRecovery;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (int i = 0; i < kFamilyCount; ++i) {
    Family f = static_cast<Family>(i);
    descriptors.emplace_back(std::string(FamilyName(f)), FamilyOptions(f, cache));
  }

  auto rep = std::make_unique<Rep>();
  rep->write_options.sync = options.sync && !options.bulk;
  rep->write_options.disableWAL = options.bulk;
  if (options.bulk) {
    // A rebuild writes every family but reads only cases: the others take a vector
    // memtable (an append per write, sorted once when flushed on a background thread)
    // instead of a skip list (a search per write).
    db_options.allow_concurrent_memtable_write = false;
    for (size_t i = 1; i < descriptors.size(); ++i) {
      descriptors[i].options.write_buffer_size = 64 << 20;
      if (static_cast<Family>(i - 1) != Family::kCases) {
        descriptors[i].options.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
      }
    }
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      options.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, options.path, descriptors, &handles, &raw)
          : rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw);
  if (s.IsCorruption()) {
    return DataLoss("opening data directory '" + options.path + "': " + s.ToString() +
                    ". A file of it is damaged (the lines logged above name it; write-ahead " +
                    "logs here: " + WalFiles(dir) + "); nothing was changed");
  }
  if (!s.ok()) {
    return FromRocks(s, "opening data directory '" + options.path + "'");
  }
  rep->db.reset(raw);
  if (!options.read_only) {
    MutexLock lock(open_mu);
    rep->registered = Canonical(dir);
    open_for_writing.insert(rep->registered);
  }
  struct stat st {};
  if (::stat(options.path.c_str(), &st) == 0) {
    rep->dev = st.st_dev;
    rep->ino = st.st_ino;
  }
  // handles[0] is the default family, which wangge does not use.
  rep->db->DestroyColumnFamilyHandle(handles[0]).PermitUncheckedError();
  rep->handles.assign(handles.begin() + 1, handles.end());

  auto store = std::unique_ptr<Store>(new Store(options, std::move(rep)));
  WANGGE_ASSIGN_OR_RETURN(auto version, store->Get(Family::kMeta, kFormatKey));
  if (!version) {
    if (!fresh) {
      return FailedPrecondition("'" + options.path +
                                "' has no wangge format version; not a wangge data directory");
    }
    WriteSet init(*store);
    std::string v;
    PutU32(v, kFormatVersion);
    init.Put(Family::kMeta, kFormatKey, v);
    WANGGE_RETURN_IF_ERROR(store->Write(init));
  } else {
    ByteReader r(*version);
    uint32_t found = 0;
    if (!r.U32(found) || !r.done()) {
      return Corruption("format version record in '" + options.path + "' is malformed");
    }
    if (found > kFormatVersion) {
      return FailedPrecondition("data directory '" + options.path + "' has format version " +
                                std::to_string(found) + ", newer than this build reads (" +
                                std::to_string(kFormatVersion) + "); use a newer wangge");
    }
    store->format_version_ = found;
  }
  return store;
}

// While the disk is full: tries (at most once a second) to resume RocksDB, which
// refuses writes after a failed one. OK once writes may go on.
Status Store::ResumeAfterFull() {
  MutexLock lock(rep_->full_mu);
  if (!rep_->full) return Status::Ok();
  const auto now = std::chrono::steady_clock::now();
  if (now - rep_->last_resume < std::chrono::seconds(1)) return *rep_->full;
  rep_->last_resume = now;
  rocksdb::Status s = rep_->db->Resume();
  if (!s.ok()) return *rep_->full;
  spdlog::warn("disk space for {} is back: writes resumed", options_.path);
  rep_->full.reset();
  return Status::Ok();
}

Result<std::optional<DamagedFile>> Store::VerifyFiles() const {
  rocksdb::Status s = rep_->db->VerifyChecksum();
  if (s.ok()) return std::optional<DamagedFile>();
  if (!s.IsCorruption()) return FromRocks(s, "verifying table files");
  DamagedFile damaged;
  damaged.problem = s.ToString();
  // RocksDB names the file: "... in /dir/000024.sst offset ...".
  const std::string text = damaged.problem;
  const size_t sst = text.find(".sst");
  if (sst != std::string::npos) {
    const size_t start = text.rfind(' ', sst);
    damaged.file = text.substr(start == std::string::npos ? 0 : start + 1,
                               sst + 4 - (start == std::string::npos ? 0 : start + 1));
  }
  std::vector<rocksdb::LiveFileMetaData> files;
  rep_->db->GetLiveFilesMetaData(&files);
  const std::string name = fs::path(damaged.file).filename().string();
  for (const auto& f : files) {
    if (fs::path(f.name).filename().string() != name) continue;
    for (int i = 0; i < kFamilyCount; ++i) {
      if (f.column_family_name == FamilyName(static_cast<Family>(i))) {
        damaged.family = static_cast<Family>(i);
      }
    }
  }
  return std::optional<DamagedFile>(std::move(damaged));
}

Status Store::Write(WriteSet& set) { return WriteWith(true, set); }

Status Store::WriteUnlogged(WriteSet& set) { return WriteWith(false, set); }

Status Store::FlushFamily(Family f) {
  rocksdb::FlushOptions o;
  o.wait = true;
  o.allow_write_stall = true;
  return FromRocks(rep_->db->Flush(o, rep_->handle(f)), "flushing " + std::string(FamilyName(f)));
}

Status Store::WriteWith(bool logged, WriteSet& set) {
  rocksdb::WriteOptions write_options = rep_->write_options;
  if (!logged) {
    write_options.disableWAL = true;
    write_options.sync = false;
  }
  if (options_.read_only) return FailedPrecondition("store was opened read-only");
  WANGGE_RETURN_IF_ERROR(ResumeAfterFull());
  // Files of a removed directory stay writable until closed, and what goes into them is
  // lost at the next start: refuse rather than acknowledge such writes.
  struct stat st {};
  if (::stat(options_.path.c_str(), &st) != 0 || st.st_dev != rep_->dev || st.st_ino != rep_->ino) {
    return Unavailable("the data directory " + options_.path +
                       " was removed or replaced while wangge ran: nothing was written; stop "
                       "wangge and restore the directory (docs/operations.md)");
  }
  Status s = FromRocks(rep_->db->Write(write_options, &set.rep_->batch), "writing batch");
  if (s.code() == StatusCode::kNoSpace) {
    MutexLock lock(rep_->full_mu);
    if (!rep_->full) {
      rep_->full = Status(StatusCode::kNoSpace,
                          "the disk holding the data directory " + options_.path +
                              " is full: nothing was written; writes resume by themselves once "
                              "space is freed, reads go on (" +
                              s.message() + ")");
      rep_->last_resume = std::chrono::steady_clock::now();
      spdlog::error("{}", rep_->full->message());
    }
    return *rep_->full;
  }
  if (s.ok() && format_pending_) {
    format_version_ = kFormatVersion;
    format_pending_ = false;
  }
  return s;
}

Result<double> Store::CollectBlobGarbage(Family f, double min_ratio) {
  auto* h = rep_->handle(f);
  rocksdb::CompactRangeOptions count;
  // Down to the last level, so that every deletion meets the value it deletes.
  count.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  WANGGE_RETURN_IF_ERROR(FromRocks(rep_->db->CompactRange(count, h, nullptr, nullptr),
                                   "compacting " + std::string(FamilyName(f))));
  uint64_t live = 0, garbage = 0;
  if (!rep_->db->GetIntProperty(h, "rocksdb.live-blob-file-size", &live) ||
      !rep_->db->GetIntProperty(h, "rocksdb.live-blob-file-garbage-size", &garbage)) {
    return Internal("RocksDB does not report the blob sizes of " + std::string(FamilyName(f)));
  }
  const double ratio = live == 0 ? 0.0 : static_cast<double>(garbage) / static_cast<double>(live);
  if (garbage == 0 || ratio < min_ratio) return ratio;
  rocksdb::CompactRangeOptions o;
  o.blob_garbage_collection_policy = rocksdb::BlobGarbageCollectionPolicy::kForce;
  o.blob_garbage_collection_age_cutoff = 1.0;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  WANGGE_RETURN_IF_ERROR(FromRocks(rep_->db->CompactRange(o, h, nullptr, nullptr),
                                   "collecting blob garbage in " + std::string(FamilyName(f))));
  return ratio;
}

Status Store::Compact(Family f) {
  rocksdb::CompactRangeOptions o;
  return FromRocks(rep_->db->CompactRange(o, rep_->handle(f), nullptr, nullptr),
                   "compacting " + std::string(FamilyName(f)));
}

Status Store::Flush() {
  rocksdb::FlushOptions o;
  o.wait = true;
  return FromRocks(rep_->db->Flush(o, rep_->handles), "flushing");
}

Status Store::Checkpoint(const std::string& dest) {
  rocksdb::Checkpoint* raw = nullptr;
  WANGGE_RETURN_IF_ERROR(
      FromRocks(rocksdb::Checkpoint::Create(rep_->db.get(), &raw), "preparing a checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush 0: flush first, so the copy holds no write-ahead log to replay.
  return FromRocks(checkpoint->CreateCheckpoint(dest, 0), "writing a checkpoint to '" + dest + "'");
}

void Store::PutCurrentFormat(WriteSet& set) {
  std::string v;
  PutU32(v, kFormatVersion);
  set.Put(Family::kMeta, kFormatKey, v);
  format_pending_ = true;
}

Result<std::optional<std::string>> Store::Get(Family f, std::string_view key) const {
  std::string value;
  rocksdb::Status s = rep_->db->Get(rocksdb::ReadOptions(), rep_->handle(f), key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "reading " + std::string(FamilyName(f)));
  return std::optional<std::string>(std::move(value));
}

Status Store::Scan(Family f, std::string_view start, std::string_view end,
                   const std::function<bool(std::string_view, std::string_view)>& fn) const {
  rocksdb::ReadOptions read_options;
  rocksdb::Slice upper(end.data(), end.size());
  if (!end.empty()) read_options.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(rep_->db->NewIterator(read_options, rep_->handle(f)));
  for (it->Seek(rocksdb::Slice(start.data(), start.size())); it->Valid(); it->Next()) {
    if (!fn(it->key().ToStringView(), it->value().ToStringView())) break;
  }
  return FromRocks(it->status(), "scanning " + std::string(FamilyName(f)));
}

Result<std::optional<std::pair<std::string, std::string>>> Store::Last(Family f) const {
  std::unique_ptr<rocksdb::Iterator> it(
      rep_->db->NewIterator(rocksdb::ReadOptions(), rep_->handle(f)));
  it->SeekToLast();
  WANGGE_RETURN_IF_ERROR(FromRocks(it->status(), "reading " + std::string(FamilyName(f))));
  if (!it->Valid()) return std::optional<std::pair<std::string, std::string>>();
  return std::optional<std::pair<std::string, std::string>>(
      std::pair(it->key().ToString(), it->value().ToString()));
}

}  // namespace wangge::storage
