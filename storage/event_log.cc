#include "storage/event_log.h"

#include <algorithm>

#include "core/bytes.h"

namespace wangge::storage {
namespace {

constexpr std::string_view kHeadKey = "log_head";
constexpr size_t kFrameHeader = 1 + 32;

std::string EncodeHead(const LogHead& head) {
  std::string out;
  PutU64(out, head.seq.value);
  out.append(reinterpret_cast<const char*>(head.hash.data()), head.hash.size());
  return out;
}

bool DecodeHead(std::string_view in, LogHead& head) {
  if (in.size() != 8 + 32) return false;
  head.seq = Seq{DecodeU64(in)};
  std::copy(in.begin() + 8, in.end(), reinterpret_cast<char*>(head.hash.data()));
  return true;
}

bool PrevHashOf(std::string_view value, Hash& prev) {
  if (value.size() < kFrameHeader || static_cast<uint8_t>(value[0]) != kLogFrameVersion) {
    return false;
  }
  std::copy(value.begin() + 1, value.begin() + kFrameHeader, reinterpret_cast<char*>(prev.data()));
  return true;
}

}  // namespace

Hash EventLog::RecordHash(Sha256& sha, Seq seq, std::string_view value) {
  return sha.Of(EncodeU64(seq.value), value);
}

Result<std::unique_ptr<EventLog>> EventLog::Open(Store& store) {
  auto log = std::unique_ptr<EventLog>(new EventLog(store));
  WANGGE_ASSIGN_OR_RETURN(auto head_bytes, store.Get(Family::kMeta, kHeadKey));
  WANGGE_ASSIGN_OR_RETURN(auto last, store.Last(Family::kLog));
  LogHead head;
  if (head_bytes && !DecodeHead(*head_bytes, head)) {
    return Corruption("log head record in meta is malformed");
  }
  if (!last) {
    if (head.seq.value != 0) {
      return Corruption("log is empty but its head says sequence " +
                        std::to_string(head.seq.value));
    }
  } else {
    if (last->first.size() != 8) return Corruption("log key of wrong length");
    Seq last_seq{DecodeU64(last->first)};
    if (last_seq != head.seq) {
      return Corruption("log ends at sequence " + std::to_string(last_seq.value) +
                        " but its head says " + std::to_string(head.seq.value));
    }
    Hash prev;
    if (!PrevHashOf(last->second, prev)) {
      return Corruption("log record " + std::to_string(last_seq.value) + " has a bad frame");
    }
    if (RecordHash(log->sha_, last_seq, last->second) != head.hash) {
      return Corruption("log record " + std::to_string(last_seq.value) +
                        " does not match the chain head (altered?)");
    }
  }
  {
    MutexLock lock(log->mu_);
    log->committed_ = head;
  }
  log->pending_ = head;
  return log;
}

Seq EventLog::Append(WriteSet& set, std::string_view payload) {
  Seq seq{pending_.seq.value + 1};
  std::string value;
  value.reserve(kFrameHeader + payload.size());
  PutU8(value, kLogFrameVersion);
  value.append(reinterpret_cast<const char*>(pending_.hash.data()), pending_.hash.size());
  value.append(payload);
  set.Put(Family::kLog, EncodeU64(seq.value), value);
  pending_ = LogHead{seq, RecordHash(sha_, seq, value)};
  return seq;
}

Status EventLog::Commit(WriteSet& set) {
  if (pending_.seq != head().seq) set.Put(Family::kMeta, kHeadKey, EncodeHead(pending_));
  Status s = store_.Write(set);
  if (s.ok()) {
    MutexLock lock(mu_);
    committed_ = pending_;
  } else {
    pending_ = head();
  }
  return s;
}

Result<std::optional<Hash>> EventLog::HashAt(Seq seq) const {
  WANGGE_ASSIGN_OR_RETURN(auto value, store_.Get(Family::kLog, EncodeU64(seq.value)));
  if (!value) return std::optional<Hash>();
  Sha256 sha;
  return std::optional<Hash>(RecordHash(sha, seq, *value));
}

void EventLog::Abort() { pending_ = head(); }

Status EventLog::Scan(Seq from, Seq to,
                      const std::function<bool(Seq, std::string_view)>& fn) const {
  std::string start = EncodeU64(std::max<uint64_t>(from.value, 1));
  std::string end = to.value == 0 ? std::string() : EncodeU64(to.value + 1);
  Status bad;
  WANGGE_RETURN_IF_ERROR(
      store_.Scan(Family::kLog, start, end, [&](std::string_view key, std::string_view value) {
        Hash prev;
        if (key.size() != 8 || !PrevHashOf(value, prev)) {
          bad = Corruption("malformed log record at key " +
                           std::to_string(key.size() == 8 ? DecodeU64(key) : 0));
          return false;
        }
        return fn(Seq{DecodeU64(key)}, value.substr(kFrameHeader));
      }));
  return bad;
}

Result<VerifyReport> EventLog::Verify(const std::function<void(Seq)>& progress,
                                      const LogHead* anchor) const {
  VerifyReport report;
  Sha256 sha;
  LogHead running;
  auto fail = [&](Seq seq, std::string problem) {
    report.ok = false;
    report.first_bad = seq;
    report.problem = std::move(problem);
    return false;
  };
  WANGGE_RETURN_IF_ERROR(
      store_.Scan(Family::kLog, "", "", [&](std::string_view key, std::string_view value) {
        if (key.size() != 8) return fail(Seq{running.seq.value + 1}, "log key of wrong length");
        Seq seq{DecodeU64(key)};
        if (seq.value != running.seq.value + 1) {
          return fail(Seq{running.seq.value + 1},
                      "sequence " + std::to_string(running.seq.value + 1) +
                          " is missing (next present is " + std::to_string(seq.value) + ")");
        }
        Hash prev;
        if (!PrevHashOf(value, prev)) return fail(seq, "bad record frame");
        if (prev != running.hash) {
          return fail(seq, "previous-record hash does not match record " +
                               std::to_string(running.seq.value) + " (altered or reordered)");
        }
        running = LogHead{seq, RecordHash(sha, seq, value)};
        if (anchor && seq == anchor->seq && running.hash != anchor->hash) {
          return fail(seq, "record " + std::to_string(seq.value) +
                               " does not hash to the anchor (the log was rewritten)");
        }
        ++report.records;
        if (progress && (seq.value & 0xFFFF) == 0) progress(seq);
        return true;
      }));
  report.head = running;
  if (report.ok && anchor && running.seq.value < anchor->seq.value) {
    report.ok = false;
    report.first_bad = Seq{running.seq.value + 1};
    report.problem = "the log ends at " + std::to_string(running.seq.value) +
                     ", before the anchor's record " + std::to_string(anchor->seq.value);
  }
  const LogHead committed = head();
  if (report.ok && running != committed) {
    report.ok = false;
    report.first_bad = Seq{running.seq.value};
    report.problem = running.seq != committed.seq
                         ? "log ends at " + std::to_string(running.seq.value) +
                               " but the head says " + std::to_string(committed.seq.value)
                         : "last record does not match the stored chain head";
  }
  return report;
}

}  // namespace wangge::storage
