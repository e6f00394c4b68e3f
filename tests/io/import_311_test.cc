#include "io/import_311.h"

#include <algorithm>
#include <cstdlib>
#include <csv.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "audit/replay.h"
#include "engine/rebuild.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace wangge::io {
namespace {

// Small reference data kept in the tree (tests/data/README.md).
std::filesystem::path TestData() {
  return std::filesystem::path(WANGGE_SOURCE_DIR) / "tests" / "data";
}

// Seconds since an arbitrary origin of "M/D/YYYY h:mm:ss AM" (the test's own parser;
// durations within the sample's late-December week need no time zone).
std::optional<int64_t> Seconds(const std::string& s) {
  int mo, d, y, h, mi, sec;
  char ampm[3] = {};
  if (std::sscanf(s.c_str(), "%d/%d/%d %d:%d:%d %2s", &mo, &d, &y, &h, &mi, &sec, ampm) != 7) {
    return std::nullopt;
  }
  h = h % 12 + (std::string(ampm) == "PM" ? 12 : 0);
  const int64_t days =
      std::chrono::sys_days(std::chrono::year_month_day{
                                std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(mo)},
                                std::chrono::day{static_cast<unsigned>(d)}})
          .time_since_epoch()
          .count();
  return days * 86400 + h * 3600 + mi * 60 + sec;
}

struct Rows {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> fields;
};

std::vector<std::vector<std::string>> ParseCsv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  Rows r;
  csv_parser p;
  csv_init(&p, 0);
  auto field = [](void* s, size_t n, void* self) {
    static_cast<Rows*>(self)->fields.emplace_back(static_cast<char*>(s), n);
  };
  auto row = [](int, void* self) {
    auto* rows = static_cast<Rows*>(self);
    rows->rows.push_back(std::move(rows->fields));
    rows->fields.clear();
  };
  csv_parse(&p, text.data(), text.size(), field, row, &r);
  csv_fini(&p, field, row, &r);
  csv_free(&p);
  return r.rows;
}

int64_t LowerMedian(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v[(v.size() - 1) / 2];
}

// An engine on a new directory in `dir`, without fsync.
Result<std::unique_ptr<engine::Engine>> OpenNew(testing::TempDir& dir, testing::FakeClock& clock) {
  engine::EngineOptions o;
  o.store.path = dir.Sub("data");
  o.store.create_if_missing = true;
  o.store.sync = false;
  return engine::Engine::Open(o, clock);
}

// Imports `read` into a new directory and checks, per office, the closed cases' count and
// median duration (seconds) against `expected`, computed from the CSV by the test.
void ImportAndCompare(const Read311& read, const std::string& town,
                      const std::map<std::string, std::vector<int64_t>>& expected) {
  testing::TempDir dir;
  testing::FakeClock clock;
  auto eng = OpenNew(dir, clock);
  ASSERT_TRUE(eng.ok());
  auto report = Import311(**eng, read, RulesetFromAgencies(read.requests, town), true, nullptr);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->rejected, 0u);
  auto state = engine::RebuildInMemory((*eng)->log());
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->cases.size(), read.requests.size());
  std::map<std::string, std::vector<int64_t>> actual;
  for (const auto& [id, c] : state->cases) {
    if (c.status != engine::CaseStatus::kClosed) continue;
    actual[c.office].push_back((c.closed_at.ms - c.received_at.ms) / 1000);
  }
  ASSERT_EQ(actual.size(), expected.size());
  for (const auto& [office, durations] : expected) {
    ASSERT_TRUE(actual.contains(office)) << office;
    EXPECT_EQ(actual[office].size(), durations.size()) << office;
    EXPECT_EQ(LowerMedian(actual[office]), LowerMedian(durations)) << office;
  }
}

TEST(Import311Test, LosAngelesSampleMatchesFiguresComputedFromTheCsv) {
  const std::string path = (TestData() / "311" / "la311_2017_sample.csv").string();
  ASSERT_TRUE(std::filesystem::exists(path)) << path;

  // The expected figures, straight from the CSV: per owning agency, the requests the
  // export says were closed (with a valid closing time), and their median duration.
  auto csv = ParseCsv(path);
  ASSERT_GT(csv.size(), 1u);
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < csv[0].size(); ++i) col[csv[0][i]] = i;
  std::map<std::string, std::vector<int64_t>> expected;  // office -> durations (s)
  for (size_t r = 1; r < csv.size(); ++r) {
    const auto& row = csv[r];
    auto created = Seconds(row[col["CreatedDate"]]);
    auto closed = Seconds(row[col["ClosedDate"]]);
    if (row[col["Status"]] != "Closed" || !created || !closed || *closed < *created) continue;
    std::string owner = row[col["Owner"]];
    std::transform(owner.begin(), owner.end(), owner.begin(), ::tolower);
    expected["agency-" + owner].push_back(*closed - *created);
  }

  auto read = Read311File(path, Format311::kLosAngeles);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rows, csv.size() - 1);
  ImportAndCompare(*read, "la-test", expected);
  EXPECT_GT(expected["agency-bos"].size(), (csv.size() - 1) / 2);  // BOS owns most rows
}

// New York local time to UTC seconds for 2023 (EST, UTC-5; EDT, UTC-4 from 12 March 02:00
// to 5 November 02:00 local), computed apart from the importer's rule.
int64_t NewYork2023ToUtc(int64_t local) {
  const auto at = [](unsigned mo, unsigned d) {
    return std::chrono::sys_days(std::chrono::year{2023} / mo / d).time_since_epoch().count() *
               86400 +
           2 * 3600;
  };
  const bool summer = local >= at(3, 12) && local < at(11, 5);
  return local + (summer ? 4 : 5) * 3600;
}

TEST(Import311Test, NewYorkSampleMatchesFiguresComputedFromTheCsv) {
  const std::string path = (TestData() / "311" / "nyc311_2023-02-28_sample1200.csv").string();
  ASSERT_TRUE(std::filesystem::exists(path)) << path;

  // Per agency, from the CSV: the closed requests with a closing time not before their
  // creation, and their median duration. The sample's anomalies (closed "before" created,
  // dates far in the future) stay in and must be treated alike by both sides.
  auto csv = ParseCsv(path);
  ASSERT_GT(csv.size(), 1u);
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < csv[0].size(); ++i) col[csv[0][i]] = i;
  std::map<std::string, std::vector<int64_t>> expected;
  size_t closed_before_created = 0;
  for (size_t r = 1; r < csv.size(); ++r) {
    const auto& row = csv[r];
    auto created = Seconds(row[col["Created Date"]]);
    auto closed = Seconds(row[col["Closed Date"]]);
    if (row[col["Status"]] != "Closed" || !created || !closed) continue;
    const int64_t from = NewYork2023ToUtc(*created), to = NewYork2023ToUtc(*closed);
    if (to < from) {
      ++closed_before_created;
      continue;
    }
    std::string agency = row[col["Agency"]];
    std::transform(agency.begin(), agency.end(), agency.begin(), ::tolower);
    expected["agency-" + agency].push_back(to - from);
  }
  ASSERT_GT(closed_before_created, 0u);  // the sample's known anomaly is in the copy
  ASSERT_GE(expected.size(), 5u);

  auto read = Read311File(path, Format311::kNewYork);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rows, csv.size() - 1);
  EXPECT_EQ(read->problems.counts["closed before created"], closed_before_created);

  ImportAndCompare(*read, "nyc-test", expected);
}

constexpr const char* kLaHeader =
    "SRNumber,CreatedDate,UpdatedDate,ActionTaken,Owner,RequestType,Status,ClosedDate,"
    "NCName,ZipCode,Latitude,Longitude\n";

// A city's polygons locate the requests: here New York cut in two at 73.95° W, the
// western half named by a string and the eastern by a number.
TEST(Import311Test, ACitysPolygonsLocateTheRequestsByPosition) {
  const std::string path = (TestData() / "311" / "nyc311_2023-02-28_sample1200.csv").string();
  auto read = Read311File(path, Format311::kNewYork);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  auto box = [](double w, double e) {
    return "[[[" + std::to_string(w) + ",40.4],[" + std::to_string(e) + ",40.4],[" +
           std::to_string(e) + ",41.0],[" + std::to_string(w) + ",41.0],[" + std::to_string(w) +
           ",40.4]]]";
  };
  const std::string polygons =
      R"({"type":"FeatureCollection","features":[)"
      R"({"type":"Feature","properties":{"boro":"West"},"geometry":{"type":"Polygon","coordinates":)" +
      box(-74.3, -73.95) +
      R"(}},{"type":"Feature","properties":{"boro":2},"geometry":{"type":"Polygon","coordinates":)" +
      box(-73.95, -73.6) + "}}]}";
  EXPECT_FALSE(GeographyFromPolygons(polygons, "nyc.geojson", "name", "v").ok());
  auto city = GeographyFromPolygons(polygons, "nyc.geojson", "boro", "nyc-halves");
  ASSERT_TRUE(city.ok()) << city.status().ToString();
  EXPECT_EQ(city->areas, (std::vector<std::string>{"West", "2"}));
  // Names shared by several polygons, one of them like a numbered grid: every village is
  // declared.
  const std::string feature = R"({"type":"Feature","properties":{"boro":"NAME"},)"
                              R"("geometry":{"type":"Polygon","coordinates":)" +
                              box(-74.3, -74.2) + "}}";
  auto named = [&](const std::string& n) {
    std::string f = feature;
    return f.replace(f.find("NAME"), 4, n);
  };
  auto shared = GeographyFromPolygons(R"({"type":"FeatureCollection","features":[)" + named("A") +
                                          "," + named("A") + "," + named("A #2") + "]}",
                                      "shared.geojson", "boro", "v");
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  EXPECT_EQ(shared->areas, (std::vector<std::string>{"A", "A #2"}));

  testing::TempDir dir;
  testing::FakeClock clock;
  auto eng = OpenNew(dir, clock);
  ASSERT_TRUE(eng.ok());
  auto report = Import311(**eng, *read, RulesetFromAgencies(read->requests, "nyc", city->areas),
                          true, nullptr, city->geojson);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->rejected, 0u);
  auto state = engine::RebuildInMemory((*eng)->log());
  ASSERT_TRUE(state.ok());
  size_t located = 0;
  for (const auto& req : read->requests) {
    const auto& c = state->cases.at(req.report.client_id);
    const double lat = req.report.lat, lon = req.report.lon;
    if (lat < 40.4 || lat > 41.0 || lon < -74.3 || lon > -73.6) {
      EXPECT_EQ(c.report.grid, req.report.grid) << req.line;  // the export's, kept
      continue;
    }
    ++located;
    EXPECT_EQ(c.report.grid, lon < -73.95 ? "West" : "2") << req.line;
    EXPECT_EQ(c.report.village, c.report.grid) << req.line;
  }
  EXPECT_GT(located, read->requests.size() * 9 / 10);
}

TEST(Import311Test, MessyRowsAreCountedWithTheirLineNumbers) {
  std::string csv = kLaHeader;
  csv +=
      "1-1,12/30/2017 10:00:00 AM,,,BOS,Bulky Items,Closed,12/31/2017 09:00:00 AM,"
      "\"ECHO PARK, NC\",90026,34.07,-118.26\n";  // line 2: fine
  csv +=
      "1-2,12/30/2017 10:00:00 AM,,,BOS,\"Illegal\nDumping\",Closed,"
      "12/29/2017 09:00:00 AM,NC,90026,34.07,-118.26\n";        // lines 3-4: closed before created
  csv += "1-3,,,,BOS,Graffiti,Open,,NC,90026,34.07,-118.26\n";  // line 5: no date
  csv += "1-4,12/30/2017 10:00:00 AM,,,OCB,Graffiti,Open,,NC,90026,,\n";  // line 6: no coords
  csv +=
      "1-5,12/30/2017 10:00:00 AM,,,OCB,,Open,,N\xC3\x28"
      "C,90026,95.0,-118.2\n";                                                         // line 7
  csv += "1-1,12/30/2017 11:00:00 AM,,,BOS,Bulky Items,Open,,NC,90026,34.0,-118.0\n";  // line 8
  csv += "1-6,12/30/2017 10:00:00 AM,,,BOS\n";  // line 9: short row
  std::istringstream in(csv);
  auto read = Read311Stream(in, "messy.csv", Format311::kLosAngeles);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rows, 7u);  // the quoted line break joins lines 3 and 4
  EXPECT_EQ(read->skipped, 1u);
  const auto& c = read->problems.counts;
  EXPECT_EQ(c.at("closed before created"), 1u);
  EXPECT_EQ(c.at("missing or bad created date"), 1u);
  EXPECT_EQ(c.at("bad coordinates"), 3u);  // line 6, line 7 (lat 95), line 9
  EXPECT_EQ(c.at("odd encoding"), 1u);
  EXPECT_EQ(c.at("unknown type"), 2u);  // line 7, and line 9 has no type column
  EXPECT_EQ(c.at("repeated id"), 1u);
  EXPECT_EQ(c.at("wrong field count"), 1u);
  std::string all;
  for (const auto& l : read->problems.lines) all += l + "\n";
  EXPECT_NE(all.find("messy.csv:3: closed before created"), std::string::npos) << all;
  EXPECT_NE(all.find("messy.csv:5: missing or bad created date"), std::string::npos) << all;
  EXPECT_NE(all.find("messy.csv:8: repeated id: 1-1 already on line 2"), std::string::npos) << all;
  ASSERT_EQ(read->requests.size(), 6u);
  EXPECT_EQ(read->requests[0].report.village, "ECHO PARK, NC");
  EXPECT_TRUE(read->requests[0].closed_at.has_value());
  EXPECT_EQ(read->requests[1].report.category, "311.illegal-dumping");
  EXPECT_EQ(read->requests[1].report.text, "Illegal Dumping");
  EXPECT_FALSE(read->requests[1].closed_at.has_value());
  // Pacific Standard Time in December: 10:00 local is 18:00 UTC.
  EXPECT_EQ(FormatRfc3339(read->requests[0].report.reported_at, std::chrono::minutes{0}),
            "2017-12-30T18:00:00+00:00");
}

TEST(Import311Test, DaylightSavingTimeFollowsTheUsRule) {
  std::string csv =
      "case_enquiry_id,open_dt,closed_dt,case_status,type,department,neighborhood,ward,"
      "latitude,longitude\n"
      "1,2018-07-01 12:00:00,,Open,Dead Animal Pick-up,PWDx,Roxbury,Ward 8,42.3,-71.1\n"
      "2,2018-01-15 12:00:00,,Open,Dead Animal Pick-up,PWDx,Roxbury,Ward 8,42.3,-71.1\n";
  std::istringstream in(csv);
  auto read = Read311Stream(in, "b.csv", Format311::kBoston);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->requests.size(), 2u);
  EXPECT_EQ(FormatRfc3339(read->requests[0].report.reported_at, std::chrono::minutes{0}),
            "2018-07-01T16:00:00+00:00");  // EDT, UTC-4
  EXPECT_EQ(FormatRfc3339(read->requests[1].report.reported_at, std::chrono::minutes{0}),
            "2018-01-15T17:00:00+00:00");  // EST, UTC-5
}

TEST(Import311Test, BrokenFilesAreErrorsNamingTheLine) {
  std::istringstream unterminated(std::string(kLaHeader) +
                                  "1-1,12/30/2017 10:00:00 AM,,,BOS,\"Bulky,Open\n1-2,x\n");
  auto r1 = Read311Stream(unterminated, "u.csv", Format311::kLosAngeles);
  ASSERT_FALSE(r1.ok());
  EXPECT_NE(r1.status().message().find("u.csv:2: malformed CSV"), std::string::npos)
      << r1.status().message();

  std::istringstream wrong("Unique Key,Created Date\n1,02/28/2023 11:45:00 PM\n");
  auto r2 = Read311Stream(wrong, "w.csv", Format311::kLosAngeles);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("w.csv:1: the header has no column \"SRNumber\""),
            std::string::npos)
      << r2.status().message();

  std::istringstream empty("");
  EXPECT_FALSE(Read311Stream(empty, "e.csv", Format311::kNewYork).ok());
}

}  // namespace
}  // namespace wangge::io
