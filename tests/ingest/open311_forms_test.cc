// What Open311 clients post beyond a plain form, against the running server over
// loopback: citizens' updates (POST servicerequestupdates), multipart/form-data with the
// photo itself, and a position of (0, 0) kept as sent. Both formats, every refusal
// checked with nothing written.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/sha256.h"
#include "tests/testing/images.h"
#include "tests/testing/open311_fixture.h"

namespace wangge::ingest {
namespace {

namespace http = boost::beast::http;
using testing::Reply;

constexpr const char* kBoundary = "wg-form-7d1";

// One multipart/form-data body: text fields, then a file part named `media` when
// `photo` is not empty.
std::string Multipart(const std::vector<std::pair<std::string, std::string>>& fields,
                      const std::string& photo = "", const std::string& type = "image/jpeg") {
  std::string out;
  for (const auto& [name, value] : fields) {
    out += std::string("--") + kBoundary + "\r\nContent-Disposition: form-data; name=\"" + name +
           "\"\r\n\r\n" + value + "\r\n";
  }
  if (!photo.empty()) {
    out += std::string("--") + kBoundary +
           "\r\nContent-Disposition: form-data; name=\"media\"; filename=\"p.jpg\"\r\n"
           "Content-Type: " +
           type + "\r\n\r\n" + photo + "\r\n";
  }
  return out + "--" + kBoundary + "--\r\n";
}

class Open311FormsTest : public testing::Open311Fixture {
 protected:
  ingest::ServerOptions Options() override {
    ingest::ServerOptions so = Open311Fixture::Options();
    so.max_body_bytes = 8192;
    so.max_media_bytes = 1 << 20;
    return so;
  }

  Reply PostUpdate(const std::string& format, const std::string& body,
                   testing::Headers headers = {}) {
    headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    return Fetch(http::verb::post, "/open311/v2/servicerequestupdates." + format, headers, body);
  }
  Reply PostMultipart(const std::string& path, const std::string& body) {
    return Fetch(http::verb::post, "/open311/v2/" + path,
                 {{"Content-Type", std::string("multipart/form-data; boundary=") + kBoundary}},
                 body);
  }
  // The fields of a valid request, as a multipart client sends them.
  std::vector<std::pair<std::string, std::string>> RequestFields() {
    return {{"api_key", worker_},
            {"service_code", "env.garbage"},
            {"lat", "29.874"},
            {"long", "120.281"},
            {"attribute[village]", "V07"},
            {"attribute[grid]", ""},
            {"description", "河道漂浮垃圾\r\n第二行"}};
  }
  // The update_id of a posted update (both formats).
  std::string UpdateId(const Reply& r, const std::string& format) {
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return "";
    if (format == "json") return std::string(std::string_view(Json(r).at(0)["update_id"]));
    return Xml(r).child("request_update").child("update_id").text().get();
  }
  // The updates a reader with `key` lists, newest first: (update_id, description).
  std::vector<std::pair<std::string, std::string>> Updates(const std::string& key) {
    std::vector<std::pair<std::string, std::string>> out;
    auto r = Get("servicerequestupdates.json?api_key=" + key);
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return out;
    for (auto u : Json(r).get_array()) {
      out.emplace_back(std::string_view(u["update_id"]), std::string_view(u["description"]));
    }
    return out;
  }
};

TEST_F(Open311FormsTest, ACitizensUpdateIsACommentOnTheCaseRecordedOnce) {
  const std::string id = Created(Post("json", Body()));
  ASSERT_FALSE(id.empty());
  const std::string form = "api_key=" + worker_ + "&service_request_id=" + id +
                           "&description=%E8%BF%98%E6%B2%A1%E6%B8%85%E7%90%86" +
                           "&update_id=client-u-1&status=OPEN&first_name=Li" +
                           "&updated_datetime=2020-03-02T09:20%2B08:00&deviceid=x";
  const uint64_t before = engine_->head().seq.value;
  const std::string update_id = UpdateId(PostUpdate("json", form), "json");
  EXPECT_EQ(update_id, std::to_string(before + 1));
  // The same update_id again is the same update: nothing written, the same id.
  EXPECT_EQ(UpdateId(PostUpdate("xml", form), "xml"), update_id);
  EXPECT_EQ(engine_->head().seq.value, before + 1);
  // It reads back as an update with the citizen's words, and changed no status.
  auto updates = Updates(worker_);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0], std::make_pair(update_id, std::string("还没清理")));
  auto request = Json(Get("requests/" + id + ".json")).at(0);
  EXPECT_EQ(std::string_view(request["status"]), "open");
  auto native = Json(Call(http::verb::get, "/v1/cases/" + id, supervisor_));
  EXPECT_EQ(std::string_view(native["status"]), "dispatched");
  bool commented = false;
  for (auto step : native["history"].get_array()) {
    if (std::string_view(step["action"]) == "comment") {
      commented = std::string_view(step["note"]) == "还没清理";
    }
  }
  EXPECT_TRUE(commented) << simdjson::to_string(native);

  // Without an update_id, an Idempotency-Key header makes retries safe; without either,
  // each post is a new update.
  const std::string plain = "api_key=" + worker_ + "&service_request_id=" + id +
                            "&media_url=https%3A%2F%2Fa.example%2Fb.jpg";
  const std::string keyed =
      UpdateId(PostUpdate("json", plain, {{"Idempotency-Key", "k-9"}}), "json");
  EXPECT_EQ(UpdateId(PostUpdate("json", plain, {{"Idempotency-Key", "k-9"}}), "json"), keyed);
  EXPECT_NE(UpdateId(PostUpdate("json", plain), "json"), keyed);
  EXPECT_EQ(engine_->head().seq.value, before + 3);
  auto listed = Json(Get("servicerequestupdates.json?api_key=" + worker_));
  EXPECT_EQ(std::string_view(listed.at(1)["media_url"]), "https://a.example/b.jpg");
  EXPECT_EQ(std::string_view(listed.at(1)["status"]), "open");

  // The office's handler may comment on its case; the same key from another actor is
  // another update.
  const std::string by_handler = "api_key=" + handler_ + "&service_request_id=" + id +
                                 "&description=%E6%98%8E%E5%A4%A9%E5%A4%84%E7%90%86" +
                                 "&update_id=client-u-1";
  EXPECT_NE(UpdateId(PostUpdate("json", by_handler), "json"), update_id);
  EXPECT_EQ(engine_->head().seq.value, before + 4);
}

TEST_F(Open311FormsTest, BadUpdatesGetTheSpecsErrorsAndWriteNothing) {
  const std::string id = Created(Post("json", Body()));
  const uint64_t head = engine_->head().seq.value;
  const std::string base = "service_request_id=" + id + "&description=x";
  ExpectError(PostUpdate("json", base), 403, "api_key is required");
  ExpectError(PostUpdate("xml", "api_key=wg_nope&" + base), 403, "not valid");
  // Admins configure; they do not comment.
  ExpectError(PostUpdate("json", "api_key=" + admin_ + "&" + base), 403, "role admin");
  const std::string key = "api_key=" + worker_ + "&";
  ExpectError(PostUpdate("json", key + "description=x"), 400, "service_request_id is required");
  ExpectError(PostUpdate("xml", key + "service_request_id=" + id), 400, "needs a description");
  ExpectError(PostUpdate("json", key + base + "&media_url=ftp%3A%2F%2Fx"), 400, "media_url");
  ExpectError(PostUpdate("json", key + base + "&status=fixed"), 400, "status must be open");
  ExpectError(PostUpdate("json", key + base + "&updated_datetime=yesterday"), 400,
              "updated_datetime");
  ExpectError(PostUpdate("json", key + base + "&update_id=" + std::string(201, 'u')), 400,
              "update_id");
  ExpectError(PostUpdate("json", key + base + "&description=y"), 400, "given twice");
  ExpectError(PostUpdate("json", key + "service_request_id=" + id +
                                     "&description=" + std::string(4001, 'x')),
              400, "longer than 4000");
  // Another worker's request, and one that does not exist, are not found.
  ExpectError(PostUpdate("json", "api_key=" + other_worker_ + "&" + base), 404, id);
  ExpectError(PostUpdate("xml", key + "service_request_id=o311-none&description=x"), 404,
              "o311-none");
  ExpectError(Fetch(http::verb::put, "/open311/v2/servicerequestupdates.json"), 405, "method");
  EXPECT_EQ(engine_->head().seq.value, head);
}

TEST_F(Open311FormsTest, AMultipartRequestKeepsItsPhotoAsEvidence) {
  const std::string photo = testing::MakeImage("jpeg", 32, 24, 5);
  const std::string hash = Sha256Hex(photo);
  auto posted = PostMultipart("requests.xml", Multipart(RequestFields(), photo));
  ASSERT_EQ(posted.status, 200) << posted.body;
  const std::string id = Xml(posted).child("request").child("service_request_id").text().get();
  ASSERT_TRUE(id.starts_with("o311-")) << posted.body;

  // The case holds the photo's hash: the log's chain covers it.
  auto native = Json(Call(http::verb::get, "/v1/cases/" + id, supervisor_));
  auto report_step = native["history"].at(0);
  ASSERT_EQ(report_step["media"].get_array().size(), 1u) << simdjson::to_string(native);
  EXPECT_EQ(std::string_view(report_step["media"].at(0)), hash);
  EXPECT_EQ(std::string_view(native["text"]), "河道漂浮垃圾\r\n第二行");
  // media_url points at the photo, served to whoever may read the request; the native
  // API serves it to who may see the case.
  auto request = Json(Get("requests/" + id + ".json")).at(0);
  const std::string media_url{std::string_view(request["media_url"])};
  EXPECT_EQ(media_url, "http://127.0.0.1/open311/v2/media/" + hash);
  auto served = Fetch(http::verb::get, "/open311/v2/media/" + hash);
  EXPECT_EQ(served.status, 200);
  EXPECT_EQ(served.body, photo);
  EXPECT_EQ(Call(http::verb::get, "/v1/media/" + hash, worker_).body, photo);
  EXPECT_EQ(Fetch(http::verb::get, "/open311/v2/media/" + hash + "?size=16").content_type,
            "image/jpeg");
  ExpectError(Fetch(http::verb::get, "/open311/v2/media/" + std::string(64, 'a')), 404, "media");
  ExpectError(Fetch(http::verb::get, "/open311/v2/media/nothex"), 400, "SHA-256");

  // A media_url sent beside the photo stays the request's reference.
  auto fields = RequestFields();
  fields.emplace_back("media_url", "https://example.org/q.jpg");
  auto both =
      PostMultipart("requests.json", Multipart(fields, testing::MakeImage("jpeg", 8, 8, 6)));
  const std::string both_id = Created(both);
  EXPECT_EQ(std::string_view(Json(Get("requests/" + both_id + ".json")).at(0)["media_url"]),
            "https://example.org/q.jpg");

  // An update may carry a photo too; its media_url is the photo.
  const std::string after = testing::MakeImage("jpeg", 16, 16, 7);
  auto update = PostMultipart(
      "servicerequestupdates.json",
      Multipart({{"api_key", worker_}, {"service_request_id", id}, {"update_id", "u-photo"}},
                after));
  const std::string update_id = UpdateId(update, "json");
  auto listed = Json(Get("servicerequestupdates.json?api_key=" + worker_)).at(0);
  EXPECT_EQ(std::string_view(listed["update_id"]), update_id);
  EXPECT_EQ(std::string_view(listed["media_url"]),
            "http://127.0.0.1/open311/v2/media/" + Sha256Hex(after));
  EXPECT_EQ(Fetch(http::verb::get, "/open311/v2/media/" + Sha256Hex(after)).body, after);
}

TEST_F(Open311FormsTest, BadMultipartFormsGetTheSpecsErrorsAndWriteNothing) {
  const uint64_t head = engine_->head().seq.value;
  const std::string photo = testing::MakeImage("jpeg", 16, 16, 9);
  // Not an image: 415, and the request is not made.
  ExpectError(
      PostMultipart("requests.json", Multipart(RequestFields(), "GIF89a not really", "image/gif")),
      415, "not a JPEG, PNG, WebP or HEIC");
  // Two photos in one request.
  std::string two = Multipart(RequestFields(), photo);
  two.insert(two.rfind("--") - std::string(kBoundary).size() - 2,
             std::string("--") + kBoundary +
                 "\r\nContent-Disposition: form-data; name=\"media\"; filename=\"b.jpg\"\r\n\r\n" +
                 photo + "\r\n");
  ExpectError(PostMultipart("requests.json", two), 400, "one photo");
  // Broken framing names the problem.
  ExpectError(PostMultipart("requests.xml", "--" + std::string(kBoundary) + "\r\nno headers"), 400,
              "no closing boundary");
  ExpectError(PostMultipart("requests.xml", "--" + std::string(kBoundary) +
                                                "\r\nX: y\r\n\r\n1\r\n--" + kBoundary + "--"),
              400, "part 1 has no Content-Disposition");
  ExpectError(Fetch(http::verb::post, "/open311/v2/requests.json",
                    {{"Content-Type", "multipart/form-data"}}, "x"),
              400, "boundary");
  // A request the form refuses stores no photo and writes nothing.
  auto fields = RequestFields();
  fields[1].second = "no.such.service";
  ExpectError(PostMultipart("requests.json", Multipart(fields, photo)), 404, "no.such.service");
  EXPECT_EQ(Call(http::verb::head, "/v1/media/" + Sha256Hex(photo), worker_).status, 404);
  // Only workers and handlers upload photos: a supervisor's update with one is refused.
  const std::string id = Created(Post("json", Body()));
  const uint64_t after_post = engine_->head().seq.value;
  ExpectError(
      PostMultipart("servicerequestupdates.json",
                    Multipart({{"api_key", supervisor_}, {"service_request_id", id}}, photo)),
      403, "upload media");
  // A form without a photo keeps to the server's body limit.
  ExpectError(PostMultipart("requests.json", Multipart({{"api_key", worker_},
                                                        {"description", std::string(9000, 'x')}})),
              413, "too large");
  // Over the photo limit: 413 from the server before the body is read.
  ExpectError(PostMultipart("requests.json", Multipart(RequestFields(), std::string(2 << 20, 'x'))),
              413, "too large");
  EXPECT_EQ(head + 1, after_post);
  EXPECT_EQ(engine_->head().seq.value, after_post);
}

TEST_F(Open311FormsTest, APositionOfZeroZeroReadsBackAsSent) {
  std::string body = Body();
  const std::string there = "&lat=29.874&long=120.281";
  body.replace(body.find(there), there.size(), "&lat=0&long=0");
  const std::string id = Created(Post("json", body));
  ASSERT_FALSE(id.empty());
  auto check = [&] {
    auto r = Json(Get("requests/" + id + ".json")).at(0);
    EXPECT_TRUE(r["lat"].is_number()) << simdjson::to_string(r);
    EXPECT_EQ(double(r["lat"]), 0.0);
    EXPECT_EQ(double(r["long"]), 0.0);
    auto x = Xml(Get("requests/" + id + ".xml")).child("request");
    EXPECT_STREQ(x.child("lat").text().get(), "0");
    EXPECT_STREQ(x.child("long").text().get(), "0");
  };
  check();
  // A request without a position still reads back without one.
  const std::string none = Created(
      Post("json", "api_key=" + worker_ +
                       "&service_code=env.garbage&address_string=x&attribute%5Bvillage%5D=V07"));
  EXPECT_TRUE(Json(Get("requests/" + none + ".json")).at(0)["lat"].is_null());
  // Kept in the log: the same after the engine reopens.
  ReopenEngine();
  ingest::ServerOptions so;
  so.port = 0;
  so.open311_public = true;
  StartServer(so);
  check();
}

}  // namespace
}  // namespace wangge::ingest
