#include "storage/store.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/bytes.h"
#include "tests/testing/temp_dir.h"

namespace wangge::storage {
namespace {

StoreOptions At(const std::string& path, bool create) {
  StoreOptions o;
  o.path = path;
  o.create_if_missing = create;
  return o;
}

TEST(StoreTest, MissingDirectoryWithoutCreateIsNotFound) {
  testing::TempDir dir;
  auto s = Store::Open(At(dir.Sub("nope"), false));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  EXPECT_NE(s.status().message().find("does not exist"), std::string::npos);
  // Storage names no command-line flags; the commands that can create say how.
  EXPECT_EQ(s.status().message().find("--"), std::string::npos) << s.status().message();
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("nope")));
}

TEST(StoreTest, WritesAreReadableAfterReopen) {
  testing::TempDir dir;
  {
    auto store = Store::Open(At(dir.Sub("db"), true));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    WriteSet set(**store);
    set.Put(Family::kCases, "a", "1");
    set.Put(Family::kOwner, "a", "2");
    EXPECT_EQ(set.Count(), 2u);
    ASSERT_TRUE((*store)->Write(set).ok());
  }
  auto store = Store::Open(At(dir.Sub("db"), false));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto v = (*store)->Get(Family::kCases, "a");
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ(**v, "1");
  // Families are separate key spaces.
  EXPECT_FALSE((*store)->Get(Family::kDue, "a")->has_value());
}

TEST(StoreTest, SecondOpenOfALockedDirectoryFailsClearly) {
  testing::TempDir dir;
  auto first = Store::Open(At(dir.Sub("db"), true));
  ASSERT_TRUE(first.ok());
  auto second = Store::Open(At(dir.Sub("db"), false));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("in use by another store"), std::string::npos)
      << second.status().message();
  first->reset();
  EXPECT_TRUE(Store::Open(At(dir.Sub("db"), false)).ok()) << "closing frees the directory";
}

TEST(StoreTest, NewerFormatVersionIsRefused) {
  testing::TempDir dir;
  {
    auto store = Store::Open(At(dir.Sub("db"), true));
    ASSERT_TRUE(store.ok());
    WriteSet set(**store);
    std::string v;
    PutU32(v, kFormatVersion + 1);
    set.Put(Family::kMeta, "format_version", v);
    ASSERT_TRUE((*store)->Write(set).ok());
  }
  auto store = Store::Open(At(dir.Sub("db"), false));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("newer"), std::string::npos);
}

TEST(StoreTest, ADirectoryThatIsNotAStoreIsRefused) {
  testing::TempDir dir;
  std::filesystem::create_directory(dir.Sub("other"));
  std::ofstream(dir.Sub("other") + "/notes.txt") << "hello";
  auto store = Store::Open(At(dir.Sub("other"), true));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(std::filesystem::exists(dir.Sub("other") + "/notes.txt"));
}

TEST(StoreTest, ScanHonoursRangeAndOrder) {
  testing::TempDir dir;
  auto store = Store::Open(At(dir.Sub("db"), true));
  ASSERT_TRUE(store.ok());
  WriteSet set(**store);
  for (uint64_t i : {5u, 1u, 3u, 2u, 4u}) set.Put(Family::kLog, EncodeU64(i), "x");
  ASSERT_TRUE((*store)->Write(set).ok());
  std::vector<uint64_t> seen;
  ASSERT_TRUE((*store)
                  ->Scan(Family::kLog, EncodeU64(2), EncodeU64(5),
                         [&](std::string_view k, std::string_view) {
                           seen.push_back(DecodeU64(k));
                           return true;
                         })
                  .ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{2, 3, 4}));
  auto last = (*store)->Last(Family::kLog);
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ(DecodeU64((*last)->first), 5u);
}

uint64_t BlobBytes(const std::string& dir) {
  uint64_t bytes = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".blob") bytes += e.file_size();
  }
  return bytes;
}

TEST(StoreTest, UnloggedWritesAreDurableOnceTheirFamilyIsFlushed) {
  testing::TempDir dir;
  {
    auto store = Store::Open(At(dir.Sub("db"), true));
    ASSERT_TRUE(store.ok());
    WriteSet set(**store);
    set.Put(Family::kMedia, "bphoto", std::string(100000, 'p'));
    ASSERT_TRUE((*store)->WriteUnlogged(set).ok());
    ASSERT_TRUE((*store)->FlushFamily(Family::kMedia).ok());
    // The value went to a blob file once, and to no write-ahead log.
    EXPECT_GE(BlobBytes(dir.Sub("db")), 100000u);
    uint64_t logged = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.Sub("db"))) {
      if (e.path().extension() == ".log") logged += e.file_size();
    }
    EXPECT_LT(logged, 100000u);
  }
  auto store = Store::Open(At(dir.Sub("db"), false));
  ASSERT_TRUE(store.ok());
  auto v = (*store)->Get(Family::kMedia, "bphoto");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ((*v)->size(), 100000u);
}

TEST(StoreTest, BlobGarbageIsReclaimedOnlyAboveTheRatio) {
  testing::TempDir dir;
  auto store = Store::Open(At(dir.Sub("db"), true));
  ASSERT_TRUE(store.ok());
  WriteSet set(**store);
  for (char c = 'a'; c < 'a' + 8; ++c) {
    set.Put(Family::kMedia, std::string("b") + c, std::string(200000, c));
  }
  ASSERT_TRUE((*store)->Write(set).ok());
  ASSERT_TRUE((*store)->FlushFamily(Family::kMedia).ok());
  const uint64_t before = BlobBytes(dir.Sub("db"));
  ASSERT_GE(before, 8u * 200000);

  WriteSet drop(**store);
  drop.Delete(Family::kMedia, "ba");
  ASSERT_TRUE((*store)->Write(drop).ok());
  // One eighth is garbage: under a ratio of a quarter, nothing is rewritten.
  auto ratio = (*store)->CollectBlobGarbage(Family::kMedia, 0.25);
  ASSERT_TRUE(ratio.ok()) << ratio.status().ToString();
  EXPECT_NEAR(*ratio, 1.0 / 8, 0.01);
  EXPECT_EQ(BlobBytes(dir.Sub("db")), before);

  WriteSet more(**store);
  for (char c : {'b', 'c', 'd'}) more.Delete(Family::kMedia, std::string("b") + c);
  ASSERT_TRUE((*store)->Write(more).ok());
  ratio = (*store)->CollectBlobGarbage(Family::kMedia, 0.25);
  ASSERT_TRUE(ratio.ok()) << ratio.status().ToString();
  EXPECT_NEAR(*ratio, 4.0 / 8, 0.01);
  EXPECT_LT(BlobBytes(dir.Sub("db")), before * 5 / 8);
  for (char c = 'e'; c < 'a' + 8; ++c) {
    auto v = (*store)->Get(Family::kMedia, std::string("b") + c);
    ASSERT_TRUE(v.ok() && v->has_value());
    EXPECT_EQ(**v, std::string(200000, c));
  }
}

}  // namespace
}  // namespace wangge::storage
