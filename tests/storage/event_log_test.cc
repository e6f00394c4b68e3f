#include "storage/event_log.h"

#include <gtest/gtest.h>

#include "core/bytes.h"
#include "tests/testing/temp_dir.h"

namespace wangge::storage {
namespace {

class EventLogTest : public ::testing::Test {
 protected:
  void Open(bool create = false) {
    log_.reset();
    store_.reset();
    StoreOptions o;
    o.path = dir_.Sub("db");
    o.create_if_missing = create;
    auto s = Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    auto l = EventLog::Open(*store_);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    log_ = std::move(l).value();
  }

  void AppendCommitted(int n) {
    WriteSet set(*store_);
    for (int i = 0; i < n; ++i) log_->Append(set, "payload-" + std::to_string(i));
    ASSERT_TRUE(log_->Commit(set).ok());
  }

  std::string RawValue(uint64_t seq) {
    auto v = store_->Get(Family::kLog, EncodeU64(seq));
    return v.ok() && v->has_value() ? **v : std::string();
  }

  void OverwriteRaw(uint64_t seq, const std::string& value) {
    WriteSet set(*store_);
    set.Put(Family::kLog, EncodeU64(seq), value);
    ASSERT_TRUE(store_->Write(set).ok());
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EventLog> log_;
};

TEST_F(EventLogTest, AppendsContiguousSequencesAndVerifies) {
  Open(true);
  EXPECT_EQ(log_->head().seq.value, 0u);
  AppendCommitted(3);
  AppendCommitted(2);
  EXPECT_EQ(log_->head().seq.value, 5u);
  std::vector<std::string> payloads;
  ASSERT_TRUE(log_->Scan(Seq{2}, Seq{4},
                         [&](Seq, std::string_view p) {
                           payloads.emplace_back(p);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(payloads, (std::vector<std::string>{"payload-1", "payload-2", "payload-0"}));
  auto report = log_->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->records, 5u);
  EXPECT_EQ(report->head, log_->head());
}

TEST_F(EventLogTest, ReopenResumesAtTheHead) {
  Open(true);
  AppendCommitted(4);
  LogHead before = log_->head();
  Open();
  EXPECT_EQ(log_->head(), before);
  AppendCommitted(1);
  EXPECT_EQ(log_->head().seq.value, 5u);
  EXPECT_TRUE(log_->Verify()->ok);
}

TEST_F(EventLogTest, AbortDiscardsUncommittedRecords) {
  Open(true);
  AppendCommitted(2);
  WriteSet set(*store_);
  log_->Append(set, "never");
  log_->Abort();
  WriteSet next(*store_);
  EXPECT_EQ(log_->Append(next, "kept").value, 3u);
  ASSERT_TRUE(log_->Commit(next).ok());
  EXPECT_TRUE(log_->Verify()->ok);
}

TEST_F(EventLogTest, FlippedByteInTheMiddleIsDetectedAtTheNextRecord) {
  Open(true);
  AppendCommitted(10);
  std::string v = RawValue(4);
  v.back() = static_cast<char>(v.back() ^ 0x01);
  OverwriteRaw(4, v);
  auto report = log_->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad.value, 5u);
}

TEST_F(EventLogTest, DeletedRecordIsDetected) {
  Open(true);
  AppendCommitted(6);
  WriteSet set(*store_);
  set.Delete(Family::kLog, EncodeU64(3));
  ASSERT_TRUE(store_->Write(set).ok());
  auto report = log_->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad.value, 3u);
  EXPECT_NE(report->problem.find("missing"), std::string::npos);
}

TEST_F(EventLogTest, SwappedRecordsAreDetected) {
  Open(true);
  AppendCommitted(6);
  std::string a = RawValue(2), b = RawValue(3);
  OverwriteRaw(2, b);
  OverwriteRaw(3, a);
  auto report = log_->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad.value, 2u);
}

TEST_F(EventLogTest, AlteredLastRecordIsCorruptionOnOpen) {
  Open(true);
  AppendCommitted(3);
  std::string v = RawValue(3);
  v[v.size() / 2] = static_cast<char>(v[v.size() / 2] ^ 0x40);
  OverwriteRaw(3, v);
  log_.reset();
  auto reopened = EventLog::Open(*store_);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), StatusCode::kCorruption);
  EXPECT_NE(reopened.status().message().find("3"), std::string::npos);
}

TEST_F(EventLogTest, TruncatedTailIsCorruptionOnOpen) {
  Open(true);
  AppendCommitted(3);
  WriteSet set(*store_);
  set.Delete(Family::kLog, EncodeU64(3));
  ASSERT_TRUE(store_->Write(set).ok());
  log_.reset();
  auto reopened = EventLog::Open(*store_);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace wangge::storage
