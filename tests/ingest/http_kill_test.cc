// Nothing acknowledged over HTTP is lost: `wangge serve` is SIGKILLed while clients post
// reports; after restart every report that got a 2xx is present, the chain verifies and
// the derived state equals a rebuild from the log.
#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "engine/replay.h"
#include "ingest/tokens.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wangge_process.h"

namespace wangge::ingest {
namespace {

using testing::Post;
using testing::StartServer;

TEST(HttpKillTest, EveryAcknowledgedReportSurvivesSigkill) {
  testing::TempDir dir;
  const std::string data = dir.Sub("data"), tokens_file = dir.Sub("tokens");
  auto made = TokenStore::NewToken(engine::Actor{"W017", engine::Role::kWorker, ""});
  ASSERT_TRUE(made.ok());
  ASSERT_TRUE(TokenStore::Append(tokens_file, made->second).ok());
  std::mt19937 rng(std::random_device{}());
  std::vector<std::string> acked;
  for (int cycle = 0; cycle < 3; ++cycle) {
    auto [pid, port] = StartServer(data, tokens_file);
    ASSERT_GT(pid, 0);
    ASSERT_GT(port, 0) << "cycle " << cycle << ": the server did not start";
    std::mutex mu;
    std::atomic<bool> stop{false};
    std::atomic<int> first{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 8; ++t) {
      clients.emplace_back([&, t] {
        for (int i = 0; !stop; ++i) {
          const std::string id =
              "k" + std::to_string(cycle) + "-" + std::to_string(t) + "-" + std::to_string(i);
          const int status = Post(port, made->first, id);
          if (status == 201 || status == 200) {
            std::lock_guard lock(mu);
            acked.push_back(id);
            ++first;
          } else if (status < 0) {
            return;
          }
        }
      });
    }
    for (int i = 0; i < 3000 && first.load() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 400));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    stop = true;
    for (auto& c : clients) c.join();
    ASSERT_TRUE(WIFSIGNALED(status)) << "cycle " << cycle;
    ASSERT_GT(first.load(), 0) << "cycle " << cycle << ": nothing acknowledged";

    testing::FakeClock clock;
    engine::EngineOptions o;
    o.store.path = data;
    o.store.read_only = true;
    auto engine = engine::Engine::Open(o, clock);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    for (const auto& id : acked) {
      auto c = (*engine)->GetCase(id);
      ASSERT_TRUE(c.ok() && c->has_value())
          << "cycle " << cycle << ": acknowledged " << id << " is lost";
    }
    auto chain = (*engine)->log().Verify();
    ASSERT_TRUE(chain.ok() && chain->ok) << "cycle " << cycle;
    auto problems = engine::CheckDerivedState((*engine)->store(), (*engine)->log());
    ASSERT_TRUE(problems.ok() && problems->empty()) << "cycle " << cycle;
  }
  std::printf("http kill test: 3 kill cycles, %zu acknowledged reports checked\n", acked.size());
}

}  // namespace
}  // namespace wangge::ingest
