// The wangge binary end to end: exit codes and messages of gen, import and info.
#include <cstdio>
#include <fstream>
#include <string>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include "tests/testing/temp_dir.h"

namespace {

struct CliRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

CliRun Wangge(const std::string& args) {
  CliRun run;
  std::string cmd = std::string(WANGGE_BINARY) + " " + args + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) run.output.append(buf, n);
  int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

TEST(CliTest, GenImportAndCheckATownYear) {
  wangge::testing::TempDir dir;
  const std::string year = dir.Sub("year.ndjson"), data = dir.Sub("data");
  CliRun gen = Wangge("gen --reports 400 --seed 3 --out " + year);
  ASSERT_EQ(gen.exit_code, 0) << gen.output;
  CliRun import = Wangge("import --data " + data + " --create " + year);
  ASSERT_EQ(import.exit_code, 0) << import.output;
  EXPECT_NE(import.output.find("400 cases created"), std::string::npos) << import.output;
  CliRun info = Wangge("info --data " + data + " --check");
  EXPECT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("cases: 400, 400 closed"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("check: OK"), std::string::npos) << info.output;
  // Re-importing is idempotent for reports and refuses the replayed transitions.
  CliRun again = Wangge("import --data " + data + " " + year);
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_NE(again.output.find("400 duplicates"), std::string::npos) << again.output;
}

TEST(CliTest, ErrorsHaveDistinctExitCodes) {
  wangge::testing::TempDir dir;
  CliRun missing = Wangge("info --data " + dir.Sub("absent"));
  EXPECT_EQ(missing.exit_code, 3) << missing.output;
  EXPECT_NE(missing.output.find("--create"), std::string::npos);

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
