// Durability under SIGKILL: a child process appends a mixed load (reports, transitions,
// ruleset activations, timers firing) and is killed at a random moment; every command
// it acknowledged must be present after reopening, the chain must verify, and the
// derived state must equal a rebuild from the log.
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <random>
#include <signal.h>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "audit/replay.h"
#include "engine/engine.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/log_census.h"
#include "tests/testing/seed.h"
#include "tests/testing/temp_dir.h"

extern char** environ;

namespace wangge::engine {
using audit::CheckDerivedState;
namespace {

struct ChildRun {
  std::vector<std::string> acks;
  int wait_status = 0;
};

// Runs crash_writer, lets it acknowledge commands for `run_for`, kills it with
// SIGKILL, and returns every line it printed.
ChildRun RunAndKill(const std::string& data, const std::string& prefix, int64_t epoch_ms,
                    std::chrono::milliseconds run_for) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::string exe = WANGGE_CRASH_WRITER;
  std::string epoch = std::to_string(epoch_ms);
  std::vector<char*> argv = {exe.data(),
                             const_cast<char*>(data.c_str()),
                             const_cast<char*>(prefix.c_str()),
                             const_cast<char*>("16"),
                             epoch.data(),
                             nullptr};
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);

  // Read on a thread so the child never blocks on a full pipe; kill from here, a
  // random time after the first acknowledgement (start-up time varies a lot, e.g.
  // under sanitizers, so the clock starts once the child is under load).
  std::string output;
  std::mutex mu;
  std::condition_variable first_ack;
  std::thread reader([&] {
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) {
      std::lock_guard lock(mu);
      output.append(buf, static_cast<size_t>(n));
      first_ack.notify_all();
    }
  });
  {
    std::unique_lock lock(mu);
    first_ack.wait_for(lock, std::chrono::seconds(60),
                       [&] { return output.find('\n') != std::string::npos; });
  }
  std::this_thread::sleep_for(run_for);
  ::kill(pid, SIGKILL);
  ChildRun run;
  ::waitpid(pid, &run.wait_status, 0);
  reader.join();
  ::close(fds[0]);

  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) run.acks.push_back(line);
  return run;
}

int Cycles() {
  const char* env = std::getenv("WANGGE_CRASH_CYCLES");
  return env ? std::max(1, std::atoi(env)) : 10;
}

TEST(CrashTest, EveryAcknowledgedCommandSurvivesSigkill) {
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  std::mt19937 rng(testing::TestSeed("crash test"));
  size_t total_acks = 0;
  // The writers' simulated clock starts here and runs on across restarts.
  const int64_t epoch = SystemClock().Now().ms;
  int timers = 0;
  for (int cycle = 0; cycle < Cycles(); ++cycle) {
    // Random kill point: 20-700 ms after the first acknowledgement.
    auto run_for = std::chrono::milliseconds(20 + rng() % 680);
    ChildRun run = RunAndKill(data, "k" + std::to_string(cycle), epoch, run_for);
    ASSERT_TRUE(WIFSIGNALED(run.wait_status) && WTERMSIG(run.wait_status) == SIGKILL)
        << "cycle " << cycle << ": the writer exited by itself (status " << run.wait_status << ")";
    ASSERT_FALSE(run.acks.empty()) << "cycle " << cycle << ": nothing acknowledged";
    total_acks += run.acks.size();

    testing::FakeClock clock;
    EngineOptions options;
    options.store.path = data;
    options.store.read_only = true;
    auto engine = Engine::Open(options, clock);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    const testing::LogCensus census = testing::Census((*engine)->log());
    timers = census.timers;
    for (const std::string& ack : run.acks) {
      std::istringstream in(ack);
      std::string kind, id;
      in >> kind >> id;
      if (kind == "A") {
        EXPECT_TRUE(census.versions.contains(id)) << "cycle " << cycle << ": " << ack << " is lost";
        continue;
      }
      auto c = (*engine)->GetCase(id);
      ASSERT_TRUE(c.ok());
      ASSERT_TRUE(c->has_value()) << "cycle " << cycle << ": acknowledged " << ack << " is lost";
      if (kind == "T") {
        EXPECT_NE((*c)->accepted_at.ms, 0) << "cycle " << cycle << ": " << ack << " is lost";
      }
    }
    auto chain = (*engine)->log().Verify();
    ASSERT_TRUE(chain.ok());
    EXPECT_TRUE(chain->ok) << "cycle " << cycle << ": " << chain->problem;
    auto problems = CheckDerivedState((*engine)->store(), (*engine)->log());
    ASSERT_TRUE(problems.ok()) << problems.status().ToString();
    EXPECT_TRUE(problems->empty()) << "cycle " << cycle << ": " << (*problems)[0];
  }
  EXPECT_GT(timers, 0) << "no deadline timer fired: the load did not exercise them";
  RecordProperty("acknowledged", static_cast<int>(total_acks));
  std::printf("crash test: %d kill cycles, %zu acknowledged commands checked, %d timer records\n",
              Cycles(), total_acks, timers);
}

}  // namespace
}  // namespace wangge::engine
