#include "engine/codec.h"

#include "core/bytes.h"
#include "engine/media.h"

namespace wangge::engine {
namespace {

// Persisted record kinds; never renumber.
constexpr uint8_t kKindReport = 1;
constexpr uint8_t kKindTransition = 2;
constexpr uint8_t kKindRules = 3;
constexpr uint8_t kKindTimer = 4;

void PutTime(std::string& out, TimeMs t) { PutI64(out, t.ms); }
bool GetTime(ByteReader& r, TimeMs& t) { return r.I64(t.ms); }

bool GetInt16(ByteReader& r, int& v) {
  uint16_t x;
  if (!r.U16(x)) return false;
  v = x;
  return true;
}

void PutActor(std::string& out, const Actor& a) {
  PutString(out, a.id);
  PutU8(out, static_cast<uint8_t>(a.role));
  PutString(out, a.office);
}

bool GetActor(ByteReader& r, Actor& a) {
  uint8_t role;
  if (!r.String(a.id) || !r.U8(role) || !r.String(a.office)) return false;
  if (!RoleFromName(RoleName(static_cast<Role>(role)))) return false;
  a.role = static_cast<Role>(role);
  return true;
}

void PutReport(std::string& out, const Report& rep) {
  PutString(out, rep.client_id);
  PutString(out, rep.category);
  PutString(out, rep.village);
  PutString(out, rep.grid);
  PutU8(out, static_cast<uint8_t>(rep.severity));
  PutString(out, rep.text);
  PutF64(out, rep.lat);
  PutF64(out, rep.lon);
  PutTime(out, rep.reported_at);
  PutU16(out, static_cast<uint16_t>(rep.attachments));
}

// The optional trailing sections of a report record or case, each opened by its tag and
// written only when needed, in tag order, so records and cases without them keep their
// bytes: the extras an outside interface sent, the case id when it is not the client id,
// the media hashes, the evidence flags, and (report records only) the placement. A
// transition record has media and evidence alone.
constexpr uint8_t kExtrasTag = 1;
constexpr uint8_t kCaseIdTag = 2;
constexpr uint8_t kMediaTag = 3;
constexpr uint8_t kEvidenceTag = 4;
constexpr uint8_t kPlaceTag = 5;
// Transitions: a comment's idempotency key and media_url (either may be empty, not both).
constexpr uint8_t kCommentTag = 6;
// Reports, right after the extras: the sender's position was (0, 0) (Report::zero_position).
constexpr uint8_t kZeroPositionTag = 7;
// The optional section of a rules activation: the geography.
constexpr uint8_t kGeographyTag = 1;

void PutStrings(std::string& out, const std::vector<std::string>& v);
bool GetStrings(ByteReader& r, std::vector<std::string>& v);

void PutMedia(std::string& out, const std::vector<std::string>& media, uint8_t evidence) {
  if (!media.empty()) {
    PutU8(out, kMediaTag);
    PutStrings(out, media);
  }
  if (evidence != 0) {
    PutU8(out, kEvidenceTag);
    PutU8(out, evidence);
  }
}

// From the tag just read: only the encoder's own bytes, a non-empty list and known,
// non-zero flags. Leaves `tag` as the next section's tag, already read, or 0 at the end.
// `allowed`: the flags this kind of record or case may carry.
bool GetMedia(ByteReader& r, uint8_t& tag, std::vector<std::string>& media, uint8_t& evidence,
              uint8_t allowed = evidence::kAll) {
  // Tag 0 is never written: it stands for the end.
  auto next = [&] { return r.done() ? (tag = 0, true) : r.U8(tag) && tag != 0; };
  if (tag == kMediaTag) {
    if (!GetStrings(r, media) || media.empty() || !next()) return false;
  }
  if (tag == kEvidenceTag) {
    if (!r.U8(evidence) || evidence == 0 || (evidence & ~allowed) != 0 || !next()) {
      return false;
    }
  }
  return true;
}

void PutPlace(std::string& out, const Placement& place) {
  if (place.geography_version.empty()) return;
  PutU8(out, kPlaceTag);
  PutString(out, place.geography_version);
  PutU8(out, static_cast<uint8_t>(place.how));
  PutU32(out, place.distance_m);
}

// From the tag just read (0: none), to the end.
bool GetPlace(ByteReader& r, uint8_t tag, Placement& place) {
  if (tag == 0) return true;
  uint8_t how;
  if (tag != kPlaceTag || !r.String(place.geography_version) || place.geography_version.empty() ||
      !r.U8(how) || how < 1 || how > 3 || !r.U32(place.distance_m)) {
    return false;
  }
  place.how = static_cast<PlaceHow>(how);
  // Only a named grid is measured (engine/placement.h).
  if (place.how != PlaceHow::kNamed && place.distance_m != 0) return false;
  return r.done();
}

void PutTrailer(std::string& out, const Report& rep, std::string_view case_id, uint8_t evidence) {
  if (rep.has_extras()) {
    PutU8(out, kExtrasTag);
    PutString(out, rep.channel);
    PutString(out, rep.address);
    PutString(out, rep.address_id);
    PutString(out, rep.media_url);
    if (rep.zero_position) PutU8(out, kZeroPositionTag);
  }
  if (!case_id.empty() && case_id != rep.client_id) {
    PutU8(out, kCaseIdTag);
    PutString(out, case_id);
  }
  PutMedia(out, rep.media, evidence);
}

// Reads the trailing sections present; `case_id` is left empty when none names it. Leaves
// `tag` as GetMedia does.
bool GetTrailer(ByteReader& r, Report& rep, std::string& case_id, uint8_t& evidence, uint8_t& tag) {
  tag = 0;
  if (r.done()) return true;
  if (!r.U8(tag) || tag == 0) return false;
  if (tag == kExtrasTag) {
    if (!r.String(rep.channel) || !r.String(rep.address) || !r.String(rep.address_id) ||
        !r.String(rep.media_url) || !rep.has_extras()) {
      return false;
    }
    if (r.done()) return (tag = 0, true);
    if (!r.U8(tag) || tag == 0) return false;
    if (tag == kZeroPositionTag) {
      if (rep.lat != 0 || rep.lon != 0) return false;
      rep.zero_position = true;
      if (r.done()) return (tag = 0, true);
      if (!r.U8(tag) || tag == 0) return false;
    }
  }
  if (tag == kCaseIdTag) {
    // Only the encoder's own bytes: a case id section names an id other than the client id.
    if (!r.String(case_id) || case_id.empty() || case_id == rep.client_id) return false;
    if (r.done()) return (tag = 0, true);
    if (!r.U8(tag) || tag == 0) return false;
  }
  return GetMedia(r, tag, rep.media, evidence);
}

bool GetReport(ByteReader& r, Report& rep) {
  uint8_t severity;
  if (!r.String(rep.client_id) || !r.String(rep.category) || !r.String(rep.village) ||
      !r.String(rep.grid) || !r.U8(severity) || !r.String(rep.text) || !r.F64(rep.lat) ||
      !r.F64(rep.lon) || !GetTime(r, rep.reported_at) || !GetInt16(r, rep.attachments)) {
    return false;
  }
  rep.severity = severity;
  return true;
}

void PutStrings(std::string& out, const std::vector<std::string>& v) {
  PutU16(out, static_cast<uint16_t>(v.size()));
  for (const auto& s : v) PutString(out, s);
}

bool GetStrings(ByteReader& r, std::vector<std::string>& v) {
  uint16_t n;
  if (!r.U16(n)) return false;
  v.resize(n);
  for (auto& s : v) {
    if (!r.String(s)) return false;
  }
  return true;
}

// Time limit and escalation chain, shared by routing records and case state.
void PutLimits(std::string& out, const rules::TimeLimit& limit, const rules::Escalation& e) {
  PutU8(out, static_cast<uint8_t>(limit.kind));
  PutU32(out, static_cast<uint32_t>(limit.amount));
  PutU8(out, static_cast<uint8_t>(e.warn_at_percent));
  PutStrings(out, e.warn);
  PutStrings(out, e.breach);
}

bool GetLimits(ByteReader& r, rules::TimeLimit& limit, rules::Escalation& e) {
  uint8_t kind, pct;
  uint32_t amount;
  if (!r.U8(kind) || !r.U32(amount) || !r.U8(pct) || !GetStrings(r, e.warn) ||
      !GetStrings(r, e.breach)) {
    return false;
  }
  if (kind < 1 || kind > 3 || amount > 1'000'000) return false;
  limit.kind = static_cast<rules::LimitKind>(kind);
  limit.amount = static_cast<int>(amount);
  e.warn_at_percent = pct;
  return true;
}

void PutRouting(std::string& out, const Routing& ro) {
  PutString(out, ro.office);
  PutTime(out, ro.deadline);
  PutU16(out, static_cast<uint16_t>(ro.priority));
  PutString(out, ro.rule_id);
  PutString(out, ro.ruleset_version);
  PutLimits(out, ro.limit, ro.escalation);
}

bool GetRouting(ByteReader& r, Routing& ro) {
  return r.String(ro.office) && GetTime(r, ro.deadline) && GetInt16(r, ro.priority) &&
         r.String(ro.rule_id) && r.String(ro.ruleset_version) &&
         GetLimits(r, ro.limit, ro.escalation);
}

void PutTransition(std::string& out, const Transition& t, uint8_t evidence) {
  PutString(out, t.case_id);
  PutU8(out, static_cast<uint8_t>(t.action));
  PutString(out, t.note);
  PutU8(out, static_cast<uint8_t>(t.satisfaction));
  PutString(out, t.to_office);
  PutU8(out, t.until ? 1 : 0);
  PutTime(out, t.until.value_or(TimeMs{}));
  PutMedia(out, t.media, evidence);
  if (!t.key.empty() || !t.media_url.empty()) {
    PutU8(out, kCommentTag);
    PutString(out, t.key);
    PutString(out, t.media_url);
  }
}

bool GetTransition(ByteReader& r, Transition& t, uint8_t& evidence) {
  uint8_t action, satisfaction, has_until;
  TimeMs until;
  if (!r.String(t.case_id) || !r.U8(action) || !r.String(t.note) || !r.U8(satisfaction) ||
      !r.String(t.to_office) || !r.U8(has_until) || !GetTime(r, until)) {
    return false;
  }
  // Only the encoder's own bytes are accepted: no until value hides behind has_until 0.
  if (!ActionFromName(ActionName(static_cast<Action>(action))) || has_until > 1 ||
      (has_until == 0 && until != TimeMs{})) {
    return false;
  }
  t.action = static_cast<Action>(action);
  t.satisfaction = satisfaction;
  if (has_until) t.until = until;
  if (r.done()) return true;
  uint8_t tag;
  // A transition's flags come from its photos alone: never location_mismatch.
  if (!r.U8(tag) || tag == 0 ||
      !GetMedia(r, tag, t.media, evidence, evidence::kAll & ~evidence::kLocationMismatch)) {
    return false;
  }
  if (tag == 0) return true;
  return tag == kCommentTag && t.action == Action::kComment && r.String(t.key) &&
         r.String(t.media_url) && !(t.key.empty() && t.media_url.empty()) && r.done();
}

}  // namespace

std::string EncodeRecord(const Record& record) {
  std::string out;
  out.reserve(256);
  PutU8(out, kRecordFormat);
  const uint8_t kind = std::holds_alternative<Report>(record.body)            ? kKindReport
                       : std::holds_alternative<Transition>(record.body)      ? kKindTransition
                       : std::holds_alternative<RulesActivation>(record.body) ? kKindRules
                                                                              : kKindTimer;
  PutU8(out, kind);
  PutTime(out, record.at);
  PutActor(out, record.actor);
  if (kind == kKindReport) {
    PutReport(out, std::get<Report>(record.body));
    PutRouting(out, record.routing);
    PutTrailer(out, std::get<Report>(record.body), record.case_id, record.evidence);
    PutPlace(out, record.place);
  } else if (kind == kKindTransition) {
    PutTransition(out, std::get<Transition>(record.body), record.evidence);
  } else if (kind == kKindRules) {
    const auto& a = std::get<RulesActivation>(record.body);
    PutString(out, a.version);
    PutString(out, a.ruleset);
    PutString(out, a.calendar);
    if (!a.geography.empty()) {
      PutU8(out, kGeographyTag);
      PutString(out, a.geography_version);
      PutString(out, a.geography);
    }
  } else {
    const auto& t = std::get<TimerFired>(record.body);
    PutString(out, t.case_id);
    PutU8(out, static_cast<uint8_t>(t.kind));
    PutStrings(out, t.notified);
  }
  return out;
}

Result<Record> DecodeRecord(Seq seq, std::string_view payload) {
  ByteReader r(payload);
  Record record;
  record.seq = seq;
  uint8_t format, kind;
  auto bad = [&](std::string why) {
    return Corruption("log record " + std::to_string(seq.value) + ": " + why);
  };
  if (!r.U8(format) || !r.U8(kind)) return bad("truncated header");
  if (format != kRecordFormat) return bad("unknown record format " + std::to_string(format));
  if (!GetTime(r, record.at) || !GetActor(r, record.actor)) return bad("bad time or actor");
  if (kind == kKindReport) {
    Report rep;
    uint8_t tag = 0;
    if (!GetReport(r, rep) || !GetRouting(r, record.routing) ||
        !GetTrailer(r, rep, record.case_id, record.evidence, tag) ||
        !GetPlace(r, tag, record.place)) {
      return bad("bad report");
    }
    record.body = std::move(rep);
  } else if (kind == kKindTransition) {
    Transition t;
    if (!GetTransition(r, t, record.evidence)) return bad("bad transition");
    record.body = std::move(t);
  } else if (kind == kKindRules) {
    RulesActivation a;
    if (!r.String(a.version) || !r.String(a.ruleset) || !r.String(a.calendar)) {
      return bad("bad rules activation");
    }
    uint8_t tag = 0;
    if (!r.done() &&
        (!r.U8(tag) || tag != kGeographyTag || !r.String(a.geography_version) ||
         a.geography_version.empty() || !r.String(a.geography) || a.geography.empty())) {
      return bad("bad geography in rules activation");
    }
    record.body = std::move(a);
  } else if (kind == kKindTimer) {
    TimerFired t;
    uint8_t timer_kind = 0;
    if (!r.String(t.case_id) || !r.U8(timer_kind) || !GetStrings(r, t.notified) || timer_kind < 1 ||
        timer_kind > 2) {
      return bad("bad timer");
    }
    t.kind = static_cast<TimerKind>(timer_kind);
    record.body = std::move(t);
  } else {
    return bad("unknown record kind " + std::to_string(kind));
  }
  if (!r.done()) return bad("trailing bytes");
  return record;
}

std::string EncodeCase(const Case& c) {
  std::string out;
  out.reserve(320);
  PutU8(out, kCaseFormat);
  PutReport(out, c.report);
  PutActor(out, c.reporter);
  PutU64(out, c.created_seq.value);
  PutU64(out, c.last_seq.value);
  PutTime(out, c.received_at);
  PutTime(out, c.updated_at);
  PutU8(out, static_cast<uint8_t>(c.status));
  PutString(out, c.office);
  PutTime(out, c.deadline);
  PutTime(out, c.original_deadline);
  PutU16(out, static_cast<uint16_t>(c.priority));
  PutString(out, c.rule_id);
  PutString(out, c.ruleset_version);
  PutLimits(out, c.limit, c.escalation);
  PutTime(out, c.accepted_at);
  PutTime(out, c.resolved_at);
  PutTime(out, c.closed_at);
  PutU16(out, static_cast<uint16_t>(c.escalation_level));
  PutU16(out, static_cast<uint16_t>(c.reopen_count));
  PutU16(out, static_cast<uint16_t>(c.extension_count));
  PutU16(out, static_cast<uint16_t>(c.return_count));
  PutU8(out, static_cast<uint8_t>(c.satisfaction));
  PutTime(out, c.warned_at);
  PutTime(out, c.breached_at);
  PutTrailer(out, c.report, c.id, c.evidence);
  return out;
}

Result<Case> DecodeCase(std::string_view bytes) {
  ByteReader r(bytes);
  Case c;
  uint8_t format, status, satisfaction, tag = 0;
  if (!r.U8(format) || format < 1 || format > kCaseFormat) {
    return Corruption("case: unknown format");
  }
  bool ok = GetReport(r, c.report) && GetActor(r, c.reporter) && r.U64(c.created_seq.value) &&
            r.U64(c.last_seq.value) && GetTime(r, c.received_at) && GetTime(r, c.updated_at) &&
            r.U8(status) && r.String(c.office) && GetTime(r, c.deadline) &&
            GetTime(r, c.original_deadline) && GetInt16(r, c.priority) && r.String(c.rule_id) &&
            r.String(c.ruleset_version) && GetLimits(r, c.limit, c.escalation) &&
            GetTime(r, c.accepted_at) && GetTime(r, c.resolved_at) && GetTime(r, c.closed_at) &&
            GetInt16(r, c.escalation_level) && GetInt16(r, c.reopen_count) &&
            GetInt16(r, c.extension_count) && GetInt16(r, c.return_count) && r.U8(satisfaction) &&
            (format < 2 || (GetTime(r, c.warned_at) && GetTime(r, c.breached_at))) &&
            GetTrailer(r, c.report, c.id, c.evidence, tag) && tag == 0 && r.done();
  if (!ok || !StatusFromName(StatusName(static_cast<CaseStatus>(status)))) {
    return Corruption("case " + c.report.client_id + ": malformed state");
  }
  c.status = static_cast<CaseStatus>(status);
  c.satisfaction = satisfaction;
  if (c.id.empty()) c.id = c.report.client_id;
  return c;
}

}  // namespace wangge::engine
