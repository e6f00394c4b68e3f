// wangge replay and verify end to end: a replayed directory verifies with the source's
// head, and verify catches each way of altering a copy of a data directory.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <signal.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <tuple>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/bytes.h"
#include "core/sha256.h"
#include "engine/codec.h"
#include "engine/engine.h"
#include "engine/media.h"
#include "storage/event_log.h"
#include "storage/store.h"
#include "tests/testing/builders.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wangge_process.h"

namespace wangge {
namespace {

namespace fs = std::filesystem;

using testing::CliRun;
using testing::Wangge;

// "SEQ:HASH" from the "head: SEQ:HASH" line of replay or verify output ("" if none).
std::string HeadOf(const std::string& output) {
  const size_t at = output.find("head: ");
  if (at == std::string::npos) return {};
  const size_t end = output.find_first_of(" \n", at + 6);
  const std::string head = output.substr(at + 6, end - (at + 6));
  const size_t colon = head.find(':');
  return colon != std::string::npos && head.size() - colon - 1 == 64 ? head : std::string();
}

class AuditCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const std::string year = dir_->Sub("year.ndjson");
    ASSERT_EQ(Wangge("gen --reports 300 --seed 5 --out " + year).exit_code, 0);
    ASSERT_EQ(Wangge("import --data " + Data() + " --create " + year).exit_code, 0);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string Data() { return dir_->Sub("data"); }

  // A copy of the data directory altered by `edit` (given the open store).
  std::string Altered(const std::string& name,
                      const std::function<void(storage::Store&, storage::WriteSet&)>& edit) {
    const std::string copy = dir_->Sub(name);
    fs::copy(Data(), copy, fs::copy_options::recursive);
    storage::StoreOptions o;
    o.path = copy;
    auto store = storage::Store::Open(o);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    storage::WriteSet set(**store);
    edit(**store, set);
    EXPECT_TRUE((*store)->Write(set).ok());
    return copy;
  }

  static std::string LogValue(storage::Store& store, uint64_t seq) {
    auto v = store.Get(storage::Family::kLog, EncodeU64(seq));
    EXPECT_TRUE(v.ok() && v->has_value());
    return v.ok() && *v ? **v : std::string();
  }

  static inline testing::TempDir* dir_ = nullptr;
};

TEST_F(AuditCliTest, AReplayVerifiesWithTheSourcesHeadAndDigest) {
  CliRun source = Wangge("verify --quiet --data " + Data());
  ASSERT_EQ(source.exit_code, 0) << source.output;
  EXPECT_NE(source.output.find("OK: "), std::string::npos) << source.output;
  const std::string into = dir_->Sub("replayed");
  CliRun replay = Wangge("replay --data " + Data() + " --into " + into);
  ASSERT_EQ(replay.exit_code, 0) << replay.output;
  EXPECT_NE(replay.output.find("replay: "), std::string::npos) << "no progress line";
  EXPECT_EQ(HeadOf(replay.output), HeadOf(source.output));
  CliRun again = Wangge("verify --quiet --data " + into + " --anchor " + HeadOf(source.output));
  EXPECT_EQ(again.exit_code, 0) << again.output;
  auto digest = [](const std::string& out) { return out.substr(out.find("state digest: ")); };
  EXPECT_EQ(digest(again.output), digest(source.output));

  // A cut replays a prefix whose head is that record.
  CliRun cut = Wangge("replay --quiet --data " + Data() + " --into " + dir_->Sub("cut") +
                      " --until-seq 100");
  ASSERT_EQ(cut.exit_code, 0) << cut.output;
  EXPECT_EQ(HeadOf(cut.output).substr(0, 4), "100:");
  EXPECT_EQ(Wangge("verify --quiet --data " + dir_->Sub("cut")).exit_code, 0);
}

TEST_F(AuditCliTest, RefusesAnExistingTargetAndBadArguments) {
  CliRun exists = Wangge("replay --data " + Data() + " --into " + Data());
  EXPECT_EQ(exists.exit_code, 2) << exists.output;
  EXPECT_NE(exists.output.find("already exists"), std::string::npos) << exists.output;
  CliRun both = Wangge("replay --data " + Data() + " --into " + dir_->Sub("x") +
                       " --until 2020-05-01 --until-seq 5");
  EXPECT_EQ(both.exit_code, 2) << both.output;
  CliRun when = Wangge("replay --data " + Data() + " --into " + dir_->Sub("x") + " --until soon");
  EXPECT_EQ(when.exit_code, 2) << when.output;
  EXPECT_NE(when.output.find("until"), std::string::npos) << when.output;
  CliRun anchor = Wangge("verify --data " + Data() + " --anchor 12:beef");
  EXPECT_EQ(anchor.exit_code, 2) << anchor.output;
  CliRun missing = Wangge("verify --data " + dir_->Sub("absent"));
  EXPECT_EQ(missing.exit_code, 3) << missing.output;
}

TEST_F(AuditCliTest, CatchesAnEditedRecord) {
  const std::string copy = Altered("edited", [](storage::Store& s, storage::WriteSet& set) {
    std::string v = LogValue(s, 50);
    v.back() = static_cast<char>(v.back() ^ 1);
    set.Put(storage::Family::kLog, EncodeU64(50), v);
  });
  CliRun r = Wangge("verify --quiet --data " + copy);
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("TAMPERED: the hash chain breaks at sequence 51"), std::string::npos)
      << r.output;
}

TEST_F(AuditCliTest, CatchesADeletedRecord) {
  const std::string copy = Altered("deleted", [](storage::Store&, storage::WriteSet& set) {
    set.Delete(storage::Family::kLog, EncodeU64(50));
  });
  CliRun r = Wangge("verify --quiet --data " + copy);
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("sequence 50 is missing"), std::string::npos) << r.output;
}

TEST_F(AuditCliTest, CatchesReorderedRecords) {
  const std::string copy = Altered("reordered", [](storage::Store& s, storage::WriteSet& set) {
    const std::string a = LogValue(s, 60), b = LogValue(s, 61);
    set.Put(storage::Family::kLog, EncodeU64(60), b);
    set.Put(storage::Family::kLog, EncodeU64(61), a);
  });
  CliRun r = Wangge("verify --quiet --data " + copy);
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("breaks at sequence 60"), std::string::npos) << r.output;
}

// A record appended with a correct chain and head: only the derived state betrays it.
TEST_F(AuditCliTest, CatchesAForgedAppendedRecord) {
  const std::string copy = Altered("forged", [](storage::Store& s, storage::WriteSet& set) {
    auto log = storage::EventLog::Open(s);
    ASSERT_TRUE(log.ok());
    const uint64_t next = (*log)->NextSeq().value;
    // Record 2 is a report; the forgery reports a new case in its name.
    auto record = engine::DecodeRecord(Seq{2}, LogValue(s, 2).substr(33));
    ASSERT_TRUE(record.ok()) << record.status().ToString();
    std::get<engine::Report>(record->body).client_id = "forged-0001";
    record->seq = Seq{next};
    (*log)->Append(set, engine::EncodeRecord(*record));
    ASSERT_TRUE((*log)->Commit(set).ok());
    set.Clear();
  });
  CliRun r = Wangge("verify --quiet --data " + copy);
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("derived state differs from a replay of the log in: cases"),
            std::string::npos)
      << r.output;
}

TEST_F(AuditCliTest, CatchesAnEditedCase) {
  const std::string copy = Altered("case", [](storage::Store& s, storage::WriteSet& set) {
    std::string key, value;
    ASSERT_TRUE(
        s.Scan(storage::Family::kCases, "", "", [&](std::string_view k, std::string_view v) {
           key = k;
           value = v;
           return false;
         }).ok());
    auto c = engine::DecodeCase(value);
    ASSERT_TRUE(c.ok());
    c->office = "somewhere-else";
    set.Put(storage::Family::kCases, key, engine::EncodeCase(*c));
  });
  CliRun r = Wangge("verify --quiet --data " + copy);
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("in: cases"), std::string::npos) << r.output;
}

// A log cut short with its head moved back verifies as a chain; the anchor kept from an
// earlier verify does not.
TEST_F(AuditCliTest, AnAnchorCatchesATruncatedLog) {
  CliRun before = Wangge("verify --quiet --data " + Data());
  const std::string anchor = HeadOf(before.output);
  ASSERT_FALSE(anchor.empty()) << before.output;
  const std::string copy = Altered("truncated", [](storage::Store& s, storage::WriteSet& set) {
    auto log = storage::EventLog::Open(s);
    ASSERT_TRUE(log.ok());
    const uint64_t last = (*log)->head().seq.value;
    set.Delete(storage::Family::kLog, EncodeU64(last));
    // The head of record last-1: replay it into the head record's format.
    const std::string prev = LogValue(s, last);  // its frame holds the hash of last-1
    std::string head = EncodeU64(last - 1);
    head.append(prev.substr(1, 32));
    set.Put(storage::Family::kMeta, "log_head", head);
  });
  // The head checkpoint inside the directory catches it as missing records...
  CliRun damaged = Wangge("verify --quiet --data " + copy);
  EXPECT_EQ(damaged.exit_code, 3) << damaged.output;
  EXPECT_NE(damaged.output.find("acknowledged records are missing"), std::string::npos);
  // ...but whoever can write the directory can remove that too: the anchor, kept
  // elsewhere, still catches it.
  std::filesystem::remove(copy + "/wangge-head");
  CliRun r = Wangge("verify --quiet --data " + copy + " --anchor " + anchor);
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("before the anchor's record"), std::string::npos) << r.output;
}

// The client id and office of the case reported by record 2.
std::pair<std::string, std::string> SecondRecordCase(storage::Store& s) {
  auto v = s.Get(storage::Family::kLog, EncodeU64(2));
  EXPECT_TRUE(v.ok() && v->has_value());
  auto record = engine::DecodeRecord(Seq{2}, (**v).substr(33));
  EXPECT_TRUE(record.ok());
  return {std::get<engine::Report>(record->body).client_id, record->routing.office};
}

TEST_F(AuditCliTest, CaseShowsEveryRecordAndWhyItWasRouted) {
  std::string id, office;
  {
    storage::StoreOptions o;
    o.path = Data();
    o.read_only = true;
    auto store = storage::Store::Open(o);
    ASSERT_TRUE(store.ok());
    std::tie(id, office) = SecondRecordCase(**store);
  }
  CliRun c = Wangge("case --data " + Data() + " " + id);
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_NE(c.output.find("#2 "), std::string::npos) << c.output;
  EXPECT_NE(c.output.find("report by W"), std::string::npos) << c.output;
  EXPECT_NE(c.output.find("office — → " + office), std::string::npos) << c.output;
  EXPECT_NE(c.output.find("activated by record 1"), std::string::npos) << c.output;
  EXPECT_NE(c.output.find("✔"), std::string::npos) << c.output;
  EXPECT_NE(c.output.find("the same decision"), std::string::npos) << c.output;
  EXPECT_EQ(Wangge("case --data " + Data() + " no-such-case").exit_code, 1);
}

// A report record whose routing was edited no longer matches what its ruleset derives.
TEST_F(AuditCliTest, CaseFlagsARoutingItsRulesetDoesNotDerive) {
  std::string id;
  const std::string copy = Altered("rerouted", [&](storage::Store& s, storage::WriteSet& set) {
    id = SecondRecordCase(s).first;
    std::string v = LogValue(s, 2);
    auto record = engine::DecodeRecord(Seq{2}, v.substr(33));
    ASSERT_TRUE(record.ok());
    record->routing.deadline.ms += 3'600'000;  // an hour more to do it
    set.Put(storage::Family::kLog, EncodeU64(2), v.substr(0, 33) + engine::EncodeRecord(*record));
  });
  CliRun c = Wangge("case --data " + copy + " " + id);
  EXPECT_EQ(c.exit_code, 4) << c.output;
  EXPECT_NE(c.output.find("RE-DERIVED DECISION DIFFERS"), std::string::npos) << c.output;
}

TEST_F(AuditCliTest, WhatIfCountsOwnerAndDeadlineChangesAndWritesNothing) {
  const std::string before = Wangge("verify --quiet --data " + Data()).output;
  CliRun same = Wangge("what-if --json --data " + Data() + " --rules " +
                       std::string(WANGGE_SOURCE_DIR) + "/rules/default.json");
  ASSERT_EQ(same.exit_code, 0) << same.output;
  auto parsed = boost::json::parse(same.output).as_object();
  EXPECT_GE(parsed.at("reports").as_int64(), 300);
  EXPECT_EQ(parsed.at("owner_changed").as_int64(), 0);
  EXPECT_EQ(parsed.at("deadline_earlier").as_int64() + parsed.at("deadline_later").as_int64(), 0);

  const std::string one = dir_->Sub("one.json");
  std::ofstream(one) << R"({"version": "v2", "offices": [{"id": "one", "name": "One",
    "level": "platform"}], "tables": [{"id": "t", "rows": [{"id": "all", "default": true,
    "then": {"office": "one", "limit": {"calendar_hours": 5}}}]}]})";
  CliRun moved = Wangge("what-if --json --data " + Data() + " --rules " + one +
                        " --from 2020-03-01 --to 2020-07-01");
  ASSERT_EQ(moved.exit_code, 0) << moved.output;
  parsed = boost::json::parse(moved.output).as_object();
  const int64_t reports = parsed.at("reports").as_int64();
  EXPECT_GT(reports, 50);
  EXPECT_LT(reports, 250);  // a third of the year
  EXPECT_EQ(parsed.at("owner_changed").as_int64(), reports);
  int64_t moves = 0;
  for (const auto& m : parsed.at("moves").as_array()) {
    EXPECT_EQ(m.at("to_office").as_string(), "one");
    EXPECT_LE(m.at("examples").as_array().size(), 3u);
    moves += m.at("cases").as_int64();
  }
  EXPECT_EQ(moves, reports);
  CliRun table = Wangge("what-if --data " + Data() + " --rules " + one);
  EXPECT_NE(table.output.find("owner would change"), std::string::npos) << table.output;

  std::ofstream(dir_->Sub("bad.json")) << "{\"version\": 3}";
  CliRun bad = Wangge("what-if --data " + Data() + " --rules " + dir_->Sub("bad.json"));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("bad.json:1:"), std::string::npos) << bad.output;
  EXPECT_EQ(Wangge("verify --quiet --data " + Data()).output, before) << "what-if wrote";
}

TEST_F(AuditCliTest, ALogExportReimportsWithTheSameDigest) {
  const std::string file = dir_->Sub("log.ndjson"), into = dir_->Sub("reimported");
  ASSERT_EQ(Wangge("export --data " + Data() + " --out " + file).exit_code, 0);
  CliRun imported = Wangge("import --records --data " + into + " " + file);
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  auto digest = [](const std::string& out) { return out.substr(out.find("state digest: ")); };
  EXPECT_EQ(digest(Wangge("verify --quiet --data " + into).output),
            digest(Wangge("verify --quiet --data " + Data()).output));
  {
    std::ifstream in(file);
    std::string first;
    std::getline(in, first);
    auto line = boost::json::parse(first).as_object();
    EXPECT_EQ(line.at("seq").as_int64(), 1);
    EXPECT_EQ(line.at("kind").as_string(), "rules");
  }
  // A window does not import (it does not start at record 1); a broken line names itself.
  const std::string part = dir_->Sub("part.ndjson");
  ASSERT_EQ(Wangge("export --data " + Data() + " --from 2020-06-01 --out " + part).exit_code, 0);
  CliRun partial = Wangge("import --records --data " + dir_->Sub("p") + " " + part);
  EXPECT_EQ(partial.exit_code, 2) << partial.output;
  // Record 1 (the activation at creation, dated by the import's first command) is before
  // the window, so the window's first line is out of order.
  EXPECT_NE(partial.output.find("part.ndjson:1: seq "), std::string::npos) << partial.output;
  EXPECT_NE(partial.output.find("where 1 was due"), std::string::npos) << partial.output;
  EXPECT_FALSE(fs::exists(dir_->Sub("p")));
  const std::string broken = dir_->Sub("broken.ndjson");
  {
    std::ifstream in(file);
    std::ofstream out(broken);
    std::string line;
    for (int i = 0; i < 5 && std::getline(in, line); ++i) {
      out << (i == 3 ? line.substr(0, line.size() - 10) + "\"}" : line) << "\n";
    }
  }
  CliRun bad = Wangge("import --records --data " + dir_->Sub("b") + " " + broken);
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("broken.ndjson:4: "), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(dir_->Sub("b")));
  EXPECT_EQ(Wangge("import --records --data " + Data() + " " + file).exit_code, 2);
}

TEST_F(AuditCliTest, CasesExportAsCsvAndNdjson) {
  CliRun csv = Wangge("export --data " + Data() + " --what cases --format csv");
  ASSERT_EQ(csv.exit_code, 0) << csv.output;
  EXPECT_EQ(csv.output.substr(0, csv.output.find('\n')),
            "case_id,office,village,grid,reporter,category,severity,status,received_at,deadline,"
            "closed_at,satisfaction,reopens,extensions");
  CliRun nd = Wangge("export --data " + Data() + " --what cases");
  ASSERT_EQ(nd.exit_code, 0);
  const auto lines = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n'); };
  EXPECT_EQ(lines(csv.output), lines(nd.output) + 1);
  EXPECT_GE(lines(nd.output), 300);
  EXPECT_EQ(Wangge("export --data " + Data() + " --format xml").exit_code, 2);
  EXPECT_EQ(Wangge("export --data " + Data() + " --what people").exit_code, 2);
  EXPECT_EQ(Wangge("export --data " + Data() + " --from yesterday").exit_code, 2);
}

TEST_F(AuditCliTest, ABackupOfAStoppedDirectoryVerifiesWithTheSameDigest) {
  const std::string dest = dir_->Sub("backup");
  CliRun backup = Wangge("backup --data " + Data() + " --to " + dest);
  ASSERT_EQ(backup.exit_code, 0) << backup.output;
  EXPECT_NE(backup.output.find("OK: "), std::string::npos) << backup.output;
  CliRun source = Wangge("verify --quiet --data " + Data());
  auto digest = [](const std::string& out) { return out.substr(out.find("state digest: ")); };
  EXPECT_EQ(digest(backup.output), digest(source.output));
  CliRun again = Wangge("backup --data " + Data() + " --to " + dest);
  EXPECT_EQ(again.exit_code, 2) << again.output;
}

// While `wangge serve` holds the directory and takes reports, the backup goes through
// its control socket; the copy verifies and holds at least what was acknowledged first.
TEST_F(AuditCliTest, ABackupWhileTheServerTakesReportsVerifies) {
  const std::string data = dir_->Sub("online"), tokens = dir_->Sub("online.tokens");
  fs::copy(Data(), data, fs::copy_options::recursive);
  CliRun token = Wangge("token add --tokens " + tokens + " --actor W001 --role worker");
  ASSERT_EQ(token.exit_code, 0) << token.output;
  const size_t at = token.output.find("wg_");
  ASSERT_NE(at, std::string::npos) << token.output;
  const std::string secret = token.output.substr(at, 3 + 64);
  auto [pid, port] = testing::StartServer(data, tokens);
  ASSERT_GT(pid, 0);
  ASSERT_GT(port, 0) << "the server did not start";
  ASSERT_EQ(testing::Post(port, secret, "before-backup"), 201);
  std::atomic<bool> stop{false};
  std::atomic<int> acked{0};
  std::thread load([&, port = port] {
    for (int i = 0; !stop; ++i) {
      if (testing::Post(port, secret, "during-" + std::to_string(i)) == 201) ++acked;
    }
  });
  const std::string dest = dir_->Sub("online-backup");
  CliRun backup = Wangge("backup --data " + data + " --to " + dest);
  stop = true;
  load.join();
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_EQ(backup.exit_code, 0) << backup.output;
  EXPECT_NE(backup.output.find("OK: "), std::string::npos) << backup.output;
  EXPECT_GT(acked.load(), 0);
  storage::StoreOptions o;
  o.path = dest;
  o.read_only = true;
  auto copy = storage::Store::Open(o);
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  auto c = (*copy)->Get(storage::Family::kCases, "before-backup");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->has_value());
  EXPECT_FALSE(fs::exists(data + "/control.sock")) << "the server removes its socket on stop";
}

}  // namespace
}  // namespace wangge

namespace wangge {
namespace {

// A directory with one case whose report carries a photo, and the photo's hash.
std::pair<std::string, std::string> DirectoryWithEvidence(testing::TempDir& dir) {
  const std::string data = dir.Sub("evidence");
  testing::FakeClock clock;
  engine::EngineOptions o;
  o.store.path = data;
  o.store.create_if_missing = true;
  auto eng = engine::Engine::Open(o, clock);
  EXPECT_TRUE(eng.ok()) << eng.status().ToString();
  const std::string photo = "\xFF\xD8\xFF not decoded here: the engine stores what it is given";
  const std::string hash = Sha256Hex(photo);
  engine::MediaInfo info;
  info.type = "image/jpeg";
  info.size = photo.size();
  info.stored_at = clock.Now();
  EXPECT_TRUE((*eng)->StoreMedia(hash, photo, info).ok());
  engine::Command c = testing::ReportCommand("ev-1");
  std::get<engine::Report>(c.body).media = {hash};
  auto r = (*eng)->sequencer().Submit(std::move(c)).get();
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  (*eng)->Stop();
  return {data, hash};
}

TEST(EvidenceCliTest, AnExportTakesItsPhotosAndAnImportRestoresThem) {
  testing::TempDir dir;
  auto [data, hash] = DirectoryWithEvidence(dir);
  const std::string file = dir.Sub("log.ndjson");
  CliRun exported = Wangge("export --data " + data + " --out " + file);
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  ASSERT_TRUE(fs::exists(file + ".media/" + hash)) << exported.output;
  ASSERT_TRUE(fs::exists(file + ".media/" + hash + ".json"));
  const std::string into = dir.Sub("imported");
  CliRun imported = Wangge("import --records --data " + into + " " + file);
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_NE(imported.output.find("imported 1 photos"), std::string::npos) << imported.output;
  CliRun verified = Wangge("verify --quiet --data " + into);
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
  EXPECT_NE(verified.output.find("1 photos hash to their names"), std::string::npos)
      << verified.output;
  // A photo file that was altered is refused, naming it.
  { std::ofstream(file + ".media/" + hash, std::ios::binary | std::ios::app) << "x"; }
  CliRun refused = Wangge("import --records --data " + dir.Sub("again") + " " + file);
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find(hash + ": its bytes do not hash to its name"), std::string::npos)
      << refused.output;
  EXPECT_FALSE(fs::exists(dir.Sub("again"))) << "a refused import left a directory";
}

TEST(EvidenceCliTest, AReplayTakesThePhotosAlong) {
  testing::TempDir dir;
  auto [data, hash] = DirectoryWithEvidence(dir);
  const std::string into = dir.Sub("replayed");
  CliRun replayed = Wangge("replay --quiet --data " + data + " --into " + into);
  ASSERT_EQ(replayed.exit_code, 0) << replayed.output;
  EXPECT_NE(replayed.output.find("copied 1 photos"), std::string::npos) << replayed.output;
  CliRun verified = Wangge("verify --quiet --data " + into);
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
  EXPECT_NE(verified.output.find("1 photos hash to their names"), std::string::npos)
      << verified.output;
}

TEST(EvidenceCliTest, VerifyCatchesAChangedOrMissingPhotoNamingCaseAndStep) {
  testing::TempDir dir;
  auto [data, hash] = DirectoryWithEvidence(dir);
  CliRun ok = Wangge("verify --quiet --data " + data);
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("1 photos hash to their names"), std::string::npos) << ok.output;

  for (const bool remove : {false, true}) {
    const std::string copy = dir.Sub(remove ? "removed" : "changed");
    fs::copy(data, copy, fs::copy_options::recursive);
    {
      storage::StoreOptions so;
      so.path = copy;
      auto store = storage::Store::Open(so);
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      storage::WriteSet set(**store);
      if (remove) {
        set.Delete(storage::Family::kMedia, engine::MediaBytesKey(hash));
      } else {
        set.Put(storage::Family::kMedia, engine::MediaBytesKey(hash), "\xFF\xD8\xFF another photo");
      }
      ASSERT_TRUE((*store)->Write(set).ok());
    }
    CliRun r = Wangge("verify --quiet --data " + copy);
    EXPECT_EQ(r.exit_code, 4) << r.output;
    EXPECT_NE(r.output.find("case ev-1, step report (seq 2): photo " + hash +
                            (remove ? " is missing" : " was altered")),
              std::string::npos)
        << r.output;
  }
}

}  // namespace
}  // namespace wangge
