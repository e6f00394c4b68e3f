#include "engine/engine.h"

#include <functional>
#include <future>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/bytes.h"
#include "engine/access.h"
#include "engine/case_index.h"
#include "engine/codec.h"
#include "engine/lifecycle.h"
#include "engine/rebuild.h"
#include "storage/head_checkpoint.h"

namespace wangge::engine {

Status EngineOptions::Validate() const {
  WANGGE_RETURN_IF_ERROR(store.Validate());
  if (timer_interval.count() <= 0) {
    return InvalidArgument("timer_interval must be positive", "timer_interval");
  }
  return sequencer.Validate();
}

namespace {

// The last rules activation record, or nullopt when the log has none.
Result<std::optional<Record>> ReadActivation(const storage::Store& store,
                                             const storage::EventLog& log) {
  WANGGE_ASSIGN_OR_RETURN(auto seq_bytes, store.Get(storage::Family::kMeta, kActiveRulesKey));
  if (!seq_bytes) return std::optional<Record>();
  if (seq_bytes->size() != 8) return Corruption("meta active_rules is malformed");
  const Seq seq{DecodeU64(*seq_bytes)};
  std::string payload;
  WANGGE_RETURN_IF_ERROR(log.Scan(seq, seq, [&](Seq, std::string_view p) {
    payload.assign(p);
    return false;
  }));
  WANGGE_ASSIGN_OR_RETURN(Record record, DecodeRecord(seq, payload));
  if (!std::holds_alternative<RulesActivation>(record.body)) {
    return Corruption("meta active_rules names record " + std::to_string(seq.value) +
                      ", which is not a rules activation");
  }
  return std::optional<Record>(std::move(record));
}

// The ruleset of the last activation record, or nullptr when the log has none.
Result<std::shared_ptr<const rules::Ruleset>> LoadActivatedRules(const storage::Store& store,
                                                                 const storage::EventLog& log) {
  WANGGE_ASSIGN_OR_RETURN(auto record, ReadActivation(store, log));
  if (!record) return std::shared_ptr<const rules::Ruleset>();
  const std::string seq = std::to_string(record->seq.value);
  auto ruleset = LoadActivation(std::get<RulesActivation>(record->body));
  if (!ruleset.ok()) {
    return Corruption("the rules activated at record " + seq +
                      " no longer load: " + ruleset.status().message());
  }
  return std::move(ruleset).value();
}

// Cases by status, from the keys of the owner index (office, 0x00, status, id).
Result<StatusCounts> CountByStatus(const storage::Store& store) {
  StatusCounts counts{};
  WANGGE_RETURN_IF_ERROR(
      store.Scan(storage::Family::kOwner, "", "", [&](std::string_view key, std::string_view) {
        const size_t nul = key.find('\0');
        if (nul != std::string_view::npos && nul + 1 < key.size()) {
          const auto status = static_cast<uint8_t>(key[nul + 1]);
          if (status < counts.size()) ++counts[status];
        }
        return true;
      }));
  return counts;
}

// Adds each case's idempotency key (format 6), from the stored cases: before format 6
// a case's id was always its client id, and one client id made one case.
Status AddDedupeKeys(storage::Store& store, storage::WriteSet& set,
                     const std::function<Status()>& flush_if_full) {
  Status failure;
  WANGGE_RETURN_IF_ERROR(
      store.Scan(storage::Family::kCases, "", "", [&](std::string_view, std::string_view value) {
        auto c = DecodeCase(value);
        if (!c.ok()) {
          failure = c.status();
          return false;
        }
        set.Put(storage::Family::kDedupe, DedupeKey(c->reporter.id, c->report.client_id), c->id);
        failure = flush_if_full();
        return failure.ok();
      }));
  return failure;
}

// Brings a directory of an older format to kFormatVersion, rebuilding from the log what
// it lacks: the history index (format 1), the stats figures (formats 1-2), case format
// 2 and the timers of open cases (formats 1-3), the quarter and year figures (formats 3-4),
// the idempotency keys (formats 1-5, from the cases as they are once the rest is written);
// format 6 only gains the media family.
Status Upgrade(storage::Store& store, const storage::EventLog& log) {
  const uint32_t from = store.format_version();
  storage::WriteSet set(store);
  auto flush_if_full = [&]() -> Status {
    if (set.Count() < 10'000) return Status::Ok();
    WANGGE_RETURN_IF_ERROR(store.Write(set));
    set.Clear();
    return Status::Ok();
  };
  if (from < 5) {
    WANGGE_ASSIGN_OR_RETURN(RebuiltState state, RebuildInMemory(log));
    if (from < 2) {
      for (const auto& [id, seq] : state.history) {
        set.Put(storage::Family::kHistory, HistoryKey(id, seq), {});
        WANGGE_RETURN_IF_ERROR(flush_if_full());
      }
    }
    const StatsDelta stats = StatsOf(state);
    Status written;
    stats.ForEach([&](const std::string& key, const storage::Counters& counters) {
      if (!written.ok() || counters.empty() || (from >= 3 && !IsRollupKey(key))) return;
      // Put, not Merge: these keys were absent, and an upgrade interrupted after some
      // batches and run again must not count twice.
      set.Put(storage::Family::kStats, key, counters.Encode());
      written = flush_if_full();
    });
    WANGGE_RETURN_IF_ERROR(written);
    if (from < 4) {  // case format 2 and the timers of open cases
      for (const auto& [id, c] : state.cases) {
        set.Put(storage::Family::kCases, id, EncodeCase(c));
        for (const auto& key : TimerKeys(c)) set.Put(storage::Family::kTimers, key, {});
        WANGGE_RETURN_IF_ERROR(flush_if_full());
      }
    }
    WANGGE_RETURN_IF_ERROR(store.Write(set));
    set.Clear();
  }
  if (from < 6) WANGGE_RETURN_IF_ERROR(AddDedupeKeys(store, set, flush_if_full));
  // Format 7 adds the media family, which RocksDB creates on open; no log before it
  // references media, so there is nothing to rebuild.
  store.PutCurrentFormat(set);
  return store.Write(set);
}

// Starts a sequencer call with a completion and waits for what it hands over: a Status or
// a Result.
template <typename T, typename Start>
T Wait(Start start) {
  auto promise = std::make_shared<std::promise<T>>();
  auto future = promise->get_future();
  start([promise](T r) { promise->set_value(std::move(r)); });
  return future.get();
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options, const Clock& clock) {
  WANGGE_RETURN_IF_ERROR(options.Validate());
  auto engine = std::unique_ptr<Engine>(new Engine());
  WANGGE_ASSIGN_OR_RETURN(engine->store_, storage::Store::Open(options.store));
  WANGGE_ASSIGN_OR_RETURN(engine->log_, storage::EventLog::Open(*engine->store_));
  WANGGE_RETURN_IF_ERROR(storage::CheckHeadCheckpoint(*engine->log_, options.store.path));
  if (!options.store.read_only && engine->store_->format_version() < storage::kFormatVersion) {
    WANGGE_RETURN_IF_ERROR(Upgrade(*engine->store_, *engine->log_));
  }
  WANGGE_ASSIGN_OR_RETURN(engine->loaded_rules_,
                          LoadActivatedRules(*engine->store_, *engine->log_));
  const bool activated = engine->loaded_rules_ != nullptr;
  if (!activated) engine->loaded_rules_ = rules::Ruleset::BuiltIn();
  if (options.store.read_only) return engine;

  SequencerOptions sequencer = options.sequencer;
  if (!options.store.bulk) sequencer.head_dir = options.store.path;
  engine->sequencer_ = std::make_unique<Sequencer>(*engine->store_, *engine->log_,
                                                   engine->loaded_rules_, clock, sequencer);
  engine->flush_on_stop_ = options.flush_on_stop && !options.store.bulk;
  WANGGE_ASSIGN_OR_RETURN(auto counts, CountByStatus(*engine->store_));
  engine->sequencer_->SetStatusCounts(counts);
  engine->sequencer_->Start();
  engine->clock_ = &clock;
  if (!activated) {
    auto r = engine->sequencer_
                 ->Submit(Command{Actor{"system", Role::kAdmin, ""}, options.first_activation_at,
                                  RulesActivation{std::string(rules::Ruleset::BuiltInText()),
                                                  std::string(rules::Calendar::BuiltInText()), ""}})
                 .get();
    if (!r.ok()) return r.status();
  }
  engine->media_retention_ = options.media_retention;
  if (options.timers) engine->StartTimers(options.timer_interval);
  return engine;
}

std::shared_ptr<const rules::Ruleset> Engine::active_rules() const {
  return sequencer_ ? sequencer_->active_rules() : loaded_rules_;
}

Result<Outcome> Engine::ActivateRules(std::string ruleset_json, std::string calendar_json,
                                      const Actor& actor) {
  if (!sequencer_) return FailedPrecondition("the store is open read-only");
  WANGGE_ASSIGN_OR_RETURN(auto active, ActiveRulesRecord());
  std::string geography;
  if (active) geography = std::get<RulesActivation>(active->body).geography;
  return sequencer_
      ->Submit(Command{actor, std::nullopt,
                       RulesActivation{std::move(ruleset_json), std::move(calendar_json), "",
                                       std::move(geography), ""}})
      .get();
}

Result<Outcome> Engine::ActivateGeography(std::string geojson, const Actor& actor) {
  if (!sequencer_) return FailedPrecondition("the store is open read-only");
  WANGGE_ASSIGN_OR_RETURN(auto active, ActiveRulesRecord());
  if (!active) return FailedPrecondition("no ruleset is active to check the geography against");
  const auto& a = std::get<RulesActivation>(active->body);
  return sequencer_
      ->Submit(Command{actor, std::nullopt,
                       RulesActivation{a.ruleset, a.calendar, "", std::move(geojson), ""}})
      .get();
}

Result<std::optional<Record>> Engine::ActiveRulesRecord() const {
  return ReadActivation(*store_, *log_);
}

Result<StatusCounts> Engine::CaseCounts() const {
  if (sequencer_) return sequencer_->status_counts();
  return CountByStatus(*store_);
}

Result<CasePage> Engine::ListCases(const CaseQuery& query) const {
  return engine::ListCases(*store_, query);
}

Result<uint64_t> Engine::SourcePosition() const {
  WANGGE_ASSIGN_OR_RETURN(auto bytes, store_->Get(storage::Family::kMeta, kSourcePositionKey));
  if (!bytes) return uint64_t{0};
  if (bytes->size() != 8) return Corruption("malformed source position in meta");
  return DecodeU64(*bytes);
}

Result<TimeMs> Engine::LastEventTime() const {
  const Seq head = log_->head().seq;
  if (head.value == 0) return TimeMs{};
  std::string payload;
  WANGGE_RETURN_IF_ERROR(log_->Scan(head, head, [&](Seq, std::string_view p) {
    payload.assign(p);
    return false;
  }));
  WANGGE_ASSIGN_OR_RETURN(Record record, DecodeRecord(head, payload));
  return record.at;
}

Result<StatsResult> Engine::Stats(const StatsQuery& query) const {
  // Formats before 3 have no figures, before 5 no quarter and year keys.
  if (store_->format_version() < 5) {
    return FailedPrecondition("this data directory predates the current figures (format " +
                              std::to_string(store_->format_version()) +
                              "); open it once with a writing command to compute them");
  }
  WANGGE_ASSIGN_OR_RETURN(TimeMs last, LastEventTime());
  return QueryStats(*store_, query, last);
}

Result<std::vector<Command>> Engine::DueTimers(TimeMs now, size_t max) const {
  std::vector<Command> due;
  WANGGE_RETURN_IF_ERROR(store_->Scan(
      storage::Family::kTimers, "", TimerKey(TimeMs{now.ms + 1}, TimerKind::kWarning, ""),
      [&](std::string_view key, std::string_view) {
        if (key.size() < 9) return true;
        const auto kind = static_cast<TimerKind>(static_cast<uint8_t>(key[8]));
        due.push_back(Command{Actor{"timer", Role::kSystem, ""}, std::nullopt,
                              TimerFired{std::string(key.substr(9)), kind, {}}});
        return due.size() < max;
      }));
  return due;
}

Result<int> Engine::FireDueTimers() {
  if (!sequencer_) return FailedPrecondition("the store is open read-only");
  // At most 10,000 a tick; the rest on the next.
  WANGGE_ASSIGN_OR_RETURN(std::vector<Command> due, DueTimers(clock_->Now(), 10'000));
  std::vector<std::future<Result<Outcome>>> pending;
  for (auto& c : due) pending.push_back(sequencer_->Submit(std::move(c)));
  int fired = 0;
  for (auto& f : pending) {
    auto r = f.get();
    // A timer that is no longer due (the case moved on meanwhile) is refused: fine.
    if (r.ok()) ++fired;
  }
  return fired;
}

void Engine::StartTimers(std::chrono::milliseconds interval) {
  timer_thread_ = std::thread([this, interval] {
    MutexLock lock(timer_mu_);
    auto next_collection = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    for (;;) {
      const auto tick = std::chrono::steady_clock::now() + interval;
      while (!timer_stop_ && timer_cv_.WaitUntil(lock, tick)) {
      }
      if (timer_stop_) return;
      lock.Unlock();
      (void)FireDueTimers();  // a failed commit is retried on the next tick
      if (std::chrono::steady_clock::now() >= next_collection) {
        const TimeMs cutoff{
            clock_->Now().ms -
            std::chrono::duration_cast<std::chrono::milliseconds>(media_retention_).count()};
        auto collected = CollectMedia(cutoff);
        if (collected.ok() && *collected > 0) {
          spdlog::info("media: deleted {} unreferenced photos and abandoned uploads", *collected);
        } else if (!collected.ok()) {
          spdlog::warn("media collection: {}", collected.status().ToString());
        }
        next_collection = std::chrono::steady_clock::now() + std::chrono::hours(1);
      }
      lock.Lock();
    }
  });
}

Engine::~Engine() { Stop(); }

void Engine::Stop() {
  {
    MutexLock lock(timer_mu_);
    timer_stop_ = true;
  }
  timer_cv_.NotifyAll();
  if (timer_thread_.joinable()) timer_thread_.join();
  if (!sequencer_) return;
  sequencer_->Stop();
  if (flush_on_stop_) {
    flush_on_stop_ = false;
    // What remains is in the write-ahead log and durable; a failed flush loses nothing.
    if (Status s = store_->Flush(); !s.ok()) spdlog::warn("flush on stop: {}", s.ToString());
  }
}

Result<std::optional<Case>> Engine::GetCase(std::string_view id) const {
  WANGGE_ASSIGN_OR_RETURN(auto bytes, store_->Get(storage::Family::kCases, id));
  if (!bytes) return std::optional<Case>();
  WANGGE_ASSIGN_OR_RETURN(Case c, DecodeCase(*bytes));
  return std::optional<Case>(std::move(c));
}

Status Engine::PutOutsideState(std::string key, std::optional<std::string> value) {
  if (!sequencer_) return FailedPrecondition("the store is open read-only");
  return Wait<Status>([&](auto done) {
    sequencer_->WriteOutside(std::move(key), std::move(value), std::move(done));
  });
}

Result<std::vector<std::pair<std::string, std::string>>> Engine::ScanOutsideState(
    std::string_view prefix) const {
  if (!prefix.starts_with(storage::kOutsideStatePrefix)) {
    return InvalidArgument("not an outside-state prefix: " + std::string(prefix), "prefix");
  }
  std::string end(prefix);
  end.back() = static_cast<char>(end.back() + 1);
  std::vector<std::pair<std::string, std::string>> out;
  WANGGE_RETURN_IF_ERROR(store_->Scan(storage::Family::kMeta, prefix, end,
                                      [&](std::string_view k, std::string_view v) {
                                        out.emplace_back(k, v);
                                        return true;
                                      }));
  return out;
}

Status Engine::ForEachCase(const std::function<bool(const Case&)>& fn) const {
  Status failure;
  WANGGE_RETURN_IF_ERROR(
      store_->Scan(storage::Family::kCases, "", "", [&](std::string_view, std::string_view v) {
        auto c = DecodeCase(v);
        if (!c.ok()) {
          failure = c.status();
          return false;
        }
        return fn(*c);
      }));
  return failure;
}

Result<std::optional<Case>> Engine::FindCase(const Actor& actor, std::string_view address) const {
  std::string id(address);
  if (actor.role == Role::kWorker) {
    WANGGE_ASSIGN_OR_RETURN(auto own,
                            store_->Get(storage::Family::kDedupe, DedupeKey(actor.id, address)));
    if (own) id = std::move(*own);
  }
  WANGGE_ASSIGN_OR_RETURN(auto c, GetCase(id));
  if (c && !MaySee(actor, *c)) c.reset();
  return c;
}

Result<bool> Engine::StoreMedia(const std::string& hash, std::string bytes, const MediaInfo& info) {
  return Wait<Result<bool>>(
      [&](auto done) { StoreMedia(hash, std::move(bytes), info, std::move(done)); });
}

void Engine::StoreMedia(const std::string& hash, std::string bytes, const MediaInfo& info,
                        std::function<void(Result<bool>)> done) {
  if (!sequencer_) return done(FailedPrecondition("the store is open read-only"));
  sequencer_->StorePhoto(hash, std::move(bytes), EncodeMediaInfo(info), std::move(done));
}

Result<std::optional<MediaInfo>> Engine::GetMediaInfo(std::string_view hash) const {
  WANGGE_ASSIGN_OR_RETURN(auto bytes, store_->Get(storage::Family::kMedia, MediaInfoKey(hash)));
  if (!bytes) return std::optional<MediaInfo>();
  WANGGE_ASSIGN_OR_RETURN(MediaInfo info, DecodeMediaInfo(*bytes));
  return std::optional<MediaInfo>(std::move(info));
}

Result<std::optional<MediaInfo>> Engine::GetStoredMedia(std::string_view hash) const {
  if (sequencer_ && sequencer_->Unflushed(hash)) return std::optional<MediaInfo>();
  return GetMediaInfo(hash);
}

Result<std::optional<std::string>> Engine::GetMediaBytes(std::string_view hash) const {
  return store_->Get(storage::Family::kMedia, MediaBytesKey(hash));
}

Result<std::vector<std::string>> Engine::MediaCases(std::string_view hash) const {
  const std::string prefix = MediaRefPrefix(hash);
  std::vector<std::string> ids;
  WANGGE_RETURN_IF_ERROR(store_->Scan(storage::Family::kMedia, prefix, PrefixEnd(prefix),
                                      [&](std::string_view key, std::string_view) {
                                        ids.emplace_back(key.substr(prefix.size()));
                                        return true;
                                      }));
  return ids;
}

Result<std::optional<std::string>> Engine::GetMediaThumbnail(std::string_view hash,
                                                             uint16_t size) const {
  return store_->Get(storage::Family::kMedia, MediaThumbKey(hash, size));
}

Status Engine::StoreMediaThumbnail(const std::string& hash, uint16_t size, std::string jpeg) {
  if (!sequencer_) return FailedPrecondition("the store is open read-only");
  std::vector<std::pair<std::string, std::optional<std::string>>> writes;
  writes.emplace_back(MediaThumbKey(hash, size), std::move(jpeg));
  return Wait<Status>(
      [&](auto done) { sequencer_->WriteMedia(std::move(writes), std::move(done)); });
}

Result<std::optional<UploadState>> Engine::GetUpload(std::string_view hash) const {
  WANGGE_ASSIGN_OR_RETURN(auto bytes, store_->Get(storage::Family::kMedia, UploadKey(hash)));
  if (!bytes) return std::optional<UploadState>();
  WANGGE_ASSIGN_OR_RETURN(UploadState u, DecodeUploadState(*bytes));
  return std::optional<UploadState>(u);
}

Result<UploadState> Engine::AddUploadPart(const std::string& hash, uint64_t offset, uint64_t total,
                                          std::string bytes) {
  if (!sequencer_) return FailedPrecondition("the store is open read-only");
  return Wait<Result<UploadState>>([&](auto done) {
    sequencer_->AddUploadPart(hash, offset, total, std::move(bytes), clock_->Now(),
                              std::move(done));
  });
}

Result<std::string> Engine::ReadUpload(std::string_view hash) const {
  const std::string prefix = PartPrefix(hash);
  std::string out;
  WANGGE_RETURN_IF_ERROR(store_->Scan(storage::Family::kMedia, prefix, PrefixEnd(prefix),
                                      [&](std::string_view, std::string_view value) {
                                        out.append(value);
                                        return true;
                                      }));
  return out;
}

Status Engine::DropUpload(const std::string& hash) {
  if (!sequencer_) return FailedPrecondition("the store is open read-only");
  std::vector<std::pair<std::string, std::optional<std::string>>> writes;
  writes.emplace_back(UploadKey(hash), std::nullopt);
  const std::string prefix = PartPrefix(hash);
  WANGGE_RETURN_IF_ERROR(store_->Scan(storage::Family::kMedia, prefix, PrefixEnd(prefix),
                                      [&](std::string_view key, std::string_view) {
                                        writes.emplace_back(std::string(key), std::nullopt);
                                        return true;
                                      }));
  return Wait<Status>(
      [&](auto done) { sequencer_->WriteMedia(std::move(writes), std::move(done)); });
}

Result<size_t> Engine::CollectMedia(TimeMs cutoff) {
  if (!sequencer_) return FailedPrecondition("the store is open read-only");
  WANGGE_ASSIGN_OR_RETURN(size_t deleted, Wait<Result<size_t>>([&](auto done) {
                            sequencer_->CollectMedia(cutoff, std::move(done));
                          }));
  if (deleted > 0) {
    // A quarter of the photos' bytes garbage before their files are rewritten.
    auto ratio = store_->CollectBlobGarbage(storage::Family::kMedia, 0.25);
    if (!ratio.ok()) spdlog::warn("media: {}", ratio.status().ToString());
  }
  return deleted;
}

Status Engine::ForEachMedia(
    const std::function<bool(std::string_view, const MediaInfo&)>& fn) const {
  Status failure;
  WANGGE_RETURN_IF_ERROR(store_->Scan(storage::Family::kMedia, "i", "j",
                                      [&](std::string_view key, std::string_view value) {
                                        auto info = DecodeMediaInfo(value);
                                        if (!info.ok()) {
                                          failure = info.status();
                                          return false;
                                        }
                                        return fn(key.substr(1), *info);
                                      }));
  return failure;
}

}  // namespace wangge::engine
