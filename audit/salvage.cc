#include "audit/salvage.h"

#include <algorithm>
#include <filesystem>

#include "audit/replay.h"
#include "core/bytes.h"
#include "core/sha256.h"
#include "storage/event_log.h"
#include "storage/head_checkpoint.h"
#include "storage/store.h"

namespace wangge::audit {

namespace fs = std::filesystem;

// Keeps the records before the damage where the write-ahead log can be cut there: the
// families other than the log were not flushed past the damage. kDataLoss otherwise.
Status KeepBeforeDamage(const fs::path& data) {
  storage::StoreOptions o;
  o.path = data.string();
  o.salvage_wal = true;
  WANGGE_ASSIGN_OR_RETURN(auto store, storage::Store::Open(o));
  // Retires the damaged write-ahead log: what was kept is now in table files.
  WANGGE_RETURN_IF_ERROR(store->Flush());
  // What was kept is now what the directory holds: later opens check against it.
  WANGGE_ASSIGN_OR_RETURN(auto log, storage::EventLog::Open(*store));
  return storage::WriteHeadCheckpoint(data.string(), log->head());
}

// Copies the photos, their metadata and thumbnails (engine/media.h: keys b, i, t) from
// `from` to `into`; the replay has written the references. Incomplete uploads are left.
Status CopyPhotos(const storage::Store& from, storage::Store& into) {
  storage::WriteSet set(into);
  Status failure;
  WANGGE_RETURN_IF_ERROR(from.Scan(storage::Family::kMedia, "b", "u",
                                   [&](std::string_view key, std::string_view value) {
                                     if (key[0] != 'b' && key[0] != 'i' && key[0] != 't')
                                       return true;
                                     set.Put(storage::Family::kMedia, key, value);
                                     if (set.ByteSize() >= (64u << 20)) {
                                       failure = into.Write(set);
                                       set.Clear();
                                     }
                                     return failure.ok();
                                   }));
  WANGGE_RETURN_IF_ERROR(failure);
  return into.Write(set);
}

// Rebuilds the directory from the intact prefix of its log: the records up to the first
// one missing or out of the chain, read past the damage, replayed into a new directory
// that then takes the old one's place. State outside the log (webhook registrations) is
// not kept. Returns how many records were kept.
Result<uint64_t> RebuildFromIntactPrefix(const fs::path& data) {
  storage::StoreOptions o;
  o.path = data.string();
  o.salvage_wal = true;
  o.salvage_skip = true;
  // Writable: RocksDB 7.8 asserts in a read-only open that skips records. The directory
  // is copied aside and is replaced by the rebuild.
  WANGGE_ASSIGN_OR_RETURN(auto source, storage::Store::Open(o));
  uint64_t intact = 0;
  {
    Sha256 sha;
    storage::LogHead running;
    WANGGE_RETURN_IF_ERROR(source->Scan(
        storage::Family::kLog, "", "", [&](std::string_view key, std::string_view value) {
          if (key.size() != 8) return false;
          const Seq seq{DecodeU64(key)};
          if (seq.value != running.seq.value + 1 || value.size() < 33 ||
              !std::equal(running.hash.begin(), running.hash.end(), value.begin() + 1)) {
            return false;
          }
          running = {seq, storage::EventLog::RecordHash(sha, seq, value)};
          return true;
        }));
    intact = running.seq.value;
  }
  const fs::path rebuilt = data.string() + ".salvaged";
  std::error_code ec;
  fs::remove_all(rebuilt, ec);
  {
    storage::StoreOptions into_options;
    into_options.path = rebuilt.string();
    into_options.create_if_missing = true;
    into_options.bulk = true;
    WANGGE_ASSIGN_OR_RETURN(auto into, storage::Store::Open(into_options));
    ReplayOptions options;
    options.until_seq = Seq{std::max<uint64_t>(intact, 1)};
    auto scan = [&](const std::function<bool(Seq, std::string_view)>& each) {
      return source->Scan(storage::Family::kLog, "", "",
                          [&](std::string_view key, std::string_view value) {
                            return each(Seq{DecodeU64(key)}, value.substr(33));
                          });
    };
    if (intact > 0) {
      WANGGE_ASSIGN_OR_RETURN(auto report, ReplayRecords(scan, *into, options));
      WANGGE_RETURN_IF_ERROR(CopyPhotos(*source, *into));
      WANGGE_RETURN_IF_ERROR(into->Flush());
      WANGGE_RETURN_IF_ERROR(storage::WriteHeadCheckpoint(rebuilt.string(), report.head));
    }
  }
  source.reset();
  fs::remove_all(data, ec);
  if (!ec) fs::rename(rebuilt, data, ec);
  if (ec)
    return IOError("putting the rebuilt " + rebuilt.string() + " in place failed: " + ec.message());
  return intact;
}

Status CheckpointDirectory(const std::string& data, const std::string& dest) {
  storage::StoreOptions o;
  o.path = data;
  WANGGE_ASSIGN_OR_RETURN(auto store, storage::Store::Open(o));
  return store->Checkpoint(dest);
}

}  // namespace wangge::audit
