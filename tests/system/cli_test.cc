// The wangge binary end to end: exit codes and messages of gen, import and info.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "ingest/local_server.h"
#include "ingest/tokens.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/http_client.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wangge_process.h"

namespace {

using wangge::testing::CliRun;
using wangge::testing::Wangge;

TEST(CliTest, GenImportAndCheckATownYear) {
  wangge::testing::TempDir dir;
  const std::string year = dir.Sub("year.ndjson"), data = dir.Sub("data");
  CliRun gen = Wangge("gen --reports 400 --seed 3 --out " + year);
  ASSERT_EQ(gen.exit_code, 0) << gen.output;
  uint64_t reports = 0;  // the generator adds ~1% duplicate reports, later cancelled
  {
    std::ifstream in(year);
    for (std::string line; std::getline(in, line);) {
      reports += line.starts_with(R"({"kind":"report")") ? 1 : 0;
    }
  }
  ASSERT_GE(reports, 400u);
  CliRun import = Wangge("import --data " + data + " --create " + year);
  ASSERT_EQ(import.exit_code, 0) << import.output;
  EXPECT_NE(import.output.find(std::to_string(reports) + " cases created"), std::string::npos)
      << import.output;
  CliRun info = Wangge("info --data " + data + " --check");
  EXPECT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("cases: " + std::to_string(reports) + ", " +
                             std::to_string(reports - 400) + " cancelled, 400 closed"),
            std::string::npos)
      << info.output;
  EXPECT_NE(info.output.find("check: OK"), std::string::npos) << info.output;
  // Re-importing is idempotent for reports and refuses the replayed transitions.
  CliRun again = Wangge("import --data " + data + " " + year);
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_NE(again.output.find(std::to_string(reports) + " duplicates"), std::string::npos)
      << again.output;
}

TEST(CliTest, ErrorsHaveDistinctExitCodes) {
  wangge::testing::TempDir dir;
  CliRun missing = Wangge("info --data " + dir.Sub("absent"));
  EXPECT_EQ(missing.exit_code, 3) << missing.output;
  EXPECT_NE(missing.output.find("does not exist"), std::string::npos) << missing.output;
  const std::string stream = dir.Sub("empty.ndjson");
  std::ofstream(stream) << "";
  CliRun uncreated = Wangge("import --data " + dir.Sub("absent") + " " + stream);
  EXPECT_EQ(uncreated.exit_code, 3) << uncreated.output;
  EXPECT_NE(uncreated.output.find("pass --create"), std::string::npos) << uncreated.output;

  const std::string bad = dir.Sub("bad.ndjson");
  std::ofstream(bad) << "{\"kind\": \"report\", \"at\": 5}\n";
  CliRun import = Wangge("import --data " + dir.Sub("data") + " --create " + bad);
  EXPECT_EQ(import.exit_code, 2) << import.output;
  EXPECT_NE(import.output.find("bad.ndjson:1:"), std::string::npos) << import.output;
  EXPECT_FALSE(std::ifstream(dir.Sub("data") + "/CURRENT").good());  // nothing created

  CliRun usage = Wangge("import");
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
  EXPECT_NE(usage.output.find("--data"), std::string::npos) << usage.output;
  EXPECT_EQ(Wangge("--help").exit_code, 0);
}

}  // namespace

namespace {

TEST(CliTest, RulesCheckTestExplainAndActivate) {
  wangge::testing::TempDir dir;
  const std::string rules = std::string(WANGGE_SOURCE_DIR) + "/rules/default.json";
  const std::string tests = std::string(WANGGE_SOURCE_DIR) + "/rules/default.tests.json";
  CliRun check = Wangge("rules check " + rules);
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("version default-2026.1"), std::string::npos) << check.output;

  CliRun test = Wangge("rules test " + rules + " " + tests);
  EXPECT_EQ(test.exit_code, 0) << test.output;
  EXPECT_NE(test.output.find(" passed, 0 failed"), std::string::npos) << test.output;

  const std::string wrong = dir.Sub("wrong.tests.json");
  std::ofstream(wrong) << R"({"cases": [{"name": "garbage to the wrong office", "report":
    {"category": "env.garbage", "severity": 2, "village": "V01", "received_at": "2020-03-02T10:00:00+08:00"},
    "expect": {"office": "bianmin"}}]})";
  CliRun failing = Wangge("rules test " + rules + " " + wrong);
  EXPECT_EQ(failing.exit_code, 1) << failing.output;
  EXPECT_NE(failing.output.find("FAIL garbage to the wrong office"), std::string::npos);
  EXPECT_NE(failing.output.find("0 passed, 1 failed"), std::string::npos) << failing.output;

  const std::string report = dir.Sub("report.json");
  std::ofstream(report) << R"({"category": "safety.gas", "severity": 4, "village": "V20",
    "received_at": "2020-03-02T22:00:00+08:00"})";
  CliRun explain = Wangge("rules explain " + rules + " " + report);
  EXPECT_EQ(explain.exit_code, 0) << explain.output;
  EXPECT_NE(explain.output.find("office xb-yingji"), std::string::npos) << explain.output;
  EXPECT_NE(explain.output.find("minor-in-village         category safety.gas not in"),
            std::string::npos)
      << explain.output;
  EXPECT_NE(explain.output.find("✔ off-hours-emergency"), std::string::npos) << explain.output;

  const std::string data = dir.Sub("data");
  const std::string bad = dir.Sub("bad.json");
  std::ofstream(bad)
      << "{\"version\": \"x\",\n \"offices\": [{\"id\": \"a\", \"level\": \"moon\"}]}";
  CliRun bad_check = Wangge("rules check " + bad);
  EXPECT_EQ(bad_check.exit_code, 2) << bad_check.output;
  EXPECT_NE(bad_check.output.find("bad.json:2:"), std::string::npos) << bad_check.output;
  CliRun bad_activate = Wangge("rules activate --data " + data + " " + bad);
  EXPECT_EQ(bad_activate.exit_code, 2);
  EXPECT_FALSE(std::ifstream(data + "/CURRENT").good());  // nothing opened or created

  const std::string year = dir.Sub("y.ndjson");
  ASSERT_EQ(Wangge("gen --reports 20 --out " + year).exit_code, 0);
  ASSERT_EQ(Wangge("import --data " + data + " --create " + year).exit_code, 0);
  const std::string v2 = dir.Sub("v2.json");
  {
    std::ifstream in(rules);
    std::stringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    s.replace(s.find("default-2026.1"), 14, "default-2026.2");
    std::ofstream(v2) << s;
  }
  CliRun activate = Wangge("rules activate --data " + data + " " + v2);
  EXPECT_EQ(activate.exit_code, 0) << activate.output;
  CliRun info = Wangge("info --data " + data + " --check");
  EXPECT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("rules: default-2026.2 active"), std::string::npos) << info.output;
}

}  // namespace

namespace {

TEST(CliTest, GeoCheckAndLocate) {
  wangge::testing::TempDir dir;
  auto square = [](const std::string& grid, double w) {
    const std::string ring = "[[" + std::to_string(w) + ",29.87],[" + std::to_string(w + 0.01) +
                             ",29.87],[" + std::to_string(w + 0.01) + ",29.88],[" +
                             std::to_string(w) + ",29.88],[" + std::to_string(w) + ",29.87]]";
    return R"({"type":"Feature","properties":{"grid":")" + grid +
           R"(","village":"V07"},"geometry":{"type":"Polygon","coordinates":[)" + ring + "]}}";
  };
  // Two grids side by side, the second starting `second_w` degrees east: a file at `path`.
  auto write_two = [&](const std::string& path, double second_w) {
    std::ofstream(path) << R"({"type":"FeatureCollection","version":"t1","features":[)"
                        << square("V07-G1", 120.27) << ",\n"
                        << square("V07-G2", second_w) << "]}";
    return path;
  };
  const std::string good = write_two(dir.Sub("town.geojson"), 120.28);
  CliRun check = Wangge("geo check " + good);
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("OK, version t1, 2 grids in 1 villages"), std::string::npos)
      << check.output;
  CliRun in = Wangge("geo locate " + good + " --lat 29.875 --lon 120.285");
  EXPECT_NE(in.output.find("grid V07-G2 in village V07"), std::string::npos) << in.output;
  CliRun out = Wangge("geo locate " + good + " --lat 29.875 --lon 120.301");
  EXPECT_NE(out.output.find("outside every grid; nearest grid V07-G2"), std::string::npos)
      << out.output;
  // A GCJ-02 position is converted first: here about 500 m west, into the first grid.
  CliRun gcj = Wangge("geo locate " + good + " --gcj02 --lat 29.8725 --lon 120.2800");
  EXPECT_NE(gcj.output.find("grid V07-G1"), std::string::npos) << gcj.output;

  const std::string overlapping = write_two(dir.Sub("bad.geojson"), 120.275);
  CliRun bad = Wangge("geo check " + overlapping);
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("bad.geojson:2:1: features[1] (grid V07-G2): overlaps grid V07-G1"),
            std::string::npos)
      << bad.output;
  EXPECT_EQ(Wangge("geo check " + dir.Sub("missing.geojson")).exit_code, 2);
}

// The generated town's geography checks, activates through the log, and places the
// reports imported after it; `case` shows the placement.
TEST(CliTest, GenGeographyActivatesAndPlacesLaterReports) {
  wangge::testing::TempDir dir;
  const std::string geo = dir.Sub("town.geojson"), y1 = dir.Sub("y1"), y2 = dir.Sub("y2");
  const std::string data = dir.Sub("data");
  ASSERT_EQ(Wangge("gen --reports 200 --seed 5 --out " + y1 + " --geography-out " + geo).exit_code,
            0);
  CliRun check = Wangge("geo check " + geo);
  EXPECT_NE(check.output.find("OK, version gen-5-40, 200 grids in 40 villages"), std::string::npos)
      << check.output;
  ASSERT_EQ(Wangge("import --data " + data + " --create " + y1).exit_code, 0);
  // A file that does not check changes nothing.
  std::ofstream(dir.Sub("bad.geojson")) << R"({"type": "FeatureCollection"})";
  CliRun bad = Wangge("geo activate " + dir.Sub("bad.geojson") + " --data " + data);
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("bad.geojson:1:1"), std::string::npos) << bad.output;
  CliRun activate = Wangge("geo activate " + geo + " --data " + data);
  ASSERT_EQ(activate.exit_code, 0) << activate.output;
  EXPECT_NE(activate.output.find("activated geography gen-5-40 (200 grids) with ruleset"),
            std::string::npos)
      << activate.output;

  ASSERT_EQ(Wangge("gen --reports 50 --seed 6 --out " + y2).exit_code, 0);
  ASSERT_EQ(Wangge("import --data " + data + " " + y2).exit_code, 0);
  std::ifstream lines(y2);
  std::string line, id;
  while (id.empty() && std::getline(lines, line)) {
    auto v = boost::json::parse(line).as_object();
    if (v.contains("report")) id = std::string(v.at("report").at("client_id").as_string());
  }
  ASSERT_FALSE(id.empty());
  CliRun c = Wangge("case --data " + data + " " + id);
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_NE(c.output.find(" m from grid "), std::string::npos) << c.output;
  EXPECT_NE(c.output.find("in geography gen-5-40"), std::string::npos) << c.output;
  EXPECT_EQ(Wangge("info --data " + data + " --check").exit_code, 0);
}

TEST(CliTest, TokenAddPrintsTheTokenOnceAndStoresItsHash) {
  wangge::testing::TempDir dir;
  const std::string file = dir.Sub("tokens");
  CliRun add = Wangge("token add --tokens " + file + " --actor W017 --role worker");
  ASSERT_EQ(add.exit_code, 0) << add.output;
  const size_t at = add.output.find("wg_");
  ASSERT_NE(at, std::string::npos) << add.output;
  const std::string token = add.output.substr(at, add.output.find('\n', at) - at);
  EXPECT_EQ(token.size(), 3u + 64u);  // "wg_" + 32 random bytes in hex
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find(token), std::string::npos);
  EXPECT_NE(text.find(" W017 worker"), std::string::npos) << text;

  EXPECT_EQ(Wangge("token add --tokens " + file + " --actor H1 --role handler").exit_code, 2);
  EXPECT_EQ(Wangge("token add --tokens " + file + " --actor X --role king").exit_code, 2);
  std::ofstream(file, std::ios::app) << "garbage line here\n";
  CliRun broken = Wangge("token add --tokens " + file + " --actor S1 --role supervisor");
  EXPECT_EQ(broken.exit_code, 2) << broken.output;
  EXPECT_NE(broken.output.find(":2:1:"), std::string::npos) << broken.output;
}

// `wangge stats` and GET /v1/stats give the same figures for the same query.
TEST(CliTest, StatsFromTheCommandEqualStatsFromTheServer) {
  wangge::testing::TempDir dir;
  const std::string year = dir.Sub("year.ndjson"), data = dir.Sub("data");
  ASSERT_EQ(Wangge("gen --reports 600 --seed 5 --out " + year).exit_code, 0);
  ASSERT_EQ(Wangge("import --data " + data + " --create --no-sync " + year).exit_code, 0);
  const std::string as_of = "2021-06-01T00:00:00+08:00";  // after the last event
  const std::string query = "--from 2020-02-01 --to 2020-11-30 --group-by office --as-of " + as_of;
  CliRun cli = Wangge("stats --data " + data + " --json " + query);
  ASSERT_EQ(cli.exit_code, 0) << cli.output;
  auto from_cli = boost::json::parse(cli.output).as_object();
  int64_t total = 0;
  for (const auto& row : from_cli.at("rows").as_array()) total += row.at("total").as_int64();
  EXPECT_GT(total, 400);

  wangge::testing::FakeClock clock;
  wangge::engine::EngineOptions o;
  o.store.path = data;
  auto engine = wangge::engine::Engine::Open(o, clock);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  auto made = wangge::ingest::TokenStore::NewToken({"S-1", wangge::engine::Role::kSupervisor, ""});
  ASSERT_TRUE(made.ok());
  auto tokens = wangge::ingest::TokenStore::Parse(made->second + "\n", "tokens");
  ASSERT_TRUE(tokens.ok());
  wangge::ingest::ServerOptions so;
  so.port = 0;
  wangge::ingest::LocalServer server(**engine, *tokens, clock, so);
  ASSERT_TRUE(server.Start().ok());
  const auto res = wangge::testing::Fetch(
      server.port(), boost::beast::http::verb::get,
      "/v1/stats?from=2020-02-01&to=2020-11-30&group_by=office&as_of=2021-06-01T00:00:00%2B08:00",
      wangge::testing::Bearer(made->first));
  server.Stop();
  (*engine)->Stop();
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(boost::json::parse(res.body), from_cli);

  CliRun csv = Wangge("stats --data " + data + " --csv " + query);
  ASSERT_EQ(csv.exit_code, 0) << csv.output;
  EXPECT_EQ(std::count(csv.output.begin(), csv.output.end(), '\n'),
            static_cast<long>(from_cli.at("rows").as_array().size()) + 1);
  CliRun bad = Wangge("stats --data " + data + " --group-by colour");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("group_by"), std::string::npos) << bad.output;
}

TEST(CliTest, OverdueListsOpenCasesOldestDeadlineFirst) {
  wangge::testing::TempDir dir;
  const std::string stream = dir.Sub("open.ndjson"), data = dir.Sub("data");
  {
    std::ofstream out(stream);
    // Severity 4 gets a shorter limit than 1, so the later report is due first.
    const std::pair<const char*, int> reports[] = {{"2020-03-02T09:00:00+08:00", 1},
                                                   {"2020-03-03T09:00:00+08:00", 4},
                                                   {"2020-03-04T09:00:00+08:00", 1}};
    int n = 0;
    for (const auto& [at, severity] : reports) {
      out << R"({"kind":"report","at":")" << at << R"(","actor":"W017","report":{"client_id":"od-)"
          << n++ << R"(","category":"env.garbage","village":"V07","grid":"V07-G3","severity":)"
          << severity << R"(,"reported_at":")" << at << "\"}}\n";
    }
  }
  ASSERT_EQ(Wangge("import --data " + data + " --create --no-sync " + stream).exit_code, 0);
  CliRun json = Wangge("overdue --data " + data + " --as-of 2020-04-01T00:00:00+08:00 --json");
  ASSERT_EQ(json.exit_code, 0) << json.output;
  auto rows = boost::json::parse(json.output).as_array();
  ASSERT_EQ(rows.size(), 3u) << json.output;
  std::vector<std::string> deadlines;
  for (const auto& r : rows) deadlines.emplace_back(r.at("deadline").as_string());
  EXPECT_TRUE(std::is_sorted(deadlines.begin(), deadlines.end())) << json.output;
  CliRun none = Wangge("overdue --data " + data + " --as-of 2020-03-02T10:00:00+08:00");
  EXPECT_NE(none.output.find("0 overdue"), std::string::npos) << none.output;
  CliRun one = Wangge("overdue --data " + data + " --as-of 2020-04-01T00:00:00+08:00 --limit 1");
  EXPECT_NE(one.output.find("1 overdue"), std::string::npos) << one.output;
  EXPECT_NE(one.output.find("more"), std::string::npos) << one.output;
  CliRun elsewhere =
      Wangge("overdue --data " + data + " --as-of 2020-04-01T00:00:00+08:00 --office shichang");
  EXPECT_NE(elsewhere.output.find("0 overdue"), std::string::npos) << elsewhere.output;
}

}  // namespace
