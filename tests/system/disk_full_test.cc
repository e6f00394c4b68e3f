// A full disk: the data directory lives on a small tmpfs that the test fills. Writes are
// refused with 507 and a JSON error, reads go on, nothing acknowledged is lost, and
// once space is freed writing resumes without a restart. Needs the right to mount a
// tmpfs (root in the CI container); skipped with a message where that is refused.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sys/mount.h>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "audit/replay.h"
#include "core/sha256.h"
#include "engine/engine.h"
#include "ingest/local_server.h"
#include "ingest/tokens.h"
#include "tests/testing/images.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wangge_process.h"

namespace wangge::ingest {
namespace {

namespace http = boost::beast::http;
using testing::Request;

// A tmpfs of `megabytes` at `path`, unmounted on destruction.
class TmpfsMount {
 public:
  TmpfsMount(const std::string& path, int megabytes) : path_(path) {
    const std::string opts = "size=" + std::to_string(megabytes) + "m";
    mounted_ = ::mount("tmpfs", path.c_str(), "tmpfs", 0, opts.c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

// Writes zeros to `path` until the disk refuses more.
void FillDisk(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::setvbuf(f, nullptr, _IONBF, 0);
  const std::string block(1 << 20, '\0');
  while (std::fwrite(block.data(), 1, block.size(), f) == block.size()) {
  }
  for (size_t n = 4096; n > 0; n /= 2) {
    while (std::fwrite(block.data(), 1, n, f) == n) {
    }
  }
  std::fclose(f);
}

// An NDJSON batch of `lines` reports of about 4 KB each, ids PREFIX-0.. .
std::string Batch(const std::string& prefix, int lines) {
  std::string body;
  const std::string text(4000, 'x');
  for (int i = 0; i < lines; ++i) {
    body +=
        R"({"client_id": ")" + prefix + "-" + std::to_string(i) +
        R"(", "category": "env.garbage", "village": "V07", "grid": "V07-G3", "severity": 2, "text": ")" +
        text + R"(", "reported_at": "2020-03-02T09:15:00+08:00"})" + "\n";
  }
  return body;
}

TEST(DiskFullTest, WritesAre507ReadsGoOnAndWritingResumesWhenSpaceIsFreed) {
  wangge::testing::TempDir dir;
  const std::string mnt = dir.Sub("mnt");
  std::filesystem::create_directories(mnt);
  TmpfsMount tmpfs(mnt, 160);
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs at " << mnt << ": " << tmpfs.error();

  SystemClock clock;
  engine::EngineOptions o;
  o.store.path = mnt + "/data";
  o.store.create_if_missing = true;
  auto engine = engine::Engine::Open(o, clock);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  auto worker = TokenStore::NewToken({"W017", engine::Role::kWorker, ""});
  ASSERT_TRUE(worker.ok());
  auto tokens = TokenStore::Parse(worker->second + "\n", "tokens");
  ASSERT_TRUE(tokens.ok());
  ServerOptions so;
  so.port = 0;
  auto server = std::make_unique<LocalServer>(**engine, *tokens, clock, so);
  ASSERT_TRUE(server->Start().ok());
  const uint16_t port = server->port();
  const std::string& token = worker->first;

  ASSERT_EQ(testing::Post(port, token, "before-full"), 201);
  const std::string photo = testing::MakeImage("jpeg", 120, 90, 5);
  ASSERT_EQ(Request(port, http::verb::put, "/v1/media/" + Sha256Hex(photo), token, photo).status,
            201);
  FillDisk(mnt + "/filler");
  // RocksDB preallocates its write-ahead log, so writing goes on for a while.
  std::vector<std::string> acked{"before-full"};
  testing::HttpReply refused;
  for (int b = 0; b < 1000 && refused.status < 0; ++b) {
    const std::string prefix = "full-" + std::to_string(b);
    const auto r = Request(port, http::verb::post, "/v1/reports:batch", token, Batch(prefix, 240));
    if (r.status != 200) {
      refused = r;
      continue;
    }
    // A batch split across group commits may be stored in part as the disk fills.
    const boost::json::value answer = boost::json::parse(r.body);
    for (const auto& line : answer.at("results").as_array()) {
      if (line.at("status").as_string() != "error") {
        acked.emplace_back(line.at("case_id").as_string());
      }
    }
  }
  ASSERT_EQ(refused.status, 507) << refused.body;
  EXPECT_NE(refused.body.find(R"("code":"no_space")"), std::string::npos) << refused.body;
  const uint64_t head = (*engine)->head().seq.value;
  const auto single =
      Request(port, http::verb::post, "/v1/reports", token, testing::ReportJson("while-full"));
  EXPECT_EQ(single.status, 507) << single.body;
  const auto error = boost::json::parse(single.body).at("error");
  EXPECT_EQ(error.at("code").as_string(), "no_space");
  EXPECT_NE(std::string(error.at("message").as_string()).find("is full"), std::string::npos);
  const std::string late = testing::MakeImage("png", 120, 90, 6);
  const auto upload = Request(port, http::verb::put, "/v1/media/" + Sha256Hex(late), token, late);
  EXPECT_EQ(upload.status, 507) << upload.body;
  EXPECT_NE(upload.body.find(R"("code":"no_space")"), std::string::npos) << upload.body;
  EXPECT_EQ(Request(port, http::verb::get, "/v1/cases/before-full", token).status, 200);
  EXPECT_EQ(Request(port, http::verb::get, "/healthz", "").status, 200);
  EXPECT_EQ((*engine)->head().seq.value, head) << "a refused write moved the log";

  std::filesystem::remove(mnt + "/filler");
  int status = 0;
  for (int i = 0; i < 300 && status != 201; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = testing::Post(port, token, "after-full");
  }
  ASSERT_EQ(status, 201) << "writing did not resume after space was freed";
  acked.push_back("after-full");

  server->Stop();
  (*engine)->Stop();
  server.reset();
  engine->reset();
  o.store.create_if_missing = false;
  o.store.read_only = true;
  auto reopened = engine::Engine::Open(o, clock);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  for (const auto& id : acked) {
    auto c = (*reopened)->GetCase(id);
    ASSERT_TRUE(c.ok() && c->has_value()) << "acknowledged " << id << " is lost";
  }
  auto kept = (*reopened)->GetMediaBytes(Sha256Hex(photo));
  ASSERT_TRUE(kept.ok() && kept->has_value()) << "an acknowledged photo is lost";
  EXPECT_EQ(**kept, photo);
  auto refused_photo = (*reopened)->GetMediaInfo(Sha256Hex(late));
  ASSERT_TRUE(refused_photo.ok());
  EXPECT_FALSE(refused_photo->has_value()) << "a photo answered 507 was stored";
  auto chain = (*reopened)->log().Verify();
  ASSERT_TRUE(chain.ok() && chain->ok);
  auto problems = audit::CheckDerivedState((*reopened)->store(), (*reopened)->log());
  ASSERT_TRUE(problems.ok() && problems->empty());
  std::printf("disk full test: %zu acknowledged reports checked\n", acked.size());
}

}  // namespace
}  // namespace wangge::ingest
