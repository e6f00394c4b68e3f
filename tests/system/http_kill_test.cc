// Nothing acknowledged over HTTP is lost: `wangge serve` is SIGKILLed at a random moment
// while clients post a mixed load (single reports, NDJSON batches, transitions, ruleset
// activations, and photos uploaded whole or in resumable parts, then reported). After
// each restart every command and photo that got a 2xx is present, every stored photo
// hashes to its name (a half upload never appears as stored), the chain verifies and the
// derived state equals a rebuild from the log.
// WANGGE_HTTP_KILL_CYCLES sets the number of cycles (default 10; the soak runs more).
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <random>
#include <signal.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "audit/replay.h"
#include "core/sha256.h"
#include "engine/engine.h"
#include "ingest/tokens.h"
#include "tests/testing/builders.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/images.h"
#include "tests/testing/log_census.h"
#include "tests/testing/seed.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wangge_process.h"

namespace wangge::ingest {
namespace {

namespace http = boost::beast::http;
using testing::Request;

int Cycles() {
  const char* env = std::getenv("WANGGE_HTTP_KILL_CYCLES");
  return env ? std::max(1, std::atoi(env)) : 10;
}

// What the clients of one cycle had acknowledged.
struct Acked {
  std::mutex mu;
  std::vector<std::string> reports, accepted, versions, photos;
  std::atomic<int> count{0};
  void Add(std::vector<std::string>& to, std::string what) {
    std::lock_guard lock(mu);
    to.push_back(std::move(what));
    ++count;
  }
};

struct Tokens {
  std::string worker, handler, admin;
};

// Runs the mixed load against `port` until `stop` or the server dies.
std::vector<std::thread> StartLoad(uint16_t port, const Tokens& t, const std::string& prefix,
                                   Acked& acked, std::atomic<bool>& stop) {
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, port, c, prefix] {
      for (int i = 0; !stop; ++i) {
        const std::string id = prefix + "-r" + std::to_string(c) + "-" + std::to_string(i);
        const auto r = Request(port, http::verb::post, "/v1/reports", t.worker,
                               testing::ReportJson(id, 1 + i % 4));
        if (r.status < 0) return;
        if (r.status != 201) continue;
        acked.Add(acked.reports, id);
        if (i % 3 != 0) continue;
        const auto a = Request(port, http::verb::post, "/v1/cases/" + id + "/transitions",
                               t.handler, R"({"action": "accept"})");
        if (a.status < 0) return;
        if (a.status == 200) acked.Add(acked.accepted, id);
      }
    });
  }
  clients.emplace_back([&, port, prefix] {
    for (int i = 0; !stop; ++i) {
      std::vector<std::string> ids;
      std::string body;
      for (int line = 0; line < 20; ++line) {
        ids.push_back(prefix + "-b" + std::to_string(i) + "-" + std::to_string(line));
        body += testing::ReportJson(ids.back()) + "\n";
      }
      const auto r = Request(port, http::verb::post, "/v1/reports:batch", t.worker, body);
      if (r.status < 0) return;
      if (r.status != 200) continue;
      for (auto& id : ids) acked.Add(acked.reports, id);
    }
  });
  clients.emplace_back([&, port, prefix] {
    static const std::string base = testing::MakeImage("jpeg", 200, 150, 3);
    for (int i = 0; !stop; ++i) {
      // Unique bytes per upload: a tail after the image's end, which readers ignore.
      const std::string photo = base + prefix + "-p" + std::to_string(i);
      const std::string hash = Sha256Hex(photo);
      int status = 0;
      if (i % 2 == 0) {
        status = Request(port, http::verb::put, "/v1/media/" + hash, t.worker, photo).status;
      } else {
        const size_t half = photo.size() / 2;
        const std::string total = "/" + std::to_string(photo.size());
        status = testing::Request(
                     port, http::verb::put, "/v1/media/" + hash, t.worker, photo.substr(0, half),
                     {{"Content-Range", "bytes 0-" + std::to_string(half - 1) + total}})
                     .status;
        if (status == 202) {
          status = testing::Request(
                       port, http::verb::put, "/v1/media/" + hash, t.worker, photo.substr(half),
                       {{"Content-Range", "bytes " + std::to_string(half) + "-" +
                                              std::to_string(photo.size() - 1) + total}})
                       .status;
        }
      }
      if (status < 0) return;
      if (status != 201) continue;
      acked.Add(acked.photos, hash);
      const std::string id = prefix + "-m" + std::to_string(i);
      std::string body = testing::ReportJson(id);
      body.pop_back();
      const auto r = Request(port, http::verb::post, "/v1/reports", t.worker,
                             body + R"(, "media": [")" + hash + R"("]})");
      if (r.status < 0) return;
      if (r.status == 201) acked.Add(acked.reports, id);
    }
  });
  clients.emplace_back([&, port, prefix] {
    for (int i = 0; !stop; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      const std::string version = prefix + "-v" + std::to_string(i);
      const auto r =
          Request(port, http::verb::put, "/v1/rules", t.admin, testing::BuiltInRulesetAs(version));
      if (r.status < 0) return;
      if (r.status == 200) acked.Add(acked.versions, version);
    }
  });
  return clients;
}

void CheckAfterRestart(const std::string& data, const Acked& acked, int cycle) {
  testing::FakeClock clock;
  engine::EngineOptions o;
  o.store.path = data;
  o.store.read_only = true;
  auto engine = engine::Engine::Open(o, clock);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  for (const auto& id : acked.reports) {
    auto c = (*engine)->GetCase(id);
    ASSERT_TRUE(c.ok() && c->has_value()) << "cycle " << cycle << ": report " << id << " is lost";
  }
  for (const auto& id : acked.accepted) {
    auto c = (*engine)->GetCase(id);
    ASSERT_TRUE(c.ok() && c->has_value());
    EXPECT_NE((*c)->accepted_at.ms, 0)
        << "cycle " << cycle << ": the accept of " << id << " is lost";
  }
  const auto census = testing::Census((*engine)->log());
  for (const auto& v : acked.versions) {
    EXPECT_TRUE(census.versions.contains(v))
        << "cycle " << cycle << ": activation " << v << " is lost";
  }
  for (const auto& hash : acked.photos) {
    auto info = (*engine)->GetMediaInfo(hash);
    ASSERT_TRUE(info.ok() && info->has_value())
        << "cycle " << cycle << ": photo " << hash << " is lost";
  }
  Status photos =
      (*engine)->ForEachMedia([&](std::string_view hash, const engine::MediaInfo& info) {
        auto bytes = (*engine)->GetMediaBytes(hash);
        EXPECT_TRUE(bytes.ok() && bytes->has_value()) << hash;
        if (bytes.ok() && *bytes) {
          EXPECT_EQ(Sha256Hex(**bytes), hash)
              << "cycle " << cycle << ": a stored photo is not whole";
          EXPECT_EQ((*bytes)->size(), info.size);
        }
        return true;
      });
  ASSERT_TRUE(photos.ok()) << photos.ToString();
  auto chain = (*engine)->log().Verify();
  ASSERT_TRUE(chain.ok() && chain->ok) << "cycle " << cycle;
  auto problems = audit::CheckDerivedState((*engine)->store(), (*engine)->log());
  ASSERT_TRUE(problems.ok()) << problems.status().ToString();
  ASSERT_TRUE(problems->empty()) << "cycle " << cycle << ": " << (*problems)[0];
}

TEST(HttpKillTest, EveryAcknowledgedCommandSurvivesSigkill) {
  testing::TempDir dir;
  const std::string data = dir.Sub("data"), tokens_file = dir.Sub("tokens");
  Tokens t;
  for (auto [actor, secret] :
       {std::pair{engine::Actor{"W017", engine::Role::kWorker, ""}, &t.worker},
        std::pair{engine::Actor{"H-zf-1", engine::Role::kHandler, "zonghe-zhifa"}, &t.handler},
        std::pair{engine::Actor{"A-1", engine::Role::kAdmin, ""}, &t.admin}}) {
    auto made = TokenStore::NewToken(actor);
    ASSERT_TRUE(made.ok());
    ASSERT_TRUE(TokenStore::Append(tokens_file, made->second).ok());
    *secret = made->first;
  }
  std::mt19937 rng(testing::TestSeed("http kill test"));
  size_t reports = 0, accepted = 0, versions = 0, photos = 0;
  for (int cycle = 0; cycle < Cycles(); ++cycle) {
    auto [pid, port] = testing::StartServer(data, tokens_file);
    ASSERT_GT(pid, 0);
    ASSERT_GT(port, 0) << "cycle " << cycle << ": the server did not start";
    Acked acked;
    std::atomic<bool> stop{false};
    auto clients = StartLoad(port, t, "k" + std::to_string(cycle), acked, stop);
    for (int i = 0; i < 3000 && acked.count.load() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 400));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    stop = true;
    for (auto& c : clients) c.join();
    ASSERT_TRUE(WIFSIGNALED(status)) << "cycle " << cycle;
    ASSERT_FALSE(acked.reports.empty()) << "cycle " << cycle << ": nothing acknowledged";
    CheckAfterRestart(data, acked, cycle);
    if (HasFatalFailure()) return;
    reports += acked.reports.size();
    accepted += acked.accepted.size();
    versions += acked.versions.size();
    photos += acked.photos.size();
  }
  EXPECT_GT(photos, 0u);
  EXPECT_GT(accepted, 0u);
  EXPECT_GT(versions, 0u);
  std::printf(
      "http kill test: %d kill cycles; acknowledged and checked: %zu reports, %zu accepts, "
      "%zu activations, %zu photos\n",
      Cycles(), reports, accepted, versions, photos);
}

}  // namespace
}  // namespace wangge::ingest
