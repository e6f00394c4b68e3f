#include "engine/lifecycle.h"

#include <algorithm>
#include <string>

#include "engine/access.h"

namespace wangge::engine {
namespace {

using S = CaseStatus;

bool IsOneOf(S s, std::initializer_list<S> set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

int Bump(int v) { return std::min(v + 1, 65535); }

Status CheckFields(const Case& c, const Transition& t, TimeMs at) {
  switch (t.action) {
    case Action::kVerify:
      if (t.satisfaction < 1 || t.satisfaction > 5) {
        return InvalidArgument("verify needs satisfaction 1-5", "satisfaction");
      }
      break;
    case Action::kReassign:
      if (t.to_office.empty()) return InvalidArgument("reassign needs to_office", "to_office");
      if (t.to_office == c.office) {
        return InvalidArgument("case is already owned by " + c.office, "to_office");
      }
      break;
    case Action::kExtend:
    case Action::kRequestExtension:
      if (!t.until) {
        return InvalidArgument(std::string(ActionName(t.action)) + " needs until", "until");
      }
      if (*t.until <= c.deadline) {
        return InvalidArgument("until must be later than the deadline in force", "until");
      }
      if (t.action == Action::kRequestExtension && t.note.empty()) {
        return InvalidArgument("request_extension needs a note: the reason", "note");
      }
      break;
    case Action::kReturn:
    case Action::kReopen:
    case Action::kCancel:
    case Action::kEscalate:  // 督办 states its reason
      if (t.note.empty()) {
        return InvalidArgument(std::string(ActionName(t.action)) + " needs a note", "note");
      }
      break;
    case Action::kComment:
      if (t.note.empty() && t.media.empty() && t.media_url.empty()) {
        return InvalidArgument("comment needs a note, media or a media_url", "note");
      }
      break;
    default:
      break;
  }
  const bool comment = t.action == Action::kComment;
  if (!t.media.empty() && t.action != Action::kResolve && t.action != Action::kVerify && !comment) {
    return InvalidArgument("media goes only with resolve, verify and comment", "media");
  }
  WANGGE_RETURN_IF_ERROR(ValidateCommentFields(t));
  WANGGE_RETURN_IF_ERROR(ValidateMedia(t.media));
  if (t.satisfaction != 0 && t.action != Action::kVerify) {
    return InvalidArgument("satisfaction goes only with verify", "satisfaction");
  }
  if (at < c.received_at) {
    return InvalidArgument("transition time is before the case was received", "at");
  }
  return Status::Ok();
}

}  // namespace

std::optional<CaseStatus> NextStatus(CaseStatus from, Action action) {
  const bool open = from != S::kClosed && from != S::kCancelled;
  switch (action) {
    case Action::kAccept:
      if (from == S::kDispatched) return S::kAccepted;
      break;
    case Action::kReturn:
      if (IsOneOf(from, {S::kDispatched, S::kAccepted})) return S::kReturned;
      break;
    case Action::kReassign:
      if (IsOneOf(from, {S::kDispatched, S::kAccepted, S::kReturned})) return S::kDispatched;
      break;
    case Action::kResolve:
      if (from == S::kAccepted) return S::kResolved;
      break;
    case Action::kVerify:
    case Action::kClose:
      if (from == S::kResolved) return S::kClosed;
      break;
    case Action::kReopen:
      if (from == S::kResolved) return S::kAccepted;
      break;
    case Action::kEscalate:
      if (open) return from;
      break;
    case Action::kExtend:
      if (IsOneOf(from, {S::kDispatched, S::kAccepted, S::kReturned})) return from;
      break;
    case Action::kCancel:
      if (open) return S::kCancelled;
      break;
    case Action::kComment:
      return from;
    case Action::kRequestExtension:
      if (IsOneOf(from, {S::kDispatched, S::kAccepted})) return from;
      break;
  }
  return std::nullopt;
}

Case CaseFromReport(const Record& record) {
  const Report& rep = std::get<Report>(record.body);
  Case c;
  c.id = std::string(CaseIdOf(record));
  c.report = rep;
  c.reporter = record.actor;
  c.created_seq = record.seq;
  c.last_seq = record.seq;
  c.received_at = record.at;
  c.updated_at = record.at;
  c.status = S::kDispatched;
  c.evidence = record.evidence;
  c.office = record.routing.office;
  c.deadline = record.routing.deadline;
  c.original_deadline = record.routing.deadline;
  c.priority = record.routing.priority;
  c.rule_id = record.routing.rule_id;
  c.ruleset_version = record.routing.ruleset_version;
  c.limit = record.routing.limit;
  c.escalation = record.routing.escalation;
  return c;
}

Result<Case> ApplyTransition(const Case& c, const Record& record) {
  const Transition& t = std::get<Transition>(record.body);
  const Actor& actor = record.actor;
  const std::string what(ActionName(t.action));
  // A case the actor may not see is answered as if it did not exist, naming nothing of it.
  if (!MaySee(actor, c)) return NotFound("no case " + t.case_id);
  if (!RoleMayAct(actor.role, t.action)) {
    return PermissionDenied("role " + std::string(RoleName(actor.role)) + " may not " + what);
  }
  auto next = NextStatus(c.status, t.action);
  if (!next) {
    return FailedPrecondition("cannot " + what + " a case that is " +
                              std::string(StatusName(c.status)));
  }
  WANGGE_RETURN_IF_ERROR(CheckFields(c, t, record.at));

  Case out = c;
  out.status = *next;
  out.last_seq = record.seq;
  out.updated_at = record.at;
  out.evidence = static_cast<uint8_t>(c.evidence | record.evidence);
  switch (t.action) {
    case Action::kAccept:
      out.accepted_at = record.at;
      break;
    case Action::kReturn:
      out.return_count = Bump(c.return_count);
      break;
    case Action::kReassign:
      out.office = t.to_office;
      out.accepted_at = TimeMs{};
      break;
    case Action::kResolve:
      out.resolved_at = record.at;
      break;
    case Action::kVerify:
      out.satisfaction = t.satisfaction;
      out.closed_at = record.at;
      break;
    case Action::kClose:
      out.closed_at = record.at;
      break;
    case Action::kReopen:
      out.reopen_count = Bump(c.reopen_count);
      out.resolved_at = TimeMs{};
      break;
    case Action::kEscalate:
      out.escalation_level = Bump(c.escalation_level);
      break;
    case Action::kExtend:
      out.deadline = *t.until;
      out.extension_count = Bump(c.extension_count);
      break;
    case Action::kCancel:
      out.closed_at = record.at;
      break;
    case Action::kComment:
    case Action::kRequestExtension:
      break;
  }
  return out;
}

Result<Case> ApplyCaseRecord(const Case& c, const Record& record) {
  if (std::holds_alternative<TimerFired>(record.body)) return ApplyTimer(c, record);
  return ApplyTransition(c, record);
}

std::optional<TimeMs> WarningTime(const Case& c) {
  const int pct = c.escalation.warn_at_percent;
  if (pct <= 0 || pct >= 100 || c.deadline <= c.received_at) return std::nullopt;
  return TimeMs{c.received_at.ms + (c.deadline.ms - c.received_at.ms) * pct / 100};
}

Result<Case> ApplyTimer(const Case& c, const Record& record) {
  const auto& timer = std::get<TimerFired>(record.body);
  if (!c.open()) return FailedPrecondition("case " + c.id + " is not open");
  Case out = c;
  if (timer.kind == TimerKind::kWarning) {
    const auto due = WarningTime(c);
    if (!due || c.warned_at.ms != 0 || record.at < *due) {
      return FailedPrecondition("no warning is due for case " + c.id);
    }
    out.warned_at = record.at;
  } else {
    if (c.breached_at.ms != 0 || record.at < c.deadline) {
      return FailedPrecondition("no breach is due for case " + c.id);
    }
    out.breached_at = record.at;
    out.escalation_level = Bump(c.escalation_level);
  }
  out.last_seq = record.seq;
  out.updated_at = record.at;
  return out;
}

}  // namespace wangge::engine
