#include "wire/command_json.h"

#include <gtest/gtest.h>

#include "tests/testing/builders.h"

namespace wangge::wire {
namespace {

constexpr const char* kReportLine =
    R"({"kind": "report", "at": "2020-03-02T09:16:05+08:00", "actor": "W017", "report": )"
    R"({"client_id": "5f0c6a1e-4c1b-4a53-9d1e-0b7c2f3e9a10", "category": "env.garbage", )"
    R"("village": "V07", "grid": "V07-G3", "severity": 2, "text": "河道漂浮垃圾", "lat": 29.874, )"
    R"("lon": 120.281, "reported_at": "2020-03-02T09:15:00+08:00", "attachments": 1}})";

constexpr const char* kTransitionLine =
    R"({"kind": "transition", "at": "2020-03-03T10:00:00+08:00", "actor": "H-zz-03", )"
    R"("role": "handler", "office": "zongzhi", "case": "5f0c6a1e", )"
    R"("transition": {"action": "resolve", "note": "已清理"}})";

TEST(CommandJsonTest, DecodesTheDesignsReportExample) {
  CommandDecoder decoder;
  auto decoded = decoder.Decode(kReportLine);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const engine::Command& c = *decoded;
  const auto& r = std::get<engine::Report>(c.body);
  EXPECT_EQ(r.client_id, "5f0c6a1e-4c1b-4a53-9d1e-0b7c2f3e9a10");
  EXPECT_EQ(r.severity, 2);
  EXPECT_EQ(r.text, "河道漂浮垃圾");
  EXPECT_DOUBLE_EQ(r.lon, 120.281);
  EXPECT_EQ(r.reported_at.ms, 1'583'111'700'000);
  EXPECT_EQ(c.at->ms, 1'583'111'765'000);
  EXPECT_EQ(c.actor.id, "W017");
  EXPECT_EQ(c.actor.role, engine::Role::kWorker);
}

TEST(CommandJsonTest, DecodesATransition) {
  CommandDecoder decoder;
  auto decoded = decoder.Decode(kTransitionLine);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const engine::Command& c = *decoded;
  const auto& t = std::get<engine::Transition>(c.body);
  EXPECT_EQ(t.case_id, "5f0c6a1e");
  EXPECT_EQ(t.action, engine::Action::kResolve);
  EXPECT_EQ(t.note, "已清理");
  EXPECT_EQ(c.actor.role, engine::Role::kHandler);
  EXPECT_EQ(c.actor.office, "zongzhi");
}

TEST(CommandJsonTest, EncodeThenDecodeIsIdentity) {
  engine::Command report = testing::ReportCommand("abc");
  report.at = TimeMs{1'583'111'765'123};
  engine::Command extend =
      testing::TransitionCommand("abc", engine::Action::kExtend, testing::Supervisor());
  std::get<engine::Transition>(extend.body).until = TimeMs{1'583'200'000'000};
  // Everything JSON must escape: quotes, backslashes, newlines, other control bytes.
  std::get<engine::Transition>(extend.body).note =
      "批准延期 \"quoted\" back\\slash\nline\ttab\x01end";
  extend.at = TimeMs{1'583'111'800'000};
  engine::Command resolve =
      testing::TransitionCommand("abc", engine::Action::kResolve, testing::Supervisor());
  std::get<engine::Transition>(resolve.body).media = {std::string(64, 'c')};
  resolve.at = TimeMs{1'583'111'900'000};
  std::get<engine::Report>(report.body).media = {std::string(64, 'a'), std::string(64, 'b')};
  CommandDecoder decoder;
  for (const auto& original : {report, extend, resolve}) {
    auto back = decoder.Decode(EncodeCommand(original));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->actor, original.actor);
    EXPECT_EQ(back->at, original.at);
    EXPECT_EQ(back->body, original.body);
  }
}

TEST(CommandJsonTest, MediaMustBeDistinctSha256HashesAtMostNine) {
  CommandDecoder decoder;
  const std::string base = testing::ReportJson("m-1");
  auto with = [&](const std::string& media) {
    std::string body = base;
    body.pop_back();
    return decoder.DecodeReportBody(body + R"(, "media": )" + media + "}");
  };
  EXPECT_TRUE(with("[]").ok());
  EXPECT_TRUE(with(R"([")" + std::string(64, 'f') + R"("])").ok());
  std::string ten = "[";
  for (int i = 0; i < 10; ++i)
    ten += (i ? ",\"" : "\"") + std::string(63, 'a') + char('0' + i) + "\"";
  for (const std::string& bad :
       {std::string(R"("abc")"), std::string(R"(["ABC"])"), std::string(R"([1])"),
        R"([")" + std::string(64, 'A') + R"("])",
        R"([")" + std::string(64, 'a') + R"(",")" + std::string(64, 'a') + R"("])", ten + "]"}) {
    auto r = with(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().field(), "media") << bad;
  }
}

struct BadLine {
  std::string line;
  std::string field;    // expected Status::field()
  std::string message;  // expected substring of the message
  size_t column;        // expected column (0: not checked)
};

TEST(CommandJsonTest, MalformedLinesNameTheFieldAndColumn) {
  const std::string ok_report =
      R"("report": {"client_id": "a", "category": "c", "village": "v", )"
      R"("grid": "g", "severity": 1, "reported_at": "2020-01-01T00:00:00Z"})";
  const std::string head = R"({"kind": "report", "at": "2020-01-01T00:00:00Z", "actor": "W1", )";
  std::vector<BadLine> cases = {
      {"{", "", "malformed JSON", 0},
      {"[1,2]", "", "must be a JSON object", 1},
      {R"({"kind": "report"} extra)", "", "", 0},
      {head + R"("report": {"client_id": "a", "category": "c", "village": "v", "grid": "g", )"
              R"("severity": 9, "reported_at": "2020-01-01T00:00:00Z"}})",
       "report.severity", "1-4", 0},
      {head + R"("report": {"client_id": "a", "category": "c", "village": "v", "grid": "g", )"
              R"("severity": "high", "reported_at": "2020-01-01T00:00:00Z"}})",
       "report.severity", "integer", 0},
      {head + R"("report": {"client_id": "", "category": "c", "village": "v", "grid": "g", )"
              R"("severity": 1, "reported_at": "2020-01-01T00:00:00Z"}})",
       "report.client_id", "required", 0},
      {head + R"("report": {"client_id": "a", "category": "c", "village": "v", "grid": "g", )"
              R"("severity": 1, "reported_at": "yesterday"}})",
       "report.reported_at", "RFC 3339", 0},
      {head + R"("report": {"client_id": "a", "category": "c", "village": "v", "grid": "g", )"
              R"("severity": 1, "lat": 95, "reported_at": "2020-01-01T00:00:00Z"}})",
       "report.lat", "-90..90", 0},
      {head + R"("report": {"client_id": "a", "colour": "red"}})", "report.colour", "unknown", 0},
      {R"({"kind": "report", "actor": "W1", )" + ok_report + "}", "at", "required", 0},
      {R"({"kind": "report", "at": "2020-01-01T00:00:00Z", )" + ok_report + "}", "actor",
       "required", 0},
      // Found by the command decoder fuzzer: repeated and misplaced fields were dropped.
      {R"({"kind": "report", "at": "2020-01-01T00:00:00Z", "actor": "W1", "actor": "W2", )" +
           ok_report + "}",
       "actor", "duplicate field actor", 74},
      {head + R"("case": "x", )" + ok_report + "}", "case", "has no case", 0},
      // Found by the fuzzer in CI: a handler's report lost its role on re-encoding.
      {head + R"("role": "handler", "office": "zongzhi", )" + ok_report + "}", "role",
       "role must be worker", 0},
      {head + R"("office": "zongzhi", )" + ok_report + "}", "office", "only with role handler", 0},
      {head + R"("report": {"client_id": "a", "client_id": "b"}})", "report.client_id",
       "duplicate field", 0},
      {R"({"kind": "rules", "at": "2020-01-01T00:00:00Z", "actor": "a"})", "kind", "unsupported",
       0},
      {R"({"kind": "transition", "at": "2020-01-01T00:00:00Z", "actor": "H", "role": "handler", )"
       R"("case": "x", "transition": {"action": "accept"}})",
       "office", "office", 0},
      {R"({"kind": "transition", "at": "2020-01-01T00:00:00Z", "actor": "H", "role": "king", )"
       R"("case": "x", "transition": {"action": "accept"}})",
       "role", "unknown role", 76},
      {R"({"kind": "transition", "at": "2020-01-01T00:00:00Z", "actor": "T", "role": "system", )"
       R"("case": "x", "transition": {"action": "accept"}})",
       "role", "unknown role", 76},
      {R"({"kind": "transition", "at": "2020-01-01T00:00:00Z", "actor": "S", "role": "supervisor", )"
       R"("case": "x", "transition": {"action": "fly"}})",
       "transition.action", "unknown action", 128},
  };
  CommandDecoder decoder;
  for (const auto& bad : cases) {
    const Status err = decoder.Decode(bad.line).status();
    EXPECT_FALSE(err.ok()) << bad.line;
    EXPECT_EQ(err.code(), StatusCode::kInvalidArgument) << bad.line;
    EXPECT_EQ(err.field(), bad.field) << bad.line << " -> " << err.ToString();
    EXPECT_NE(err.message().find(bad.message), std::string::npos)
        << bad.line << " -> " << err.ToString();
    if (bad.column != 0) {
      EXPECT_EQ(decoder.error_column(), bad.column) << bad.line;
    }
  }
}

TEST(CommandJsonTest, TimerCommandsRoundTripAndNameNoActor) {
  engine::Command timer{engine::Actor{"timer", engine::Role::kSystem, ""},
                        TimeMs{1'583'111'700'000},
                        engine::TimerFired{"case-7", engine::TimerKind::kBreach, {}}};
  const std::string line = EncodeCommand(timer);
  CommandDecoder decoder;
  auto c = decoder.Decode(line);
  ASSERT_TRUE(c.ok()) << line << ": " << c.status().ToString();
  EXPECT_EQ(c->actor, timer.actor);
  EXPECT_EQ(c->at, timer.at);
  EXPECT_EQ(std::get<engine::TimerFired>(c->body), std::get<engine::TimerFired>(timer.body));
  const std::pair<const char*, const char*> bad[] = {
      {R"({"kind":"timer","at":"2020-03-02T09:15:00+08:00","case":"c","timer":"late"})", "timer"},
      {R"({"kind":"timer","at":"2020-03-02T09:15:00+08:00","timer":"deadline_breach"})", "case"},
      {R"({"kind":"timer","at":"2020-03-02T09:15:00+08:00","actor":"W1","case":"c","timer":"deadline_breach"})",
       "actor"},
      {R"({"kind":"timer","case":"c","timer":"deadline_breach"})", "at"},
      {R"({"kind":"transition","at":"2020-03-02T09:15:00+08:00","actor":"S","role":"supervisor","case":"c","timer":"deadline_breach","transition":{"action":"cancel","note":"x"}})",
       "timer"},
  };
  for (const auto& [text, field] : bad) {
    SCOPED_TRACE(text);
    const Status err = decoder.Decode(text).status();
    EXPECT_FALSE(err.ok());
    EXPECT_EQ(err.field(), field) << err.ToString();
  }
}

TEST(CommandJsonTest, OversizedLineIsRefused) {
  CommandDecoder decoder;
  std::string huge(kMaxLineBytes + 1, ' ');
  const Status err = decoder.Decode(huge).status();
  EXPECT_FALSE(err.ok());
  EXPECT_NE(err.message().find("longer"), std::string::npos);
}

}  // namespace
}  // namespace wangge::wire

namespace wangge::wire {
namespace {

TEST(CommandJsonBodyTest, DecodesReportAndTransitionBodies) {
  CommandDecoder decoder;
  auto r = decoder.DecodeReportBody(
      R"({"client_id": "5f0c6a1e-4c1b-4a53-9d1e-0b7c2f3e9a10", "category": "env.garbage",
          "village": "V07", "grid": "V07-G3", "severity": 2, "text": "河道漂浮垃圾",
          "lat": 29.874, "lon": 120.281, "reported_at": "2020-03-02T09:15:00+08:00", "attachments": 1})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->category, "env.garbage");
  EXPECT_EQ(r->reported_at.ms, 1'583'111'700'000);
  auto t = decoder.DecodeTransitionBody(
      R"({"action": "extend", "note": "批准延期", "until": "2020-03-09T10:00:00+08:00"})");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->action, engine::Action::kExtend);
  EXPECT_TRUE(t->until.has_value());
}

// A position from a Chinese map SDK says so and is stored as WGS 84; the default is WGS 84.
TEST(CommandJsonBodyTest, AGcj02PositionIsStoredAsWgs84) {
  CommandDecoder decoder;
  auto body = [](const std::string& crs) {
    return R"({"client_id": "c-1", "category": "env.garbage", "village": "V07", "grid": "V07-G3",
               "severity": 2, "lat": 39.91640428150164, "lon": 116.41024449916938,)" +
           crs + R"( "reported_at": "2020-03-02T09:15:00+08:00"})";
  };
  auto gcj = decoder.DecodeReportBody(body(R"("crs": "gcj02",)"));
  ASSERT_TRUE(gcj.ok()) << gcj.status().ToString();
  EXPECT_NEAR(gcj->lat, 39.915, 1e-7);  // the published WGS 84 point of this GCJ-02 one
  EXPECT_NEAR(gcj->lon, 116.404, 1e-7);
  auto wgs = decoder.DecodeReportBody(body(R"("crs": "wgs84",)"));
  ASSERT_TRUE(wgs.ok());
  EXPECT_DOUBLE_EQ(wgs->lat, 39.91640428150164);
  auto bad = decoder.DecodeReportBody(body(R"("crs": "bd09",)"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().field(), "crs");
}

TEST(CommandJsonBodyTest, BodyErrorsNameTheBareField) {
  CommandDecoder decoder;
  struct Case {
    bool report;
    std::string body;
    std::string field;
    std::string message;
  } cases[] = {
      {true, R"({"client_id": "a", "category": "c", "village": "v", "grid": "g", "severity": 7,
                 "reported_at": "2020-01-01T00:00:00Z"})",
       "severity", "severity must be 1-4"},
      {true, R"({"client_id": "a", "category": "c", "village": "v", "grid": "g", "severity": 1})",
       "reported_at", "reported_at is required"},
      {true, R"({"client_id": "a", "client_id": "b"})", "client_id", "duplicate field"},
      {true, R"({"client_id": 5})", "client_id", "must be a string"},
      {true, R"([1])", "body", "must be an object"},
      {true, R"({"client_id": "a", "category": "c", "village": "v", "grid": "g", "severity": 1,
                 "reported_at": "2020-01-01T00:00:00Z"} {})",
       "", "trailing content"},
      {true, "{\"text\": \"\xff\"}", "", "malformed JSON"},
      {false, R"({"note": "x"})", "action", "action is required"},
      {false, R"({"action": "fly"})", "action", "unknown action"},
      {false, R"({"action": "verify", "satisfaction": 9})", "satisfaction", "1-5"},
      {false, R"({"action": "accept", "actor": "me"})", "actor", "unknown field"},
  };
  for (const auto& c : cases) {
    const Status err = c.report ? decoder.DecodeReportBody(c.body).status()
                                : decoder.DecodeTransitionBody(c.body).status();
    EXPECT_FALSE(err.ok()) << c.body;
    EXPECT_EQ(err.field(), c.field) << c.body << " -> " << err.ToString();
    EXPECT_NE(err.message().find(c.message), std::string::npos)
        << c.body << " -> " << err.ToString();
  }
  std::string huge = R"({"text": ")" + std::string(kMaxLineBytes, 'x') + "\"}";
  const Status err = decoder.DecodeReportBody(huge).status();
  EXPECT_FALSE(err.ok());
  EXPECT_NE(err.message().find("longer"), std::string::npos);
}

}  // namespace
}  // namespace wangge::wire
