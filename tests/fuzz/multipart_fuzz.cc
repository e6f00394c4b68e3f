// libFuzzer target: multipart/form-data bodies (ingest/multipart.h). The input's first
// line (up to the first LF) is the Content-Type value and the rest is the body.
// Parsing must never crash. What it accepts must have at most max_parts parts, each with
// a name and a body inside the input, in order, free of the delimiter, right after the
// empty line and right before a delimiter; and the parts written back out with the same
// boundary must parse to the same parts.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/multipart.h"

namespace {

constexpr size_t kMaxParts = 16;

bool IsTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A parameter value as a token when it can be one, else quoted: never longer than the
// form it was read from, so the written header block stays within the limit.
std::string Value(std::string_view v) {
  bool token = !v.empty();
  for (char c : v) token = token && IsTchar(c);
  if (token) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// The parts as a body with the shortest headers that carry them.
std::string Write(const std::vector<wangge::ingest::FormPart>& parts, const std::string& boundary) {
  std::string out = "--" + boundary;
  for (const auto& p : parts) {
    out += "\r\ncontent-disposition:form-data;name=" + Value(p.name);
    if (!p.filename.empty()) out += ";filename=" + Value(p.filename);
    out += "\r\n";
    if (!p.content_type.empty()) out += "content-type:" + p.content_type + "\r\n";
    out += "\r\n";
    out += p.body;
    out += "\r\n--" + boundary;
  }
  return out + "--";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wangge::ingest;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t eol = input.find('\n');
  if (eol == std::string_view::npos) return 0;
  const std::string_view content_type = input.substr(0, eol);
  const std::string_view body = input.substr(eol + 1);

  auto parts = ParseMultipart(content_type, body, kMaxParts);
  if (!parts.ok()) {
    if (parts.status().field() != "body" && parts.status().field() != "Content-Type") std::abort();
    return 0;
  }
  const std::string boundary = *MultipartBoundary(content_type);
  const std::string delimiter = "\r\n--" + boundary;
  if (parts->size() > kMaxParts) std::abort();
  const char* last_end = body.data();
  for (const FormPart& p : *parts) {
    if (p.name.empty()) std::abort();
    if (p.body.data() < last_end || p.body.data() + p.body.size() > body.data() + body.size()) {
      std::abort();
    }
    if (p.body.find(delimiter) != std::string_view::npos) std::abort();
    // The body ends at a delimiter; a non-empty one starts after the header block's empty
    // line, an empty one at least after a CRLF.
    const size_t at = static_cast<size_t>(p.body.data() - body.data());
    if (!body.substr(at + p.body.size()).starts_with(delimiter)) std::abort();
    const std::string_view before = body.substr(0, at);
    if (!before.ends_with(p.body.empty() ? "\r\n" : "\r\n\r\n")) std::abort();
    last_end = p.body.data() + p.body.size();
  }

  const std::string again_body = Write(*parts, boundary);
  auto again = ParseMultipart(content_type, again_body, kMaxParts);
  if (!again.ok() || again->size() != parts->size()) std::abort();
  for (size_t i = 0; i < parts->size(); ++i) {
    const FormPart& a = (*parts)[i];
    const FormPart& b = (*again)[i];
    if (a.name != b.name || a.filename != b.filename || a.content_type != b.content_type ||
        a.body != b.body) {
      std::abort();
    }
  }
  return 0;
}
