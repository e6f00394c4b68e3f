#include "engine/access.h"

#include <map>
#include <set>
#include <tuple>

#include <gtest/gtest.h>

#include "engine/lifecycle.h"
#include "tests/testing/builders.h"

namespace wangge::engine {
namespace {

// The access policy as the design states it, written out apart from the code. A case is
// reported by worker W017 and owned by office zongzhi; each caller stands in one relation
// to it.
enum class Relation { kReporter, kOtherWorker, kOwningHandler, kOtherHandler, kSeesAll };

struct Caller {
  Relation relation;
  Actor actor;
};

const Caller kCallers[] = {
    {Relation::kReporter, Actor{"W017", Role::kWorker, ""}},
    {Relation::kOtherWorker, Actor{"W099", Role::kWorker, ""}},
    {Relation::kOwningHandler, Actor{"H-zz", Role::kHandler, "zongzhi"}},
    {Relation::kOtherHandler, Actor{"H-sc", Role::kHandler, "shichang"}},
    {Relation::kSeesAll, Actor{"S-1", Role::kSupervisor, ""}},
    {Relation::kSeesAll, Actor{"A-1", Role::kAuditor, ""}},
    {Relation::kSeesAll, Actor{"ad", Role::kAdmin, ""}},
};

// Who sees the case.
bool Sees(Relation r) { return r != Relation::kOtherWorker && r != Relation::kOtherHandler; }

// Which actions each role may take at all (design.md, "Lifecycle").
const std::map<Role, std::set<Action>>& Allowed() {
  static const auto* table = new std::map<Role, std::set<Action>>{
      {Role::kWorker, {Action::kVerify, Action::kReopen}},
      {Role::kHandler, {Action::kAccept, Action::kReturn, Action::kResolve}},
      {Role::kSupervisor,
       {Action::kReassign, Action::kReopen, Action::kClose, Action::kEscalate, Action::kExtend,
        Action::kCancel}},
      {Role::kAuditor, {}},
      {Role::kAdmin, {}},
  };
  return *table;
}

constexpr Action kActions[] = {
    Action::kAccept, Action::kReturn, Action::kReassign, Action::kResolve, Action::kVerify,
    Action::kReopen, Action::kClose,  Action::kEscalate, Action::kExtend,  Action::kCancel};

Case TheCase() {
  Record report;
  report.seq = Seq{1};
  report.at = TimeMs{1'000'000};
  report.actor = testing::Worker("W017");
  report.body = testing::MakeReport("case-1");
  report.routing = Routing{"zongzhi", TimeMs{1'000'000 + 48 * 3'600'000}, 2, "r1", "v1"};
  return CaseFromReport(report);
}

TEST(AccessTest, EveryRoleRelationAndActionMatchesTheTable) {
  const Case c = TheCase();
  for (const Caller& caller : kCallers) {
    SCOPED_TRACE(caller.actor.id);
    EXPECT_EQ(MaySee(caller.actor, c), Sees(caller.relation));
    EXPECT_EQ(SeesEveryCase(caller.actor), caller.relation == Relation::kSeesAll);
    for (Action action : kActions) {
      SCOPED_TRACE(std::string(ActionName(action)));
      EXPECT_EQ(RoleMayAct(caller.actor.role, action),
                Allowed().at(caller.actor.role).contains(action));
      // Through the lifecycle: an unseen case is not found whatever the action; a seen
      // case refuses what the role may never do.
      Transition t;
      t.case_id = c.id;
      t.action = action;
      Record r;
      r.seq = Seq{2};
      r.at = TimeMs{c.received_at.ms + 60'000};
      r.actor = caller.actor;
      r.body = t;
      auto applied = ApplyTransition(c, r);
      if (!Sees(caller.relation)) {
        EXPECT_EQ(applied.status().code(), StatusCode::kNotFound);
        EXPECT_EQ(applied.status().message(), "no case case-1");
      } else if (!Allowed().at(caller.actor.role).contains(action)) {
        EXPECT_EQ(applied.status().code(), StatusCode::kPermissionDenied);
      }
    }
  }
}

TEST(AccessTest, WorkersAddressTheirCasesByTheirClientIds) {
  Case c = TheCase();
  c.id = "case-1~W017";  // another reporter had used case-1 first
  EXPECT_EQ(CaseAddress(Actor{"W017", Role::kWorker, ""}, c), "case-1");
  EXPECT_EQ(CaseAddress(Actor{"H-zz", Role::kHandler, "zongzhi"}, c), "case-1~W017");
  EXPECT_EQ(CaseAddress(Actor{"S-1", Role::kSupervisor, ""}, c), "case-1~W017");
}

}  // namespace
}  // namespace wangge::engine
