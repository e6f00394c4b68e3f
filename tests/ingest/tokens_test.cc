#include "ingest/tokens.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <thread>

#include <gtest/gtest.h>

#include "tests/testing/temp_dir.h"

namespace wangge::ingest {
namespace {

TEST(TokenStoreTest, NewTokensAreFoundAndOnlyTheirHashIsStored) {
  testing::TempDir dir;
  const std::string path = dir.Sub("tokens");
  auto worker = TokenStore::NewToken(engine::Actor{"W017", engine::Role::kWorker, ""});
  auto handler = TokenStore::NewToken(engine::Actor{"H-zz-03", engine::Role::kHandler, "zongzhi"});
  ASSERT_TRUE(worker.ok() && handler.ok());
  ASSERT_TRUE(TokenStore::Append(path, worker->second).ok());
  ASSERT_TRUE(TokenStore::Append(path, handler->second).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find(worker->first), std::string::npos) << "the token itself is never stored";

  auto store = TokenStore::Load(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(store->size(), 2u);
  auto w = store->Find(worker->first);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->id, "W017");
  EXPECT_EQ(w->role, engine::Role::kWorker);
  auto h = store->Find(handler->first);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->office, "zongzhi");
  EXPECT_FALSE(store->Find(worker->first + "x").has_value());
  EXPECT_FALSE(store->Find("").has_value());
  EXPECT_NE(worker->first, handler->first);
}

TEST(TokenStoreTest, BadActorsAreRefused) {
  EXPECT_EQ(TokenStore::NewToken({"H-1", engine::Role::kHandler, ""}).status().field(), "office");
  EXPECT_EQ(TokenStore::NewToken({"W 1", engine::Role::kWorker, ""}).status().field(), "actor");
  EXPECT_EQ(TokenStore::NewToken({"S-1", engine::Role::kSupervisor, "x"}).status().field(),
            "office");
}

TEST(TokenStoreTest, BrokenFilesListEveryBadLine) {
  const std::string hash(64, 'a');
  const std::string text = "# tokens\n\n" + hash + " W1 worker\n" + "nothex W2 worker\n" +
                           std::string(64, 'b') + " W3 wizard\n" + std::string(64, 'c') +
                           " H-1 handler\n" + hash + " W1 worker\n";
  auto store = TokenStore::Parse(text, "tokens");
  ASSERT_FALSE(store.ok());
  const std::string m = store.status().message();
  EXPECT_NE(m.find("4 problem(s)"), std::string::npos) << m;
  EXPECT_NE(m.find("tokens:4:1: the first word must be 64 lowercase hex"), std::string::npos) << m;
  EXPECT_NE(m.find("tokens:5:69: unknown role 'wizard'"), std::string::npos) << m;
  EXPECT_NE(m.find("tokens:6:66: a handler needs an office id"), std::string::npos) << m;
  EXPECT_NE(m.find("tokens:7:1: this token appears twice"), std::string::npos) << m;
  // The engine's own role is never a token's.
  auto system = TokenStore::Parse(std::string(64, 'd') + " T-1 system\n", "tokens");
  ASSERT_FALSE(system.ok());
  EXPECT_NE(system.status().message().find("unknown role 'system'"), std::string::npos);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

TimeMs At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

// Old lines (no times) and new ones (created=, expires=) load side by side.
TEST(TokenStoreTest, OldAndNewFormatLinesLoadTogether) {
  const std::string a(64, 'a'), b(64, 'b'), c(64, 'c');
  const std::string text = "# old\n" + a + " W1 worker\n" + b +
                           " H-1 handler zz created=2026-01-05T09:00:00+08:00 "
                           "expires=2026-12-31T23:59:59.999+08:00\n" +
                           c + " S-1 supervisor expires=2027-01-01T00:00:00Z\n";
  auto store = TokenStore::Parse(text, "tokens");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const auto entries = store->Entries();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].line, 2u);
  EXPECT_FALSE(entries[0].created.has_value());
  EXPECT_FALSE(entries[0].expires.has_value());
  EXPECT_EQ(entries[1].actor.office, "zz");
  EXPECT_EQ(entries[1].created, At("2026-01-05T09:00:00+08:00"));
  EXPECT_EQ(entries[1].expires, At("2026-12-31T23:59:59.999+08:00"));
  EXPECT_FALSE(entries[2].created.has_value());
  EXPECT_EQ(entries[2].expires, At("2027-01-01T00:00:00Z"));
  EXPECT_EQ(entries[1].Id(), std::string(12, 'b'));
  // A line written back reads the same.
  auto again = TokenStore::Parse(entries[1].Line() + "\n", "tokens");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->Entries()[0].expires, entries[1].expires);
  EXPECT_EQ(again->Entries()[0].created, entries[1].created);
}

TEST(TokenStoreTest, BadTimeWordsAreNamedByLineAndColumn) {
  const std::string h(64, 'a');
  const std::string text =
      h + " W1 worker expires=2026-13-01T00:00:00+08:00\n" +                               // 1
      h + " W2 worker colour=blue\n" +                                                     // 2
      h + " W3 worker created=2026-01-01T00:00:00Z created=" + "2026-01-01T00:00:00Z\n" +  // 3
      h + " W4 worker expires=2026-01-01T00:00:00Z zz\n" +                                 // 4
      h + " S-1 supervisor office-x\n";                                                    // 5
  auto store = TokenStore::Parse(text, "tokens");
  ASSERT_FALSE(store.ok());
  const std::string m = store.status().message();
  EXPECT_NE(m.find("5 problem(s)"), std::string::npos) << m;
  EXPECT_NE(m.find("tokens:1:84: expires: "), std::string::npos) << m;
  EXPECT_NE(m.find("tokens:2:76: expected created=RFC3339 or expires=RFC3339"), std::string::npos)
      << m;
  EXPECT_NE(m.find("tokens:3:105: created appears twice"), std::string::npos) << m;
  EXPECT_NE(m.find("tokens:4:105: expected created=RFC3339"), std::string::npos) << m;
  EXPECT_NE(m.find("tokens:5:81: only a handler has an office"), std::string::npos) << m;
}

TEST(TokenStoreTest, AnExpiredTokenIsRefusedAtLookup) {
  auto made = TokenStore::NewToken({"W1", engine::Role::kWorker, ""}, At("2026-01-01T00:00:00Z"),
                                   At("2026-06-30T23:59:59.999+08:00"));
  auto past = TokenStore::NewToken({"W2", engine::Role::kWorker, ""}, std::nullopt,
                                   At("2020-01-01T00:00:00+08:00"));
  ASSERT_TRUE(made.ok() && past.ok());
  auto store = TokenStore::Parse(made->second.Line() + "\n" + past->second.Line() + "\n", "tokens");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE(store->Find(made->first, At("2026-06-30T23:59:59.999+08:00")).has_value());
  EXPECT_FALSE(store->Find(made->first, At("2026-07-01T00:00:00+08:00")).has_value());
  // The system clock is long past 2020.
  EXPECT_FALSE(store->Find(past->first).has_value());
  EXPECT_TRUE(store->Find(past->first, At("2019-12-31T00:00:00+08:00")).has_value());
}

// Two hashes that share the prefix "abcd1", and a third.
std::string ThreeTokens() {
  return "# the office's tokens\n" + std::string("abcd1") + std::string(59, '0') +
         " W1 worker created=2026-01-01T00:00:00+08:00\n\n" + "abcd1" + std::string(59, '1') +
         " W1 worker\n" + "# the supervisor\n" + std::string(64, 'e') + " S-1 supervisor\n";
}

TEST(TokenStoreTest, RevokeByActorRemovesItsTokensAndKeepsEveryOtherLine) {
  testing::TempDir dir;
  const std::string path = dir.Sub("tokens");
  WriteFile(path, ThreeTokens());
  auto revoked = RevokeTokens(path, TokenMatch{"W1", ""});
  ASSERT_TRUE(revoked.ok()) << revoked.status().ToString();
  ASSERT_EQ(revoked->size(), 2u);
  EXPECT_EQ((*revoked)[0].Id(), "abcd10000000");
  EXPECT_EQ(ReadFile(path), "# the office's tokens\n\n# the supervisor\n" + std::string(64, 'e') +
                                " S-1 supervisor\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1)
      << "no temporary file is left behind";
  EXPECT_EQ(RevokeTokens(path, TokenMatch{"W1", ""}).status().code(), StatusCode::kInvalidArgument);
}

TEST(TokenStoreTest, RevokeByIdPrefixTakesExactlyOneToken) {
  testing::TempDir dir;
  const std::string path = dir.Sub("tokens");
  WriteFile(path, ThreeTokens());
  for (const char* prefix : {"abcd", "abcd1", "ffff", "abc", "xyz0", ""}) {
    auto r = RevokeTokens(path, TokenMatch{"", prefix});
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << prefix;
    EXPECT_EQ(ReadFile(path), ThreeTokens()) << "nothing changed for " << prefix;
  }
  auto ambiguous = RevokeTokens(path, TokenMatch{"", "abcd1"});
  EXPECT_NE(ambiguous.status().message().find("matches 2 tokens (abcd10000000 abcd11111111)"),
            std::string::npos)
      << ambiguous.status().ToString();
  EXPECT_EQ(RevokeTokens(path, TokenMatch{"W1", "abcd"}).status().code(),
            StatusCode::kInvalidArgument);

  auto one = RevokeTokens(path, TokenMatch{"", "abcd11"});
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].Id(), "abcd11111111");
  auto left = TokenStore::Load(path);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->size(), 2u);
  EXPECT_EQ(RevokeTokens(dir.Sub("missing"), TokenMatch{"W1", ""}).status().code(),
            StatusCode::kNotFound);
}

TEST(TokenStoreTest, RevokeRefusesAMalformedFile) {
  testing::TempDir dir;
  const std::string path = dir.Sub("tokens");
  const std::string text = ThreeTokens() + "garbage line here\n";
  WriteFile(path, text);
  auto r = RevokeTokens(path, TokenMatch{"W1", ""});
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(path + ":7:1:"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(ReadFile(path), text);
}

TEST(TokenStoreTest, TheListShowsShortIdsAndNeverAWholeHash) {
  auto store = TokenStore::Parse(
      ThreeTokens() + std::string(64, 'f') + " W9 worker expires=2020-01-01T00:00:00+08:00\n",
      "tokens");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const std::string list = FormatTokenList(store->Entries(), At("2026-03-01T00:00:00+08:00"));
  for (const auto& e : store->Entries()) {
    EXPECT_EQ(list.find(e.hash), std::string::npos) << list;
    EXPECT_EQ(list.find(e.hash.substr(0, 13)), std::string::npos) << list;
    EXPECT_NE(list.find(e.Id() + " "), std::string::npos) << list;
  }
  EXPECT_NE(list.find("2026-01-01T00:00:00+08:00"), std::string::npos) << list;
  EXPECT_NE(list.find("expired"), std::string::npos) << list;
  EXPECT_NE(list.find("S-1"), std::string::npos) << list;
}

TEST(TokenStoreTest, ReloadSwapsTheSetAndCountsTheChange) {
  testing::TempDir dir;
  const std::string path = dir.Sub("tokens");
  auto one = TokenStore::NewToken({"W1", engine::Role::kWorker, ""});
  auto two = TokenStore::NewToken({"W2", engine::Role::kWorker, ""});
  ASSERT_TRUE(one.ok() && two.ok());
  WriteFile(path, one->second + "\n");
  auto store = TokenStore::Load(path);
  ASSERT_TRUE(store.ok());
  const TokenStore copy = *store;  // keeps its own set
  WriteFile(path, two->second + "\n");
  auto change = store->Reload(path);
  ASSERT_TRUE(change.ok()) << change.status().ToString();
  EXPECT_EQ(change->tokens, 1u);
  EXPECT_EQ(change->added, 1u);
  EXPECT_EQ(change->removed, 1u);
  EXPECT_FALSE(store->Find(one->first).has_value());
  EXPECT_TRUE(store->Find(two->first).has_value());
  EXPECT_TRUE(copy.Find(one->first).has_value());
}

TEST(TokenStoreTest, AMalformedOrMissingFileOnReloadKeepsTheOldSet) {
  testing::TempDir dir;
  const std::string path = dir.Sub("tokens");
  auto one = TokenStore::NewToken({"W1", engine::Role::kWorker, ""});
  ASSERT_TRUE(one.ok());
  WriteFile(path, one->second + "\n");
  auto store = TokenStore::Load(path);
  ASSERT_TRUE(store.ok());
  WriteFile(path, "garbage\n");
  auto bad = store->Reload(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(path + ":1:1:"), std::string::npos);
  EXPECT_TRUE(store->Find(one->first).has_value());
  EXPECT_EQ(store->size(), 1u);
  std::filesystem::remove(path);
  EXPECT_EQ(store->Reload(path).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store->Find(one->first).has_value());
}

// The watcher reloads a changed file by itself; readers on other threads see the old set
// or the new one, never an error.
TEST(TokenWatcherTest, AChangedFileIsReloadedWithoutBeingAsked) {
  testing::TempDir dir;
  const std::string path = dir.Sub("tokens");
  auto one = TokenStore::NewToken({"W1", engine::Role::kWorker, ""});
  auto two = TokenStore::NewToken({"W2", engine::Role::kWorker, ""});
  ASSERT_TRUE(one.ok() && two.ok());
  WriteFile(path, one->second + "\n" + two->second + "\n");
  auto store = TokenStore::Load(path);
  ASSERT_TRUE(store.ok());
  TokenWatcher watcher(*store, path, std::chrono::milliseconds(10));
  watcher.Start();
  std::atomic<bool> stop{false};
  std::atomic<int> misses{0};
  std::thread reader([&] {
    while (!stop) misses += !store->Find(two->first).has_value();
  });
  ASSERT_TRUE(RevokeTokens(path, TokenMatch{"W1", ""}).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (store->Find(one->first) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  reader.join();
  watcher.Stop();
  EXPECT_FALSE(store->Find(one->first).has_value()) << "not reloaded within 3 s";
  EXPECT_EQ(misses.load(), 0);
  EXPECT_EQ(store->size(), 1u);
}

}  // namespace
}  // namespace wangge::ingest
