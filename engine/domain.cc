#include "engine/domain.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "rules/geography.h"
#include "rules/ruleset.h"

namespace wangge::engine {
namespace {

template <typename E, size_t N>
std::string_view NameOf(const std::array<std::pair<E, std::string_view>, N>& table, E e) {
  for (const auto& [value, name] : table) {
    if (value == e) return name;
  }
  return "unknown";
}

template <typename E, size_t N>
std::optional<E> FromName(const std::array<std::pair<E, std::string_view>, N>& table,
                          std::string_view name) {
  for (const auto& [value, n] : table) {
    if (n == name) return value;
  }
  return std::nullopt;
}

constexpr std::array<std::pair<Role, std::string_view>, 6> kRoles = {{
    {Role::kWorker, "worker"},
    {Role::kHandler, "handler"},
    {Role::kSupervisor, "supervisor"},
    {Role::kAuditor, "auditor"},
    {Role::kAdmin, "admin"},
    {Role::kSystem, "system"},
}};

constexpr std::array<std::pair<CaseStatus, std::string_view>, 6> kStatuses = {{
    {CaseStatus::kDispatched, "dispatched"},
    {CaseStatus::kAccepted, "accepted"},
    {CaseStatus::kResolved, "resolved"},
    {CaseStatus::kClosed, "closed"},
    {CaseStatus::kReturned, "returned"},
    {CaseStatus::kCancelled, "cancelled"},
}};

constexpr std::array<std::pair<Action, std::string_view>, 12> kActions = {{
    {Action::kAccept, "accept"},
    {Action::kReturn, "return"},
    {Action::kReassign, "reassign"},
    {Action::kResolve, "resolve"},
    {Action::kVerify, "verify"},
    {Action::kReopen, "reopen"},
    {Action::kClose, "close"},
    {Action::kEscalate, "escalate"},
    {Action::kExtend, "extend"},
    {Action::kCancel, "cancel"},
    {Action::kComment, "comment"},
    {Action::kRequestExtension, "request_extension"},
}};

constexpr size_t kMaxIdBytes = 128;
constexpr size_t kMaxCaseIdBytes = 256;
constexpr size_t kMaxTextChars = 4000;
constexpr size_t kMaxUrlBytes = 2048;

Status CheckOptionalText(std::string_view value, size_t max_bytes, const char* field) {
  if (value.size() > max_bytes) {
    return InvalidArgument(
        std::string(field) + " is longer than " + std::to_string(max_bytes) + " bytes", field);
  }
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20) {
      return InvalidArgument(std::string(field) + " contains a control character", field);
    }
  }
  return Status::Ok();
}

Status CheckId(std::string_view value, const char* field, size_t max_bytes = kMaxIdBytes) {
  if (value.empty()) return InvalidArgument(std::string(field) + " is required", field);
  if (value.size() > max_bytes) {
    return InvalidArgument(
        std::string(field) + " is longer than " + std::to_string(max_bytes) + " bytes", field);
  }
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20) {
      return InvalidArgument(std::string(field) + " contains a control character", field);
    }
  }
  return Status::Ok();
}

}  // namespace

std::string_view RoleName(Role r) { return NameOf(kRoles, r); }
std::string_view TimerKindName(TimerKind k) {
  return k == TimerKind::kWarning ? "deadline_warning" : "deadline_breach";
}
std::string_view StatusName(CaseStatus s) { return NameOf(kStatuses, s); }
std::string_view ActionName(Action a) { return NameOf(kActions, a); }
Result<std::shared_ptr<const rules::Ruleset>> LoadActivation(const RulesActivation& a) {
  const std::string_view calendar_text =
      a.calendar.empty() ? rules::Calendar::BuiltInText() : std::string_view(a.calendar);
  WANGGE_ASSIGN_OR_RETURN(rules::Calendar calendar,
                          rules::Calendar::Load(calendar_text, "calendar"));
  WANGGE_ASSIGN_OR_RETURN(auto ruleset, rules::Ruleset::Load(a.ruleset, "ruleset", calendar));
  if (a.geography.empty()) return ruleset;
  WANGGE_ASSIGN_OR_RETURN(auto geography,
                          rules::Geography::Load(a.geography, "geography", ruleset.get()));
  return ruleset->WithGeography(std::move(geography));
}

std::string_view PlaceHowName(PlaceHow h) {
  switch (h) {
    case PlaceHow::kNamed:
      return "named";
    case PlaceHow::kLocated:
      return "located";
    case PlaceHow::kGridUnmapped:
      return "grid_unmapped";
  }
  return "unknown";
}
std::optional<Role> RoleFromName(std::string_view n) { return FromName(kRoles, n); }
std::optional<CaseStatus> StatusFromName(std::string_view n) { return FromName(kStatuses, n); }
std::optional<Action> ActionFromName(std::string_view n) { return FromName(kActions, n); }

Status ValidateCaseId(std::string_view id) {
  // A client id, or one with "~REPORTER" and perhaps "~N" appended (engine/sequencer.h).
  if (id.size() > kMaxCaseIdBytes) {
    return InvalidArgument("case_id is longer than " + std::to_string(kMaxCaseIdBytes) + " bytes",
                           "case_id");
  }
  return CheckId(id, "case_id", kMaxCaseIdBytes);
}

std::string_view CaseIdOf(const Record& record) {
  if (const auto* report = std::get_if<Report>(&record.body)) {
    return record.case_id.empty() ? std::string_view(report->client_id) : record.case_id;
  }
  if (const auto* t = std::get_if<Transition>(&record.body)) return t->case_id;
  if (const auto* f = std::get_if<TimerFired>(&record.body)) return f->case_id;
  return {};
}

size_t CharCount(std::string_view utf8) {
  size_t n = 0;
  for (char c : utf8) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

Status ValidateReport(const Report& r) {
  WANGGE_RETURN_IF_ERROR(CheckId(r.client_id, "client_id"));
  WANGGE_RETURN_IF_ERROR(CheckId(r.category, "category"));
  // Village and grid are named together, or both left out for the geography to locate
  // the report from its position (engine/sequencer.h).
  const bool to_locate = r.village.empty() && r.grid.empty();
  if (!to_locate) {
    WANGGE_RETURN_IF_ERROR(CheckId(r.village, "village"));
    WANGGE_RETURN_IF_ERROR(CheckId(r.grid, "grid"));
  }
  if (r.severity < 1 || r.severity > 4) return InvalidArgument("severity must be 1-4", "severity");
  if (CharCount(r.text) > kMaxTextChars) {
    return InvalidArgument("text is longer than 4000 characters", "text");
  }
  if (!std::isfinite(r.lat) || r.lat < -90 || r.lat > 90) {
    return InvalidArgument("lat must be -90..90", "lat");
  }
  if (!std::isfinite(r.lon) || r.lon < -180 || r.lon > 180) {
    return InvalidArgument("lon must be -180..180", "lon");
  }
  if (to_locate && !r.has_position()) {
    return InvalidArgument(
        "a report names its village and grid, or gives lat and lon (not 0, 0) to be located",
        "grid");
  }
  if (r.zero_position && (r.lat != 0 || r.lon != 0 || !r.has_extras())) {
    return InvalidArgument(
        "a zero position goes only with lat 0 and lon 0 from an outside interface", "lat");
  }
  if (r.attachments < 0 || r.attachments > 100) {
    return InvalidArgument("attachments must be 0-100", "attachments");
  }
  if (!r.channel.empty() && r.channel != "open311") {
    return InvalidArgument("unknown channel '" + r.channel + "'", "channel");
  }
  WANGGE_RETURN_IF_ERROR(CheckOptionalText(r.address, 1024, "address"));
  WANGGE_RETURN_IF_ERROR(CheckOptionalText(r.address_id, kMaxIdBytes, "address_id"));
  WANGGE_RETURN_IF_ERROR(CheckOptionalText(r.media_url, kMaxUrlBytes, "media_url"));
  return ValidateMedia(r.media);
}

Status ValidateMedia(const std::vector<std::string>& media) {
  if (media.size() > kMaxMedia) {
    return InvalidArgument("media holds at most " + std::to_string(kMaxMedia) + " items", "media");
  }
  for (size_t i = 0; i < media.size(); ++i) {
    const std::string& h = media[i];
    const bool hex = h.size() == 64 && std::all_of(h.begin(), h.end(), [](char c) {
                       return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                     });
    if (!hex) {
      return InvalidArgument(
          "media[" + std::to_string(i) + "] must be a SHA-256 in 64 lowercase hex digits", "media");
    }
    if (std::find(media.begin(), media.begin() + static_cast<std::ptrdiff_t>(i), h) !=
        media.begin() + static_cast<std::ptrdiff_t>(i)) {
      return InvalidArgument("media[" + std::to_string(i) + "] repeats " + h, "media");
    }
  }
  return Status::Ok();
}

Routing RoutingOf(rules::Decision d) {
  return Routing{std::move(d.office),
                 d.deadline,
                 d.priority,
                 std::move(d.rule_id),
                 std::move(d.ruleset_version),
                 d.limit,
                 std::move(d.escalation)};
}

Status ValidateCommentFields(const Transition& t) {
  if (t.action != Action::kComment) {
    if (!t.key.empty()) return InvalidArgument("key goes only with comment", "key");
    if (!t.media_url.empty()) {
      return InvalidArgument("media_url goes only with comment", "media_url");
    }
    return Status::Ok();
  }
  WANGGE_RETURN_IF_ERROR(CheckOptionalText(t.key, 200, "key"));
  return CheckOptionalText(t.media_url, kMaxUrlBytes, "media_url");
}

Status SameReport(const Report& stored, const Report& retry) {
  const auto differs = [&](const char* field) {
    return Status(StatusCode::kAlreadyExists,
                  "client_id " + retry.client_id +
                      " was already used for a different report (it differs in " + field +
                      "); a retry must repeat the report exactly, a new report needs a new "
                      "client_id",
                  field);
  };
  if (stored.category != retry.category) return differs("category");
  if (stored.village != retry.village) return differs("village");
  if (stored.grid != retry.grid) return differs("grid");
  if (stored.severity != retry.severity) return differs("severity");
  if (stored.text != retry.text) return differs("text");
  if (stored.lat != retry.lat) return differs("lat");
  if (stored.lon != retry.lon) return differs("lon");
  if (stored.zero_position != retry.zero_position) return differs("lat");
  const bool stamped = stored.channel == "open311" && retry.channel == "open311";
  if (!stamped && stored.reported_at != retry.reported_at) return differs("reported_at");
  if (stored.attachments != retry.attachments) return differs("attachments");
  if (stored.channel != retry.channel) return differs("channel");
  if (stored.address != retry.address) return differs("address");
  if (stored.address_id != retry.address_id) return differs("address_id");
  if (stored.media_url != retry.media_url) return differs("media_url");
  if (stored.media != retry.media) return differs("media");
  return Status::Ok();
}

}  // namespace wangge::engine
