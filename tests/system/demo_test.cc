// `wangge demo` end to end as a process: it builds its data, checks it, serves, and
// stops cleanly on SIGTERM.
#include <chrono>
#include <cstdio>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "engine/engine.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

extern char** environ;

namespace {

TEST(DemoTest, GeneratesChecksServesAndStopsCleanly) {
  wangge::testing::TempDir dir;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<std::string> args = {WANGGE_BINARY,   "demo",     "--data",
                                   dir.Sub("data"), "--listen", "127.0.0.1:0"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, WANGGE_BINARY, &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  // Read until the last line of the demo's instructions, for at most two minutes.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (out.find("/metrics\n") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    if ((n = ::read(fds[0], buf, sizeof buf)) <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  EXPECT_NE(out.find("hash chain and derived state check out"), std::string::npos) << out;
  // The year's closure figures: a generated year closes nearly everything, mostly on time.
  const size_t at = out.find("Closure: ");
  ASSERT_NE(at, std::string::npos) << out;
  int cases = 0;
  double closed = 0, on_time = 0;
  ASSERT_EQ(std::sscanf(out.c_str() + at, "Closure: %d cases, %lf%% closed, %lf%% of those on time",
                        &cases, &closed, &on_time),
            3)
      << out;
  EXPECT_GT(cases, 18000);
  EXPECT_GT(closed, 95.0);
  EXPECT_GT(on_time, 70.0);
  EXPECT_LT(on_time, 100.0);
  EXPECT_NE(out.find("Serving http://127.0.0.1:"), std::string::npos) << out;
  EXPECT_NE(out.find("/v1/cases?overdue=true"), std::string::npos) << out;
  for (const char* role : {"worker", "handler", "supervisor", "auditor", "admin"}) {
    EXPECT_NE(out.find(std::string("\n") + role), std::string::npos) << role;
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  // Evidence out of the box: a few hundred cases carry photos, each stored and referenced.
  wangge::testing::FakeClock clock;
  wangge::engine::EngineOptions o;
  o.store.path = dir.Sub("data");
  o.store.read_only = true;
  auto engine = wangge::engine::Engine::Open(o, clock);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  size_t photos = 0, referenced = 0;
  ASSERT_TRUE((*engine)
                  ->ForEachMedia([&](std::string_view hash, const wangge::engine::MediaInfo& info) {
                    ++photos;
                    EXPECT_EQ(info.type, "image/jpeg");
                    auto refs = (*engine)->MediaCases(hash);
                    if (refs.ok() && !refs->empty()) ++referenced;
                    return true;
                  })
                  .ok());
  EXPECT_EQ(photos, 600u);
  EXPECT_GE(referenced, 300u);  // every "before"; the "after" of each case resolved so far
}

}  // namespace
