#include "engine/lifecycle.h"

#include <map>
#include <tuple>

#include <gtest/gtest.h>

#include "engine/access.h"
#include "tests/testing/builders.h"

namespace wangge::engine {
namespace {

using S = CaseStatus;
using A = Action;
using R = Role;

// A comment (a note or photo on the case) changes no status, from any status, made by
// anyone who works cases.
std::map<std::tuple<S, A, R>, S>* WithComments(std::map<std::tuple<S, A, R>, S>* table) {
  for (S s :
       {S::kDispatched, S::kAccepted, S::kResolved, S::kClosed, S::kReturned, S::kCancelled}) {
    for (R r : {R::kWorker, R::kHandler, R::kSupervisor}) (*table)[{s, A::kComment, r}] = s;
  }
  return table;
}

// The lifecycle as the design states it, written out independently of the code:
// (from, action, role) -> to. Everything absent is illegal.
const std::map<std::tuple<S, A, R>, S>& LegalTable() {
  static const auto* table = WithComments(new std::map<std::tuple<S, A, R>, S>{
      {{S::kDispatched, A::kAccept, R::kHandler}, S::kAccepted},
      {{S::kDispatched, A::kReturn, R::kHandler}, S::kReturned},
      {{S::kDispatched, A::kReassign, R::kSupervisor}, S::kDispatched},
      {{S::kDispatched, A::kEscalate, R::kSupervisor}, S::kDispatched},
      {{S::kDispatched, A::kExtend, R::kSupervisor}, S::kDispatched},
      {{S::kDispatched, A::kCancel, R::kSupervisor}, S::kCancelled},
      {{S::kAccepted, A::kReturn, R::kHandler}, S::kReturned},
      {{S::kAccepted, A::kResolve, R::kHandler}, S::kResolved},
      {{S::kAccepted, A::kReassign, R::kSupervisor}, S::kDispatched},
      {{S::kAccepted, A::kEscalate, R::kSupervisor}, S::kAccepted},
      {{S::kAccepted, A::kExtend, R::kSupervisor}, S::kAccepted},
      {{S::kAccepted, A::kCancel, R::kSupervisor}, S::kCancelled},
      {{S::kReturned, A::kReassign, R::kSupervisor}, S::kDispatched},
      {{S::kReturned, A::kEscalate, R::kSupervisor}, S::kReturned},
      {{S::kReturned, A::kExtend, R::kSupervisor}, S::kReturned},
      {{S::kReturned, A::kCancel, R::kSupervisor}, S::kCancelled},
      {{S::kResolved, A::kVerify, R::kWorker}, S::kClosed},
      {{S::kResolved, A::kReopen, R::kWorker}, S::kAccepted},
      {{S::kResolved, A::kReopen, R::kSupervisor}, S::kAccepted},
      {{S::kResolved, A::kClose, R::kSupervisor}, S::kClosed},
      {{S::kResolved, A::kEscalate, R::kSupervisor}, S::kResolved},
      {{S::kResolved, A::kCancel, R::kSupervisor}, S::kCancelled},
      {{S::kDispatched, A::kRequestExtension, R::kHandler}, S::kDispatched},
      {{S::kAccepted, A::kRequestExtension, R::kHandler}, S::kAccepted},
  });
  return *table;
}

constexpr S kStatuses[] = {S::kDispatched, S::kAccepted, S::kResolved,
                           S::kClosed,     S::kReturned, S::kCancelled};
constexpr A kActions[] = {A::kAccept, A::kReturn, A::kReassign, A::kResolve,
                          A::kVerify, A::kReopen, A::kClose,    A::kEscalate,
                          A::kExtend, A::kCancel, A::kComment,  A::kRequestExtension};
constexpr R kRoles[] = {R::kWorker, R::kHandler, R::kSupervisor, R::kAuditor, R::kAdmin};

Case CaseIn(S status) {
  Record report;
  report.seq = Seq{1};
  report.at = TimeMs{1'000'000};
  report.actor = testing::Worker("W017");
  report.body = testing::MakeReport("case-1");
  report.routing = Routing{"zongzhi", TimeMs{1'000'000 + 48 * 3'600'000}, 2, "r1", "v1"};
  Case c = CaseFromReport(report);
  c.status = status;
  return c;
}

Actor ActorFor(R role) {
  switch (role) {
    case R::kWorker:
      return testing::Worker("W017");
    case R::kHandler:
      return testing::Handler("zongzhi");
    default:
      return Actor{"X-1", role, ""};
  }
}

// A transition record with every field its action needs.
Record TransitionRecord(A action, R role, const Case& c) {
  Transition t;
  t.case_id = c.report.client_id;
  t.action = action;
  t.note = "note";
  if (action == A::kVerify) t.satisfaction = 4;
  if (action == A::kReassign) t.to_office = "shichang";
  if (action == A::kExtend || action == A::kRequestExtension) {
    t.until = TimeMs{c.deadline.ms + 3'600'000};
  }
  Record r;
  r.seq = Seq{2};
  r.at = TimeMs{c.received_at.ms + 60'000};
  r.actor = ActorFor(role);
  r.body = t;
  return r;
}

TEST(LifecycleTest, EveryStatusActionAndRoleMatchesTheTable) {
  int legal = 0;
  for (S from : kStatuses) {
    for (A action : kActions) {
      for (R role : kRoles) {
        Case c = CaseIn(from);
        auto result = ApplyTransition(c, TransitionRecord(action, role, c));
        auto it = LegalTable().find({from, action, role});
        SCOPED_TRACE(std::string(StatusName(from)) + " " + std::string(ActionName(action)) +
                     " by " + std::string(RoleName(role)));
        if (it == LegalTable().end()) {
          ASSERT_FALSE(result.ok());
          const bool role_never = !RoleMayAct(role, action);
          EXPECT_EQ(result.status().code(),
                    role_never ? StatusCode::kPermissionDenied : StatusCode::kFailedPrecondition);
        } else {
          ASSERT_TRUE(result.ok()) << result.status().ToString();
          EXPECT_EQ(result->status, it->second);
          EXPECT_EQ(result->last_seq.value, 2u);
          ++legal;
        }
      }
    }
  }
  EXPECT_EQ(legal, static_cast<int>(LegalTable().size()));
}

// Another office's case is answered as if it did not exist, naming nothing of it (not
// the office that owns it now: a handler racing a reassignment learned it that way).
TEST(LifecycleTest, HandlersActOnlyOnTheirOfficesCases) {
  Case c = CaseIn(S::kDispatched);
  Record r = TransitionRecord(A::kAccept, R::kHandler, c);
  r.actor.office = "shichang";
  auto result = ApplyTransition(c, r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(result.status().message(), "no case case-1");
}

TEST(LifecycleTest, WorkersVerifyOnlyTheirOwnReports) {
  Case c = CaseIn(S::kResolved);
  Record r = TransitionRecord(A::kVerify, R::kWorker, c);
  r.actor.id = "W099";
  auto result = ApplyTransition(c, r);
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(result.status().message(), "no case case-1");
}

TEST(LifecycleTest, EffectsOnTheCase) {
  Case c = CaseIn(S::kResolved);
  Record verify = TransitionRecord(A::kVerify, R::kWorker, c);
  auto closed = ApplyTransition(c, verify);
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->satisfaction, 4);
  EXPECT_EQ(closed->closed_at, verify.at);
  // A record's evidence flags are or-ed into the case's.
  c.evidence = 1;
  verify.evidence = 2;
  auto flagged = ApplyTransition(c, verify);
  ASSERT_TRUE(flagged.ok());
  EXPECT_EQ(flagged->evidence, 3);
  c.evidence = 0;

  auto reopened = ApplyTransition(c, TransitionRecord(A::kReopen, R::kWorker, c));
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(reopened->reopen_count, 1);

  Case open = CaseIn(S::kAccepted);
  Record extend = TransitionRecord(A::kExtend, R::kSupervisor, open);
  auto extended = ApplyTransition(open, extend);
  ASSERT_TRUE(extended.ok());
  EXPECT_EQ(extended->deadline, *std::get<Transition>(extend.body).until);
  EXPECT_EQ(extended->original_deadline, open.deadline);
  EXPECT_EQ(extended->extension_count, 1);

  auto reassigned = ApplyTransition(open, TransitionRecord(A::kReassign, R::kSupervisor, open));
  ASSERT_TRUE(reassigned.ok());
  EXPECT_EQ(reassigned->office, "shichang");

  // A comment moves only the case's last record and change time, even on a closed case.
  Case done = CaseIn(S::kClosed);
  done.closed_at = TimeMs{done.received_at.ms + 1};
  Record comment = TransitionRecord(A::kComment, R::kWorker, done);
  auto commented = ApplyTransition(done, comment);
  ASSERT_TRUE(commented.ok()) << commented.status().ToString();
  Case expected = done;
  expected.last_seq = comment.seq;
  expected.updated_at = comment.at;
  EXPECT_EQ(*commented, expected);
}

TEST(LifecycleTest, MissingOrBadFieldsAreInvalidArguments) {
  Case resolved = CaseIn(S::kResolved);
  Record verify = TransitionRecord(A::kVerify, R::kWorker, resolved);
  std::get<Transition>(verify.body).satisfaction = 0;
  auto r1 = ApplyTransition(resolved, verify);
  EXPECT_EQ(r1.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r1.status().field(), "satisfaction");

  Case open = CaseIn(S::kAccepted);
  Record extend = TransitionRecord(A::kExtend, R::kSupervisor, open);
  std::get<Transition>(extend.body).until = TimeMs{open.deadline.ms - 1};
  EXPECT_EQ(ApplyTransition(open, extend).status().field(), "until");

  // A handler's request for more time names the date and the reason.
  Record ask = TransitionRecord(A::kRequestExtension, R::kHandler, open);
  std::get<Transition>(ask.body).note.clear();
  EXPECT_EQ(ApplyTransition(open, ask).status().field(), "note");
  std::get<Transition>(ask.body).note = "需要协调";
  std::get<Transition>(ask.body).until = open.deadline;
  EXPECT_EQ(ApplyTransition(open, ask).status().field(), "until");
  std::get<Transition>(ask.body).until.reset();
  EXPECT_EQ(ApplyTransition(open, ask).status().field(), "until");

  Record back = TransitionRecord(A::kReturn, R::kHandler, open);
  std::get<Transition>(back.body).note.clear();
  EXPECT_EQ(ApplyTransition(open, back).status().field(), "note");

  Record urge = TransitionRecord(A::kEscalate, R::kSupervisor, open);
  std::get<Transition>(urge.body).note.clear();
  EXPECT_EQ(ApplyTransition(open, urge).status().field(), "note");

  // A comment says something: a note, a photo or a media_url. Its key and media_url go
  // with comments only.
  Record empty = TransitionRecord(A::kComment, R::kHandler, open);
  std::get<Transition>(empty.body).note.clear();
  EXPECT_EQ(ApplyTransition(open, empty).status().field(), "note");
  std::get<Transition>(empty.body).media_url = "https://a.example/b.jpg";
  EXPECT_TRUE(ApplyTransition(open, empty).ok());
  std::get<Transition>(empty.body).key = std::string(201, 'k');
  EXPECT_EQ(ApplyTransition(open, empty).status().field(), "key");
  Record keyed = TransitionRecord(A::kResolve, R::kHandler, open);
  std::get<Transition>(keyed.body).key = "k";
  EXPECT_EQ(ApplyTransition(open, keyed).status().field(), "key");
  std::get<Transition>(keyed.body).key.clear();
  std::get<Transition>(keyed.body).media_url = "https://a.example/b.jpg";
  EXPECT_EQ(ApplyTransition(open, keyed).status().field(), "media_url");

  Record early = TransitionRecord(A::kResolve, R::kHandler, open);
  early.at = TimeMs{open.received_at.ms - 1};
  EXPECT_EQ(ApplyTransition(open, early).status().field(), "at");
}

}  // namespace
}  // namespace wangge::engine
