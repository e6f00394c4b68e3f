#include "engine/access.h"

namespace wangge::engine {

bool MaySee(const Actor& actor, const Case& c) {
  switch (actor.role) {
    case Role::kWorker:
      return actor.id == c.reporter.id;
    case Role::kHandler:
      return !actor.office.empty() && actor.office == c.office;
    case Role::kSupervisor:
    case Role::kAuditor:
    case Role::kAdmin:
    case Role::kSystem:
      return true;
  }
  return false;
}

bool SeesEveryCase(const Actor& actor) {
  return actor.role != Role::kWorker && actor.role != Role::kHandler;
}

bool RoleMayAct(Role role, Action action) {
  // Everyone who works a case may comment on it; MaySee decides which cases.
  if (action == Action::kComment) {
    return role == Role::kWorker || role == Role::kHandler || role == Role::kSupervisor;
  }
  switch (role) {
    case Role::kWorker:
      return action == Action::kVerify || action == Action::kReopen;
    case Role::kHandler:
      return action == Action::kAccept || action == Action::kReturn || action == Action::kResolve ||
             action == Action::kRequestExtension;
    case Role::kSupervisor:
      return action == Action::kReassign || action == Action::kReopen || action == Action::kClose ||
             action == Action::kEscalate || action == Action::kExtend || action == Action::kCancel;
    case Role::kAuditor:
    case Role::kAdmin:
    case Role::kSystem:  // fires timers only, never transitions
      return false;
  }
  return false;
}

std::string_view CaseAddress(const Actor& viewer, const Case& c) {
  return viewer.role == Role::kWorker ? std::string_view(c.report.client_id)
                                      : std::string_view(c.id);
}

}  // namespace wangge::engine
