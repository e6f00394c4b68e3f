// How the HTTP service answers: JSON bodies, the one error body, and the HTTP status of
// each error kind (docs/api.md "Errors").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "core/status.h"

namespace wangge::ingest {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// 400, 401, 403, 404, 409, 413 (never: framing), 503, 507, 500.
http::status HttpStatusOf(StatusCode code);

// A JSON answer to `req` (its HTTP version and keep-alive).
Response Json(const Request& req, http::status status, const boost::json::value& body);

// {"error": {"code", "message", "field"?}} with the status of its kind, or `status` when
// given; 401 names the Bearer scheme; 503 and 507 say when to retry. Under /open311/ the
// body is the spec's error list instead, in the format the target asks for (.xml, else
// JSON), with the HTTP status as its code.
Response Error(const Request& req, const Status& s,
               std::optional<http::status> status = std::nullopt);

// `s` with each byte that starts no well-formed UTF-8 sequence replaced by U+FFFD. Error
// messages echo request text (a path, a query value), and an answer must stay valid JSON.
std::string ValidUtf8(std::string_view s);

// When to try again after a refusal for want of capacity (503) or disk space (507).
void SetRetryAfter(Response& res);

}  // namespace wangge::ingest
