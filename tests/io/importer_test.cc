#include "io/importer.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "audit/replay.h"
#include "io/generator.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"
#include "wire/command_json.h"

namespace wangge::io {
using wire::EncodeCommand;
namespace {

class ImporterTest : public ::testing::Test {
 protected:
  std::unique_ptr<engine::Engine> Open() {
    engine::EngineOptions o;
    o.store.path = dir_.Sub("data");
    o.store.create_if_missing = true;
    auto e = engine::Engine::Open(o, clock_);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return std::move(e).value();
  }

  std::string WriteGenerated(uint64_t reports) {
    std::string path = dir_.Sub("year.ndjson");
    std::ofstream out(path);
    io::GeneratorOptions o;
    o.reports = reports;
    EXPECT_TRUE(io::GenerateTownYear(o, *rules::Ruleset::BuiltIn(), [&](const engine::Command& c) {
                  out << EncodeCommand(c) << "\n";
                }).ok());
    return path;
  }

  // Report commands in a stream (the generator adds ~1% duplicate reports).
  static uint64_t CountReports(const std::string& path) {
    std::ifstream in(path);
    uint64_t n = 0;
    for (std::string line; std::getline(in, line);) {
      n += line.starts_with(R"({"kind":"report")") ? 1 : 0;
    }
    return n;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
};

TEST_F(ImporterTest, ImportsAGeneratedStreamAndCountsOutcomes) {
  std::string path = WriteGenerated(300);
  auto engine = Open();
  std::ostringstream progress;
  auto report = ImportFile(*engine, ImportOptions{path, 64, 50, 0}, &progress);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const uint64_t reports = CountReports(path);
  EXPECT_GE(reports, 300u);
  EXPECT_EQ(report->created, reports);
  EXPECT_EQ(report->rejected, 0u);
  EXPECT_EQ(report->created + report->applied, report->lines);
  // The store's first record activated the built-in ruleset.
  EXPECT_EQ(engine->head().seq.value, report->lines + 1);
  EXPECT_NE(progress.str().find("import:"), std::string::npos);

  // Importing the same file again changes nothing: reports are duplicates and the
  // transitions are illegal from the cases' final states.
  auto again = ImportFile(*engine, ImportOptions{path, 64, 5, 0}, nullptr);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->duplicates, reports);
  EXPECT_EQ(again->rejected, again->lines - reports);
  EXPECT_EQ(again->errors.size(), 5u);
  EXPECT_NE(again->errors[0].find("year.ndjson:"), std::string::npos);
  EXPECT_EQ(engine->head().seq.value, report->lines + 1);
}

TEST_F(ImporterTest, AMalformedLineMeansNothingIsWritten) {
  std::string path = WriteGenerated(20);
  {
    std::ofstream out(path, std::ios::app);
    out << R"({"kind": "report", "at": "2020-01-01T00:00:00Z", "actor": "W1", "report": {"severity": 7}})"
        << "\n";
  }
  std::ifstream in(path);
  size_t lines = 0;
  for (std::string l; std::getline(in, l);) ++lines;
  auto engine = Open();
  auto report = ImportFile(*engine, ImportOptions{path, 64, 50, 0}, nullptr);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
  const std::string where = path + ":" + std::to_string(lines) + ":";
  EXPECT_NE(report.status().message().find(where), std::string::npos) << report.status().message();
  EXPECT_NE(report.status().message().find("report.severity"), std::string::npos);
  EXPECT_EQ(engine->head().seq.value, 1u);  // only the ruleset activation
}

TEST_F(ImporterTest, CheckFileCountsCommandsAndWritesNothing) {
  std::string path = WriteGenerated(10);
  auto lines = CheckFile(ImportOptions{path, 64, 50, 0});
  ASSERT_TRUE(lines.ok()) << lines.status().ToString();
  EXPECT_GT(*lines, 10u);
  auto engine = Open();
  auto report = ImportFile(*engine, ImportOptions{path, 64, 50, *lines}, nullptr);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->lines, *lines);
  EXPECT_EQ(report->created, CountReports(path));
}

TEST_F(ImporterTest, MissingFileIsNotFound) {
  auto engine = Open();
  auto report = ImportFile(*engine, ImportOptions{dir_.Sub("absent.ndjson"), 64, 50, 0}, nullptr);
  EXPECT_EQ(report.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace wangge::io
