// An in-process server for the Open311 tests (tests/ingest/open311*_test.cc), with the
// helpers a GeoReport v2 client needs: forms, both formats read back, and the spec's errors.
#pragma once

#include <deque>
#include <pugixml.hpp>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "tests/testing/http_fixture.h"

namespace wangge::testing {

constexpr const char* kForm = "application/x-www-form-urlencoded";

class Open311Fixture : public HttpServerFixture {
 protected:
  // Most tests read as a city's public website does, without a key (--open311-public);
  // Open311Test.ReadsNeedAKeyByDefault… restarts the server without it.
  void SetUp() override {
    HttpServerFixture::SetUp();
    StartServer(Options());
  }
  // The server's options; a suite may change them.
  virtual ingest::ServerOptions Options() {
    ingest::ServerOptions so;
    so.port = 0;
    so.max_body_bytes = 4096;
    so.open311_public = true;
    return so;
  }

  Reply Get(const std::string& target) { return Fetch(http::verb::get, "/open311/v2/" + target); }
  Reply Post(const std::string& format, const std::string& body,
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("Content-Type", kForm);
    return Fetch(http::verb::post, "/open311/v2/requests." + format, headers, body);
  }
  // A valid request body; `extra` is appended.
  std::string Body(const std::string& extra = "", const std::string& code = "env.garbage") {
    return "api_key=" + worker_ + "&service_code=" + code +
           "&lat=29.874&long=120.281"
           "&attribute%5Bvillage%5D=V07&description=%E6%B2%B3%E9%81%93%E6%BC%82%E6%B5%AE"
           "+rubbish&media_url=https%3A%2F%2Fexample.org%2Fp.jpg" +
           extra;
  }

  // Each document gets its own parser, so elements of earlier ones stay valid.
  simdjson::dom::element Json(const Reply& r) {
    auto parsed = parsers_.emplace_back().parse(r.body);
    EXPECT_FALSE(parsed.error()) << r.body;
    return parsed.value_unsafe();
  }
  // The document, after checking the declaration says UTF-8. Each gets its own
  // pugi::xml_document, so nodes of earlier ones stay valid.
  pugi::xml_node Xml(const Reply& r) {
    EXPECT_TRUE(r.body.starts_with(R"(<?xml version="1.0" encoding="UTF-8"?>)")) << r.body;
    pugi::xml_document& doc = docs_.emplace_back();
    auto result = doc.load_string(r.body.c_str());
    EXPECT_TRUE(result) << result.description() << ": " << r.body;
    return doc.document_element();
  }
  // An error answer: the HTTP status and the spec's error list with the same code.
  void ExpectError(const Reply& r, int status, const std::string& fragment) {
    EXPECT_EQ(r.status, status) << r.body;
    if (r.content_type.starts_with("application/json")) {
      auto first = Json(r).at(0);
      EXPECT_EQ(int64_t(first["code"]), status) << r.body;
      EXPECT_NE(std::string(std::string_view(first["description"])).find(fragment),
                std::string::npos)
          << r.body;
    } else {
      const pugi::xml_node root = Xml(r);
      EXPECT_STREQ(root.name(), "errors");
      auto error = root.child("error");
      EXPECT_EQ(error.child("code").text().as_int(), status) << r.body;
      EXPECT_NE(std::string(error.child("description").text().get()).find(fragment),
                std::string::npos)
          << r.body;
    }
  }
  std::string Created(const Reply& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return "";
    return std::string(std::string_view(Json(r).at(0)["service_request_id"]));
  }

  std::deque<simdjson::dom::parser> parsers_;
  std::deque<pugi::xml_document> docs_;
};

}  // namespace wangge::testing
