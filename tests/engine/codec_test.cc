#include "engine/codec.h"

#include <gtest/gtest.h>

#include "engine/lifecycle.h"
#include "engine/media.h"
#include "tests/testing/builders.h"

namespace wangge::engine {
namespace {

Record ReportRecord() {
  Record r;
  r.seq = Seq{42};
  r.at = TimeMs{1'583'111'765'000};
  r.actor = testing::Worker("W017");
  r.body = testing::MakeReport("5f0c6a1e-4c1b-4a53-9d1e-0b7c2f3e9a10");
  r.routing = Routing{"zonghe-zhifa", TimeMs{1'583'284'565'000}, 2, "minimal/env.*", "minimal-1"};
  return r;
}

Record TransitionRecordWithEverything() {
  Transition t;
  t.case_id = "5f0c6a1e";
  t.action = Action::kExtend;
  t.note = "延期";
  t.until = TimeMs{-5};
  Record r;
  r.seq = Seq{43};
  r.at = TimeMs{1'583'111'800'000};
  r.actor = testing::Supervisor();
  r.body = t;
  return r;
}

Record TimerRecord() {
  Record r;
  r.seq = Seq{44};
  r.at = TimeMs{1'583'284'565'000};
  r.actor = Actor{"timer", Role::kSystem, ""};
  r.body = TimerFired{"5f0c6a1e", TimerKind::kBreach, {"zongzhi", "zhen-ducha"}};
  return r;
}

TEST(CodecTest, RecordsRoundTrip) {
  for (const Record& r : {ReportRecord(), TransitionRecordWithEverything(), TimerRecord()}) {
    auto back = DecodeRecord(r.seq, EncodeRecord(r));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, r);
  }
}

TEST(CodecTest, CasesRoundTrip) {
  Case c = CaseFromReport(ReportRecord());
  c.status = CaseStatus::kResolved;
  c.reopen_count = 2;
  c.satisfaction = 5;
  c.closed_at = TimeMs{7};
  c.warned_at = TimeMs{8};
  c.breached_at = TimeMs{9};
  auto back = DecodeCase(EncodeCase(c));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, c);
}

// Open311's fields ride in an optional trailing section: set, they round-trip; unset, a
// record's and a case's bytes are exactly what they were before the section existed.
TEST(CodecTest, ReportExtrasRoundTripAndLeaveOtherBytesAlone) {
  Record plain = ReportRecord();
  Record extra = plain;
  auto& report = std::get<Report>(extra.body);
  report.channel = "open311";
  report.address = "东街1号";
  report.media_url = "https://example.org/p.jpg";
  const std::string plain_bytes = EncodeRecord(plain), extra_bytes = EncodeRecord(extra);
  EXPECT_TRUE(extra_bytes.starts_with(plain_bytes));  // the same bytes, then the section
  EXPECT_GT(extra_bytes.size(), plain_bytes.size());
  auto back = DecodeRecord(extra.seq, extra_bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, extra);
  const Case c = CaseFromReport(extra);
  auto case_back = DecodeCase(EncodeCase(c));
  ASSERT_TRUE(case_back.ok()) << case_back.status().ToString();
  EXPECT_EQ(case_back->report.channel, "open311");
  EXPECT_EQ(*case_back, c);
  EXPECT_TRUE(EncodeCase(c).starts_with(EncodeCase(CaseFromReport(plain))));
  // A section with an unknown tag, or an empty one, is corruption.
  std::string bad = extra_bytes;
  bad[plain_bytes.size()] = 7;
  EXPECT_EQ(DecodeRecord(extra.seq, bad).status().code(), StatusCode::kCorruption);
  std::string empty = plain_bytes;
  empty += '\x01';
  for (int i = 0; i < 4; ++i) empty += std::string(4, '\0');  // four empty strings
  EXPECT_FALSE(DecodeRecord(extra.seq, empty).ok());
}

// The id of a case whose client id another reporter used first rides in its own trailing
// section, after the extras; a record or case whose id is its client id keeps its bytes.
TEST(CodecTest, ACaseIdOtherThanTheClientIdRoundTripsAfterTheExtras) {
  const Record plain = ReportRecord();
  for (bool extras : {false, true}) {
    Record r = plain;
    if (extras) std::get<Report>(r.body).channel = "open311";
    const std::string without = EncodeRecord(r);
    r.case_id = std::get<Report>(r.body).client_id + "~W017";
    const std::string with = EncodeRecord(r);
    EXPECT_TRUE(with.starts_with(without));
    auto back = DecodeRecord(r.seq, with);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, r);
    EXPECT_EQ(CaseIdOf(*back), r.case_id);
    const Case c = CaseFromReport(r);
    EXPECT_EQ(c.id, r.case_id);
    auto case_back = DecodeCase(EncodeCase(c));
    ASSERT_TRUE(case_back.ok()) << case_back.status().ToString();
    EXPECT_EQ(*case_back, c);
  }
  EXPECT_EQ(CaseIdOf(plain), std::get<Report>(plain.body).client_id);
  EXPECT_EQ(CaseFromReport(plain).id, std::get<Report>(plain.body).client_id);
  // Only the encoder's bytes: a section naming the client id itself, or an empty id.
  for (const std::string& id : {std::get<Report>(plain.body).client_id, std::string()}) {
    std::string bad = EncodeRecord(plain);
    bad += '\x02';
    bad += std::string(3, '\0') + static_cast<char>(id.size()) + id;
    EXPECT_EQ(DecodeRecord(plain.seq, bad).status().code(), StatusCode::kCorruption) << id;
  }
}

TEST(CodecTest, MediaHashesRoundTripAfterTheOtherSectionsAndLeaveOldBytesAlone) {
  const std::string h1(64, 'a'), h2(64, 'b');
  for (bool extras : {false, true}) {
    for (bool other_id : {false, true}) {
      Record r = ReportRecord();
      if (extras) std::get<Report>(r.body).channel = "open311";
      if (other_id) r.case_id = std::get<Report>(r.body).client_id + "~W017";
      const std::string without = EncodeRecord(r);
      std::get<Report>(r.body).media = {h1, h2};
      const std::string with = EncodeRecord(r);
      EXPECT_TRUE(with.starts_with(without));
      auto back = DecodeRecord(r.seq, with);
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_EQ(*back, r);
      const Case c = CaseFromReport(r);
      auto case_back = DecodeCase(EncodeCase(c));
      ASSERT_TRUE(case_back.ok()) << case_back.status().ToString();
      EXPECT_EQ(case_back->report.media, (std::vector<std::string>{h1, h2}));
    }
  }
  Record t;
  t.seq = Seq{9};
  t.at = TimeMs{1'583'111'700'000};
  t.actor = Actor{"H-1", Role::kHandler, "zonghe-zhifa"};
  Transition tr;
  tr.case_id = "c-1";
  tr.action = Action::kResolve;
  t.body = tr;
  const std::string without = EncodeRecord(t);
  std::get<Transition>(t.body).media = {h2};
  const std::string with = EncodeRecord(t);
  EXPECT_TRUE(with.starts_with(without));
  auto back = DecodeRecord(t.seq, with);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, t);
  // Only the encoder's bytes: an empty media section is corruption.
  std::string empty = without + '\x03' + std::string(2, '\0');
  EXPECT_EQ(DecodeRecord(t.seq, empty).status().code(), StatusCode::kCorruption);
}

TEST(CodecTest, EvidenceFlagsRoundTripLastInRecordsAndCases) {
  const std::string h1(64, 'a');
  for (bool media : {false, true}) {
    Record r = ReportRecord();
    if (media) std::get<Report>(r.body).media = {h1};
    const std::string without = EncodeRecord(r);
    r.evidence = evidence::kCapturedBeforeReport | evidence::kReused;
    const std::string with = EncodeRecord(r);
    EXPECT_EQ(with, without + '\x04' + '\x03');
    auto back = DecodeRecord(r.seq, with);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, r);
    auto case_back = DecodeCase(EncodeCase(CaseFromReport(r)));
    ASSERT_TRUE(case_back.ok()) << case_back.status().ToString();
    EXPECT_EQ(case_back->evidence, r.evidence);
    // Only the encoder's bytes: no flags, unknown flags, or bytes after them.
    for (const std::string& bad :
         {without + '\x04' + '\x00', without + '\x04' + '\x10', with + '\x00'}) {
      EXPECT_EQ(DecodeRecord(r.seq, bad).status().code(), StatusCode::kCorruption);
    }
  }
  // A report's flags are its case's; lifecycle_test covers a transition's.
  Record report = ReportRecord();
  report.evidence = evidence::kCapturedBeforeReport;
  Case c = CaseFromReport(report);
  EXPECT_EQ(c.evidence, evidence::kCapturedBeforeReport);
}

TEST(CodecTest, APlacementIsTheReportRecordsLastSectionAndOnlyItsOwnBytesDecode) {
  Record r = ReportRecord();
  std::get<Report>(r.body).media = {std::string(64, 'b')};
  r.evidence = evidence::kLocationMismatch;
  const std::string without = EncodeRecord(r);
  r.place = Placement{"town-1", PlaceHow::kNamed, 1928};
  const std::string with = EncodeRecord(r);
  ASSERT_EQ(with.substr(0, without.size()), without);  // older bytes unchanged
  auto back = DecodeRecord(r.seq, with);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, r);
  // The case keeps no placement: its bytes are those of the report alone.
  Record plain = r;
  plain.place = {};
  EXPECT_EQ(EncodeCase(CaseFromReport(r)), EncodeCase(CaseFromReport(plain)));
  std::string unknown_how = with;
  unknown_how[unknown_how.size() - 5] = '\x04';
  std::string located_with_distance = with;  // a located report is never measured
  located_with_distance[located_with_distance.size() - 5] = '\x02';
  for (const std::string& bad :
       {with + '\x00', unknown_how, located_with_distance, without + '\x05'}) {
    EXPECT_EQ(DecodeRecord(r.seq, bad).status().code(), StatusCode::kCorruption);
  }
}

TEST(CodecTest, ARulesActivationCarriesItsGeographyAfterItsOlderFields) {
  Record r;
  r.seq = Seq{3};
  r.at = TimeMs{1'583'111'700'000};
  r.actor = Actor{"admin", Role::kAdmin, ""};
  r.body = RulesActivation{"{}", "{}", "v2", "", ""};
  const std::string without = EncodeRecord(r);
  std::get<RulesActivation>(r.body).geography = R"({"type":"FeatureCollection"})";
  std::get<RulesActivation>(r.body).geography_version = "town-1";
  const std::string with = EncodeRecord(r);
  ASSERT_EQ(with.substr(0, without.size()), without);
  auto back = DecodeRecord(r.seq, with);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, r);
  EXPECT_EQ(DecodeRecord(r.seq, without + '\x02').status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeRecord(r.seq, with + 'x').status().code(), StatusCode::kCorruption);
}

TEST(CodecTest, AFormatOneCaseStillDecodes) {
  const Case c = CaseFromReport(ReportRecord());
  std::string old = EncodeCase(c);
  old.resize(old.size() - 16);  // format 1 ended before warned_at and breached_at
  old[0] = 1;
  auto back = DecodeCase(old);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, c);
}

TEST(CodecTest, EveryTruncationIsCorruptionNotACrash) {
  std::string rec = EncodeRecord(ReportRecord());
  for (size_t n = 0; n < rec.size(); ++n) {
    auto r = DecodeRecord(Seq{1}, std::string_view(rec).substr(0, n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  }
  std::string cs = EncodeCase(CaseFromReport(ReportRecord()));
  for (size_t n = 0; n < cs.size(); ++n) {
    EXPECT_FALSE(DecodeCase(std::string_view(cs).substr(0, n)).ok()) << n;
  }
}

TEST(CodecTest, UnknownFormatKindAndEnumsAreRejected) {
  std::string rec = EncodeRecord(ReportRecord());
  std::string newer = rec;
  newer[0] = static_cast<char>(kRecordFormat + 1);
  EXPECT_NE(DecodeRecord(Seq{1}, newer).status().message().find("unknown record format"),
            std::string::npos);
  std::string kind = rec;
  kind[1] = 9;
  EXPECT_FALSE(DecodeRecord(Seq{1}, kind).ok());
  EXPECT_FALSE(DecodeRecord(Seq{1}, rec + "x").ok());  // trailing bytes
}

// Found by the record decoder fuzzer: an until value behind has_until = 0 decoded to
// the same record as the canonical bytes.
TEST(CodecTest, NonCanonicalTransitionBytesAreCorruption) {
  Record r = TransitionRecordWithEverything();
  std::get<Transition>(r.body).until.reset();
  std::string bytes = EncodeRecord(r);
  ASSERT_TRUE(DecodeRecord(r.seq, bytes).ok());
  bytes[bytes.size() - 1] = 0x01;  // the last byte belongs to the unused until
  auto decoded = DecodeRecord(r.seq, bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kCorruption);
}

// A comment's key and media_url ride in their own last section of the transition; a
// comment without them, and every other transition, keeps its bytes.
TEST(CodecTest, ACommentsKeyAndMediaUrlRoundTripLastAndOnlyOnComments) {
  Record r = TransitionRecordWithEverything();
  auto& t = std::get<Transition>(r.body);
  t.action = Action::kComment;
  t.until.reset();
  t.media = {std::string(64, 'c')};
  const std::string without = EncodeRecord(r);
  t.key = "update-7";
  t.media_url = "https://example.org/p.jpg";
  const std::string with = EncodeRecord(r);
  EXPECT_TRUE(with.starts_with(without));
  auto back = DecodeRecord(r.seq, with);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, r);
  for (bool keep_key : {false, true}) {
    Record one = r;
    auto& ot = std::get<Transition>(one.body);
    (keep_key ? ot.media_url : ot.key).clear();
    auto again = DecodeRecord(one.seq, EncodeRecord(one));
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(*again, one);
  }
  // The section on another action, or with both fields empty, is corruption.
  auto accept = r;
  std::get<Transition>(accept.body).action = Action::kAccept;
  const std::string accept_bytes = EncodeRecord(accept);
  EXPECT_EQ(DecodeRecord(r.seq, accept_bytes).status().code(), StatusCode::kCorruption);
  Record empty = r;
  std::get<Transition>(empty.body).key.clear();
  std::get<Transition>(empty.body).media_url.clear();
  std::string empty_bytes = EncodeRecord(empty) + '\x06' + std::string(8, '\0');
  EXPECT_EQ(DecodeRecord(r.seq, empty_bytes).status().code(), StatusCode::kCorruption);
}

// A position of (0, 0) that an outside interface's sender gave is kept in a mark right
// after the extras; a report without it keeps its bytes.
TEST(CodecTest, AZeroPositionRoundTripsAfterTheExtrasOnly) {
  Record r = ReportRecord();
  auto& report = std::get<Report>(r.body);
  report.lat = 0;
  report.lon = 0;
  report.channel = "open311";
  const std::string without = EncodeRecord(r);
  report.zero_position = true;
  report.media = {std::string(64, 'd')};
  const std::string with = EncodeRecord(r);
  auto back = DecodeRecord(r.seq, with);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, r);
  EXPECT_TRUE(std::get<Report>(back->body).has_position());
  auto case_back = DecodeCase(EncodeCase(CaseFromReport(r)));
  ASSERT_TRUE(case_back.ok());
  EXPECT_TRUE(case_back->report.zero_position);
  report.media.clear();
  EXPECT_EQ(EncodeRecord(r), without + '\x07');
  // The mark beside a position that is not (0, 0) is corruption.
  Record moved = r;
  std::get<Report>(moved.body).lat = 29.87;
  std::get<Report>(moved.body).zero_position = false;
  std::string bytes = EncodeRecord(moved) + '\x07';
  EXPECT_EQ(DecodeRecord(r.seq, bytes).status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace wangge::engine
