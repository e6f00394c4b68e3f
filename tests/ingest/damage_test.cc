// A damaged, read-only or vanished data directory: wangge says which file or directory
// and what to do, never starts on damaged data, and never acknowledges a write it will
// lose. The files are damaged for real (bytes overwritten on disk).
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/mount.h>

#include <gtest/gtest.h>

#include "engine/engine.h"
#include "ingest/tokens.h"
#include "tests/testing/builders.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wangge_process.h"

namespace wangge::ingest {
namespace {

namespace fs = std::filesystem;
using testing::Wangge;

// A data directory holding `reports` reports, closed without a flush: they are in its
// write-ahead log.
void MakeData(const std::string& data, int reports) {
  SystemClock clock;
  engine::EngineOptions o;
  o.store.path = data;
  o.store.create_if_missing = true;
  auto engine = engine::Engine::Open(o, clock);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  for (int i = 0; i < reports; ++i) {
    auto r = (*engine)->sequencer().Submit(testing::ReportCommand("d-" + std::to_string(i))).get();
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
  const auto verify = Wangge("verify --quiet --data " + data);
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  const auto info = Wangge("info --data " + data);
  ASSERT_EQ(info.exit_code, 0) << info.output;
  // The damage sits in the middle of 400 reports: some were kept, not all.
  const size_t at = info.output.find("cases: ");
  ASSERT_NE(at, std::string::npos) << info.output;
  const int kept = std::stoi(info.output.substr(at + 7));
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, 400);
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
