// Photos over HTTP against a real server and RocksDB: upload, refusals, resumable parts,
// access per role and office, thumbnails, ranges, evidence flags and orphan collection.
#include <map>

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "core/sha256.h"
#include "ingest/image.h"
#include "tests/testing/http_fixture.h"
#include "tests/testing/images.h"

namespace wangge::ingest {
namespace {

namespace json = boost::json;
using testing::Headers;
using testing::MakeImage;
using testing::Reply;

class MediaTest : public testing::HttpServerFixture {
 protected:
  Reply Put(const std::string& token, const std::string& bytes, const std::string& hash = {},
            Headers extra = {}) {
    Headers h = testing::Bearer(token);
    h.insert(h.end(), extra.begin(), extra.end());
    return Fetch(http::verb::put, "/v1/media/" + (hash.empty() ? Sha256Hex(bytes) : hash), h,
                 bytes);
  }
  Reply Get(const std::string& token, const std::string& hash, const std::string& query = {},
            Headers extra = {}) {
    Headers h = testing::Bearer(token);
    h.insert(h.end(), extra.begin(), extra.end());
    return Fetch(http::verb::get, "/v1/media/" + hash + query, h);
  }
  // A report by `token` with `media` (hashes).
  Reply Report(const std::string& token, const std::string& id,
               const std::vector<std::string>& media) {
    std::string body = ReportBody(id);
    body.pop_back();
    body += R"(, "media": )" + json::serialize(json::value_from(media)) + "}";
    return Call(http::verb::post, "/v1/reports", token, body);
  }
  static std::string ErrorField(const Reply& r) {
    auto v = json::parse(r.body);
    const auto& e = v.at("error").as_object();
    return e.contains("field") ? std::string(e.at("field").as_string()) : "";
  }
};

TEST_F(MediaTest, EachTypeRoundTripsToWhoeverSeesTheCase) {
  int seed = 1;
  for (const std::string format : {"jpeg", "png", "webp", "heic"}) {
    SCOPED_TRACE(format);
    const std::string bytes = MakeImage(format, 64, 48, seed++);
    const std::string hash = Sha256Hex(bytes);
    Reply first = Put(worker_, bytes);
    ASSERT_EQ(first.status, 201) << first.body;
    auto info = json::parse(first.body);
    EXPECT_EQ(info.at("type").as_string(), "image/" + format);
    EXPECT_EQ(info.at("width").as_int64(), 64);
    EXPECT_EQ(info.at("height").as_int64(), 48);
    EXPECT_EQ(info.at("size").as_int64(), static_cast<int64_t>(bytes.size()));
    EXPECT_EQ(Put(worker_, bytes).status, 200);  // a blind retry

    // Uploaded but referenced by no case: no one sees it.
    EXPECT_EQ(Get(worker_, hash).status, 404);
    EXPECT_EQ(Get(supervisor_, hash).status, 404);

    ASSERT_EQ(Report(worker_, "m-" + format, {hash}).status, 201);
    Reply got = Get(worker_, hash);
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(got.body, bytes);
    EXPECT_EQ(got.content_type, "image/" + format);
    EXPECT_EQ(std::string(got.headers[http::field::etag]), "\"" + hash + "\"");
    EXPECT_EQ(std::string(got.headers[http::field::cache_control]),
              "private, max-age=31536000, immutable");
    EXPECT_EQ(Get(worker_, hash, "", {{"If-None-Match", "\"" + hash + "\""}}).status, 304);
  }
}

TEST_F(MediaTest, BadUploadsAreRefusedAndStoreNothing) {
  const std::string jpeg = MakeImage("jpeg", 40, 30, 7);
  const std::string hash = Sha256Hex(jpeg);
  Reply mismatch = Put(worker_, jpeg, Sha256Hex("something else"));
  EXPECT_EQ(mismatch.status, 400);
  EXPECT_EQ(ErrorField(mismatch), "sha256");

  Reply text = Put(worker_, "just some text, not an image", "", {{"Content-Type", "image/jpeg"}});
  EXPECT_EQ(text.status, 415) << text.body;

  Reply bad_path = Fetch(http::verb::put, "/v1/media/ABC", testing::Bearer(worker_), jpeg);
  EXPECT_EQ(bad_path.status, 400);

  EXPECT_EQ(Put(supervisor_, jpeg).status, 403);
  EXPECT_EQ(Put("", jpeg).status, 401);

  // A report naming a photo that was never stored is 400 naming it.
  Reply unknown = Report(worker_, "m-unknown", {hash});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(ErrorField(unknown), "media");
  EXPECT_NE(unknown.body.find(hash), std::string::npos);
  std::vector<std::string> ten;
  for (int i = 0; i < 10; ++i) ten.push_back(Sha256Hex(std::to_string(i)));
  EXPECT_EQ(Report(worker_, "m-ten", ten).status, 400);

  // Limits of size and pixels.
  ServerOptions so;
  so.port = 0;
  so.threads = 2;
  so.max_media_bytes = 4096;
  so.max_media_pixels = 1000;
  StartServer(so);
  const std::string big = MakeImage("png", 200, 200, 8);
  ASSERT_GT(big.size(), 4096u);
  EXPECT_EQ(Put(worker_, big).status, 413);
  Reply pixels = Put(worker_, jpeg);  // 1,200 pixels
  EXPECT_EQ(pixels.status, 422) << pixels.body;
  auto info = engine_->GetMediaInfo(hash);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->has_value());
}

TEST_F(MediaTest, ResumableUploadsCompleteInTwoAndInManyParts) {
  for (int parts : {2, 7}) {
    SCOPED_TRACE(parts);
    const std::string bytes = MakeImage("png", 120, 90, 20 + parts);
    const std::string hash = Sha256Hex(bytes);
    const size_t step = bytes.size() / parts + 1;
    for (size_t at = 0; at < bytes.size(); at += step) {
      const size_t end = std::min(bytes.size(), at + step);
      Reply r =
          Put(worker_, bytes.substr(at, end - at), hash,
              {{"Content-Range", "bytes " + std::to_string(at) + "-" + std::to_string(end - 1) +
                                     "/" + std::to_string(bytes.size())}});
      ASSERT_EQ(r.status, end == bytes.size() ? 201 : 202) << r.body;
      Reply head = Fetch(http::verb::head, "/v1/media/" + hash, testing::Bearer(worker_));
      EXPECT_EQ(std::string(head.headers["Upload-Offset"]), std::to_string(end));
    }
    ASSERT_EQ(Report(worker_, "r-" + std::to_string(parts), {hash}).status, 201);
    EXPECT_EQ(Get(worker_, hash).body, bytes);
  }
}

TEST_F(MediaTest, AnUploadCutByADroppedConnectionResumesWhereItStopped) {
  const std::string bytes = MakeImage("jpeg", 300, 200, 31);
  const std::string hash = Sha256Hex(bytes);
  const size_t half = bytes.size() / 2;
  ASSERT_EQ(Put(worker_, bytes.substr(0, half), hash,
                {{"Content-Range",
                  "bytes 0-" + std::to_string(half - 1) + "/" + std::to_string(bytes.size())}})
                .status,
            202);
  // The second part's connection drops after a third of its body: nothing of it counts.
  const std::string rest = bytes.substr(half);
  std::string request = "PUT /v1/media/" + hash + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                        worker_ + "\r\nContent-Range: bytes " + std::to_string(half) + "-" +
                        std::to_string(bytes.size() - 1) + "/" + std::to_string(bytes.size()) +
                        "\r\nContent-Length: " + std::to_string(rest.size()) + "\r\n\r\n" +
                        rest.substr(0, rest.size() / 3);
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket s(ioc);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), server_->port()});
    boost::asio::write(s, boost::asio::buffer(request));
  }  // closed mid-body
  Reply head = Fetch(http::verb::head, "/v1/media/" + hash, testing::Bearer(worker_));
  ASSERT_EQ(head.status, 200);
  EXPECT_EQ(std::string(head.headers["Upload-Offset"]), std::to_string(half));
  // A part that would leave a gap is refused.
  Reply gap = Put(worker_, bytes.substr(half + 10), hash,
                  {{"Content-Range", "bytes " + std::to_string(half + 10) + "-" +
                                         std::to_string(bytes.size() - 1) + "/" +
                                         std::to_string(bytes.size())}});
  EXPECT_EQ(gap.status, 400);
  EXPECT_EQ(ErrorField(gap), "content-range");
  Reply done = Put(
      worker_, rest, hash,
      {{"Content-Range", "bytes " + std::to_string(half) + "-" + std::to_string(bytes.size() - 1) +
                             "/" + std::to_string(bytes.size())}});
  ASSERT_EQ(done.status, 201) << done.body;
  ASSERT_EQ(Report(worker_, "dropped", {hash}).status, 201);
  EXPECT_EQ(Get(worker_, hash).body, bytes);
}

TEST_F(MediaTest, AccessFollowsTheCasesThatReferenceAPhoto) {
  const std::string before = MakeImage("jpeg", 64, 64, 41);
  const std::string after = MakeImage("jpeg", 64, 64, 42);
  ASSERT_EQ(Put(worker_, before).status, 201);
  ASSERT_EQ(Put(handler_, after).status, 201);
  ASSERT_EQ(Report(worker_, "ev-1", {Sha256Hex(before)}).status, 201);
  ASSERT_EQ(Call(http::verb::post, "/v1/cases/ev-1/transitions", handler_, R"({"action":"accept"})")
                .status,
            200);
  // Media only with resolve and verify.
  EXPECT_EQ(Call(http::verb::post, "/v1/cases/ev-1/transitions", supervisor_,
                 R"({"action":"escalate","note":"x","media":[")" + Sha256Hex(after) + R"("]})")
                .status,
            400);
  Reply resolved = Call(http::verb::post, "/v1/cases/ev-1/transitions", handler_,
                        R"({"action":"resolve","media":[")" + Sha256Hex(after) + R"("]})");
  ASSERT_EQ(resolved.status, 200) << resolved.body;
  for (const std::string& hash : {Sha256Hex(before), Sha256Hex(after)}) {
    EXPECT_EQ(Get(worker_, hash).status, 200);         // the reporter
    EXPECT_EQ(Get(handler_, hash).status, 200);        // the owning office
    EXPECT_EQ(Get(supervisor_, hash).status, 200);     // sees every case
    EXPECT_EQ(Get(other_worker_, hash).status, 404);   // another reporter
    EXPECT_EQ(Get(other_handler_, hash).status, 404);  // another office
    EXPECT_EQ(Get("", hash).status, 401);
  }
  // The case lists its photos per step.
  auto c = json::parse(Call(http::verb::get, "/v1/cases/ev-1", worker_).body);
  const auto& media = c.at("media").as_array();
  ASSERT_EQ(media.size(), 2u);
  EXPECT_EQ(media[0].at("step").as_string(), "report");
  EXPECT_EQ(media[1].at("step").as_string(), "resolve");
  EXPECT_EQ(media[1].at("items").at(0).at("sha256").as_string(), Sha256Hex(after));
}

TEST_F(MediaTest, ThumbnailsAndRanges) {
  const std::string bytes = MakeImage("jpeg", 800, 600, 51);
  const std::string hash = Sha256Hex(bytes);
  ASSERT_EQ(Put(worker_, bytes).status, 201);
  ASSERT_EQ(Report(worker_, "th-1", {hash}).status, 201);
  for (int pass = 0; pass < 2; ++pass) {  // made, then read from the store
    Reply thumb = Get(worker_, hash, "?size=320");
    ASSERT_EQ(thumb.status, 200) << thumb.body;
    EXPECT_EQ(thumb.content_type, "image/jpeg");
    ImageProbe probe = ProbeImage(thumb.body, 1'000'000);
    ASSERT_EQ(probe.problem, ImageProblem::kNone) << probe.message;
    EXPECT_EQ(probe.info.width, 320u);
    EXPECT_EQ(probe.info.height, 240u);
  }
  auto stored = engine_->GetMediaThumbnail(hash, 320);
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->has_value());
  EXPECT_EQ(Get(worker_, hash, "?size=5").status, 400);

  Reply head = Get(worker_, hash, "", {{"Range", "bytes=0-9"}});
  ASSERT_EQ(head.status, 206);
  EXPECT_EQ(head.body, bytes.substr(0, 10));
  EXPECT_EQ(std::string(head.headers[http::field::content_range]),
            "bytes 0-9/" + std::to_string(bytes.size()));
  Reply tail = Get(worker_, hash, "", {{"Range", "bytes=-5"}});
  ASSERT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, bytes.substr(bytes.size() - 5));
  EXPECT_EQ(Get(worker_, hash, "", {{"Range", "bytes=999999999-"}}).status, 416);
}

// Decoding stops at its time limit, whatever the image: a slow one costs no more than that.
TEST(ImageTest, AThumbnailPastItsTimeLimitIsStoppedAndRefused) {
  const std::string png = MakeImage("png", 2000, 2000, 81);
  auto late = Thumbnail(png, 320, std::chrono::milliseconds(0));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(late.status().message().find("longer than 0 ms"), std::string::npos)
      << late.status().message();
  auto made = Thumbnail(png, 320);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  ImageProbe probe = ProbeImage(*made, 1'000'000);
  EXPECT_EQ(probe.info.width, 320u);
}

TEST_F(MediaTest, ExifTimeAndPlaceAreReadAndAStaleOrReusedPhotoIsFlagged) {
  // Taken a week before the report (2020-03-02 09:15 +08:00).
  const std::string jpeg =
      MakeImage("jpeg", 64, 64, 61, testing::ExifFields{"2020:02:24 10:30:00", 29.874, 120.281});
  const std::string hash = Sha256Hex(jpeg);
  Reply put = Put(worker_, jpeg);
  ASSERT_EQ(put.status, 201) << put.body;
  auto info = json::parse(put.body);
  EXPECT_EQ(info.at("captured_at").as_string(), "2020-02-24T10:30:00+08:00");
  EXPECT_NEAR(info.at("captured_lat").to_number<double>(), 29.874, 1e-5);
  EXPECT_NEAR(info.at("captured_lon").to_number<double>(), 120.281, 1e-5);
  ASSERT_EQ(Report(worker_, "ex-1", {hash}).status, 201);
  auto flags_of = [&](const std::string& id) {
    auto c = json::parse(Call(http::verb::get, "/v1/cases/" + id, supervisor_).body);
    const auto& item = c.at("media").at(0).at("items").at(0).as_object();
    std::vector<std::string> out;
    if (item.contains("flags")) {
      for (const auto& f : item.at("flags").as_array()) out.emplace_back(f.as_string());
    }
    return out;
  };
  EXPECT_EQ(flags_of("ex-1"), std::vector<std::string>{"captured_before_report"});
  ASSERT_EQ(Report(other_worker_, "ex-2", {hash}).status, 201);
  EXPECT_EQ(flags_of("ex-2"), (std::vector<std::string>{"captured_before_report", "reused"}));
  // A fresh photo: no flag.
  const std::string fresh = MakeImage("jpeg", 16, 16, 62);
  ASSERT_EQ(Put(worker_, fresh).status, 201);
  ASSERT_EQ(Report(worker_, "ex-3", {Sha256Hex(fresh)}).status, 201);
  EXPECT_TRUE(flags_of("ex-3").empty());

  // The case keeps what was found when each record was written: ex-1 was not reused then.
  auto case_flags = [&](const std::string& id) {
    auto c = json::parse(Call(http::verb::get, "/v1/cases/" + id, supervisor_).body);
    std::vector<std::string> out;
    if (c.as_object().contains("evidence_flags")) {
      for (const auto& f : c.at("evidence_flags").as_array()) out.emplace_back(f.as_string());
    }
    return out;
  };
  EXPECT_EQ(case_flags("ex-1"), std::vector<std::string>{"captured_before_report"});
  EXPECT_EQ(case_flags("ex-2"), (std::vector<std::string>{"captured_before_report", "reused"}));
  EXPECT_TRUE(case_flags("ex-3").empty());

  // Counted per worker in the figures.
  auto stats = json::parse(Call(http::verb::get, "/v1/stats?group_by=worker", supervisor_).body);
  std::map<std::string, int64_t> flagged;
  for (const auto& row : stats.at("rows").as_array()) {
    flagged[std::string(row.at("key").as_string())] = row.at("evidence_flagged").as_int64();
  }
  EXPECT_EQ(flagged["W017"], 1);
  EXPECT_EQ(flagged["W099"], 1);
}

TEST_F(MediaTest, OrphansAreCollectedAndReferencedPhotosNeverAre) {
  const std::string kept = MakeImage("jpeg", 32, 32, 71);
  const std::string orphan = MakeImage("jpeg", 32, 32, 72);
  const std::string young = MakeImage("jpeg", 32, 32, 73);
  ASSERT_EQ(Put(worker_, kept).status, 201);
  ASSERT_EQ(Put(worker_, orphan).status, 201);
  const std::string part = MakeImage("png", 64, 64, 74);
  ASSERT_EQ(Put(worker_, part.substr(0, 100), Sha256Hex(part),
                {{"Content-Range", "bytes 0-99/" + std::to_string(part.size())}})
                .status,
            202);
  ASSERT_EQ(Report(worker_, "or-1", {Sha256Hex(kept)}).status, 201);
  clock_.Advance(int64_t{25} * 3600 * 1000);
  ASSERT_EQ(Put(worker_, young).status, 201);
  auto collected = engine_->CollectMedia(TimeMs{clock_.Now().ms - int64_t{24} * 3600 * 1000});
  ASSERT_TRUE(collected.ok()) << collected.status().ToString();
  EXPECT_EQ(*collected, 2u);  // the orphan and the incomplete upload
  auto has = [&](const std::string& bytes) {
    auto info = engine_->GetMediaInfo(Sha256Hex(bytes));
    EXPECT_TRUE(info.ok());
    auto data = engine_->GetMediaBytes(Sha256Hex(bytes));
    EXPECT_TRUE(data.ok());
    EXPECT_EQ(info->has_value(), data->has_value());
    return info->has_value();
  };
  EXPECT_TRUE(has(kept));
  EXPECT_FALSE(has(orphan));
  EXPECT_TRUE(has(young));
  auto upload = engine_->GetUpload(Sha256Hex(part));
  ASSERT_TRUE(upload.ok());
  EXPECT_FALSE(upload->has_value());
  EXPECT_EQ(Get(worker_, Sha256Hex(kept)).body, kept);
  // A report in the same sequencer batch as the collection still finds its photo or is
  // refused; it never references a deleted one.
  ASSERT_EQ(Report(worker_, "or-2", {Sha256Hex(young)}).status, 201);
  clock_.Advance(int64_t{25} * 3600 * 1000);
  ASSERT_TRUE(engine_->CollectMedia(TimeMs{clock_.Now().ms - int64_t{24} * 3600 * 1000}).ok());
  EXPECT_TRUE(has(young));
  EXPECT_TRUE(has(kept));
}

TEST_F(MediaTest, ABackupCarriesThePhotosAndTheirReferences) {
  const std::string bytes = MakeImage("webp", 48, 48, 81);
  const std::string hash = Sha256Hex(bytes);
  ASSERT_EQ(Put(worker_, bytes).status, 201);
  ASSERT_EQ(Report(worker_, "bk-1", {hash}).status, 201);
  ASSERT_EQ(Get(worker_, hash, "?size=32").status, 200);  // a stored thumbnail too
  const std::string copy = dir_.Sub("backup");
  ASSERT_TRUE(engine_->Checkpoint(copy).ok());
  engine::EngineOptions o;
  o.store.path = copy;
  o.store.read_only = true;
  auto restored = engine::Engine::Open(o, clock_);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  auto got = (*restored)->GetMediaBytes(hash);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, bytes);
  auto cases = (*restored)->MediaCases(hash);
  ASSERT_TRUE(cases.ok());
  EXPECT_EQ(*cases, std::vector<std::string>{"bk-1"});
  auto thumb = (*restored)->GetMediaThumbnail(hash, 32);
  ASSERT_TRUE(thumb.ok());
  EXPECT_TRUE(thumb->has_value());
}

}  // namespace
}  // namespace wangge::ingest
