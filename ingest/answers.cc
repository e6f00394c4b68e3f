#include "ingest/answers.h"

#include <simdjson.h>

#include "ingest/open311.h"
#include "wire/json_writer.h"

namespace wangge::ingest {

namespace json = boost::json;

namespace {

// The length of the well-formed UTF-8 sequence at s[i], or 0 when none starts there.
size_t Utf8SequenceAt(std::string_view s, size_t i) {
  for (size_t n = 1; n <= 4 && i + n <= s.size(); ++n) {
    if (simdjson::validate_utf8(s.data() + i, n)) return n;
  }
  return 0;
}

}  // namespace

http::status HttpStatusOf(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
      return http::status::bad_request;
    case StatusCode::kUnauthenticated:
      return http::status::unauthorized;
    case StatusCode::kPermissionDenied:
      return http::status::forbidden;
    case StatusCode::kNotFound:
      return http::status::not_found;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return http::status::conflict;
    case StatusCode::kNoSpace:
      return http::status::insufficient_storage;
    case StatusCode::kOutOfRange:
      return http::status::unprocessable_entity;
    case StatusCode::kResourceExhausted:
    case StatusCode::kUnavailable:
      return http::status::service_unavailable;
    default:
      return http::status::internal_server_error;
  }
}

Response Json(const Request& req, http::status status, const json::value& body) {
  Response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  res.body() = wire::WriteJson(body);
  res.prepare_payload();
  return res;
}

// `s` with each byte that starts no well-formed UTF-8 sequence replaced by U+FFFD. Error
// messages echo request text (a path, a query value), and an answer must stay valid JSON.
std::string ValidUtf8(std::string_view s) {
  if (simdjson::validate_utf8(s.data(), s.size())) return std::string(s);
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceAt(s, i);
    out.append(n == 0 ? std::string_view("\xEF\xBF\xBD") : s.substr(i, n));
    i += n == 0 ? 1 : n;
  }
  return out;
}

// When to try again after a refusal for want of capacity (503) or disk space (507).
void SetRetryAfter(Response& res) {
  if (res.result() == http::status::service_unavailable) res.set(http::field::retry_after, "1");
  if (res.result() == http::status::insufficient_storage) res.set(http::field::retry_after, "30");
}

namespace {

Response NativeError(const Request& req, http::status status, const Status& s) {
  json::object err{{"code", std::string(StatusCodeName(s.code()))},
                   {"message", ValidUtf8(s.message())}};
  if (!s.field().empty()) err["field"] = ValidUtf8(s.field());
  return Json(req, status, json::object{{"error", std::move(err)}});
}

// The spec's error list for an Open311 target, whatever went wrong with the request.
Response Open311Error(const Request& req, http::status status, const Status& s) {
  std::string_view path = req.target();
  path = path.substr(0, path.find('?'));
  const open311::Format format =
      path.ends_with(".xml") ? open311::Format::kXml : open311::Format::kJson;
  Response res{status, req.version()};
  res.set(http::field::content_type, open311::ContentType(format));
  res.keep_alive(req.keep_alive());
  res.body() =
      open311::Render(open311::Errors(static_cast<int>(status), ValidUtf8(s.message())), format);
  res.prepare_payload();
  return res;
}

}  // namespace

Response Error(const Request& req, const Status& s, std::optional<http::status> status) {
  const http::status code = status.value_or(HttpStatusOf(s.code()));
  Response res = req.target().starts_with("/open311/") ? Open311Error(req, code, s)
                                                       : NativeError(req, code, s);
  if (s.code() == StatusCode::kUnauthenticated) res.set(http::field::www_authenticate, "Bearer");
  SetRetryAfter(res);
  return res;
}

}  // namespace wangge::ingest
