// Tokens over their life against a real `wangge serve` on 127.0.0.1: revoked by
// `wangge token revoke`, reloaded on a file change and on SIGHUP, kept when the file is
// malformed or missing, refused once expired. Also: what wangge creates is private to
// its owner whatever the caller's umask.
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/time.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wangge_process.h"

namespace wangge::ingest {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using SteadyClock = std::chrono::steady_clock;
using testing::CliRun;
using testing::Wangge;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The token `wangge token add` printed.
std::string TokenIn(const CliRun& run) {
  const size_t at = run.output.find("wg_");
  return at == std::string::npos ? "" : run.output.substr(at, 3 + 64);
}

// One keep-alive connection that posts reports, each on the same socket.
class Connection {
 public:
  explicit Connection(uint16_t port) : connection_(port) {}
  // The answer's status; -1 when the connection failed or the server closed it.
  int Post(const std::string& token, const std::string& id) {
    return connection_
        .Send(http::verb::post, "/v1/reports", testing::Bearer(token), testing::ReportJson(id))
        .status;
  }

 private:
  testing::Connection connection_;
};

class TokenLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    first_ = Add("W001", "");
    second_ = Add("W002", "");
    ASSERT_FALSE(first_.empty() || second_.empty());
    auto [pid, port] = testing::StartServer(data_, tokens_);
    pid_ = pid;
    port_ = port;
    ASSERT_GT(pid_, 0);
    ASSERT_GT(port_, 0) << "the server did not start:\n" << Log();
  }

  void TearDown() override {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100 && ::waitpid(pid_, nullptr, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (::kill(pid_, 0) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // Adds a worker's token through the CLI; returns it ("" on failure).
  std::string Add(const std::string& actor, const std::string& options) {
    CliRun run =
        Wangge("token add --tokens " + tokens_ + " --actor " + actor + " --role worker " + options);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    return TokenIn(run);
  }

  int Post(const std::string& token) {
    return testing::Post(port_, token, "r-" + std::to_string(++reports_));
  }

  // Polls a new connection until `token` gets `status`, at most `limit`. Returns the
  // time it took, or nullopt.
  std::optional<std::chrono::milliseconds> TimeUntil(const std::string& token, int status,
                                                     std::chrono::milliseconds limit) {
    const auto start = SteadyClock::now();
    while (SteadyClock::now() - start < limit) {
      if (Post(token) == status) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
  }

  std::string Log() const { return ReadFile(data_ + ".log"); }

  // Waits up to 3 s for the server's log to hold `text` `count` times.
  bool LogShows(const std::string& text, size_t count = 1) const {
    for (int i = 0; i < 150; ++i) {
      const std::string log = Log();
      size_t n = 0;
      for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
      if (n >= count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  bool ServerAlive() const { return ::waitpid(pid_, nullptr, WNOHANG) == 0; }

  testing::TempDir dir_;
  const std::string tokens_ = dir_.Sub("tokens");
  const std::string data_ = dir_.Sub("data");
  std::string first_, second_;
  pid_t pid_ = 0;
  uint16_t port_ = 0;
  int reports_ = 0;
};

// The case: a revoked token is refused within a second, with no restart, while
// another client's open connection goes on.
TEST_F(TokenLifecycleTest, ARevokedTokenIsRefusedWhileAnOpenConnectionKeepsWorking) {
  Connection open(port_);
  ASSERT_EQ(open.Post(second_, "kept-1"), 201);
  ASSERT_EQ(Post(first_), 201);

  CliRun revoke = Wangge("token revoke --tokens " + tokens_ + " --actor W001");
  ASSERT_EQ(revoke.exit_code, 0) << revoke.output;
  EXPECT_NE(revoke.output.find("W001 (worker) revoked at "), std::string::npos) << revoke.output;
  EXPECT_EQ(revoke.output.find("wg_"), std::string::npos) << "never the token";

  auto took = TimeUntil(first_, 401, std::chrono::seconds(3));
  ASSERT_TRUE(took.has_value()) << "still accepted 3 s after the revoke:\n" << Log();
  EXPECT_LT(took->count(), 2000);
  std::cout << "revoked token refused after " << took->count() << " ms\n";
  RecordProperty("revoke_to_401_ms", static_cast<int>(took->count()));
  EXPECT_EQ(open.Post(second_, "kept-2"), 201) << "the open connection was dropped";
  EXPECT_EQ(Post(second_), 201);
  EXPECT_TRUE(LogShows("tokens reloaded: 1 tokens (0 added, 1 removed)")) << Log();
}

// SIGHUP reloads even when the file's inode, size and mtime look unchanged (the watcher
// cannot see such an edit), and the server goes on.
TEST_F(TokenLifecycleTest, SighupReloadsTheFile) {
  struct stat before {};
  ASSERT_EQ(::stat(tokens_.c_str(), &before), 0);
  // Overwrite W001's hash in place with another of the same length, then put the mtime
  // back.
  const std::string text = ReadFile(tokens_);
  const size_t line = text.find(" W001 ") - 64;
  {
    std::fstream f(tokens_, std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(line));
    f << std::string(64, '0');
  }
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, tokens_.c_str(), times, 0), 0);

  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ASSERT_EQ(Post(first_), 201) << "the watcher reloaded a file whose stamp did not change";
  Connection open(port_);
  ASSERT_EQ(open.Post(second_, "hup-1"), 201);
  ASSERT_EQ(::kill(pid_, SIGHUP), 0);
  auto took = TimeUntil(first_, 401, std::chrono::seconds(3));
  ASSERT_TRUE(took.has_value()) << "SIGHUP did not reload:\n" << Log();
  EXPECT_TRUE(ServerAlive());
  EXPECT_EQ(open.Post(second_, "hup-2"), 201);
  EXPECT_TRUE(LogShows("tokens reloaded: 2 tokens (1 added, 1 removed)")) << Log();
}

// A malformed file, then a missing one, keep the tokens loaded before; a fixed file is
// loaded again.
TEST_F(TokenLifecycleTest, AMalformedOrMissingFileKeepsTheOldSet) {
  const std::string good = ReadFile(tokens_);
  std::ofstream(tokens_, std::ios::app) << "garbage line here\n";
  EXPECT_TRUE(LogShows(tokens_ + ":3:1: ")) << Log();
  EXPECT_EQ(Post(first_), 201);
  EXPECT_EQ(Post(second_), 201);
  CliRun revoke = Wangge("token revoke --tokens " + tokens_ + " --actor W001");
  EXPECT_EQ(revoke.exit_code, 2) << revoke.output;

  ::kill(pid_, SIGHUP);
  EXPECT_TRUE(LogShows(tokens_ + ":3:1: ", 2)) << Log();
  EXPECT_EQ(Post(first_), 201);

  fs::rename(tokens_, tokens_ + ".aside");
  EXPECT_TRUE(LogShows("cannot open '" + tokens_ + "'")) << Log();
  ::kill(pid_, SIGHUP);
  EXPECT_TRUE(LogShows("cannot open '" + tokens_ + "'", 2)) << Log();
  EXPECT_TRUE(ServerAlive());
  EXPECT_EQ(Post(first_), 201);
  EXPECT_EQ(Post(second_), 201);

  std::ofstream(tokens_) << good.substr(good.find('\n') + 1);  // W002's line only
  ASSERT_TRUE(TimeUntil(first_, 401, std::chrono::seconds(3)).has_value()) << Log();
  EXPECT_EQ(Post(second_), 201);
}

// An expired token is refused by the clock, with no reload; a past date is refused.
TEST_F(TokenLifecycleTest, AnExpiredTokenIsRefusedWithoutAReload) {
  CliRun past = Wangge("token add --tokens " + tokens_ + " --actor W003 --role worker " +
                       "--expires 2020-01-01");
  EXPECT_EQ(past.exit_code, 2) << past.output;
  EXPECT_NE(past.output.find("not in the future"), std::string::npos) << past.output;
  CliRun bad = Wangge("token add --tokens " + tokens_ + " --actor W003 --role worker " +
                      "--expires 2020-13-01");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;

  const TimeMs soon{SystemClock().Now().ms + 2'500};
  const std::string brief = Add("W004", "--expires " + FormatRfc3339(soon));
  ASSERT_FALSE(brief.empty());
  ASSERT_TRUE(TimeUntil(brief, 201, std::chrono::seconds(2)).has_value()) << Log();
  EXPECT_TRUE(LogShows("tokens reloaded: 3 tokens (1 added, 0 removed)")) << Log();
  auto took = TimeUntil(brief, 401, std::chrono::seconds(5));
  ASSERT_TRUE(took.has_value()) << Log();
  EXPECT_GE(SystemClock().Now().ms, soon.ms);
  EXPECT_FALSE(LogShows("tokens reloaded: 3 tokens", 2)) << "expiry needed no reload";
  EXPECT_EQ(Post(second_), 201);
}

TEST_F(TokenLifecycleTest, ListShowsIdsAndRevokeByIdNeedsAUniquePrefix) {
  const std::string hash = ReadFile(tokens_).substr(0, 64);  // W001's
  CliRun list = Wangge("token list --tokens " + tokens_);
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_EQ(list.output.find(hash.substr(0, 13)), std::string::npos) << list.output;
  EXPECT_NE(list.output.find(hash.substr(0, 12)), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("W002"), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("active"), std::string::npos) << list.output;
  EXPECT_EQ(Wangge("token list --tokens " + dir_.Sub("missing")).exit_code, 3);

  const std::string before = ReadFile(tokens_);
  EXPECT_EQ(Wangge("token revoke --tokens " + tokens_).exit_code, 2);
  EXPECT_EQ(Wangge("token revoke --tokens " + tokens_ + " --actor W001 --id " + hash.substr(0, 8))
                .exit_code,
            2);
  EXPECT_EQ(Wangge("token revoke --tokens " + tokens_ + " --actor W999").exit_code, 2);
  EXPECT_EQ(Wangge("token revoke --tokens " + tokens_ + " --id zz").exit_code, 2);
  EXPECT_EQ(ReadFile(tokens_), before);

  CliRun revoke = Wangge("token revoke --tokens " + tokens_ + " --id " + hash.substr(0, 8));
  ASSERT_EQ(revoke.exit_code, 0) << revoke.output;
  EXPECT_NE(revoke.output.find("token " + hash.substr(0, 12) + " of W001"), std::string::npos)
      << revoke.output;
  EXPECT_EQ(revoke.output.find(hash), std::string::npos) << revoke.output;
  ASSERT_TRUE(TimeUntil(first_, 401, std::chrono::seconds(3)).has_value()) << Log();
  EXPECT_EQ(Post(second_), 201);
}

// Runs `command` in a shell whose umask is 022; returns its exit code.
int UnderUmask022(const std::string& command) {
  const std::string line = "umask 022; " + command + " >/dev/null 2>&1";
  const int status = std::system(line.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Every directory under `root` (and itself) is 0700, every file 0600; the others listed.
std::string NotPrivate(const std::string& root) {
  std::string found;
  auto check = [&](const fs::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return;
    const mode_t want = S_ISDIR(st.st_mode) ? 0700 : 0600;
    if ((st.st_mode & 0777) != want) {
      found += p.string() + " " + std::to_string(st.st_mode & 0777) + "\n";
    }
  };
  check(root);
  for (const auto& e : fs::recursive_directory_iterator(root)) check(e.path());
  return found;
}

TEST(FilePermissionsTest, WhatWanggeWritesIsPrivateWhateverTheUmask) {
  testing::TempDir dir;
  const std::string bin = WANGGE_BINARY;
  const std::string stream = dir.Sub("year.ndjson"), data = dir.Sub("data"),
                    backup = dir.Sub("backup"), exported = dir.Sub("cases.csv");
  ASSERT_EQ(UnderUmask022(bin + " gen --reports 50 --seed 3 --out " + stream), 0);
  ASSERT_EQ(UnderUmask022(bin + " import --data " + data + " --create " + stream), 0);
  ASSERT_EQ(UnderUmask022(bin + " export --data " + data + " --what cases --format csv --out " +
                          exported),
            0);
  ASSERT_EQ(UnderUmask022(bin + " backup --data " + data + " --to " + backup), 0);
  for (const std::string& p : {stream, exported}) {
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << p;
  }
  ASSERT_TRUE(fs::exists(data + "/LOCK"));
  EXPECT_EQ(NotPrivate(data), "");
  EXPECT_EQ(NotPrivate(backup), "");
}

TEST(FilePermissionsTest, TheControlSocketIsOwnerOnly) {
  testing::TempDir dir;
  const std::string tokens = dir.Sub("tokens"), data = dir.Sub("data");
  ASSERT_EQ(Wangge("token add --tokens " + tokens + " --actor W001 --role worker").exit_code, 0);
  const mode_t mask = ::umask(022);  // the child inherits it
  auto [pid, port] = testing::StartServer(data, tokens);
  ::umask(mask);
  ASSERT_GT(pid, 0);
  struct stat st {};
  const int found = port > 0 ? ::stat((data + "/control.sock").c_str(), &st) : -1;
  const std::string not_private = port > 0 ? NotPrivate(data) : "";
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  ASSERT_GT(port, 0) << ReadFile(data + ".log");
  ASSERT_EQ(found, 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(not_private, "");
}

}  // namespace
}  // namespace wangge::ingest

namespace wangge::ingest {
namespace {

// `token add --qr`: an SVG whose QR code (read back by zbarimg, a real decoder) opens the
// field app logged in with the new token; private to its owner; and nothing is added when
// the app's address is wrong or the file is there already.
TEST(TokenQrTest, AQrCodeOpensTheAppWithTheTokenAndIsPrivate) {
  testing::TempDir dir;
  const std::string tokens = dir.Sub("tokens"), qr = dir.Sub("w017.svg");
  CliRun add = Wangge("token add --tokens " + tokens + " --actor W017 --role worker --qr " + qr +
                      " --app-url http://192.168.1.10:8080/app/");
  ASSERT_EQ(add.exit_code, 0) << add.output;
  const std::string token = TokenIn(add);
  ASSERT_FALSE(token.empty()) << add.output;
  struct stat st {};
  ASSERT_EQ(::stat(qr.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string decoded;
  FILE* pipe = ::popen(("zbarimg -q --raw " + qr + " 2>/dev/null").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buf[512];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) decoded.append(buf, n);
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "zbarimg (zbar-tools, scripts/deps.sh --test) could not read " << qr;
  EXPECT_EQ(decoded, "http://192.168.1.10:8080/app/#token=" + token + "\n");

  const std::string before = ReadFile(tokens);
  CliRun wrong_url = Wangge("token add --tokens " + tokens + " --actor W018 --role worker --qr " +
                            dir.Sub("w018.svg") + " --app-url http://192.168.1.10:8080/");
  EXPECT_EQ(wrong_url.exit_code, 2) << wrong_url.output;
  EXPECT_NE(wrong_url.output.find("app-url"), std::string::npos) << wrong_url.output;
  CliRun exists = Wangge("token add --tokens " + tokens + " --actor W018 --role worker --qr " + qr);
  EXPECT_NE(exists.exit_code, 0);
  EXPECT_NE(exists.output.find("exists"), std::string::npos) << exists.output;
  EXPECT_EQ(ReadFile(tokens), before) << "a refused --qr adds no token";
}

}  // namespace
}  // namespace wangge::ingest
