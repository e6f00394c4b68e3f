// An established Open311 client against `wangge serve` as a process, used unchanged: it
// reads the services and their definitions, posts every attribute of a service (blank
// ones included), sometimes with the photo itself, retries blindly, and then reads its
// requests back without ever paging: by 1,000 ids at once, by date windows in the W3C
// profiles clients send, and by polling servicerequestupdates, where it also posts
// citizens' comments. The back office works the cases through the native API meanwhile.
#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <pugixml.hpp>
#include <set>
#include <signal.h>
#include <string>
#include <sys/wait.h>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "core/sha256.h"
#include "core/time.h"
#include "rules/ruleset.h"
#include "tests/testing/images.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wangge_process.h"

namespace wangge::ingest {
namespace {

namespace http = boost::beast::http;
using testing::Reply;

constexpr int kRequests = 1000;
constexpr const char* kBoundary = "client-7c2e";

// Percent-encodes a form value as application/x-www-form-urlencoded.
std::string Encode(std::string_view v) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

using Fields = std::vector<std::pair<std::string, std::string>>;

std::string Urlencoded(const Fields& fields) {
  std::string out;
  for (const auto& [k, v] : fields) out += (out.empty() ? "" : "&") + Encode(k) + "=" + Encode(v);
  return out;
}

std::string Multipart(const Fields& fields, const std::string& photo) {
  std::string out;
  for (const auto& [name, value] : fields) {
    out += std::string("--") + kBoundary + "\r\nContent-Disposition: form-data; name=\"" + name +
           "\"\r\n\r\n" + value + "\r\n";
  }
  out += std::string("--") + kBoundary +
         "\r\nContent-Disposition: form-data; name=\"media\"; filename=\"photo.jpg\"\r\n"
         "Content-Type: image/jpeg\r\n\r\n" +
         photo + "\r\n--" + kBoundary + "--\r\n";
  return out;
}

// The token `wangge token add` printed.
std::string TokenIn(const testing::CliRun& run) {
  const size_t at = run.output.find("wg_");
  return at == std::string::npos ? "" : run.output.substr(at, 3 + 64);
}

class Open311ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = Add("O311-web --role worker");
    supervisor_ = Add("S-1 --role supervisor");
    for (const auto& office : rules::Ruleset::BuiltIn()->offices()) {
      handlers_[office.id] = Add("H-" + office.id + " --role handler --office " + office.id);
    }
    // A city that publishes its requests: photos are readable without a key.
    auto [pid, port] = testing::StartServer(data_, tokens_, {"--open311-public"});
    pid_ = pid;
    port_ = port;
    ASSERT_GT(port_, 0) << "the server did not start";
    client_conn_ = std::make_unique<testing::Connection>(port_);
    office_conn_ = std::make_unique<testing::Connection>(port_);
  }

  void TearDown() override {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "serve did not stop cleanly";
  }

  std::string Add(const std::string& args) {
    auto run = testing::Wangge("token add --tokens " + tokens_ + " --actor " + args);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    return TokenIn(run);
  }

  Reply Get(const std::string& target) { return client_conn_->Send(http::verb::get, target); }
  Reply PostForm(const std::string& target, const Fields& fields, testing::Headers headers = {}) {
    headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    return client_conn_->Send(http::verb::post, target, headers, Urlencoded(fields));
  }
  Reply PostMultipart(const std::string& target, const Fields& fields, const std::string& photo) {
    return client_conn_->Send(
        http::verb::post, target,
        {{"Content-Type", std::string("multipart/form-data; boundary=") + kBoundary}},
        Multipart(fields, photo));
  }
  // A native call by the back office.
  int Act(const std::string& token, const std::string& id, const std::string& body) {
    return office_conn_
        ->Send(http::verb::post, "/v1/cases/" + id + "/transitions", testing::Bearer(token), body)
        .status;
  }

  simdjson::dom::element Json(const Reply& r) {
    auto parsed = parsers_.emplace_back().parse(r.body);
    EXPECT_FALSE(parsed.error()) << r.body.substr(0, 300);
    return parsed.value_unsafe();
  }
  // The ids of a JSON list of requests, in order.
  std::vector<std::string> Ids(const Reply& r) {
    std::vector<std::string> out;
    EXPECT_EQ(r.status, 200) << r.body.substr(0, 300);
    if (r.status != 200) return out;
    for (auto item : Json(r).get_array()) {
      out.emplace_back(std::string_view(item["service_request_id"]));
    }
    return out;
  }

  testing::TempDir dir_;
  const std::string tokens_ = dir_.Sub("tokens");
  const std::string data_ = dir_.Sub("data");
  std::string client_, supervisor_;
  std::map<std::string, std::string> handlers_;  // office -> token
  pid_t pid_ = 0;
  uint16_t port_ = 0;
  std::unique_ptr<testing::Connection> client_conn_, office_conn_;  // keep-alive
  std::deque<simdjson::dom::parser> parsers_;
};

TEST_F(Open311ClientTest, AClientThatSendsEverythingAndNeverPagesWorksEndToEnd) {
  const TimeMs started{std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count()};

  // What the client learns first: the endpoint, the services and each one's attributes.
  ASSERT_EQ(Get("/open311/v2/discovery.json?api_key=" + client_).status, 200);
  std::vector<std::string> services;
  for (auto s : Json(Get("/open311/v2/services.json?api_key=" + client_)).get_array()) {
    services.emplace_back(std::string_view(s["service_code"]));
  }
  ASSERT_GT(services.size(), 10u);
  std::map<std::string, std::vector<std::string>> attributes;  // service -> codes
  for (const auto& code : services) {
    auto def = Get("/open311/v2/services/" + code + ".json?api_key=" + client_);
    ASSERT_EQ(def.status, 200) << def.body;
    for (auto a : Json(def)["attributes"].get_array()) {
      attributes[code].emplace_back(std::string_view(a["code"]));
    }
  }

  // 1,000 requests, each with every attribute of its service: the village named, the
  // grid left blank, the severity blank on every third. Every tenth is sent twice (a
  // blind retry under its Idempotency-Key), every fiftieth carries its photo.
  std::vector<std::string> ids;
  std::map<std::string, std::string> photos;  // id -> photo bytes
  for (int i = 0; i < kRequests; ++i) {
    const std::string& code = services[static_cast<size_t>(i) % services.size()];
    Fields form = {{"api_key", client_},
                   {"jurisdiction_id", "wangge"},
                   {"service_code", code},
                   {"lat", "29.87" + std::to_string(i % 10)},
                   {"long", "120.28" + std::to_string(i % 7)},
                   {"description", "第" + std::to_string(i) + "号 report"},
                   {"email", "citizen@example.org"},
                   {"first_name", ""},
                   {"device_id", "dev-" + std::to_string(i % 13)},
                   {"deviceid", "legacy"}};
    for (const auto& a : attributes[code]) {
      std::string value;
      if (a == "village")
        value = "V" + std::string(i % 40 < 9 ? "0" : "") + std::to_string(i % 40 + 1);
      if (a == "severity" && i % 3 != 0) value = std::to_string(1 + i % 4);
      form.emplace_back("attribute[" + a + "]", value);
    }
    Reply r;
    if (i % 50 == 7) {
      const std::string photo = testing::MakeImage("jpeg", 24, 16, i);
      r = PostMultipart("/open311/v2/requests.json", form, photo);
      if (r.status == 200)
        photos[std::string(std::string_view(Json(r).at(0)["service_request_id"]))] = photo;
    } else {
      testing::Headers headers;
      if (i % 10 == 3) headers.emplace_back("Idempotency-Key", "web-" + std::to_string(i));
      r = PostForm("/open311/v2/requests.json", form, headers);
      if (i % 10 == 3) {
        auto again = PostForm("/open311/v2/requests.json", form, headers);
        ASSERT_EQ(again.status, 200) << again.body;
        EXPECT_EQ(again.body, r.body);
      }
    }
    ASSERT_EQ(r.status, 200) << i << ": " << r.body;
    ids.emplace_back(std::string_view(Json(r).at(0)["service_request_id"]));
  }
  ASSERT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  ASSERT_EQ(photos.size(), 20u);

  // The back office: the first 100 accepted, resolved and verified (closed); ten cancelled.
  std::set<std::string> closed;
  for (int i = 0; i < 110; ++i) {
    const std::string& id = ids[static_cast<size_t>(i)];
    auto c =
        Json(office_conn_->Send(http::verb::get, "/v1/cases/" + id, testing::Bearer(supervisor_)));
    const std::string office{std::string_view(c["office"])};
    ASSERT_TRUE(handlers_.contains(office)) << office;
    if (i >= 100) {
      ASSERT_EQ(Act(supervisor_, id, R"({"action":"cancel","note":"重复上报"})"), 200);
    } else {
      ASSERT_EQ(Act(handlers_[office], id, R"({"action":"accept"})"), 200);
      ASSERT_EQ(Act(handlers_[office], id, R"({"action":"resolve","note":"已处理"})"), 200);
      ASSERT_EQ(Act(client_, id, R"({"action":"verify","satisfaction":5})"), 200);
    }
    closed.insert(id);
  }

  // All 1,000 by id, in one request, in both formats.
  std::string list;
  for (const auto& id : ids) list += (list.empty() ? "" : ",") + id;
  auto by_id = Get("/open311/v2/requests.json?api_key=" + client_ + "&service_request_id=" + list);
  const std::vector<std::string> found = Ids(by_id);
  ASSERT_EQ(found.size(), ids.size());
  size_t statuses_right = 0;
  for (auto item : Json(by_id).get_array()) {
    const std::string id{std::string_view(item["service_request_id"])};
    const bool is_closed = std::string_view(item["status"]) == "closed";
    statuses_right += is_closed == closed.contains(id);
  }
  EXPECT_EQ(statuses_right, ids.size());
  auto xml = Get("/open311/v2/requests.xml?api_key=" + client_ + "&service_request_id=" + list);
  ASSERT_EQ(xml.status, 200);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml.body.c_str()));
  size_t xml_items = 0;
  for ([[maybe_unused]] auto r : doc.document_element().children("request")) ++xml_items;
  EXPECT_EQ(xml_items, ids.size());

  // By date windows, without paging: a date, minutes with an offset, seconds with Z,
  // fractions; newest first.
  const int64_t today = ShanghaiDay(started);
  const std::string yesterday = FormatDate(today - 1);
  const TimeMs soon{started.ms + 3'600'000};
  const std::string minutes = FormatRfc3339(soon).substr(0, 16) + "%2B08:00";
  const std::string zulu = FormatRfc3339(soon, std::chrono::minutes(0)).substr(0, 19) + "Z";
  for (const std::string& window :
       {"start_date=" + yesterday, "start_date=" + yesterday + "&end_date=" + minutes,
        "end_date=" + zulu, "start_date=" + yesterday + "T00:00:00.000%2B08:00"}) {
    auto r = Get("/open311/v2/requests.json?api_key=" + client_ + "&" + window);
    const std::vector<std::string> listed = Ids(r);
    EXPECT_EQ(listed.size(), ids.size()) << window;
    EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()),
              std::set<std::string>(ids.begin(), ids.end()))
        << window;
    std::vector<std::string> times;
    for (auto item : Json(r).get_array())
      times.emplace_back(std::string_view(item["requested_datetime"]));
    EXPECT_TRUE(std::is_sorted(times.rbegin(), times.rend())) << window;
  }
  // Both statuses and repeated service codes merge.
  auto open_and_closed = Ids(Get("/open311/v2/requests.json?api_key=" + client_ +
                                 "&status=open&status=closed&start_date=" + yesterday));
  EXPECT_EQ(open_and_closed.size(), ids.size());
  auto two_codes = Ids(Get("/open311/v2/requests.json?api_key=" + client_ +
                           "&service_code=" + services[0] + "&service_code=" + services[1]));
  size_t of_two = 0;
  for (size_t i = 0; i < ids.size(); ++i) of_two += i % services.size() < 2;
  EXPECT_EQ(two_codes.size(), of_two);

  // Each photo the client sent is the request's media_url.
  for (const auto& [id, photo] : photos) {
    auto r = Json(Get("/open311/v2/requests/" + id + ".json?api_key=" + client_)).at(0);
    const std::string url{std::string_view(r["media_url"])};
    const std::string path = url.substr(url.find("/open311/"));
    EXPECT_EQ(path, "/open311/v2/media/" + Sha256Hex(photo));
    EXPECT_EQ(testing::Fetch(port_, http::verb::get, path).body, photo);
  }

  // Citizens comment on twenty requests (one retried); then the client polls the updates
  // since yesterday, without paging.
  std::set<std::string> comment_ids;
  for (int i = 0; i < 20; ++i) {
    Fields form = {{"api_key", client_},
                   {"service_request_id", ids[static_cast<size_t>(200 + i)]},
                   {"update_id", "web-comment-" + std::to_string(i)},
                   {"status", "open"},
                   {"updated_datetime", FormatRfc3339(started)},
                   {"description", "还没有处理 " + std::to_string(i)},
                   {"email", "citizen@example.org"}};
    auto r = PostForm("/open311/v2/servicerequestupdates.json", form);
    ASSERT_EQ(r.status, 200) << r.body;
    const std::string update_id{std::string_view(Json(r).at(0)["update_id"])};
    comment_ids.insert(update_id);
    if (i == 0) {
      auto again = PostForm("/open311/v2/servicerequestupdates.xml", form);
      EXPECT_NE(again.body.find("<update_id>" + update_id + "</update_id>"), std::string::npos)
          << again.body;
    }
  }
  EXPECT_EQ(comment_ids.size(), 20u);
  auto updates =
      Get("/open311/v2/servicerequestupdates.json?api_key=" + client_ + "&start_date=" + yesterday);
  ASSERT_EQ(updates.status, 200) << updates.body.substr(0, 300);
  std::map<std::string, int> descriptions;
  std::set<std::string> update_ids;
  size_t comments_seen = 0;
  for (auto u : Json(updates).get_array()) {
    const std::string id{std::string_view(u["update_id"])};
    update_ids.insert(id);
    comments_seen += comment_ids.contains(id);
    ++descriptions[std::string(std::string_view(u["description"])).substr(0, 9)];
  }
  // accept, resolve and verify for 100; a cancel for 10; 20 comments.
  EXPECT_EQ(update_ids.size(), 100u * 3 + 10 + 20);
  EXPECT_EQ(comments_seen, 20u);
  EXPECT_EQ(descriptions["已核实"], 100);
  EXPECT_EQ(descriptions["还没有"], 20);
}

}  // namespace
}  // namespace wangge::ingest
