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

extern char** environ;

namespace wangge::ingest {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

// Starts `wangge serve` on an ephemeral port; returns its pid and port (0 on failure).
std::pair<pid_t, uint16_t> StartServer(const std::string& data, const std::string& tokens) {
  int fds[2];
  if (::pipe(fds) != 0) return {0, 0};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<std::string> args = {WANGGE_BINARY, "serve",       "--data",   data,  "--create",
                                   "--listen",    "127.0.0.1:0", "--tokens", tokens};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, WANGGE_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) return {0, 0};
  // The first line says "... on http://127.0.0.1:PORT ...".
  std::string line;
  char c;
  while (::read(fds[0], &c, 1) == 1 && c != '\n') line.push_back(c);
  ::close(fds[0]);
  const size_t at = line.find("127.0.0.1:");
  if (at == std::string::npos) return {pid, 0};
  return {pid, static_cast<uint16_t>(std::stoi(line.substr(at + 10)))};
}

int Post(uint16_t port, const std::string& token, const std::string& id) {
  try {
    net::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> req{http::verb::post, "/v1/reports", 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::authorization, "Bearer " + token);
    req.body() = R"({"client_id": ")" + id +
                 R"(", "category": "env.garbage", "village": "V07", "grid": "V07-G3",
                 "severity": 2, "reported_at": "2020-03-02T09:15:00+08:00"})";
    req.prepare_payload();
    http::write(socket, req);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    return static_cast<int>(res.result_int());
  } catch (const std::exception&) {
    return -1;  // the server died mid-request: not acknowledged
  }
}

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
