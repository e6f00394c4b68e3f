// Domain types: reports, cases, transitions, actors and the records of the log.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/ids.h"
#include "core/status.h"
#include "core/time.h"
#include "rules/decision.h"

namespace wangge::rules {
class Ruleset;
}

namespace wangge::engine {

// Persisted: values are never renumbered.
enum class Role : uint8_t {
  kWorker = 1,      // grid worker: reports, verifies own cases
  kHandler = 2,     // office handler: works cases owned by their office
  kSupervisor = 3,  // command centre: reassigns, escalates, extends, closes, cancels
  kAuditor = 4,     // reads only
  kAdmin = 5,       // manages rulesets; no case transitions
  kSystem = 6,      // wangge itself: deadline timers. Never a token's or a command's role.
};

enum class CaseStatus : uint8_t {
  kDispatched = 1,  // routed to an office; the report is recorded in the same commit
  kAccepted = 2,
  kResolved = 3,
  kClosed = 4,
  kReturned = 5,  // the office says it is not the owner; a supervisor reassigns
  kCancelled = 6,
};

enum class Action : uint8_t {
  kAccept = 1,
  kReturn = 2,
  kReassign = 3,
  kResolve = 4,
  kVerify = 5,
  kReopen = 6,
  kClose = 7,
  kEscalate = 8,
  kExtend = 9,
  kCancel = 10,
  kComment = 11,  // a note or photo on the case; changes nothing else, from any status
  // A handler asks for a later deadline (until, with its reason); a supervisor's extend
  // grants it. Changes nothing else.
  kRequestExtension = 12,
};

std::string_view RoleName(Role r);
std::string_view StatusName(CaseStatus s);
std::string_view ActionName(Action a);
std::optional<Role> RoleFromName(std::string_view name);
std::optional<CaseStatus> StatusFromName(std::string_view name);
std::optional<Action> ActionFromName(std::string_view name);

// Who did it. `office` is set for handlers (the office they act for).
struct Actor {
  std::string id;
  Role role = Role::kWorker;
  std::string office;
  friend bool operator==(const Actor&, const Actor&) = default;
};

struct Report {
  std::string client_id;  // device UUID; the idempotency key and the case's address
  std::string category;
  std::string village;
  std::string grid;
  int severity = 1;  // 1..4
  std::string text;
  // (0, 0) means no position, unless `zero_position` says the sender gave exactly that.
  double lat = 0;
  double lon = 0;
  TimeMs reported_at;  // device time; may lag the receive time after offline bursts
  int attachments = 0;
  // Set by an outside interface, empty for the grid workers' own reports (kept in an
  // optional trailing section of the encoding, so older records read unchanged).
  std::string channel;     // "open311" for a GeoReport v2 request
  std::string address;     // a street address, as given
  std::string address_id;  // the sender's own address id
  std::string media_url;   // a photo or video the sender keeps
  // An outside interface's sender gave lat 0 and lon 0 as its position (Open311 clients
  // may): kept so that it reads back as sent. Only with lat == lon == 0 and extras.
  bool zero_position = false;
  // Photos stored beforehand (PUT /v1/media), by SHA-256 in lowercase hex; at most
  // kMaxMedia. The record holds the hashes, so the log's chain covers the evidence.
  std::vector<std::string> media;
  bool has_extras() const {
    return !channel.empty() || !address.empty() || !address_id.empty() || !media_url.empty();
  }
  bool has_position() const { return lat != 0 || lon != 0 || zero_position; }
  friend bool operator==(const Report&, const Report&) = default;
};

// Checks ranges and required fields. kInvalidArgument naming the field.
Status ValidateReport(const Report& r);
// Whether `retry` repeats `stored`, a report the same reporter sent with the same client id.
// kAlreadyExists naming the first field, in wire order, whose value differs: the key was
// used for another report. An Open311 report's reported_at is wangge's receive time, not
// the sender's, so it is not compared.
Status SameReport(const Report& stored, const Report& retry);
// Characters (code points) of UTF-8 text: the bytes that do not continue a sequence.
size_t CharCount(std::string_view utf8);
// A case id from elsewhere (a URL path, a command): 1-256 bytes, no control characters
// (a client id is at most 128; a case id may carry a reporter after it). kInvalidArgument
// naming "case_id".
Status ValidateCaseId(std::string_view id);

// The most photos a report or a transition carries.
inline constexpr size_t kMaxMedia = 9;
// Checks a list of media hashes: at most kMaxMedia, each 64 lowercase hex digits, no
// repeats. kInvalidArgument naming "media".
Status ValidateMedia(const std::vector<std::string>& media);

struct Transition {
  std::string case_id;  // the report's client id
  Action action = Action::kAccept;
  std::string note;
  int satisfaction = 0;            // 1..5 with verify, else 0
  std::string to_office;           // with reassign
  std::optional<TimeMs> until;     // with extend
  std::vector<std::string> media;  // with resolve, verify and comment: photos, as Report::media
  // With comment only. `key`: the sender's idempotency key (1-200 bytes; empty: none): a
  // comment with a key its sender used on the case before is a retry, recorded once.
  // `media_url`: a photo the sender keeps elsewhere, as Report::media_url.
  std::string key = {};
  std::string media_url = {};
  friend bool operator==(const Transition&, const Transition&) = default;
};

// Checks a transition's comment fields: `key` and `media_url` only with a comment, each
// within its bounds and free of control characters. kInvalidArgument naming the field.
Status ValidateCommentFields(const Transition& t);

// The routing decision recorded with a report, so that replay applies the decision
// that was made rather than re-deriving it under changed code.
struct Routing {
  std::string office;
  TimeMs deadline;
  int priority = 0;
  std::string rule_id;
  std::string ruleset_version;
  rules::TimeLimit limit;
  rules::Escalation escalation;
  friend bool operator==(const Routing&, const Routing&) = default;
};

// The routing a ruleset's decision becomes in a report record.
Routing RoutingOf(rules::Decision d);

// Makes a ruleset (with its working calendar and the town's geography) the active one.
// Only admins may. The record keeps the texts, so replay and audit know exactly what
// routed and located each case. The geography is checked against the ruleset it comes
// with; activating only a new geography repeats the ruleset in force, and activating
// only a new ruleset repeats the geography in force (engine/engine.h).
struct RulesActivation {
  std::string ruleset;                 // ruleset JSON
  std::string calendar;                // calendar JSON; empty in a command means the built-in one
  std::string version;                 // filled by the sequencer from the loaded ruleset
  std::string geography = {};          // GeoJSON (rules/geography.h); empty: none
  std::string geography_version = {};  // filled by the sequencer from the loaded geography
  friend bool operator==(const RulesActivation&, const RulesActivation&) = default;
};

// The ruleset an activation makes active, with its calendar (the built-in one when the
// text is empty) and its geography (none when empty), loaded and checked as the
// sequencer does: errors name "calendar", "ruleset" or "geography" as the source.
Result<std::shared_ptr<const rules::Ruleset>> LoadActivation(const RulesActivation& a);

// Persisted: values are never renumbered.
enum class TimerKind : uint8_t {
  kWarning = 1,  // the case reached its warning point (a share of its time limit)
  kBreach = 2,   // the case is past its deadline
};
std::string_view TimerKindName(TimerKind k);  // "deadline_warning", "deadline_breach"

// A deadline timer that fired: recorded by the engine, so replay reproduces it.
// `notified` are the offices the routing's escalation chain names for this kind.
struct TimerFired {
  std::string case_id;
  TimerKind kind = TimerKind::kWarning;
  std::vector<std::string> notified;  // filled by the sequencer
  friend bool operator==(const TimerFired&, const TimerFired&) = default;
};

using CommandBody = std::variant<Report, Transition, RulesActivation, TimerFired>;

// Persisted: values are never renumbered.
enum class PlaceHow : uint8_t {
  kNamed = 1,         // the report named its grid; the position was measured against it
  kLocated = 2,       // the report named no grid; grid and village come from the position
  kGridUnmapped = 3,  // the report named a grid the geography does not have
};
std::string_view PlaceHowName(PlaceHow h);  // "named", "located", "grid_unmapped"

// How a report with a position was placed against the geography in force when it was
// recorded (engine/sequencer.h). Kept in the record, so explain shows the decision and
// replay reproduces it; absent (empty version) when no geography was active or the
// report had no position.
struct Placement {
  std::string geography_version;
  PlaceHow how = PlaceHow::kNamed;
  uint32_t distance_m = 0;  // from the position to the grid, rounded; 0 inside it
  friend bool operator==(const Placement&, const Placement&) = default;
};

// A validated input on its way to the sequencer. `at` is the command's own time for
// recorded streams (import); empty means "the sequencer's receive time".
struct Command {
  Actor actor;
  std::optional<TimeMs> at;
  CommandBody body;
  // The command's position in an outside source (a JetStream stream sequence in cluster
  // mode); 0 = none. The sequencer stores the highest one it has applied, with the
  // commit that applied it, under kSourcePositionKey, even when the command itself was
  // refused or a duplicate: the source position says what was consumed, not what was
  // recorded.
  uint64_t source_seq = 0;
};

// One entry of the log: a command as applied, with its sequence and time.
struct Record {
  Seq seq;
  TimeMs at;
  Actor actor;
  CommandBody body;
  Routing routing;  // set for reports
  // Reports: the id of the case the report created. It is the client id unless another
  // reporter's case already had that id (engine/sequencer.h). Encoded only when it
  // differs, so records of either kind keep their bytes; empty in any other record.
  std::string case_id;
  // Reports, transitions: the evidence flags (engine/media.h evidence::) the sequencer
  // found in the record's photos when it was written; kept so replay and figures agree.
  uint8_t evidence = 0;
  Placement place;  // reports with a position, when a geography was active
  friend bool operator==(const Record&, const Record&) = default;
};

// The case a record belongs to: a report's case id, a transition's or timer's case;
// empty for a ruleset activation.
std::string_view CaseIdOf(const Record& record);

struct Case {
  // How the case is addressed: its report's client id, or for a second reporter who used
  // the same client id, that id with "~" and the reporter appended (engine/sequencer.h).
  std::string id;
  Report report;
  Actor reporter;
  Seq created_seq;  // also the case's short human number
  Seq last_seq;
  TimeMs received_at;
  TimeMs updated_at;
  CaseStatus status = CaseStatus::kDispatched;
  std::string office;
  TimeMs deadline;           // in force (moved by extensions)
  TimeMs original_deadline;  // as routed
  int priority = 0;
  std::string rule_id;
  std::string ruleset_version;
  rules::TimeLimit limit;
  rules::Escalation escalation;
  TimeMs accepted_at;  // 0 = not yet
  TimeMs resolved_at;
  TimeMs closed_at;
  int escalation_level = 0;  // manual escalations plus a fired breach timer
  TimeMs warned_at;          // when the warning timer fired; 0 = not yet
  TimeMs breached_at;        // when the breach timer fired; 0 = not yet
  int reopen_count = 0;
  int extension_count = 0;
  int return_count = 0;
  int satisfaction = 0;  // 0 = not rated
  uint8_t evidence = 0;  // the evidence flags of every record of the case, or-ed
  friend bool operator==(const Case&, const Case&) = default;

  bool open() const { return status != CaseStatus::kClosed && status != CaseStatus::kCancelled; }
};

}  // namespace wangge::engine
