// The sequencer: the single writer. It takes validated commands from many producers,
// assigns each the next log sequence and its time, routes reports, applies
// transitions, and group-commits many commands with one durable write. A producer
// hears back only after the batch holding its command is durable.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"
#include "core/time.h"
#include "engine/domain.h"
#include "engine/media.h"
#include "rules/ruleset.h"
#include "storage/event_log.h"
#include "storage/store.h"

namespace wangge::engine {

struct SequencerOptions {
  // Most commands applied into one group commit. Default: 4096.
  size_t max_batch = 4096;
  // Queued commands beyond which Submit answers kResourceExhausted (back-pressure).
  // Default: 65536.
  size_t max_queue = 65536;
  // The data directory whose head checkpoint (storage/head_checkpoint.h) the sequencer
  // keeps: the committed head is written there within `head_interval` of each commit,
  // and on Stop. Empty: none. Default: none (engine::Engine::Open sets its directory).
  std::string head_dir;
  // Default: 500 ms, so a checkpoint is never more than a second behind what was
  // acknowledged.
  std::chrono::milliseconds head_interval{500};

  Status Validate() const;
};

// What happened to one command.
struct Outcome {
  enum class Kind : uint8_t {
    kCreated = 1,  // a new case (201)
    kDuplicate =
        2,         // a retry: a report, or a comment with a key, sent before; nothing written (200)
    kApplied = 3,  // a transition was recorded (200)
    kActivated = 4,  // a ruleset became active (200)
  };
  Kind kind = Kind::kCreated;
  Seq seq;     // the record's sequence (for a duplicate, the case's creating record)
  Case state;  // the case after the command; for an activation, only ruleset_version
  std::string geography_version = {};  // an activation's geography; empty: none
};

// The meta key holding the sequence of the record that activated the current ruleset.
inline constexpr std::string_view kActiveRulesKey = "active_rules";
// The meta key holding the highest Command::source_seq applied (8 bytes, big-endian). It
// sits under storage::kOutsideStatePrefix: it is about the source, not the log, so
// digests and replays leave it out.
inline constexpr std::string_view kSourcePositionKey = "outside/source_seq";
static_assert(kSourcePositionKey.starts_with(storage::kOutsideStatePrefix));

using Completion = std::function<void(Result<Outcome>)>;

// Upper bounds of the commit-size histogram: 1, 2, 4, ... 4096 commands, then the rest.
inline constexpr int kBatchBuckets = 14;

// Cases by status, indexed by the CaseStatus value (index 0 unused).
using StatusCounts = std::array<int64_t, 7>;

struct SequencerStats {
  uint64_t commits = 0;   // durable writes
  uint64_t commands = 0;  // commands completed (any outcome)
  uint64_t records = 0;   // log records written
  // Durable writes by the number of commands in them: bucket i holds commits of at
  // most 2^i commands (the last, any more). Not cumulative.
  std::array<uint64_t, kBatchBuckets> batch_sizes{};
  uint64_t committed_commands = 0;  // commands in durable writes
  size_t queue_depth = 0;           // commands waiting now
};

// Thread-safe: Submit from any thread. Completions run on the sequencer thread and
// must not block (set a promise, post to an executor).
class Sequencer {
 public:
  // `rules` routes reports until a RulesActivation replaces it.
  // REQUIRES: options.Validate().ok(); rules != nullptr; the references outlive the
  // sequencer.
  Sequencer(storage::Store& store, storage::EventLog& log,
            std::shared_ptr<const rules::Ruleset> rules, const Clock& clock,
            SequencerOptions options);
  ~Sequencer();  // Stop()
  Sequencer(const Sequencer&) = delete;
  Sequencer& operator=(const Sequencer&) = delete;

  // Calls made before Start wait in the queue and go into its first group commit; a
  // Stop without a Start answers them kUnavailable.
  void Start();
  // Applies and commits everything queued, checkpoints the head, then stops the thread.
  // Idempotent.
  void Stop();

  // Queues `command`. `done` is called exactly once: after the durable commit with
  // the outcome; or with the reason it was rejected (nothing written):
  // kInvalidArgument, kPermissionDenied, kFailedPrecondition, kNotFound (also for a case
  // the actor may not see), kAlreadyExists (a reporter's client id reused for a different
  // report: engine/domain.h SameReport);
  // kUnavailable (stopped), kResourceExhausted (queue full); or the commit error.
  void Submit(Command command, Completion done);
  std::future<Result<Outcome>> Submit(Command command);

  // Puts (or, with nullopt, deletes) meta key `key` of the outside state: state that is
  // not derived from the log (webhook registrations and their delivery), under
  // storage::kOutsideStatePrefix, left out of digests and replays. It is written in the
  // next group commit like everything persisted while serving, and `done` hears the
  // commit's status. kInvalidArgument: a key outside that prefix.
  void WriteOutside(std::string key, std::optional<std::string> value,
                    std::function<void(Status)> done);

  // Puts and deletes media-family keys (engine/media.h) other than the references, which
  // only records make: a stored photo, its thumbnails, the parts of an upload. Written in
  // the next group commit; `done` hears its status. kInvalidArgument: a reference key.
  // A report or transition later in the same batch sees a photo stored here.
  void WriteMedia(std::vector<std::pair<std::string, std::optional<std::string>>> writes,
                  std::function<void(Status)> done);

  // Stores photo `hash`: its bytes and its encoded MediaInfo `info`. They are written
  // without the write-ahead log, so that the bytes reach the disk once (to a blob file),
  // and made durable by a flush of the media family that every photo waiting at that
  // moment shares. `done` hears true once durable, false when the photo was already stored
  // and durable. Until then no report may reference the photo (CheckMediaStored).
  void StorePhoto(std::string hash, std::string bytes, std::string info,
                  std::function<void(Result<bool>)> done);

  // Whether photo `hash` was written by StorePhoto and its flush has not yet succeeded:
  // it may be readable, but it is not stored until then.
  bool Unflushed(std::string_view hash) const;

  // Deletes the photos stored before `cutoff` that no record references (with their
  // thumbnails), and the uploads begun before it and never completed. Decided on the
  // sequencer thread, so no report can reference a photo while it is being deleted.
  // `done` hears how many photos and uploads were deleted, once that is durable.
  void CollectMedia(TimeMs cutoff, std::function<void(Result<size_t>)> done);

  // Adds bytes [offset, offset + bytes.size()) to the resumable upload of photo `hash`,
  // of `total` bytes, begun now when it is new. A part must start at or before the bytes
  // received so far (a repeat overlaps them; only its new bytes are kept), so the
  // received bytes never have a gap. `done` hears the upload's state once durable, or
  // kInvalidArgument naming "content-range" (a gap, a total other than the upload's).
  void AddUploadPart(std::string hash, uint64_t offset, uint64_t total, std::string bytes,
                     TimeMs now, std::function<void(Result<UploadState>)> done);

  SequencerStats stats() const;

  // Cases by status as of the last durable commit, counted from `initial` (the store's
  // counts when the sequencer started). Call SetStatusCounts before Start.
  void SetStatusCounts(const StatusCounts& initial);
  StatusCounts status_counts() const;

  // The ruleset that routes reports now (as of the last durable activation).
  std::shared_ptr<const rules::Ruleset> active_rules() const;

 private:
  struct Batch;
  struct Item {
    Command command;
    Completion done;
    // Set for writes that are not commands (WriteOutside, WriteMedia, CollectMedia,
    // AddUploadPart): run on the sequencer thread, adding to the batch; `command` unused.
    // What they answer beyond a status they hand to their completion themselves.
    std::function<Result<Outcome>(Batch&)> outside;
  };
  // An item of a committed batch that waits for the media family's flush (StorePhoto).
  struct FlushWaiter {
    std::string hash;
    Completion done;
    Result<Outcome> result;
  };
  // Queues `item` (Submit, WriteOutside).
  void Enqueue(Item item);
  // The flusher thread: flushes the media family for every waiter queued, then answers
  // them, until stopped with none left.
  void RunFlusher();
  // StorePhoto's work on the sequencer thread.
  Result<Outcome> StorePhotoIn(const std::string& hash, const std::string& bytes,
                               const std::string& info, Batch& batch);
  // Checks that every photo of `media` is stored (and durable) as of this batch; their
  // evidence flags (engine/media.h) as photos of case `case_id` with report `report` (its
  // time and its grid). kInvalidArgument naming "media" and the first one not stored.
  Result<uint8_t> CheckMedia(const std::vector<std::string>& media, const std::string& case_id,
                             const Report& report, Batch& batch);
  // Whether a case other than `case_id` references photo `hash`, stored or in this batch.
  Result<bool> ReferencedElsewhere(const std::string& hash, const std::string& case_id,
                                   Batch& batch);
  // Notes that case `case_id` references `media` in this batch (CollectMedia spares them).
  void NoteReferenced(const std::vector<std::string>& media, const std::string& case_id,
                      Batch& batch);
  // CollectMedia's work: the number of photos and uploads deleted.
  Result<size_t> CollectMediaIn(TimeMs cutoff, Batch& batch);

  void Run();
  void Process(std::vector<Item>& items);
  // Writes the committed head to options_.head_dir when it moved since the last write.
  // Sequencer thread only.
  void CheckpointHead();
  Result<Outcome> ApplyReport(const Command& cmd, const Report& report, Batch& batch);
  Result<Outcome> ApplyTransitionCommand(const Command& cmd, const Transition& t, Batch& batch);
  Result<Outcome> ApplyRules(const Command& cmd, const RulesActivation& a, Batch& batch);
  Result<Outcome> ApplyTimerCommand(const Command& cmd, const TimerFired& timer, Batch& batch);
  Result<const Case*> LoadCase(const std::string& id, Batch& batch);
  // The case id under idempotency key `key` (engine/case_index.h DedupeKey), if any.
  Result<std::optional<std::string>> LoadKey(const std::string& key, Batch& batch);
  Result<std::string> NewCaseId(const Actor& reporter, const std::string& client_id, Batch& batch);
  // The case id `actor` means by `address` (engine/access.h CaseAddress): for a worker the
  // case of their own report with that client id, when there is one.
  Result<std::string> ResolveCaseId(const Actor& actor, const std::string& address, Batch& batch);
  // Counts a durable commit of `commands` commands.
  void RecordCommit(const Batch& batch, size_t commands);

  storage::Store& store_;
  storage::EventLog& log_;
  std::shared_ptr<const rules::Ruleset> rules_ WANGGE_GUARDED_BY(mu_);
  const Clock& clock_;
  const SequencerOptions options_;

  mutable Mutex mu_;
  CondVar cv_;
  std::vector<Item> queue_ WANGGE_GUARDED_BY(mu_);
  bool stopping_ WANGGE_GUARDED_BY(mu_) = false;
  bool started_ WANGGE_GUARDED_BY(mu_) = false;
  std::thread thread_;

  // StorePhoto's flushes (RunFlusher).
  mutable Mutex flush_mu_;
  CondVar flush_cv_;
  std::vector<FlushWaiter> flush_queue_ WANGGE_GUARDED_BY(flush_mu_);
  std::set<std::string, std::less<>> unflushed_ WANGGE_GUARDED_BY(flush_mu_);
  bool flush_stopping_ WANGGE_GUARDED_BY(flush_mu_) = false;
  std::thread flusher_;
  // Sequencer thread only: the head last checkpointed, and when the next is due.
  storage::LogHead checkpointed_;
  std::optional<std::chrono::steady_clock::time_point> checkpoint_due_;
  bool checkpoint_failing_ = false;

  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> commands_{0};
  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> committed_commands_{0};
  std::array<std::atomic<uint64_t>, kBatchBuckets> batch_sizes_{};
  std::array<std::atomic<int64_t>, 7> status_counts_{};
};

}  // namespace wangge::engine
