// The one access policy: which cases an actor may see, which actions a role may take, and
// how an actor addresses a case. Every path that shows or changes a case asks it.
#pragma once

#include <string_view>

#include "engine/domain.h"

namespace wangge::engine {

// Whether `actor` may see case `c`: a worker the cases of their own reports, a handler
// their office's cases, supervisors, auditors, admins and wangge itself every case.
// A case the actor may not see is answered as if it did not exist.
bool MaySee(const Actor& actor, const Case& c);

// Whether `actor` sees every case (no per-case check is needed).
bool SeesEveryCase(const Actor& actor);

// Whether `role` may ever perform `action` (before looking at a case).
bool RoleMayAct(Role role, Action action);

// How `viewer` addresses case `c` (in answers, and in the paths they send): a worker
// by the client id of their own report, everyone else by the case id. The two differ only
// for a case whose client id another reporter had used first, and that worker never
// learns it. REQUIRES: MaySee(viewer, c).
std::string_view CaseAddress(const Actor& viewer, const Case& c);

}  // namespace wangge::engine
