#include "wire/json_writer.h"

#include <charconv>
#include <cmath>

namespace wangge::wire {

namespace json = boost::json;

namespace {

void AppendString(std::string& out, json::string_view s) {
  // Boost.JSON's escaping: quotes, backslashes and control characters; UTF-8 as is.
  out += json::serialize(s);
}

void AppendDouble(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[400];  // the longest fixed form of a double is 309 digits and a sign
  const auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
  out.append(buf, r.ptr);
}

}  // namespace

void AppendJson(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      return;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return;
    case json::kind::int64:
      out += std::to_string(v.get_int64());
      return;
    case json::kind::uint64:
      out += std::to_string(v.get_uint64());
      return;
    case json::kind::double_:
      AppendDouble(out, v.get_double());
      return;
    case json::kind::string:
      AppendString(out, v.get_string());
      return;
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        AppendJson(out, e);
      }
      out += ']';
      return;
    }
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, e] : v.get_object()) {
        if (!first) out += ',';
        first = false;
        AppendString(out, key);
        out += ':';
        AppendJson(out, e);
      }
      out += '}';
      return;
    }
  }
}

std::string WriteJson(const json::value& v) {
  std::string out;
  out.reserve(256);
  AppendJson(out, v);
  return out;
}

}  // namespace wangge::wire
