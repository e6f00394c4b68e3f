#include "engine/sequencer.h"

#include <map>
#include <optional>
#include <set>

#include <spdlog/spdlog.h>

#include "core/bytes.h"
#include "engine/access.h"
#include "engine/case_index.h"
#include "engine/codec.h"
#include "engine/lifecycle.h"
#include "engine/media.h"
#include "engine/placement.h"
#include "engine/stats.h"
#include "rules/geography.h"
#include "storage/head_checkpoint.h"

namespace wangge::engine {

Status SequencerOptions::Validate() const {
  if (max_batch == 0) return InvalidArgument("max_batch must be positive", "max_batch");
  if (max_queue < max_batch) {
    return InvalidArgument("max_queue must be at least max_batch", "max_queue");
  }
  if (head_interval.count() <= 0 || head_interval.count() > 1000) {
    return InvalidArgument("head_interval must be 1-1000 ms", "head_interval");
  }
  return Status::Ok();
}

// The state of one group commit: its write set and every case it touched, with the
// stored state before the batch, so that indexes are rewritten once per case.
struct Sequencer::Batch {
  struct Touched {
    std::optional<Case> before;  // as stored; empty for a case created in this batch
    Case after;
    int64_t work_ms = 0;  // working time from receipt to closure, set when it closes
  };
  Batch(storage::Store& store, std::shared_ptr<const rules::Ruleset> active)
      : set(store), unlogged(store), rules(std::move(active)) {}
  storage::WriteSet set;
  // Photos (StorePhoto), written before `set` without the write-ahead log; their hashes.
  storage::WriteSet unlogged;
  std::vector<std::string> unlogged_photos;
  // Routes this batch's reports; an activation in the batch replaces it for the
  // commands after it, and it becomes the sequencer's only once the batch is durable.
  std::shared_ptr<const rules::Ruleset> rules;
  bool rules_changed = false;
  std::map<std::string, Touched, std::less<>> touched;
  // Idempotency keys written in this batch: DedupeKey -> case id for the cases created,
  // CommentKey -> sequence (u64 BE) for the comments recorded.
  std::map<std::string, std::string, std::less<>> created;
  // Photos stored and deleted in this batch, and those uploaded in it, stored or not (a
  // collection of orphans in the batch spares them), by hash.
  std::set<std::string, std::less<>> media_stored, media_deleted, media_kept;
  // Photos referenced in this batch: hash -> the case ids referencing them.
  std::map<std::string, std::set<std::string>, std::less<>> media_referenced;
  // Uploads whose state this batch changed, as changed.
  std::map<std::string, UploadState, std::less<>> uploads;
  uint64_t records = 0;
};

Sequencer::Sequencer(storage::Store& store, storage::EventLog& log,
                     std::shared_ptr<const rules::Ruleset> rules, const Clock& clock,
                     SequencerOptions options)
    : store_(store), log_(log), clock_(clock), options_(options) {
  MutexLock lock(mu_);
  rules_ = std::move(rules);
}

std::shared_ptr<const rules::Ruleset> Sequencer::active_rules() const {
  MutexLock lock(mu_);
  return rules_;
}

Sequencer::~Sequencer() { Stop(); }

void Sequencer::Start() {
  MutexLock lock(mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
  flusher_ = std::thread([this] { RunFlusher(); });
}

void Sequencer::Stop() {
  std::vector<Item> never_run;
  {
    MutexLock lock(mu_);
    stopping_ = true;
    if (!started_) never_run.swap(queue_);
  }
  for (Item& item : never_run) item.done(Unavailable("the sequencer is not running"));
  cv_.NotifyOne();
  if (thread_.joinable()) thread_.join();
  {
    MutexLock lock(flush_mu_);
    flush_stopping_ = true;
  }
  flush_cv_.NotifyOne();
  if (flusher_.joinable()) flusher_.join();
}

void Sequencer::RunFlusher() {
  std::vector<FlushWaiter> waiters;
  for (;;) {
    {
      MutexLock lock(flush_mu_);
      while (!flush_stopping_ && flush_queue_.empty()) flush_cv_.Wait(lock);
      if (flush_queue_.empty()) return;
      waiters.swap(flush_queue_);
    }
    // Photos written after this point go into the next flush: RocksDB flushes the
    // memtables as of the call, which hold every waiter's photo.
    const Status flushed = store_.FlushFamily(storage::Family::kMedia);
    if (flushed.ok()) {
      MutexLock lock(flush_mu_);
      for (const auto& w : waiters) unflushed_.erase(w.hash);
    } else {
      spdlog::error("photos not made durable: {}", flushed.ToString());
    }
    for (auto& w : waiters) w.done(flushed.ok() ? std::move(w.result) : Result<Outcome>(flushed));
    waiters.clear();
  }
}

bool Sequencer::Unflushed(std::string_view hash) const {
  MutexLock lock(flush_mu_);
  return unflushed_.find(hash) != unflushed_.end();
}

void Sequencer::StorePhoto(std::string hash, std::string bytes, std::string info,
                           std::function<void(Result<bool>)> done) {
  auto stored = [done = std::move(done)](Result<Outcome> r) {
    if (!r.ok()) return done(r.status());
    done(r->kind == Outcome::Kind::kCreated);
  };
  Enqueue(Item{
      Command{}, std::move(stored),
      [this, hash = std::move(hash), bytes = std::move(bytes), info = std::move(info)](
          Batch& batch) -> Result<Outcome> { return StorePhotoIn(hash, bytes, info, batch); }});
}

Result<Outcome> Sequencer::StorePhotoIn(const std::string& hash, const std::string& bytes,
                                        const std::string& info, Batch& batch) {
  constexpr auto kMedia = storage::Family::kMedia;
  const Outcome created{Outcome::Kind::kCreated, Seq{}, Case{}};
  batch.media_kept.insert(hash);  // a collection later in this batch leaves it
  if (batch.media_deleted.contains(hash)) {
    // Collected earlier in this batch: its deletes are in `set`, and only a write after
    // them in `set`, with the log, stands.
    batch.set.Put(kMedia, MediaBytesKey(hash), bytes);
    batch.set.Put(kMedia, MediaInfoKey(hash), info);
    batch.media_deleted.erase(hash);
    batch.media_stored.insert(hash);
    return created;
  }
  WANGGE_ASSIGN_OR_RETURN(auto known, store_.Get(kMedia, MediaInfoKey(hash)));
  if (known && !Unflushed(hash)) {
    // Stored and durable. Its storing time becomes now, so that the orphan collection
    // gives the upload that repeats it a new day to be referenced.
    batch.set.Put(kMedia, MediaInfoKey(hash), info);
    return Outcome{Outcome::Kind::kDuplicate, Seq{}, Case{}};
  }
  batch.unlogged.Put(kMedia, MediaBytesKey(hash), bytes);
  batch.unlogged.Put(kMedia, MediaInfoKey(hash), info);
  batch.unlogged_photos.push_back(hash);
  return created;
}

void Sequencer::Submit(Command command, Completion done) {
  Enqueue(Item{std::move(command), std::move(done), nullptr});
}

void Sequencer::WriteOutside(std::string key, std::optional<std::string> value,
                             std::function<void(Status)> done) {
  if (!key.starts_with(storage::kOutsideStatePrefix)) {
    return done(InvalidArgument("not an outside-state key: " + key, "key"));
  }
  Enqueue(Item{Command{}, [done = std::move(done)](Result<Outcome> r) { done(r.status()); },
               [key = std::move(key), value = std::move(value)](Batch& batch) -> Result<Outcome> {
                 if (value) {
                   batch.set.Put(storage::Family::kMeta, key, *value);
                 } else {
                   batch.set.Delete(storage::Family::kMeta, key);
                 }
                 return Outcome{};
               }});
}

void Sequencer::WriteMedia(std::vector<std::pair<std::string, std::optional<std::string>>> writes,
                           std::function<void(Status)> done) {
  for (const auto& [key, value] : writes) {
    if (key.empty() || key[0] == 'r') {
      return done(InvalidArgument("not a media key that may be written: " + key, "key"));
    }
  }
  Enqueue(Item{Command{}, [done = std::move(done)](Result<Outcome> r) { done(r.status()); },
               [writes = std::move(writes)](Batch& batch) -> Result<Outcome> {
                 for (const auto& [key, value] : writes) {
                   const bool info = key[0] == 'i';
                   if (value) {
                     batch.set.Put(storage::Family::kMedia, key, *value);
                     if (info) batch.media_stored.insert(key.substr(1));
                   } else {
                     batch.set.Delete(storage::Family::kMedia, key);
                   }
                 }
                 return Outcome{};
               }});
}

void Sequencer::CollectMedia(TimeMs cutoff, std::function<void(Result<size_t>)> done) {
  auto deleted = std::make_shared<size_t>(0);
  Enqueue(Item{Command{},
               [deleted, done = std::move(done)](Result<Outcome> r) {
                 if (!r.ok()) return done(r.status());
                 done(*deleted);
               },
               [this, cutoff, deleted](Batch& batch) -> Result<Outcome> {
                 WANGGE_ASSIGN_OR_RETURN(*deleted, CollectMediaIn(cutoff, batch));
                 return Outcome{};
               }});
}

Result<size_t> Sequencer::CollectMediaIn(TimeMs cutoff, Batch& batch) {
  std::vector<std::string> orphans;
  Status failure;
  WANGGE_RETURN_IF_ERROR(store_.Scan(
      storage::Family::kMedia, "i", "j", [&](std::string_view key, std::string_view value) {
        const std::string hash(key.substr(1));
        auto info = DecodeMediaInfo(value);
        if (!info.ok()) {
          failure = info.status();
          return false;
        }
        if (info->stored_at >= cutoff || batch.media_referenced.contains(hash) ||
            batch.media_kept.contains(hash)) {
          return true;
        }
        bool referenced = false;
        const std::string prefix = MediaRefPrefix(hash);
        Status s = store_.Scan(storage::Family::kMedia, prefix, PrefixEnd(prefix),
                               [&](std::string_view, std::string_view) {
                                 referenced = true;
                                 return false;
                               });
        if (!s.ok()) {
          failure = s;
          return false;
        }
        if (!referenced) orphans.push_back(hash);
        return true;
      }));
  WANGGE_RETURN_IF_ERROR(failure);
  for (const auto& hash : orphans) {
    batch.set.Delete(storage::Family::kMedia, MediaBytesKey(hash));
    batch.set.Delete(storage::Family::kMedia, MediaInfoKey(hash));
    batch.set.DeleteRange(storage::Family::kMedia, MediaThumbPrefix(hash),
                          PrefixEnd(MediaThumbPrefix(hash)));
    batch.media_deleted.insert(hash);
    batch.media_stored.erase(hash);
  }
  size_t uploads = 0;
  std::vector<std::string> expired;
  WANGGE_RETURN_IF_ERROR(store_.Scan(storage::Family::kMedia, "u", "v",
                                     [&](std::string_view key, std::string_view value) {
                                       auto u = DecodeUploadState(value);
                                       if (!u.ok() || u->started_at < cutoff)
                                         expired.emplace_back(key.substr(1));
                                       return true;
                                     }));
  for (const auto& hash : expired) {
    batch.set.Delete(storage::Family::kMedia, UploadKey(hash));
    batch.set.DeleteRange(storage::Family::kMedia, PartPrefix(hash), PrefixEnd(PartPrefix(hash)));
    ++uploads;
  }
  return orphans.size() + uploads;
}

void Sequencer::AddUploadPart(std::string hash, uint64_t offset, uint64_t total, std::string bytes,
                              TimeMs now, std::function<void(Result<UploadState>)> done) {
  auto state = std::make_shared<UploadState>();
  Enqueue(Item{Command{},
               [state, done = std::move(done)](Result<Outcome> r) {
                 if (!r.ok()) return done(r.status());
                 done(*state);
               },
               [this, state, hash = std::move(hash), offset, total, bytes = std::move(bytes),
                now](Batch& batch) -> Result<Outcome> {
                 UploadState u{total, 0, now};
                 if (auto it = batch.uploads.find(hash); it != batch.uploads.end()) {
                   u = it->second;
                 } else {
                   WANGGE_ASSIGN_OR_RETURN(auto stored,
                                           store_.Get(storage::Family::kMedia, UploadKey(hash)));
                   if (stored) {
                     WANGGE_ASSIGN_OR_RETURN(u, DecodeUploadState(*stored));
                   }
                 }
                 if (u.total != total) {
                   return InvalidArgument("the upload of " + hash + " is " +
                                              std::to_string(u.total) + " bytes, not " +
                                              std::to_string(total),
                                          "content-range");
                 }
                 if (offset > u.received) {
                   return InvalidArgument("the part starts at byte " + std::to_string(offset) +
                                              " but " + std::to_string(u.received) +
                                              " bytes have arrived; send from there",
                                          "content-range");
                 }
                 const uint64_t end = offset + bytes.size();
                 if (end > u.received) {
                   const size_t skip = static_cast<size_t>(u.received - offset);
                   batch.set.Put(storage::Family::kMedia, PartKey(hash, u.received),
                                 std::string_view(bytes).substr(skip));
                   u.received = end;
                 }
                 batch.set.Put(storage::Family::kMedia, UploadKey(hash), EncodeUploadState(u));
                 batch.uploads[hash] = u;
                 *state = u;
                 return Outcome{};
               }});
}

Result<uint8_t> Sequencer::CheckMedia(const std::vector<std::string>& media,
                                      const std::string& case_id, const Report& report,
                                      Batch& batch) {
  uint8_t flags = 0;
  for (const auto& hash : media) {
    if (Unflushed(hash)) {
      return InvalidArgument(
          "media " + hash + " is not yet stored durably; send it once its upload is answered",
          "media");
    }
    // One read serves both the check and the flags.
    WANGGE_ASSIGN_OR_RETURN(auto info_bytes,
                            store_.Get(storage::Family::kMedia, MediaInfoKey(hash)));
    const bool stored = batch.media_stored.contains(hash) ||
                        (!batch.media_deleted.contains(hash) && info_bytes.has_value());
    if (!stored) {
      return InvalidArgument(
          "media " + hash + " is not stored; upload it first (PUT /v1/media/" + hash + ")",
          "media");
    }
    std::optional<MediaInfo> info;
    if (info_bytes) {
      WANGGE_ASSIGN_OR_RETURN(info, DecodeMediaInfo(*info_bytes));
    }
    WANGGE_ASSIGN_OR_RETURN(bool elsewhere, ReferencedElsewhere(hash, case_id, batch));
    flags |= PhotoFlags(info, report.reported_at, elsewhere);
    if (info) flags |= PhotoPlaceFlags(info->lat, info->lon, report.grid, batch.rules->geography());
  }
  return flags;
}

Result<bool> Sequencer::ReferencedElsewhere(const std::string& hash, const std::string& case_id,
                                            Batch& batch) {
  if (auto it = batch.media_referenced.find(hash); it != batch.media_referenced.end()) {
    for (const auto& id : it->second) {
      if (id != case_id) return true;
    }
  }
  bool elsewhere = false;
  const std::string prefix = MediaRefPrefix(hash);
  WANGGE_RETURN_IF_ERROR(store_.Scan(storage::Family::kMedia, prefix, PrefixEnd(prefix),
                                     [&](std::string_view key, std::string_view) {
                                       elsewhere = key.substr(prefix.size()) != case_id;
                                       return !elsewhere;
                                     }));
  return elsewhere;
}

void Sequencer::NoteReferenced(const std::vector<std::string>& media, const std::string& case_id,
                               Batch& batch) {
  for (const auto& hash : media) batch.media_referenced[hash].insert(case_id);
}

void Sequencer::Enqueue(Item item) {
  MutexLock lock(mu_);
  if (stopping_) {
    lock.Unlock();
    item.done(Unavailable("the sequencer is not running"));
    return;
  }
  if (queue_.size() >= options_.max_queue) {
    lock.Unlock();
    item.done(Status(StatusCode::kResourceExhausted, "the command queue is full; retry later"));
    return;
  }
  queue_.push_back(std::move(item));
  const bool first = queue_.size() == 1;
  lock.Unlock();
  if (first) cv_.NotifyOne();
}

std::future<Result<Outcome>> Sequencer::Submit(Command command) {
  auto promise = std::make_shared<std::promise<Result<Outcome>>>();
  auto future = promise->get_future();
  Submit(std::move(command), [promise](Result<Outcome> r) { promise->set_value(std::move(r)); });
  return future;
}

SequencerStats Sequencer::stats() const {
  SequencerStats s;
  s.commits = commits_.load();
  s.commands = commands_.load();
  s.records = records_.load();
  for (int i = 0; i < kBatchBuckets; ++i) s.batch_sizes[i] = batch_sizes_[i].load();
  s.committed_commands = committed_commands_.load();
  MutexLock lock(mu_);
  s.queue_depth = queue_.size();
  return s;
}

void Sequencer::SetStatusCounts(const StatusCounts& initial) {
  for (size_t i = 0; i < initial.size(); ++i) status_counts_[i].store(initial[i]);
}

StatusCounts Sequencer::status_counts() const {
  StatusCounts counts{};
  for (size_t i = 0; i < counts.size(); ++i) counts[i] = status_counts_[i].load();
  return counts;
}

void Sequencer::RecordCommit(const Batch& batch, size_t commands) {
  commits_.fetch_add(1, std::memory_order_relaxed);
  records_.fetch_add(batch.records, std::memory_order_relaxed);
  committed_commands_.fetch_add(commands, std::memory_order_relaxed);
  int bucket = 0;
  while (bucket < kBatchBuckets - 1 && (size_t{1} << bucket) < commands) ++bucket;
  batch_sizes_[bucket].fetch_add(1, std::memory_order_relaxed);
  for (const auto& [id, t] : batch.touched) {
    if (t.before && t.before->status == t.after.status) continue;
    if (t.before) status_counts_[static_cast<size_t>(t.before->status)].fetch_sub(1);
    status_counts_[static_cast<size_t>(t.after.status)].fetch_add(1);
  }
}

void Sequencer::Run() {
  std::vector<Item> items;
  for (;;) {
    {
      MutexLock lock(mu_);
      while (!stopping_ && queue_.empty()) {
        if (!checkpoint_due_) {
          cv_.Wait(lock);
        } else if (!cv_.WaitUntil(lock, *checkpoint_due_)) {
          break;  // the checkpoint is due
        }
      }
      if (queue_.empty()) {
        lock.Unlock();
        CheckpointHead();  // the checkpoint is due, or the sequencer is stopping
        lock.Lock();
        if (stopping_ && queue_.empty()) return;  // everything queued is done
        continue;
      }
      if (queue_.size() <= options_.max_batch) {
        items.swap(queue_);
      } else {
        auto split = queue_.begin() + static_cast<std::ptrdiff_t>(options_.max_batch);
        items.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(split));
        queue_.erase(queue_.begin(), split);
      }
    }
    Process(items);
    items.clear();
    if (!checkpoint_due_ && log_.head() != checkpointed_) {
      checkpoint_due_ = std::chrono::steady_clock::now() + options_.head_interval;
    }
    if (checkpoint_due_ && std::chrono::steady_clock::now() >= *checkpoint_due_) CheckpointHead();
  }
}

void Sequencer::CheckpointHead() {
  checkpoint_due_.reset();
  const storage::LogHead head = log_.head();
  if (options_.head_dir.empty() || head == checkpointed_) return;
  Status s = storage::WriteHeadCheckpoint(options_.head_dir, head);
  if (!s.ok()) {
    // The records are durable all the same; only the check of a later open is behind.
    if (!checkpoint_failing_) spdlog::warn("{}; retrying", s.ToString());
    checkpoint_failing_ = true;
    checkpoint_due_ = std::chrono::steady_clock::now() + options_.head_interval;
    return;
  }
  if (checkpoint_failing_)
    spdlog::warn("the head checkpoint in {} is written again", options_.head_dir);
  checkpoint_failing_ = false;
  checkpointed_ = head;
}

void Sequencer::Process(std::vector<Item>& items) {
  Batch batch(store_, active_rules());
  std::vector<Result<Outcome>> results;
  results.reserve(items.size());
  // Which items wrote a photo without the log and are answered after its flush.
  std::vector<std::string> waits_flush(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    Item& item = items[i];
    if (item.outside) {
      const size_t photos = batch.unlogged_photos.size();
      results.push_back(item.outside(batch));
      if (batch.unlogged_photos.size() > photos) waits_flush[i] = batch.unlogged_photos.back();
      continue;
    }
    const Command& cmd = item.command;
    if (const auto* report = std::get_if<Report>(&cmd.body)) {
      results.push_back(ApplyReport(cmd, *report, batch));
    } else if (const auto* t = std::get_if<Transition>(&cmd.body)) {
      results.push_back(ApplyTransitionCommand(cmd, *t, batch));
    } else if (const auto* a = std::get_if<RulesActivation>(&cmd.body)) {
      results.push_back(ApplyRules(cmd, *a, batch));
    } else {
      results.push_back(ApplyTimerCommand(cmd, std::get<TimerFired>(cmd.body), batch));
    }
  }

  uint64_t source_seq = 0;
  for (const Item& item : items) source_seq = std::max(source_seq, item.command.source_seq);
  if (source_seq > 0)
    batch.set.Put(storage::Family::kMeta, kSourcePositionKey, EncodeU64(source_seq));
  // The photos first: a record in `set` may reference one (never an unflushed one, but the
  // order costs nothing). Their flush is asked for once `set` is committed.
  Status unlogged;
  if (!batch.unlogged_photos.empty()) {
    {
      MutexLock lock(flush_mu_);
      for (const auto& hash : batch.unlogged_photos) unflushed_.insert(hash);
    }
    unlogged = store_.WriteUnlogged(batch.unlogged);
  }
  Status committed;
  if (batch.records > 0 || source_seq > 0 || batch.set.Count() > 0) {
    StatsDelta stats;
    for (auto& [id, t] : batch.touched) {
      const Case* before = t.before ? &*t.before : nullptr;
      WriteCaseChange(batch.set, before, t.after);
      stats.Apply(before, t.after, t.work_ms);
    }
    stats.WriteTo(batch.set);
    committed = log_.Commit(batch.set);
    if (committed.ok()) {
      if (batch.rules_changed) {
        MutexLock lock(mu_);
        rules_ = batch.rules;
      }
      RecordCommit(batch, items.size());
    }
  }
  commands_.fetch_add(items.size(), std::memory_order_relaxed);
  std::vector<FlushWaiter> flush;
  for (size_t i = 0; i < items.size(); ++i) {
    // Nothing of a failed commit is durable: no command in it may be acknowledged.
    const bool lost = results[i].ok() && !committed.ok();
    if (!waits_flush[i].empty()) {
      const Status& failed = !unlogged.ok() ? unlogged : committed;
      if (!failed.ok() || !results[i].ok()) {
        items[i].done(results[i].ok() ? Result<Outcome>(failed) : std::move(results[i]));
      } else {
        flush.push_back(
            FlushWaiter{waits_flush[i], std::move(items[i].done), std::move(results[i])});
      }
      continue;
    }
    items[i].done(lost ? Result<Outcome>(committed) : std::move(results[i]));
  }
  if (!flush.empty()) {
    {
      MutexLock lock(flush_mu_);
      for (auto& w : flush) flush_queue_.push_back(std::move(w));
    }
    flush_cv_.NotifyOne();
  }
}

Result<const Case*> Sequencer::LoadCase(const std::string& id, Batch& batch) {
  if (auto it = batch.touched.find(id); it != batch.touched.end()) return &it->second.after;
  WANGGE_ASSIGN_OR_RETURN(auto bytes, store_.Get(storage::Family::kCases, id));
  if (!bytes) return static_cast<const Case*>(nullptr);
  WANGGE_ASSIGN_OR_RETURN(Case stored, DecodeCase(*bytes));
  auto [it, inserted] = batch.touched.emplace(id, Batch::Touched{stored, stored});
  return &it->second.after;
}

Result<std::optional<std::string>> Sequencer::LoadKey(const std::string& key, Batch& batch) {
  if (auto it = batch.created.find(key); it != batch.created.end()) {
    return std::optional<std::string>(it->second);
  }
  return store_.Get(storage::Family::kDedupe, key);
}

// The client id itself when no case has that id, else the client id with "~REPORTER"
// (and "~N" should a client id of that shape be taken too): ids are unique, and a reporter
// never learns that another one used the same client id (engine/access.h CaseAddress).
Result<std::string> Sequencer::NewCaseId(const Actor& reporter, const std::string& client_id,
                                         Batch& batch) {
  std::string id = client_id;
  for (int n = 1; n <= 100; ++n) {
    WANGGE_ASSIGN_OR_RETURN(const Case* taken, LoadCase(id, batch));
    if (!taken) return id;
    id = client_id + "~" + reporter.id + (n == 1 ? "" : "~" + std::to_string(n));
  }
  return Status(StatusCode::kAlreadyExists,
                "client_id " + client_id + " cannot be used; choose another", "client_id");
}

Result<std::string> Sequencer::ResolveCaseId(const Actor& actor, const std::string& address,
                                             Batch& batch) {
  if (actor.role != Role::kWorker) return address;
  WANGGE_ASSIGN_OR_RETURN(auto id, LoadKey(DedupeKey(actor.id, address), batch));
  return id ? *id : address;
}

Result<Outcome> Sequencer::ApplyReport(const Command& cmd, const Report& report, Batch& batch) {
  const std::string key = DedupeKey(cmd.actor.id, report.client_id);
  WANGGE_ASSIGN_OR_RETURN(auto known, LoadKey(key, batch));
  if (known) {
    WANGGE_ASSIGN_OR_RETURN(const Case* existing, LoadCase(*known, batch));
    if (!existing) return Corruption("idempotency key of " + report.client_id + " names no case");
    // A retry of a report that was located compares as the report that was recorded.
    Report retry = report;
    if (retry.grid.empty()) {
      retry.grid = existing->report.grid;
      retry.village = existing->report.village;
    }
    WANGGE_RETURN_IF_ERROR(SameReport(existing->report, retry));
    return Outcome{Outcome::Kind::kDuplicate, existing->created_seq, *existing};
  }
  Report placed = report;
  WANGGE_ASSIGN_OR_RETURN(Placed where, PlaceReport(placed, batch.rules->geography()));
  WANGGE_ASSIGN_OR_RETURN(std::string id, NewCaseId(cmd.actor, placed.client_id, batch));
  Record record;
  WANGGE_ASSIGN_OR_RETURN(record.evidence, CheckMedia(placed.media, id, placed, batch));
  record.evidence |= where.flags;
  record.place = std::move(where.place);
  NoteReferenced(placed.media, id, batch);
  record.at = cmd.at.value_or(clock_.Now());
  record.actor = cmd.actor;
  record.routing = RoutingOf(
      batch.rules->Route(rules::RouteInput{placed.category, placed.severity, placed.village,
                                           placed.grid, record.at, placed.text, cmd.actor.id}));
  if (id != placed.client_id) record.case_id = id;
  record.body = std::move(placed);
  record.seq = log_.Append(batch.set, EncodeRecord(record));
  ++batch.records;
  batch.set.Put(storage::Family::kHistory, HistoryKey(id, record.seq), {});
  WriteMediaRefs(batch.set, record, id);
  Case created = CaseFromReport(record);
  batch.touched.emplace(id, Batch::Touched{std::nullopt, created});
  batch.created.emplace(key, id);
  return Outcome{Outcome::Kind::kCreated, record.seq, std::move(created)};
}

Result<Outcome> Sequencer::ApplyTransitionCommand(const Command& cmd, const Transition& t,
                                                  Batch& batch) {
  WANGGE_ASSIGN_OR_RETURN(std::string id, ResolveCaseId(cmd.actor, t.case_id, batch));
  WANGGE_ASSIGN_OR_RETURN(const Case* current, LoadCase(id, batch));
  // A case the actor may not see is answered as if it did not exist.
  if (!current || !MaySee(cmd.actor, *current)) return NotFound("no case " + t.case_id);
  const bool keyed = t.action == Action::kComment && !t.key.empty();
  const std::string comment_key = keyed ? CommentKey(cmd.actor.id, id, t.key) : std::string();
  if (keyed) {
    WANGGE_ASSIGN_OR_RETURN(auto known, LoadKey(comment_key, batch));
    if (known) {
      if (known->size() != 8) return Corruption("comment key of case " + id + " is malformed");
      return Outcome{Outcome::Kind::kDuplicate, Seq{DecodeU64(*known)}, *current};
    }
  }

  Record record;
  record.at = cmd.at.value_or(clock_.Now());
  record.actor = cmd.actor;
  Transition recorded = t;
  recorded.case_id = id;
  record.body = std::move(recorded);
  // The sequence is taken only when the checks pass: a rejected command consumes none.
  record.seq = log_.NextSeq();
  WANGGE_RETURN_IF_ERROR(ApplyTransition(*current, record).status());
  // The flags are part of the record, which ApplyTransition then applies to the case.
  WANGGE_ASSIGN_OR_RETURN(record.evidence, CheckMedia(t.media, id, current->report, batch));
  WANGGE_ASSIGN_OR_RETURN(Case next, ApplyTransition(*current, record));
  NoteReferenced(t.media, id, batch);
  log_.Append(batch.set, EncodeRecord(record));
  ++batch.records;
  batch.set.Put(storage::Family::kHistory, HistoryKey(id, record.seq), {});
  WriteMediaRefs(batch.set, record, id);
  WriteCommentKey(batch.set, record, id);
  if (keyed) batch.created.emplace(comment_key, EncodeU64(record.seq.value));
  auto& touched = batch.touched.find(id)->second;
  if (next.status == CaseStatus::kClosed && current->status != CaseStatus::kClosed) {
    // Under the calendar in force at this record, as replay computes it.
    touched.work_ms = batch.rules->calendar().WorkingMsBetween(next.received_at, next.closed_at);
  }
  touched.after = next;
  return Outcome{Outcome::Kind::kApplied, record.seq, std::move(next)};
}

Result<Outcome> Sequencer::ApplyTimerCommand(const Command& cmd, const TimerFired& timer,
                                             Batch& batch) {
  if (cmd.actor.role != Role::kSystem) return PermissionDenied("only wangge fires timers");
  WANGGE_ASSIGN_OR_RETURN(const Case* current, LoadCase(timer.case_id, batch));
  if (!current) return NotFound("no case " + timer.case_id);
  TimerFired recorded = timer;
  recorded.notified =
      timer.kind == TimerKind::kWarning ? current->escalation.warn : current->escalation.breach;
  Record record;
  record.at = cmd.at.value_or(clock_.Now());
  record.actor = cmd.actor;
  record.body = std::move(recorded);
  record.seq = log_.NextSeq();
  WANGGE_ASSIGN_OR_RETURN(Case next, ApplyTimer(*current, record));
  log_.Append(batch.set, EncodeRecord(record));
  ++batch.records;
  batch.set.Put(storage::Family::kHistory, HistoryKey(timer.case_id, record.seq), {});
  batch.touched.find(timer.case_id)->second.after = next;
  return Outcome{Outcome::Kind::kApplied, record.seq, std::move(next)};
}

Result<Outcome> Sequencer::ApplyRules(const Command& cmd, const RulesActivation& a, Batch& batch) {
  if (cmd.actor.role != Role::kAdmin) {
    return PermissionDenied("only an admin may activate a ruleset");
  }
  RulesActivation recorded = a;
  if (recorded.calendar.empty()) recorded.calendar = std::string(rules::Calendar::BuiltInText());
  WANGGE_ASSIGN_OR_RETURN(auto ruleset, LoadActivation(recorded));
  recorded.version = ruleset->version();
  if (const rules::Geography* g = ruleset->geography()) recorded.geography_version = g->version();
  const std::string geography = recorded.geography_version;

  Record record;
  record.at = cmd.at.value_or(clock_.Now());
  record.actor = cmd.actor;
  record.body = std::move(recorded);
  record.seq = log_.Append(batch.set, EncodeRecord(record));
  ++batch.records;
  batch.set.Put(storage::Family::kMeta, kActiveRulesKey, EncodeU64(record.seq.value));
  batch.rules = std::move(ruleset);
  batch.rules_changed = true;
  Case version_only;
  version_only.ruleset_version = batch.rules->version();
  return Outcome{Outcome::Kind::kActivated, record.seq, std::move(version_only), geography};
}

}  // namespace wangge::engine
