#include "ingest/tokens.h"

#include <fstream>
#include <sys/stat.h>

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

}  // namespace
}  // namespace wangge::ingest
