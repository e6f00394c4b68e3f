// A damaged, read-only or vanished data directory: wangge says which file or directory
// and what to do, never starts on damaged data, and never acknowledges a write it will
// lose. The files are damaged for real (bytes overwritten on disk).
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <thread>

#include <gtest/gtest.h>

#include "core/sha256.h"
#include "engine/engine.h"
#include "ingest/tokens.h"
#include "tests/testing/builders.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/images.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wangge_process.h"

namespace wangge::ingest {
namespace {

namespace fs = std::filesystem;
using testing::Wangge;

// A data directory holding `reports` reports, the first of them with a photo. Without
// `flush`, it is closed as a crash leaves it: the reports are in its write-ahead log (the
// photo, durable when stored, is in a blob file).
void MakeData(const std::string& data, int reports, bool flush = false) {
  SystemClock clock;
  engine::EngineOptions o;
  o.store.path = data;
  o.store.create_if_missing = true;
  o.flush_on_stop = flush;
  auto engine = engine::Engine::Open(o, clock);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  const std::string jpeg = testing::MakeImage("jpeg", 32, 32, 5);
  engine::MediaInfo info;
  info.type = "image/jpeg";
  info.size = jpeg.size();
  info.width = info.height = 32;
  info.stored_at = clock.Now();
  ASSERT_TRUE((*engine)->StoreMedia(Sha256Hex(jpeg), jpeg, info).ok());
  for (int i = 0; i < reports; ++i) {
    engine::Command cmd = testing::ReportCommand("d-" + std::to_string(i));
    if (i == 0) std::get<engine::Report>(cmd.body).media = {Sha256Hex(jpeg)};
    auto r = (*engine)->sequencer().Submit(std::move(cmd)).get();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  (*engine)->Stop();
}

// The largest file in `dir` with extension `ext`.
std::string Largest(const std::string& dir, const std::string& ext) {
  std::string best;
  uintmax_t size = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ext && e.file_size() > size) {
      size = e.file_size();
      best = e.path().string();
    }
  }
  return best;
}

// Overwrites 8 bytes in the middle of `path`.
void Damage(const std::string& path) {
  const auto size = fs::file_size(path);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(size / 2));
  f.write("\xff\xff\xff\xff\xde\xad\xbe\xef", 8);
}

std::string TokensFile(const testing::TempDir& dir) {
  const std::string file = dir.Sub("tokens");
  auto made = TokenStore::NewToken({"W017", engine::Role::kWorker, ""});
  EXPECT_TRUE(made.ok());
  EXPECT_TRUE(TokenStore::Append(file, made->second).ok());
  return file;
}

TEST(DamageTest, ADamagedWriteAheadLogStopsTheStartAndSalvageKeepsWhatPrecedesTheDamage) {
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  MakeData(data, 400);
  const std::string wal = Largest(data, ".log");
  ASSERT_FALSE(wal.empty());
  ASSERT_GT(fs::file_size(wal), 100'000u) << "the reports are not in the write-ahead log";
  Damage(wal);

  for (const std::string& cmd :
       {"info --data " + data,
        "serve --data " + data + " --listen 127.0.0.1:0 --tokens " + TokensFile(dir)}) {
    const auto run = Wangge(cmd, 20);
    EXPECT_EQ(run.exit_code, 3) << cmd << "\n" << run.output;
    EXPECT_NE(run.output.find(fs::path(wal).filename().string()), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("wangge salvage --data " + data), std::string::npos) << run.output;
  }

  const auto salvage = Wangge("salvage --data " + data);
  ASSERT_EQ(salvage.exit_code, 0) << salvage.output;
  EXPECT_NE(salvage.output.find("Records written after the damage are lost"), std::string::npos);
  bool aside = false;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    if (e.path().filename().string().starts_with("data.damaged-")) {
      aside = fs::exists(e.path() / fs::path(wal).filename());
    }
  }
  EXPECT_TRUE(aside) << "the damaged directory was not copied aside";
  // verify hashes every photo the kept records reference: salvage carried the photo over.
  const auto verify = Wangge("verify --data " + data);
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_NE(verify.output.find("1 photos hash to their names"), std::string::npos) << verify.output;
  const auto info = Wangge("info --data " + data);
  ASSERT_EQ(info.exit_code, 0) << info.output;
  // The damage sits in the middle of 400 reports: some were kept, not all.
  const size_t at = info.output.find("cases: ");
  ASSERT_NE(at, std::string::npos) << info.output;
  const int kept = std::stoi(info.output.substr(at + 7));
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, 400);
}

// Cuts the end off `path`: `bytes` of it, or half of it when `bytes` is 0.
void Cut(const std::string& path, uintmax_t bytes) {
  const auto size = fs::file_size(path);
  fs::resize_file(path, bytes == 0 ? size / 2 : (size > bytes ? size - bytes : 0));
}

// Copies directory `from` to `to` (regular files only, as a data directory has).
void CopyDir(const std::string& from, const std::string& to) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(from)) {
    if (e.is_regular_file()) fs::copy_file(e.path(), fs::path(to) / e.path().filename());
  }
}

// After a clean stop no acknowledged record is only in the write-ahead log: cutting it
// loses nothing (before: cutting 10 bytes lost 1 of 300 reports, cutting half lost 153,
// and every command said nothing).
TEST(DamageTest, ACleanStopLeavesNothingAWriteAheadLogCutCanLose) {
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  MakeData(data, 300, /*flush=*/true);
  for (uintmax_t cut : {uintmax_t{10}, uintmax_t{0}}) {
    const std::string copy = dir.Sub("cut" + std::to_string(cut));
    CopyDir(data, copy);
    for (const auto& e : fs::directory_iterator(copy)) {
      if (e.path().extension() == ".log") Cut(e.path().string(), cut);
    }
    const auto info = Wangge("info --data " + copy);
    SCOPED_TRACE("cut " + std::to_string(cut));
    if (info.exit_code == 0) {
      EXPECT_NE(info.output.find("cases: 300"), std::string::npos) << info.output;
    } else {
      EXPECT_EQ(info.exit_code, 3) << info.output;
    }
    const auto verify = Wangge("verify --quiet --data " + copy);
    EXPECT_TRUE(verify.exit_code == 0 || verify.exit_code == 3) << verify.output;
  }
}

struct Served {
  std::string data, tokens, worker;
};

Served ServedData(const testing::TempDir& dir) {
  Served s{dir.Sub("data"), dir.Sub("tokens"), ""};
  auto made = TokenStore::NewToken({"W017", engine::Role::kWorker, ""});
  EXPECT_TRUE(made.ok());
  EXPECT_TRUE(TokenStore::Append(s.tokens, made->second).ok());
  s.worker = made->first;
  return s;
}

// Posts reports from four clients until `stop`; returns each acknowledged id with when.
std::vector<std::thread> Load(
    uint16_t port, const std::string& token, std::atomic<bool>& stop, std::mutex& mu,
    std::vector<std::pair<std::string, std::chrono::steady_clock::time_point>>& acked) {
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; !stop; ++i) {
        const std::string id = "w" + std::to_string(c) + "-" + std::to_string(i);
        const int status = testing::Post(port, token, id);
        if (status < 0) return;
        if (status != 201) continue;
        std::lock_guard lock(mu);
        acked.emplace_back(id, std::chrono::steady_clock::now());
      }
    });
  }
  return clients;
}

// A write-ahead log cut after a SIGKILL: every open refuses when acknowledged records
// are missing, naming both heads and the recovery, and verify calls it damage.
TEST(DamageTest, AWriteAheadLogCutAfterAKillIsRefusedNotOpenedShort) {
  testing::TempDir dir;
  const Served s = ServedData(dir);
  auto [pid, port] = testing::StartServer(s.data, s.tokens);
  ASSERT_GT(port, 0);
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::pair<std::string, std::chrono::steady_clock::time_point>> acked;
  auto clients = Load(port, s.worker, stop, mu, acked);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  stop = true;
  for (auto& c : clients) c.join();
  // Past the checkpoint interval: every acknowledgement is checkpointed.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ASSERT_GT(acked.size(), 50u);
  // The newest write-ahead log that holds anything (the head checkpoint finds it cut), and
  // the largest (RocksDB finds an older one cut from the sizes it records).
  std::set<std::string> wals;
  std::string newest;
  for (const auto& e : fs::directory_iterator(s.data)) {
    if (e.path().extension() == ".log" && e.file_size() > 0) {
      newest = std::max(newest, e.path().filename().string());
    }
  }
  ASSERT_FALSE(newest.empty());
  wals.insert(newest);
  wals.insert(fs::path(Largest(s.data, ".log")).filename().string());
  for (const std::string& wal : wals) {
    for (uintmax_t cut : {uintmax_t{10}, uintmax_t{0}}) {
      SCOPED_TRACE(wal + " cut " + std::to_string(cut));
      const std::string copy = dir.Sub(wal + "-cut" + std::to_string(cut));
      CopyDir(s.data, copy);
      Cut((fs::path(copy) / wal).string(), cut);
      for (const std::string& cmd :
           {"info --data " + copy,
            "serve --data " + copy + " --listen 127.0.0.1:0 --tokens " + s.tokens}) {
        const auto run = Wangge(cmd, 20);
        EXPECT_EQ(run.exit_code, 3) << cmd << "\n" << run.output;
        if (wal == newest) {
          EXPECT_NE(run.output.find("acknowledged records are missing"), std::string::npos)
              << run.output;
          EXPECT_NE(run.output.find("was acknowledged"), std::string::npos) << run.output;
        } else {
          EXPECT_NE(run.output.find(wal), std::string::npos) << run.output;
        }
        EXPECT_NE(run.output.find("wangge salvage --data " + copy), std::string::npos)
            << run.output;
      }
      const auto verify = Wangge("verify --quiet --data " + copy);
      EXPECT_EQ(verify.exit_code, 3) << verify.output;
      EXPECT_NE(verify.output.find("DAMAGED"), std::string::npos) << verify.output;
      EXPECT_EQ(verify.output.find("TAMPERED"), std::string::npos) << verify.output;
      // Salvage accepts the loss explicitly; what it kept then opens and verifies.
      const auto salvage = Wangge("salvage --data " + copy);
      EXPECT_EQ(salvage.exit_code, 0) << salvage.output;
      EXPECT_EQ(Wangge("verify --quiet --data " + copy).exit_code, 0);
    }
  }
  // Uncut, the killed directory holds every acknowledged report.
  const auto info = Wangge("info --data " + s.data);
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("cases: " + std::to_string(acked.size())), std::string::npos)
      << info.output;
}

// Killed in the middle of the load: a cut log either opens holding every report
// acknowledged more than a second before the kill, or is refused.
TEST(DamageTest, AWriteAheadLogCutUnderLoadLosesNothingOlderThanASecondUnnoticed) {
  testing::TempDir dir;
  const Served s = ServedData(dir);
  auto [pid, port] = testing::StartServer(s.data, s.tokens);
  ASSERT_GT(port, 0);
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::pair<std::string, std::chrono::steady_clock::time_point>> acked;
  auto clients = Load(port, s.worker, stop, mu, acked);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  ::kill(pid, SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  ::waitpid(pid, nullptr, 0);
  stop = true;
  for (auto& c : clients) c.join();
  std::vector<std::string> wals;
  for (const auto& e : fs::directory_iterator(s.data)) {
    if (e.path().extension() == ".log") wals.push_back(e.path().filename().string());
  }
  ASSERT_FALSE(wals.empty());
  for (uintmax_t cut : {uintmax_t{10}, uintmax_t{0}}) {
    SCOPED_TRACE("cut " + std::to_string(cut));
    const std::string copy = dir.Sub("cut" + std::to_string(cut));
    CopyDir(s.data, copy);
    for (const auto& wal : wals) Cut((fs::path(copy) / wal).string(), cut);
    testing::FakeClock clock;
    engine::EngineOptions o;
    o.store.path = copy;
    o.store.read_only = true;
    auto engine = engine::Engine::Open(o, clock);
    if (!engine.ok()) {
      EXPECT_EQ(engine.status().code(), StatusCode::kDataLoss) << engine.status().ToString();
      continue;
    }
    size_t older = 0;
    for (const auto& [id, at] : acked) {
      if (killed - at < std::chrono::seconds(1)) continue;
      ++older;
      auto c = (*engine)->GetCase(id);
      ASSERT_TRUE(c.ok() && c->has_value())
          << id << " was acknowledged "
          << std::chrono::duration_cast<std::chrono::milliseconds>(killed - at).count()
          << " ms before the kill and is lost";
    }
    EXPECT_GT(older, 0u);
  }
}

TEST(DamageTest, ServeNamesADamagedTableFileItsFamilyAndTheRecovery) {
  testing::TempDir dir;
  const std::string source = dir.Sub("source"), data = dir.Sub("data");
  MakeData(source, 400);
  // A replay writes table files (and no write-ahead log).
  ASSERT_EQ(Wangge("replay --quiet --data " + source + " --into " + data).exit_code, 0);
  const std::string sst = Largest(data, ".sst");
  ASSERT_FALSE(sst.empty());
  const std::string tokens = TokensFile(dir);
  // Intact: serve starts (and is stopped by the timeout).
  EXPECT_EQ(
      Wangge("serve --data " + data + " --listen 127.0.0.1:0 --tokens " + tokens, 3).exit_code,
      124);
  Damage(sst);
  const auto run = Wangge("serve --data " + data + " --listen 127.0.0.1:0 --tokens " + tokens, 20);
  EXPECT_EQ(run.exit_code, 3) << run.output;
  EXPECT_NE(run.output.find("table file " + sst + " of the '"), std::string::npos) << run.output;
  EXPECT_TRUE(run.output.find("restore the latest verified backup") != std::string::npos ||
              run.output.find("wangge replay --data " + data) != std::string::npos)
      << run.output;
}

TEST(DamageTest, AReadOnlyFilesystemIsNamedAtStartAndReadersStillWork) {
  testing::TempDir dir;
  const std::string mnt = dir.Sub("mnt");
  fs::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=32m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs at " << mnt << ": " << std::strerror(errno);
  }
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{mnt};
  const std::string data = mnt + "/data";
  MakeData(data, 50);
  ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, "size=32m"), 0)
      << std::strerror(errno);
  const auto run =
      Wangge("serve --data " + data + " --listen 127.0.0.1:0 --tokens " + TokensFile(dir), 20);
  EXPECT_EQ(run.exit_code, 3) << run.output;
  EXPECT_NE(run.output.find("Read-only file system"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("cannot be written"), std::string::npos) << run.output;
  const auto info = Wangge("info --data " + data);
  EXPECT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("cases: 50"), std::string::npos) << info.output;
}

TEST(DamageTest, WritesToARemovedDataDirectoryAreRefusedNotLost) {
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  SystemClock clock;
  engine::EngineOptions o;
  o.store.path = data;
  o.store.create_if_missing = true;
  auto engine = engine::Engine::Open(o, clock);
  ASSERT_TRUE(engine.ok());
  ASSERT_TRUE((*engine)->sequencer().Submit(testing::ReportCommand("before")).get().ok());
  fs::rename(data, dir.Sub("moved-away"));
  auto r = (*engine)->sequencer().Submit(testing::ReportCommand("after")).get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("was removed or replaced"), std::string::npos);
  (*engine)->Stop();
}

}  // namespace
}  // namespace wangge::ingest
