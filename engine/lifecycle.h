// The case lifecycle: which transitions are legal from which status and for which
// role, and what each does to a case. Pure functions of (case, record): the
// sequencer and replay apply exactly the same code.
#pragma once

#include <optional>

#include "core/status.h"
#include "engine/domain.h"

namespace wangge::engine {

// The status `action` leads to from `from`, or nullopt when it is illegal there.
std::optional<CaseStatus> NextStatus(CaseStatus from, Action action);

// The case a report record creates (status dispatched, owner from its routing).
// REQUIRES: record.body holds a Report.
Case CaseFromReport(const Record& record);

// The case after `record` (a transition) applies to `c`. Nothing changes on error:
// kNotFound: the actor may not see this case (engine/access.h).
// kPermissionDenied: the role may not do this.
// kFailedPrecondition: illegal from the case's status (the message says why).
// kInvalidArgument: a field the action needs is missing or out of range.
// REQUIRES: record.body holds a Transition addressed to c.
Result<Case> ApplyTransition(const Case& c, const Record& record);

// ApplyTransition or ApplyTimer, by the record's kind.
// REQUIRES: record.body holds a Transition or a TimerFired addressed to c.
Result<Case> ApplyCaseRecord(const Case& c, const Record& record);

// When a case reaches its warning point: the routing's warn_at_percent of the span from
// receipt to the deadline in force (wall clock); nullopt when the rule sets none.
std::optional<TimeMs> WarningTime(const Case& c);

// The case after a deadline timer record. kFailedPrecondition when the case is closed
// or cancelled, the timer already fired, or its time has not come by record.at (the
// sequencer drops such a command; replay never meets one).
// REQUIRES: record.body holds a TimerFired addressed to c.
Result<Case> ApplyTimer(const Case& c, const Record& record);

}  // namespace wangge::engine
