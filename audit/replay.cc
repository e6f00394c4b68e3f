#include "audit/replay.h"

#include <filesystem>
#include <set>
#include <unordered_map>

#include "core/bytes.h"
#include "core/sha256.h"
#include "engine/case_index.h"
#include "engine/codec.h"
#include "engine/lifecycle.h"
#include "engine/media.h"
#include "engine/rebuild.h"
#include "engine/sequencer.h"
#include "engine/stats.h"
#include "rules/calendar.h"

namespace wangge::audit {

using engine::ApplyCaseRecord;
using engine::Case;
using engine::CaseFromReport;
using engine::CaseIdOf;
using engine::CaseStatus;
using engine::DecodeCase;
using engine::DecodeRecord;
using engine::DedupeKey;
using engine::DueKey;
using engine::EncodeCase;
using engine::HistoryKey;
using engine::kActiveRulesKey;
using engine::OwnerKey;
using engine::RebuildInMemory;
using engine::RebuiltState;
using engine::Record;
using engine::Report;
using engine::RulesActivation;
using engine::StatsDelta;
using engine::StatsOf;
using engine::TimerKeys;
using engine::WriteCaseChange;
using engine::WriteCommentKey;
namespace {

using storage::Family;

// Collects every key of a family into a sorted set.
Result<std::set<std::string>> KeysOf(const storage::Store& store, Family f) {
  std::set<std::string> keys;
  WANGGE_RETURN_IF_ERROR(store.Scan(f, "", "", [&](std::string_view k, std::string_view) {
    keys.emplace(k);
    return true;
  }));
  return keys;
}

// A family's entries as key, 0x00, value: for families whose values are ids.
Result<std::set<std::string>> EntriesOf(const storage::Store& store, Family f) {
  std::set<std::string> entries;
  WANGGE_RETURN_IF_ERROR(store.Scan(f, "", "", [&](std::string_view k, std::string_view v) {
    entries.emplace(std::string(k) + '\0' + std::string(v));
    return true;
  }));
  return entries;
}

// The dedupe entry of case `c` in the form of EntriesOf.
std::string DedupeEntry(const Case& c) {
  return DedupeKey(c.reporter.id, c.report.client_id) + '\0' + c.id;
}

void CompareKeySets(const std::set<std::string>& want, const std::set<std::string>& have,
                    std::string_view family, std::vector<std::string>& problems, size_t max) {
  for (const auto& k : want) {
    if (problems.size() >= max) return;
    if (!have.contains(k)) problems.push_back(std::string(family) + " index entry missing");
  }
  for (const auto& k : have) {
    if (problems.size() >= max) return;
    if (!want.contains(k)) problems.push_back(std::string(family) + " index has a stale entry");
  }
}

}  // namespace

namespace {

// The stats family against the figures of the rebuilt cases. A stored key whose value
// summed to zero is the same as no key.
Status CompareStats(const storage::Store& store, const RebuiltState& state,
                    std::vector<std::string>& problems, size_t max) {
  std::unordered_map<std::string, storage::Counters> wanted_keys;
  StatsOf(state).ForEach([&](const std::string& k, const storage::Counters& c) {
    if (!c.empty()) wanted_keys.emplace(k, c);
  });
  size_t matched = 0;
  Status failure;
  WANGGE_RETURN_IF_ERROR(
      store.Scan(Family::kStats, "", "", [&](std::string_view k, std::string_view v) {
        storage::Counters have;
        if (!storage::Counters::Decode(v, have)) {
          problems.push_back("a stats value does not decode");
          return problems.size() < max;
        }
        auto it = wanted_keys.find(std::string(k));
        const bool expected = it != wanted_keys.end();
        if (expected) ++matched;
        if (expected ? !(it->second == have) : !have.empty()) {
          problems.push_back("stats key " + HexEncode(k) + " differs from the log's rebuild");
        }
        return problems.size() < max;
      }));
  const size_t wanted = wanted_keys.size();
  if (matched != wanted && problems.size() < max) {
    problems.push_back("stats: " + std::to_string(wanted - matched) +
                       " keys of the log's rebuild are missing");
  }
  return failure;
}

}  // namespace

Result<std::vector<std::string>> CheckDerivedState(const storage::Store& store,
                                                   const storage::EventLog& log,
                                                   size_t max_problems) {
  WANGGE_ASSIGN_OR_RETURN(RebuiltState state, RebuildInMemory(log));
  std::vector<std::string> problems;
  std::set<std::string> want_due, want_owner, want_history, want_dedupe;
  for (const auto& [id, seq] : state.history) want_history.insert(HistoryKey(id, seq));
  for (const auto& [id, c] : state.cases) {
    if (c.open()) want_due.insert(DueKey(c.deadline, id));
    want_owner.insert(OwnerKey(c.office, c.status, id));
    want_dedupe.insert(DedupeEntry(c));
  }
  for (const auto& [key, seq] : state.comment_keys) {
    want_dedupe.insert(key + '\0' + EncodeU64(seq.value));
  }

  size_t stored = 0;
  WANGGE_RETURN_IF_ERROR(
      store.Scan(Family::kCases, "", "", [&](std::string_view key, std::string_view value) {
        ++stored;
        auto it = state.cases.find(key);
        if (it == state.cases.end()) {
          problems.push_back("case " + std::string(key) + " is stored but not in the log");
        } else if (EncodeCase(it->second) != value) {
          problems.push_back("case " + std::string(key) + " differs from the log's rebuild");
        }
        return problems.size() < max_problems;
      }));
  if (stored != state.cases.size() && problems.size() < max_problems) {
    problems.push_back("log has " + std::to_string(state.cases.size()) + " cases, store has " +
                       std::to_string(stored));
  }
  WANGGE_ASSIGN_OR_RETURN(auto active, store.Get(Family::kMeta, kActiveRulesKey));
  const uint64_t stored_rules = active && active->size() == 8 ? DecodeU64(*active) : 0;
  if (stored_rules != state.rules_seq.value && problems.size() < max_problems) {
    problems.push_back("meta active_rules names record " + std::to_string(stored_rules) +
                       " but the last activation in the log is " +
                       std::to_string(state.rules_seq.value));
  }
  WANGGE_ASSIGN_OR_RETURN(auto due, KeysOf(store, Family::kDue));
  CompareKeySets(want_due, due, "due", problems, max_problems);
  WANGGE_ASSIGN_OR_RETURN(auto owner, KeysOf(store, Family::kOwner));
  CompareKeySets(want_owner, owner, "owner", problems, max_problems);
  WANGGE_ASSIGN_OR_RETURN(auto history, KeysOf(store, Family::kHistory));
  CompareKeySets(want_history, history, "history", problems, max_problems);
  WANGGE_ASSIGN_OR_RETURN(auto dedupe, EntriesOf(store, Family::kDedupe));
  CompareKeySets(want_dedupe, dedupe, "dedupe", problems, max_problems);
  WANGGE_RETURN_IF_ERROR(CompareStats(store, state, problems, max_problems));
  std::set<std::string> want_timers;
  for (const auto& [id, c] : state.cases) {
    for (auto& k : TimerKeys(c)) want_timers.insert(std::move(k));
  }
  WANGGE_ASSIGN_OR_RETURN(auto timers, KeysOf(store, Family::kTimers));
  CompareKeySets(want_timers, timers, "timers", problems, max_problems);
  return problems;
}

}  // namespace wangge::audit

namespace wangge::audit {
namespace {

// The cases one replay batch touched, with their state before the batch.
struct Touched {
  std::optional<Case> before;  // as stored; empty for a case reported in this batch
  Case after;
};

class Replayer {
 public:
  Replayer(storage::Store& into, storage::EventLog& log) : into_(into), log_(log), set_(into) {}

  // Applies one record (`payload`, decoded as `record`).
  Status Apply(Seq seq, std::string_view payload, const Record& record) {
    if (log_.Append(set_, payload) != seq) {
      return Corruption("record " + std::to_string(seq.value) + " is out of sequence");
    }
    if (const auto* a = std::get_if<RulesActivation>(&record.body)) {
      auto loaded = rules::Calendar::Load(a->calendar, "activated calendar");
      if (!loaded.ok()) {
        return Corruption("record " + std::to_string(seq.value) +
                          " activates a calendar that does not load: " + loaded.status().message());
      }
      calendar_ = std::move(loaded).value();
      set_.Put(storage::Family::kMeta, kActiveRulesKey, EncodeU64(seq.value));
      return Status::Ok();
    }
    const auto* report = std::get_if<Report>(&record.body);
    const std::string id(CaseIdOf(record));
    WANGGE_ASSIGN_OR_RETURN(Touched * t, Load(id));
    if (report) {
      if (t) return Corruption("record " + std::to_string(seq.value) + " reports " + id + " twice");
      touched_.emplace(id, Touched{std::nullopt, CaseFromReport(record)});
    } else {
      if (!t) {
        return Corruption("record " + std::to_string(seq.value) + " moves unknown case " + id);
      }
      auto next = ApplyCaseRecord(t->after, record);
      if (!next.ok()) {
        return Corruption("record " + std::to_string(seq.value) +
                          " does not apply: " + next.status().message());
      }
      t->after = std::move(next).value();
      if (!t->after.open()) CountFinal(t->after);
    }
    set_.Put(storage::Family::kHistory, HistoryKey(id, seq), {});
    WriteMediaRefs(set_, record, id);
    WriteCommentKey(set_, record, id);
    return Status::Ok();
  }

  // Writes the batch: case changes, index entries and the log head; the figures when
  // enough keys have changed. Summing the figures over many batches writes each key
  // once per window instead of once per case change (a case change touches 66 keys).
  Status Commit() {
    for (auto& [id, t] : touched_) {
      WriteCaseChange(set_, t.before ? &*t.before : nullptr, t.after);
    }
    touched_.clear();
    if (stats_.size() >= kStatsKeysHeld) WriteStats();
    Status s = log_.Commit(set_);
    set_.Clear();
    return s;
  }

  // Counts the cases still open (the due index holds exactly those) and writes the
  // figures held. REQUIRES: every record applied and committed.
  Status Finish() {
    Status failure;
    WANGGE_RETURN_IF_ERROR(
        into_.Scan(storage::Family::kDue, "", "", [&](std::string_view key, std::string_view) {
          auto c = LoadStored(key.substr(sizeof(int64_t)));
          if (!c.ok() || !*c) {
            failure = c.ok() ? Corruption("due index names a case that is not stored") : c.status();
            return false;
          }
          stats_.Apply(nullptr, **c, 0);
          if (stats_.size() >= kStatsKeysHeld) WriteStats();
          return true;
        }));
    WANGGE_RETURN_IF_ERROR(failure);
    WriteStats();
    Status s = log_.Commit(set_);
    set_.Clear();
    return s;
  }

 private:
  Result<Touched*> Load(const std::string& id) {
    if (auto it = touched_.find(id); it != touched_.end()) return &it->second;
    WANGGE_ASSIGN_OR_RETURN(auto stored, LoadStored(id));
    if (!stored) return static_cast<Touched*>(nullptr);
    return &touched_.emplace(id, Touched{*stored, *stored}).first->second;
  }

  Result<std::optional<Case>> LoadStored(std::string_view id) const {
    WANGGE_ASSIGN_OR_RETURN(auto bytes, into_.Get(storage::Family::kCases, id));
    if (!bytes) return std::optional<Case>();
    WANGGE_ASSIGN_OR_RETURN(Case stored, DecodeCase(*bytes));
    return std::optional<Case>(std::move(stored));
  }

  // A case's figures are those of its last state (the sequencer's changes telescope to
  // it), and closed and cancelled cases never change again: each case is counted once,
  // here when it ends, or by Finish while it is still open. Closure is measured in the
  // working time of the calendar in force when it closed.
  void CountFinal(const Case& c) {
    int64_t work_ms = 0;
    if (c.status == CaseStatus::kClosed) {
      const rules::Calendar& cal = calendar_ ? *calendar_ : rules::Calendar::BuiltIn();
      work_ms = cal.WorkingMsBetween(c.received_at, c.closed_at);
    }
    stats_.Apply(nullptr, c, work_ms);
  }

  void WriteStats() {
    stats_.WriteTo(set_);
    stats_.Clear();
  }

  storage::Store& into_;
  storage::EventLog& log_;
  storage::WriteSet set_;
  // Figures' changes held before they are written: bounds their memory (~100 MB).
  static constexpr size_t kStatsKeysHeld = 1 << 15;

  std::unordered_map<std::string, Touched> touched_;
  StatsDelta stats_;
  std::optional<rules::Calendar> calendar_;  // of the last activation
};

}  // namespace

Result<ReplayReport> ReplayInto(const storage::EventLog& from, storage::Store& into,
                                const ReplayOptions& options) {
  return ReplayRecords(
      [&](const std::function<bool(Seq, std::string_view)>& each) {
        return from.Scan(Seq{1}, options.until_seq, each);
      },
      into, options);
}

Result<ReplayReport> ReplayRecords(const RecordScan& scan, storage::Store& into,
                                   const ReplayOptions& options) {
  WANGGE_ASSIGN_OR_RETURN(auto log, storage::EventLog::Open(into));
  if (log->head().seq.value != 0) {
    return FailedPrecondition("the directory to replay into already holds a log");
  }
  Replayer replayer(into, *log);
  ReplayReport report;
  uint64_t in_batch = 0;
  Status failure;
  WANGGE_RETURN_IF_ERROR(scan([&](Seq seq, std::string_view payload) {
    if (options.until_seq.value != 0 && seq.value > options.until_seq.value) return false;
    auto record = DecodeRecord(seq, payload);
    if (!record.ok()) {
      failure = record.status();
      return false;
    }
    if (options.until_time && record->at > *options.until_time) return false;
    failure = replayer.Apply(seq, payload, *record);
    if (!failure.ok()) return false;
    ++report.records;
    if (++in_batch < options.batch_records) return true;
    failure = replayer.Commit();
    in_batch = 0;
    if (failure.ok() && options.progress) options.progress(report.records);
    return failure.ok();
  }));
  WANGGE_RETURN_IF_ERROR(failure);
  WANGGE_RETURN_IF_ERROR(replayer.Commit());
  WANGGE_RETURN_IF_ERROR(replayer.Finish());
  if (options.progress) options.progress(report.records);
  report.head = log->head();
  return report;
}

namespace {

Result<std::unique_ptr<storage::Store>> CreateBulk(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    return InvalidArgument("'" + path + "' already exists", "into");
  }
  storage::StoreOptions o;
  o.path = path;
  o.create_if_missing = true;
  o.bulk = true;
  return storage::Store::Open(o);
}

}  // namespace

Result<ReplayReport> ReplayToNewDirectory(const storage::EventLog& from, const std::string& path,
                                          const ReplayOptions& options) {
  WANGGE_ASSIGN_OR_RETURN(auto store, CreateBulk(path));
  WANGGE_ASSIGN_OR_RETURN(auto report, ReplayInto(from, *store, options));
  WANGGE_RETURN_IF_ERROR(store->Flush());
  return report;
}

Result<ReplayReport> ReplayToNewDirectory(const RecordScan& scan, const std::string& path,
                                          const ReplayOptions& options) {
  WANGGE_ASSIGN_OR_RETURN(auto store, CreateBulk(path));
  WANGGE_ASSIGN_OR_RETURN(auto report, ReplayRecords(scan, *store, options));
  WANGGE_RETURN_IF_ERROR(store->Flush());
  return report;
}

Result<StateDigest> DigestDirectory(const std::string& path) {
  storage::StoreOptions o;
  o.path = path;
  o.read_only = true;
  WANGGE_ASSIGN_OR_RETURN(auto store, storage::Store::Open(o));
  return DigestState(*store);
}

Result<std::vector<std::string>> CheckDerivedState(const engine::Engine& engine,
                                                   size_t max_problems) {
  return CheckDerivedState(engine.store(), engine.log(), max_problems);
}

Result<StateDigest> DigestState(const engine::Engine& engine) {
  return DigestState(engine.store());
}

Result<StateDigest> DigestState(const storage::Store& store) {
  StateDigest digest;
  Sha256 family_sha, all_sha;
  for (int i = 0; i < storage::kFamilyCount; ++i) {
    const auto f = static_cast<storage::Family>(i);
    WANGGE_RETURN_IF_ERROR(store.Scan(f, "", "", [&](std::string_view k, std::string_view v) {
      if (f == storage::Family::kStats && v.empty()) return true;
      // Of the media family only the references derive from the log; the photos, their
      // thumbnails and uploads are kept beside it (engine/media.h).
      if (f == storage::Family::kMedia && !k.starts_with('r')) return true;
      if (f == storage::Family::kMeta &&
          (k == storage::kFormatKey || k.starts_with(storage::kOutsideStatePrefix))) {
        return true;
      }
      std::string frame;
      PutU32(frame, static_cast<uint32_t>(k.size()));
      PutU32(frame, static_cast<uint32_t>(v.size()));
      family_sha.Update(frame);
      family_sha.Update(k);
      family_sha.Update(v);
      return true;
    }));
    digest.families[static_cast<size_t>(i)] = family_sha.Final();
    const auto& h = digest.families[static_cast<size_t>(i)];
    all_sha.Update(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
  }
  digest.all = all_sha.Final();
  return digest;
}

}  // namespace wangge::audit
