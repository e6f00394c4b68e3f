// The engine: one data directory's store, log and sequencer, opened together.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"
#include "core/time.h"
#include "engine/case_query.h"
#include "engine/domain.h"
#include "engine/media.h"
#include "engine/sequencer.h"
#include "engine/stats.h"
#include "rules/ruleset.h"
#include "storage/event_log.h"
#include "storage/store.h"

namespace wangge::engine {

struct EngineOptions {
  storage::StoreOptions store;
  SequencerOptions sequencer;
  // Fire deadline timers (warnings and breaches) from a background thread, checking
  // every `timer_interval`. Off for imports and tools; `wangge serve` turns it on.
  // Default: off, 1 s.
  bool timers = false;
  std::chrono::milliseconds timer_interval{1000};
  // With timers: photos never referenced, and uploads never completed, are deleted this
  // long after they were stored or begun (checked hourly). Default: 24 h.
  std::chrono::hours media_retention{24};
  // The time recorded with the built-in ruleset's activation in a new data directory.
  // nullopt = the clock's now. An import or a cluster engine sets it to its first
  // command's time, so that the same commands give the same log wherever they are applied.
  std::optional<TimeMs> first_activation_at;
  // Stop() flushes the memtables, so that no acknowledged record is only in the
  // write-ahead log after a clean stop. false leaves them there, as a crash does (tests
  // of damaged logs). Default: true.
  bool flush_on_stop = true;

  Status Validate() const;
};

// Thread-safe. Shutdown order: Stop() (drains and commits the queue), then destroy.
class Engine {
 public:
  // Opens the store, checks the log head (against the head checkpoint too:
  // storage/head_checkpoint.h), loads the ruleset the log last activated and starts the
  // sequencer, which keeps the head checkpoint. A new data directory first records the activation
  // of the built-in ruleset, so every routing decision is made under a logged ruleset. Codes: those
  // of storage::Store::Open, storage::EventLog::Open and storage::CheckHeadCheckpoint (kDataLoss:
  // acknowledged records are missing); kCorruption when the activated ruleset no longer loads.
  // `clock` outlives the engine.
  static Result<std::unique_ptr<Engine>> Open(const EngineOptions& options, const Clock& clock);
  ~Engine();

  Sequencer& sequencer() { return *sequencer_; }
  storage::Store& store() { return *store_; }
  const storage::Store& store() const { return *store_; }
  const storage::EventLog& log() const { return *log_; }
  storage::LogHead head() const { return log_->head(); }
  // The sequencer's counters; zeros for a read-only store.
  SequencerStats sequencer_stats() const {
    return sequencer_ ? sequencer_->stats() : SequencerStats{};
  }

  // The ruleset routing reports now; the built-in one for a read-only store whose log
  // never activated one.
  std::shared_ptr<const rules::Ruleset> active_rules() const;

  // Records the activation of `ruleset_json` (with `calendar_json`, or the built-in
  // calendar when empty) by `actor`, durably, keeping the geography in force (which must
  // still check against the new ruleset). Codes: those of Sequencer::Submit.
  Result<Outcome> ActivateRules(std::string ruleset_json, std::string calendar_json,
                                const Actor& actor);
  // Records the activation of geography `geojson` (rules/geography.h) with the ruleset and
  // calendar in force. Codes: those of Sequencer::Submit. Like ActivateRules, it reads what
  // is in force and then submits: two admins activating at once may each undo the other's
  // change of the other part (an admin's rare act; the log shows both).
  Result<Outcome> ActivateGeography(std::string geojson, const Actor& actor);

  // The record that activated the ruleset routing reports now, or nullopt for a
  // read-only store whose log never activated one.
  Result<std::optional<Record>> ActiveRulesRecord() const;

  // Cases by status (index = CaseStatus value): kept by the sequencer; counted from
  // the owner index for a read-only store.
  Result<StatusCounts> CaseCounts() const;

  // A page of cases; see engine/case_query.h.
  Result<CasePage> ListCases(const CaseQuery& query) const;

  // Every record of case `id` with the case after it; see engine/case_query.h.
  Result<std::vector<HistoryStep>> CaseHistory(std::string_view id) const {
    return ReadCaseHistory(*store_, *log_, id);
  }

  // The time of the last log record (0 for an empty log).
  Result<TimeMs> LastEventTime() const;

  // The highest Command::source_seq applied durably (kSourcePositionKey), 0 when none.
  Result<uint64_t> SourcePosition() const;

  // Supervision figures; see engine/stats.h.
  Result<StatsResult> Stats(const StatsQuery& query) const;

  // Puts (or, with nullopt, deletes) an outside-state key (Sequencer::WriteOutside) and
  // waits until it is durable. kFailedPrecondition: the store is open read-only.
  Status PutOutsideState(std::string key, std::optional<std::string> value);
  // The outside-state keys under `prefix` (which starts with storage::kOutsideStatePrefix)
  // and their values, in key order.
  Result<std::vector<std::pair<std::string, std::string>>> ScanOutsideState(
      std::string_view prefix) const;

  // --- photos (engine/media.h). Writes wait until durable; kFailedPrecondition when
  // the store is open read-only.
  // Stores photo `hash` with `info`; the caller has checked that the bytes hash to it and
  // are an image within the limits. true when stored now, false when it already was.
  Result<bool> StoreMedia(const std::string& hash, std::string bytes, const MediaInfo& info);
  // The same without waiting: `done` hears the answer, on the sequencer's thread once the
  // write is durable (or at once when the photo was already stored or on an error). Many
  // uploads then share one group commit.
  void StoreMedia(const std::string& hash, std::string bytes, const MediaInfo& info,
                  std::function<void(Result<bool>)> done);
  Result<std::optional<MediaInfo>> GetMediaInfo(std::string_view hash) const;
  // The same, but nullopt for a photo written and not yet durable (Sequencer::Unflushed):
  // what an upload may be told is stored.
  Result<std::optional<MediaInfo>> GetStoredMedia(std::string_view hash) const;
  Result<std::optional<std::string>> GetMediaBytes(std::string_view hash) const;
  // The ids of the cases whose records reference photo `hash`, in id order.
  Result<std::vector<std::string>> MediaCases(std::string_view hash) const;
  Result<std::optional<std::string>> GetMediaThumbnail(std::string_view hash, uint16_t size) const;
  Status StoreMediaThumbnail(const std::string& hash, uint16_t size, std::string jpeg);
  // An incomplete resumable upload of `hash`, or nullopt.
  Result<std::optional<UploadState>> GetUpload(std::string_view hash) const;
  // Sequencer::AddUploadPart, waiting until durable.
  Result<UploadState> AddUploadPart(const std::string& hash, uint64_t offset, uint64_t total,
                                    std::string bytes);
  // The bytes received of upload `hash`, in order.
  Result<std::string> ReadUpload(std::string_view hash) const;
  // Drops upload `hash` (after its photo is stored, or when it is given up).
  Status DropUpload(const std::string& hash);
  // Sequencer::CollectMedia: photos stored before `cutoff` and never referenced, and
  // uploads begun before it. The number deleted.
  Result<size_t> CollectMedia(TimeMs cutoff);
  // Calls fn(hash, info) for every stored photo in hash order until it returns false.
  Status ForEachMedia(const std::function<bool(std::string_view, const MediaInfo&)>& fn) const;

  // Calls fn(case) for every case in case id order until it returns false.
  // kCorruption: a stored case does not decode.
  Status ForEachCase(const std::function<bool(const Case&)>& fn) const;

  // Reads every table file and checks its block checksums (storage::Store::VerifyFiles).
  Result<std::optional<storage::DamagedFile>> VerifyFiles() const { return store_->VerifyFiles(); }

  // An openable copy of the directory as of now at `dest` (storage::Store::Checkpoint).
  Status Checkpoint(const std::string& dest) const { return store_->Checkpoint(dest); }

  // The case with case id `id`, or nullopt.
  Result<std::optional<Case>> GetCase(std::string_view id) const;

  // The case `actor` means by `address` (engine/access.h CaseAddress), or nullopt when
  // there is none or the actor may not see it: callers answer both alike.
  Result<std::optional<Case>> FindCase(const Actor& actor, std::string_view address) const;

  // The timer commands due by `now` (at most `max`), without `at`, in due order. Cluster
  // mode publishes them to the town's stream instead of recording them here.
  Result<std::vector<Command>> DueTimers(TimeMs now, size_t max) const;

  // Records every timer due by the clock's now (warning points and deadlines of open
  // cases), one record each, and waits for them. Returns how many were recorded.
  // The timer thread calls this; tests call it directly.
  Result<int> FireDueTimers();

  // Stops the timer thread, then the sequencer after committing what is queued, and
  // flushes the memtables (EngineOptions::flush_on_stop). Idempotent.
  void Stop();

 private:
  Engine() = default;
  void StartTimers(std::chrono::milliseconds interval);
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::EventLog> log_;
  std::shared_ptr<const rules::Ruleset> loaded_rules_;  // as of Open
  std::unique_ptr<Sequencer> sequencer_;
  const Clock* clock_ = nullptr;
  bool flush_on_stop_ = false;
  std::chrono::hours media_retention_{24};
  std::thread timer_thread_;
  Mutex timer_mu_;
  CondVar timer_cv_;
  bool timer_stop_ WANGGE_GUARDED_BY(timer_mu_) = false;
};

}  // namespace wangge::engine
