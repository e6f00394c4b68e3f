// Open311 GeoReport v2 against the running server over loopback: every endpoint in both
// formats, the spec's errors, visibility, and a round trip through the native API. XML
// is read back with pugixml, JSON with simdjson.
#include "ingest/open311.h"

#include <deque>
#include <pugixml.hpp>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "core/sha256.h"
#include "tests/testing/images.h"
#include "tests/testing/open311_fixture.h"
#include "tests/testing/town_geography.h"

namespace wangge::ingest {
namespace {

namespace http = boost::beast::http;
using testing::Reply;

using Open311Test = testing::Open311Fixture;

TEST_F(Open311Test, DiscoveryNamesTheEndpointAndItsFormats) {
  auto json = Get("discovery.json");
  ASSERT_EQ(json.status, 200) << json.body;
  EXPECT_EQ(json.content_type, "application/json; charset=utf-8");
  auto endpoint = Json(json)["endpoints"].at(0);
  EXPECT_EQ(std::string_view(endpoint["specification"]), "http://wiki.open311.org/GeoReport_v2");
  EXPECT_EQ(std::string_view(endpoint["url"]), "http://127.0.0.1/open311/v2");
  EXPECT_EQ(std::string_view(endpoint["formats"].at(1)), "application/json");
  auto xml = Get("discovery.xml");
  EXPECT_EQ(xml.content_type, "text/xml; charset=utf-8");
  auto root = Xml(xml);
  EXPECT_STREQ(root.name(), "discovery");
  EXPECT_STREQ(
      root.child("endpoints").child("endpoint").child("formats").first_child().text().get(),
      "text/xml");
}

TEST_F(Open311Test, ServicesAreTheRulesetsCategories) {
  auto json = Get("services.json");
  ASSERT_EQ(json.status, 200) << json.body;
  size_t count = 0;
  bool garbage = false;
  for (auto s : Json(json).get_array()) {
    ++count;
    EXPECT_TRUE(bool(s["metadata"]));
    EXPECT_EQ(std::string_view(s["type"]), "realtime");
    if (std::string_view(s["service_code"]) == "env.garbage") {
      garbage = true;
      EXPECT_NE(std::string(std::string_view(s["service_name"])).find("垃圾"), std::string::npos);
      EXPECT_FALSE(std::string_view(s["group"]).empty());
    }
  }
  EXPECT_TRUE(garbage);
  EXPECT_GT(count, 30u);
  auto root = Xml(Get("services.xml"));
  EXPECT_STREQ(root.name(), "services");
  size_t xml_count = 0;
  for (auto s : root.children("service")) {
    ++xml_count;
    EXPECT_FALSE(std::string(s.child("service_code").text().get()).empty());
  }
  EXPECT_EQ(xml_count, count);
}

TEST_F(Open311Test, AServiceDefinitionListsItsAttributes) {
  auto json = Get("services/env.garbage.json");
  ASSERT_EQ(json.status, 200) << json.body;
  auto def = Json(json);
  EXPECT_EQ(std::string_view(def["service_code"]), "env.garbage");
  auto village = def["attributes"].at(0);
  EXPECT_EQ(std::string_view(village["code"]), "village");
  EXPECT_EQ(std::string_view(village["datatype"]), "singlevaluelist");
  EXPECT_FALSE(bool(village["required"]));  // lat and long may locate the request instead
  EXPECT_EQ(std::string_view(village["values"].at(6)["key"]), "V07");
  EXPECT_EQ(std::string_view(def["attributes"].at(2)["code"]), "severity");
  auto root = Xml(Get("services/env.garbage.xml"));
  EXPECT_STREQ(root.name(), "service_definition");
  auto attribute = root.child("attributes").child("attribute");
  EXPECT_STREQ(attribute.child("code").text().get(), "village");
  EXPECT_STREQ(attribute.child("required").text().get(), "false");
  EXPECT_STREQ(attribute.child("values").child("value").child("key").text().get(), "V01");
  ExpectError(Get("services/no.such.json"), 404, "service_code no.such");
  ExpectError(Get("services/no.such.xml"), 404, "service_code no.such");
}

TEST_F(Open311Test, APostedRequestIsAnOpen311CaseRoutedByTheRules) {
  const std::string id = Created(Post("json", Body()));
  ASSERT_TRUE(id.starts_with("o311-")) << id;
  auto native = Call(http::verb::get, "/v1/cases/" + id, supervisor_);
  ASSERT_EQ(native.status, 200) << native.body;
  auto c = Json(native);
  EXPECT_EQ(std::string_view(c["channel"]), "open311");
  EXPECT_EQ(std::string_view(c["office"]), "zonghe-zhifa");
  EXPECT_EQ(std::string_view(c["reporter"]), "W017");  // the api_key's actor
  EXPECT_EQ(std::string_view(c["grid"]), "V07-311");
  EXPECT_EQ(int64_t(c["severity"]), 2);
  EXPECT_EQ(std::string_view(c["media_url"]), "https://example.org/p.jpg");
  EXPECT_EQ(std::string_view(c["history"].at(0)["channel"]), "open311");

  // Brackets and UTF-8 sent raw, as curl --data-urlencode and hand-written clients do.
  const std::string raw =
      Created(Post("json", "api_key=" + worker_ +
                               "&service_code=env.garbage&lat=1&long=2&attribute[village]=V08"
                               "&description=河道 垃圾"));
  auto raw_case = Json(Call(http::verb::get, "/v1/cases/" + raw, supervisor_));
  EXPECT_EQ(std::string_view(raw_case["village"]), "V08");
  EXPECT_EQ(std::string_view(raw_case["text"]), "河道 垃圾");

  auto xml = Post("xml", Body("&attribute%5Bseverity%5D=3&attribute%5Bgrid%5D=V07-G2"));
  ASSERT_EQ(xml.status, 200) << xml.body;
  auto request = Xml(xml).child("request");
  const std::string second = request.child("service_request_id").text().get();
  EXPECT_TRUE(second.starts_with("o311-"));
  EXPECT_NE(second, id);
  EXPECT_NE(std::string(request.child("service_notice").text().get()).find("综合执法平台"),
            std::string::npos);
}

// A request with a position and no village is located by the geography in force.
TEST_F(Open311Test, APositionWithoutAVillageIsLocatedInItsGrid) {
  const std::string located_body = "api_key=" + worker_ + "&service_code=env.garbage&lat=" +
                                   std::to_string(testing::GeoCellLat(6)) +
                                   "&long=" + std::to_string(testing::GeoCellLon(2));
  EXPECT_EQ(Post("json", located_body).status, 422);  // no geography yet
  ASSERT_EQ(Call(http::verb::put, "/v1/geography", admin_, testing::GeoBlock(8, 4)).status, 200);
  const std::string id = Created(Post("json", located_body));
  auto c = Json(Call(http::verb::get, "/v1/cases/" + id, supervisor_));
  EXPECT_EQ(std::string_view(c["village"]), "V07");
  EXPECT_EQ(std::string_view(c["grid"]), "V07-G3");
  auto none = Post("json", "api_key=" + worker_ + "&service_code=env.garbage&address_string=x");
  EXPECT_EQ(none.status, 400) << none.body;
}

// A client that sends every attribute of the service, empty or not, and what else it
// knows (device ids, a second photo link, attributes wangge does not define).
TEST_F(Open311Test, BlankOptionalAttributesAndUnknownParametersAreAbsent) {
  const std::string id = Created(
      Post("json", Body("&attribute%5Bgrid%5D=&attribute%5Bseverity%5D=&attribute%5Bcolour%5D=red"
                        "&deviceid=abc&colour=red&media_url=https%3A%2F%2Fexample.org%2Fq.jpg")));
  auto c = Json(Call(http::verb::get, "/v1/cases/" + id, supervisor_));
  EXPECT_EQ(std::string_view(c["grid"]), "V07-311");  // as if no grid was sent
  EXPECT_EQ(int64_t(c["severity"]), 2);
  EXPECT_EQ(std::string_view(c["media_url"]), "https://example.org/p.jpg");  // the first
  // An empty required attribute is still missing; a repeated one with values is 400.
  ExpectError(Post("xml", "api_key=" + worker_ +
                              "&service_code=env.garbage&address_string=x&attribute%5Bvillage%5D="),
              400, "attribute[village] is required");
  ExpectError(Post("json", Body("&attribute%5Bvillage%5D=V08")), 400, "given twice");
  // A blank one beside a value, in either order, is the value; list parameters do not
  // merge in a POST.
  EXPECT_EQ(Post("json", Body("&attribute%5Bgrid%5D=&attribute%5Bgrid%5D=V07-G2")).status, 200);
  EXPECT_EQ(Post("json", Body("&attribute%5Bgrid%5D=V07-G2&attribute%5Bgrid%5D=")).status, 200);
  ExpectError(Post("json", Body("&service_code=food.stall")), 400, "service_code is given twice");
  // api_key on the service list, where it means nothing.
  EXPECT_EQ(Get("services.json?api_key=" + worker_).status, 200);
  EXPECT_EQ(Get("services/env.garbage.xml?api_key=x&deviceid=y").status, 200);
}

// The default list: newest first by requested_datetime, up to 1,000, no paging needed;
// and a list of 1,000 ids fits the target, though 8 KiB stays the limit elsewhere.
TEST_F(Open311Test, ListsAreNewestFirstAndTakeAThousandIds) {
  std::vector<std::string> ids;
  for (int i = 0; i < 60; ++i) {
    ids.push_back(Created(Post("json", Body())));
    clock_.Advance(60'000);
  }
  auto r = Get("requests.json?api_key=" + supervisor_);
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<std::string> listed;
  for (auto item : Json(r).get_array())
    listed.emplace_back(std::string_view(item["service_request_id"]));
  EXPECT_EQ(listed, std::vector<std::string>(ids.rbegin(), ids.rend()));  // all 60, newest first
  // Page 2 of 25: the 26th to the 50th newest.
  auto page = Json(Get("requests.json?page_size=25&page=2&api_key=" + supervisor_));
  EXPECT_EQ(std::string_view(page.at(0)["service_request_id"]), ids[60 - 26]);
  ExpectError(Get("requests.json?page_size=1000&page=101"), 400, "page");

  std::string many = ids[0] + "," + ids[59];
  for (int i = 0; i < 998; ++i) many += ",o311-" + std::string(32, static_cast<char>('a' + i % 6));
  auto found = Get("requests.xml?api_key=" + supervisor_ + "&service_request_id=" + many);
  ASSERT_EQ(found.status, 200) << found.body.substr(0, 300);
  size_t n = 0;
  for ([[maybe_unused]] auto item : Xml(found).children("request")) ++n;
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(Fetch(http::verb::get, "/v1/cases?village=" + std::string(9000, 'a'), {}).status, 431);
}

// 405, 413 and 431 come from the server before any Open311 code runs: they still answer
// in the spec's error form, in the format the target names.
TEST_F(Open311Test, EveryErrorUnderOpen311IsTheSpecsErrorList) {
  auto wrong_method = Fetch(http::verb::delete_, "/open311/v2/services.xml");
  EXPECT_EQ(wrong_method.content_type, "text/xml; charset=utf-8");
  ExpectError(wrong_method, 405, "method not allowed");
  ExpectError(Post("json", Body("&description=" + std::string(70'000, 'x'))), 413, "too large");
  ExpectError(
      Fetch(http::verb::get, "/open311/v2/services.json", {{"X-Big", std::string(9'000, 'a')}}),
      431, "header too large");
  ExpectError(Fetch(http::verb::get, "/open311/v1/services.xml"), 404,
              "Open311 is at /open311/v2/");
  // The native API keeps its own form.
  auto native = Fetch(http::verb::delete_, "/v1/rules");
  EXPECT_NE(native.body.find(R"("error":{)"), std::string::npos) << native.body;
}

// The updates extension: one item per record a citizen would notice, newest first, with
// ids that survive a restart.
TEST_F(Open311Test, UpdatesListWhatCitizensSeeWithStableIds) {
  const std::string fixed = Created(Post("json", Body()));
  const std::string dropped = Created(Post("json", Body()));
  auto act = [&](const std::string& id, const std::string& token, const std::string& body) {
    clock_.Advance(60'000);
    auto r = Call(http::verb::post, "/v1/cases/" + id + "/transitions", token, body);
    EXPECT_EQ(r.status, 200) << body << ": " << r.body;
  };
  const std::string photo = testing::MakeImage("jpeg", 16, 16, 81);
  ASSERT_EQ(
      Fetch(http::verb::put, "/v1/media/" + Sha256Hex(photo), testing::Bearer(handler_), photo)
          .status,
      201);
  act(fixed, handler_, R"({"action":"accept"})");
  act(fixed, handler_,
      R"({"action":"resolve","note":"清理完毕","media":[")" + Sha256Hex(photo) + R"("]})");
  act(fixed, worker_, R"({"action":"verify","satisfaction":5})");
  act(dropped, supervisor_, R"({"action":"cancel","note":"重复"})");

  auto list = [&](const std::string& format) {
    return Get("servicerequestupdates." + format + "?api_key=" + worker_);
  };
  auto json = list("json");
  ASSERT_EQ(json.status, 200) << json.body;
  auto items = Json(json).get_array();
  std::vector<std::pair<std::string, std::string>> seen;  // (request, status)
  std::vector<std::string> update_ids;
  for (auto item : items) {
    seen.emplace_back(std::string_view(item["service_request_id"]),
                      std::string_view(item["status"]));
    update_ids.emplace_back(std::string_view(item["update_id"]));
  }
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::string>>{
                      {dropped, "closed"}, {fixed, "closed"}, {fixed, "open"}, {fixed, "open"}}));
  EXPECT_NE(std::string(std::string_view(items.at(0)["description"])).find("cancelled, not fixed"),
            std::string::npos);
  // The resolution's photo, served under Open311's own rules (here: a public reader).
  const std::string media_url{std::string_view(items.at(2)["media_url"])};
  EXPECT_EQ(media_url, "http://127.0.0.1/open311/v2/media/" + Sha256Hex(photo));
  auto served = Fetch(http::verb::get, media_url.substr(std::string("http://127.0.0.1").size()));
  EXPECT_EQ(served.status, 200);
  EXPECT_EQ(served.body, photo);
  EXPECT_TRUE(items.at(3)["media_url"].is_null());
  size_t xml_items = 0;
  for ([[maybe_unused]] auto u : Xml(list("xml")).children("request_update")) ++xml_items;
  EXPECT_EQ(xml_items, 4u);
  // A window that ends before the verification leaves it and the cancel out.
  auto early = Json(Get("servicerequestupdates.json?api_key=" + worker_ +
                        "&end_date=2020-03-02T09:17:30%2B08:00"));
  EXPECT_EQ(early.get_array().size(), 2u);
  // Another worker's key sees none of them; a public reader (--open311-public) sees all.
  EXPECT_EQ(Json(Get("servicerequestupdates.json?api_key=" + other_worker_)).get_array().size(),
            0u);
  EXPECT_EQ(Json(Get("servicerequestupdates.json")).get_array().size(), 4u);
  ExpectError(Fetch(http::verb::delete_, "/open311/v2/servicerequestupdates.json"), 405, "method");

  ReopenEngine();
  ServerOptions so;
  so.port = 0;
  so.open311_public = true;
  StartServer(so);
  std::vector<std::string> again;
  for (auto item : Json(list("json")).get_array())
    again.emplace_back(std::string_view(item["update_id"]));
  EXPECT_EQ(again, update_ids);
}

TEST_F(Open311Test, ACancelledRequestReadsAsClosedAndSaysItWasNotFixed) {
  const std::string id = Created(Post("json", Body()));
  ASSERT_EQ(Call(http::verb::post, "/v1/cases/" + id + "/transitions", supervisor_,
                 R"({"action":"cancel","note":"duplicate"})")
                .status,
            200);
  auto r = Json(Get("requests/" + id + ".json")).at(0);
  EXPECT_EQ(std::string_view(r["status"]), "closed");
  EXPECT_NE(std::string(std::string_view(r["status_notes"])).find("cancelled, not fixed"),
            std::string::npos);
}

TEST_F(Open311Test, AnIdempotencyKeyMakesRetriesFindTheSameRequest) {
  const std::string first = Created(Post("json", Body(), {{"Idempotency-Key", "k-1"}}));
  const uint64_t head = engine_->head().seq.value;
  EXPECT_EQ(Created(Post("json", Body(), {{"Idempotency-Key", "k-1"}})), first);
  EXPECT_EQ(engine_->head().seq.value, head);
  EXPECT_NE(Created(Post("json", Body(), {{"Idempotency-Key", "k-2"}})), first);
}

TEST_F(Open311Test, BadPostsGetTheSpecsErrorsAndWriteNothing) {
  // The server's own body limit (64 KiB by default), not the fixture's 4 KiB: a long
  // description must reach the Open311 checks.
  ServerOptions so;
  so.port = 0;
  StartServer(so);
  const uint64_t head = engine_->head().seq.value;
  const std::string all =
      "&service_code=env.garbage&lat=29.8&long=120.2&attribute%5Bvillage%5D=V07";
  const std::string key = "api_key=" + worker_;
  const std::string long_text(4001, 'x');
  struct Case {
    std::string body;
    int status;
    const char* says;
  } cases[] = {
      {all.substr(1), 403, "api_key is required"},
      {"api_key=wg_nope" + all, 403, "api_key is not valid"},
      {"api_key=" + handler_ + all, 403, "role handler"},
      {key + "&lat=29.8&long=120.2&attribute%5Bvillage%5D=V07", 400, "service_code is required"},
      {key + "&service_code=no.such&lat=1&long=1&attribute%5Bvillage%5D=V07", 404, "no.such"},
      {key + "&service_code=env.garbage&attribute%5Bvillage%5D=V07", 400, "location is required"},
      {key + "&service_code=env.garbage&lat=29.8&attribute%5Bvillage%5D=V07", 400, "go together"},
      {key + "&service_code=env.garbage&lat=91&long=1&attribute%5Bvillage%5D=V07", 400, "lat"},
      {key + "&service_code=env.garbage&address_string=x", 400, "attribute[village] is required"},
      {key + "&service_code=env.garbage&lat=1&long=1", 422, "no geography is active"},
      {key + all + "&attribute%5Bvillage%5D=V07", 400, "given twice"},
      {key + "&service_code=env.garbage&lat=1&long=1&attribute%5Bvillage%5D=X9", 400, "village"},
      {key + all + "&attribute%5Bseverity%5D=5", 400, "attribute[severity]"},
      {key + all + "&description=" + long_text, 400, "4000 characters"},
      {key + all + "&media_url=ftp%3A%2F%2Fx%2Fy", 400, "media_url"},
      {key + all + "&email=nobody", 400, "email"},
      {key + all + "&jurisdiction_id=elsewhere", 404, "jurisdiction_id elsewhere"},
      {key + all + "&description=%zz", 400, "malformed"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body.substr(0, 120));
    ExpectError(Post("json", c.body), c.status, c.says);
    ExpectError(Post("xml", c.body), c.status, c.says);
  }
  ExpectError(Fetch(http::verb::post, "/open311/v2/requests.json",
                    {{"Content-Type", "application/json"}}, R"({"service_code":"x"})"),
              400, "x-www-form-urlencoded");
  ExpectError(Get("requests.csv"), 400, ".json or .xml");
  ExpectError(Get("requests"), 400, ".json or .xml");
  ExpectError(Get("complaints.json"), 404, "no such Open311 resource");
  ExpectError(Get("services.json?jurisdiction_id=elsewhere"), 404, "elsewhere");
  EXPECT_EQ(Fetch(http::verb::put, "/open311/v2/requests.json").status, 405);
  EXPECT_EQ(Fetch(http::verb::post, "/open311/v2/services.json").status, 405);
  EXPECT_EQ(engine_->head().seq.value, head);

  // 4,000 characters of Chinese (12,000 bytes) are within the limit.
  std::string chinese;
  for (int i = 0; i < 4000; ++i) chinese += "%E6%B2%B3";
  EXPECT_TRUE(Created(Post("json", key + all + "&description=" + chinese)).starts_with("o311-"));
}

TEST_F(Open311Test, ARequestReadsBackWithEveryFieldInBothFormats) {
  const std::string id =
      Created(Post("json", Body("&address_string=%E4%B8%9C%E8%A1%97+1%E5%8F%B7")));
  auto json = Get("requests/" + id + ".json");
  ASSERT_EQ(json.status, 200) << json.body;
  auto r = Json(json).at(0);
  auto native = Json(Call(http::verb::get, "/v1/cases/" + id, supervisor_));
  EXPECT_EQ(std::string_view(r["service_request_id"]), id);
  EXPECT_EQ(std::string_view(r["status"]), "open");
  EXPECT_EQ(std::string_view(r["service_code"]), "env.garbage");
  EXPECT_EQ(std::string_view(r["agency_responsible"]), "综合执法平台");
  EXPECT_EQ(std::string_view(r["requested_datetime"]), std::string_view(native["received_at"]));
  EXPECT_EQ(std::string_view(r["expected_datetime"]), std::string_view(native["deadline"]));
  EXPECT_TRUE(std::string_view(r["requested_datetime"]).ends_with("+08:00"));
  EXPECT_EQ(std::string_view(r["address"]), "东街 1号");
  EXPECT_EQ(std::string_view(r["description"]), "河道漂浮 rubbish");
  EXPECT_DOUBLE_EQ(double(r["lat"]), 29.874);
  EXPECT_DOUBLE_EQ(double(r["long"]), 120.281);
  EXPECT_EQ(std::string_view(r["media_url"]), "https://example.org/p.jpg");
  EXPECT_NE(std::string(std::string_view(r["status_notes"])).find("已分派"), std::string::npos);

  auto request = Xml(Get("requests/" + id + ".xml")).child("request");
  EXPECT_EQ(std::string(request.child("service_request_id").text().get()), id);
  EXPECT_STREQ(request.child("address").text().get(), "东街 1号");
  EXPECT_DOUBLE_EQ(request.child("lat").text().as_double(), 29.874);
  EXPECT_EQ(std::string(request.child("expected_datetime").text().get()),
            std::string_view(native["deadline"]));

  auto token = Get("tokens/" + id + ".json");
  ASSERT_EQ(token.status, 200) << token.body;
  EXPECT_EQ(std::string_view(Json(token).at(0)["service_request_id"]), id);
  EXPECT_EQ(
      std::string(Xml(Get("tokens/" + id + ".xml")).child("request").child("token").text().get()),
      id);
  ExpectError(Get("tokens/o311-none.json"), 404, "token");
  ExpectError(Get("requests/o311-none.xml"), 404, "o311-none");
}

TEST_F(Open311Test, ListsFilterByIdCodeStatusAndDatesAndPage) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(Created(Post("json", Body("", i == 4 ? "food.stall" : "env.garbage"))));
    clock_.Advance(86'400'000);  // a day apart
  }
  const std::string food = ids.back();
  ASSERT_EQ(Call(http::verb::post, "/v1/cases/" + ids[0] + "/transitions", supervisor_,
                 R"({"action":"cancel","note":"duplicate"})")
                .status,
            200);
  // A grid worker's own report: not an Open311 request.
  ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, ReportBody("native-1")).status, 201);

  const auto listed = [&](const std::string& query) {
    std::vector<std::string> out;
    auto r = Get("requests.json?" + query);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    if (r.status != 200) return out;
    for (auto item : Json(r).get_array()) {
      out.emplace_back(std::string_view(item["service_request_id"]));
    }
    return out;
  };
  EXPECT_EQ(listed("").size(), 5u);  // the last 90 days; the native report is not listed
  EXPECT_EQ(listed("api_key=" + supervisor_).size(), 6u);
  EXPECT_EQ(listed("service_code=food.stall"), std::vector<std::string>{food});
  EXPECT_EQ(listed("status=closed"), std::vector<std::string>{ids[0]});  // cancelled is closed
  EXPECT_EQ(listed("status=open").size(), 4u);
  EXPECT_EQ(listed("status=open,closed").size(), 5u);
  // Repeated list parameters merge, as the spec allows.
  EXPECT_EQ(listed("status=open&status=closed").size(), 5u);
  EXPECT_EQ(listed("service_code=food.stall&service_code=no.such"), std::vector<std::string>{food});
  EXPECT_EQ(listed("service_request_id=" + ids[1] + "&service_request_id=" + ids[2]),
            (std::vector<std::string>{ids[1], ids[2]}));
  // Every W3C date-time profile: a date (China Standard Time), minutes, fractions, Z.
  for (const char* start : {"2020-03-03", "2020-03-03T00:00%2B08:00", "2020-03-02T16:00Z",
                            "2020-03-02T16:00:00.000Z"}) {
    auto from = listed(std::string("start_date=") + start + "&end_date=2020-03-04T23:59:59Z");
    EXPECT_EQ(std::set<std::string>(from.begin(), from.end()),
              (std::set<std::string>{ids[1], ids[2]}))
        << start;
  }
  // A date as end_date is its whole day.
  auto days = listed("start_date=2020-03-03&end_date=2020-03-04");
  EXPECT_EQ(std::set<std::string>(days.begin(), days.end()),
            (std::set<std::string>{ids[1], ids[2]}));
  // A "+" sent raw decodes as a space: the error says so.
  ExpectError(Get("requests.json?start_date=2020-03-03T00:00:00+08:00"), 400, "%2B");
  EXPECT_EQ(listed("service_request_id=" + ids[1] + "," + ids[2] + ",native-1"),
            (std::vector<std::string>{ids[1], ids[2]}));
  // The second and third day (received 2020-03-03 and 03-04, 09:15 +08:00).
  auto window = listed("start_date=2020-03-03T00:00:00%2B08:00&end_date=2020-03-04T23:59:59Z");
  EXPECT_EQ(std::set<std::string>(window.begin(), window.end()),
            (std::set<std::string>{ids[1], ids[2]}));
  EXPECT_TRUE(listed("end_date=2020-03-01T00:00:00Z").empty());
  const auto page1 = listed("page_size=2"), page2 = listed("page_size=2&page=2"),
             page3 = listed("page_size=2&page=3");
  EXPECT_EQ(page1.size(), 2u);
  EXPECT_EQ(page2.size(), 2u);
  EXPECT_EQ(page3.size(), 1u);
  std::set<std::string> all(page1.begin(), page1.end());
  all.insert(page2.begin(), page2.end());
  all.insert(page3.begin(), page3.end());
  EXPECT_EQ(all.size(), 5u);
  size_t xml_items = 0;
  for ([[maybe_unused]] auto r : Xml(Get("requests.xml")).children("request")) ++xml_items;
  EXPECT_EQ(xml_items, 5u);
  ExpectError(Get("requests/native-1.json"), 404, "native-1");

  ExpectError(Get("requests.json?start_date=2020-01-01T00:00:00Z&end_date=2020-06-01T00:00:00Z"),
              400, "90 days");
  ExpectError(Get("requests.json?start_date=yesterday"), 400, "start_date");
  ExpectError(Get("requests.xml?status=pending"), 400, "status");
  ExpectError(Get("requests.json?page_size=0"), 400, "page_size");
  ExpectError(Get("requests.json?page_size=1001"), 400, "page_size");
  ExpectError(Get("requests.json?api_key=wg_nope"), 403, "api_key");
  EXPECT_EQ(listed("sort=asc&lat=29.8&long=120.2&radius=500").size(), 5u);  // ignored
}

// By default a read needs a key and shows what the key's role may see: an office's
// handler cannot read another office's requests by leaving the key off.
TEST_F(Open311Test, ReadsNeedAKeyByDefaultAndSeeWhatTheKeyMaySee) {
  ServerOptions so;
  so.port = 0;
  StartServer(so);
  const std::string mine = Created(Post("json", Body()));
  const std::string theirs =
      Created(Post("json", "api_key=" + other_worker_ +
                               "&service_code=env.garbage&lat=1&long=2&attribute[village]=V08"));
  for (const std::string& target :
       {std::string("requests.json"), "requests/" + mine + ".json", "tokens/" + mine + ".json",
        "requests.xml?service_request_id=" + mine}) {
    SCOPED_TRACE(target);
    ExpectError(Get(target), 401, "api_key is required");
  }
  EXPECT_EQ(Get("services.json").status, 200);  // the catalog is public
  EXPECT_EQ(Get("discovery.json").status, 200);

  const auto listed = [&](const std::string& key) {
    std::set<std::string> out;
    auto r = Get("requests.json?api_key=" + key);
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return out;
    for (auto item : Json(r).get_array()) {
      out.emplace(std::string_view(item["service_request_id"]));
    }
    return out;
  };
  EXPECT_EQ(listed(worker_), std::set<std::string>{mine});
  EXPECT_EQ(listed(other_worker_), std::set<std::string>{theirs});
  EXPECT_EQ(listed(handler_), (std::set<std::string>{mine, theirs}));  // zonghe-zhifa owns both
  EXPECT_TRUE(listed(other_handler_).empty());
  EXPECT_EQ(listed(supervisor_).size(), 2u);
  ExpectError(Get("requests/" + mine + ".json?api_key=" + other_worker_), 404, mine);
  ExpectError(Get("requests/" + mine + ".xml?api_key=" + other_handler_), 404, mine);
  ExpectError(Get("tokens/" + mine + ".json?api_key=" + other_handler_), 404, "token");
  EXPECT_EQ(Get("requests/" + mine + ".json?api_key=" + worker_).status, 200);
  EXPECT_EQ(Get("tokens/" + mine + ".json?api_key=" + handler_).status, 200);
  // A bearer token does as well as an api_key.
  EXPECT_EQ(Fetch(http::verb::get, "/open311/v2/requests/" + mine + ".json",
                  {{"Authorization", "Bearer " + worker_}})
                .status,
            200);
}

// A key reused for a different request is a conflict, in the spec's error form, and
// writes nothing; another reporter's same key is their own request.
TEST_F(Open311Test, AnIdempotencyKeyIsTheReportersOwn) {
  const std::string first = Created(Post("json", Body(), {{"Idempotency-Key", "k-1"}}));
  const uint64_t head = engine_->head().seq.value;
  for (const char* format : {"json", "xml"}) {
    ExpectError(Post(format, Body("&attribute%5Bseverity%5D=4"), {{"Idempotency-Key", "k-1"}}), 409,
                "differs in severity");
  }
  EXPECT_EQ(engine_->head().seq.value, head);
  const std::string theirs = Created(Post(
      "json",
      "api_key=" + other_worker_ + "&service_code=env.garbage&lat=1&long=2&attribute[village]=V08",
      {{"Idempotency-Key", "k-1"}}));
  EXPECT_NE(theirs, first);
  EXPECT_EQ(engine_->head().seq.value, head + 1);
}

// Open311 in, the native API for the work, Open311 shows it closed with the right dates.
TEST_F(Open311Test, ARoundTripThroughTheNativeLifecycle) {
  const std::string id = Created(Post("json", Body()));
  const auto step = [&](const std::string& token, const std::string& body) {
    clock_.Advance(3'600'000);
    auto r = Call(http::verb::post, "/v1/cases/" + id + "/transitions", token, body);
    EXPECT_EQ(r.status, 200) << body << ": " << r.body;
  };
  step(handler_, R"({"action":"accept"})");
  step(handler_, R"({"action":"resolve","note":"清理完毕"})");
  step(worker_, R"({"action":"verify","satisfaction":5})");  // the api_key's actor verifies
  auto native = Json(Call(http::verb::get, "/v1/cases/" + id, supervisor_));
  ASSERT_EQ(std::string_view(native["status"]), "closed");
  auto r = Json(Get("requests/" + id + ".json")).at(0);
  EXPECT_EQ(std::string_view(r["status"]), "closed");
  EXPECT_EQ(std::string_view(r["status_notes"]), "已办结");
  EXPECT_EQ(std::string_view(r["updated_datetime"]), std::string_view(native["closed_at"]));
  EXPECT_EQ(std::string_view(r["requested_datetime"]), std::string_view(native["received_at"]));
  EXPECT_EQ(std::string_view(r["expected_datetime"]), std::string_view(native["deadline"]));
  auto request = Xml(Get("requests/" + id + ".xml")).child("request");
  EXPECT_STREQ(request.child("status").text().get(), "closed");
  auto metrics = Fetch(http::verb::get, "/metrics").body;
  EXPECT_NE(metrics.find(R"(wangge_http_requests_total{route="open311",code="200"} 3)"),
            std::string::npos)
      << metrics.substr(0, 3000);
}

}  // namespace
}  // namespace wangge::ingest
