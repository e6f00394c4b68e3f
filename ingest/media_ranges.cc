#include "ingest/media_ranges.h"

#include <algorithm>
#include <charconv>

namespace wangge::ingest {

Result<ContentRange> ParseContentRange(std::string_view v) {
  auto bad = [&] {
    return InvalidArgument(
        "Content-Range must be 'bytes FIRST-LAST/TOTAL', not '" + std::string(v) + "'",
        "content-range");
  };
  if (!v.starts_with("bytes ")) return bad();
  v.remove_prefix(6);
  ContentRange r;
  const char* p = v.data();
  const char* end = v.data() + v.size();
  auto num = [&](uint64_t& out, char stop) {
    auto res = std::from_chars(p, end, out);
    if (res.ec != std::errc() || res.ptr == p) return false;
    p = res.ptr;
    if (stop == 0) return p == end;
    if (p == end || *p != stop) return false;
    ++p;
    return true;
  };
  if (!num(r.first, '-') || !num(r.last, '/') || !num(r.total, 0)) return bad();
  if (r.first > r.last || r.last >= r.total) return bad();
  return r;
}

std::optional<std::pair<uint64_t, uint64_t>> ParseRange(std::string_view v, uint64_t size) {
  if (!v.starts_with("bytes=") || size == 0) return std::nullopt;
  v.remove_prefix(6);
  const size_t dash = v.find('-');
  if (dash == std::string_view::npos || v.find(',') != std::string_view::npos) return std::nullopt;
  auto num = [](std::string_view s, uint64_t& out) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
  };
  uint64_t a = 0, b = size - 1;
  const std::string_view left = v.substr(0, dash), right = v.substr(dash + 1);
  if (left.empty()) {
    uint64_t n = 0;
    if (!num(right, n) || n == 0) return std::nullopt;
    a = n >= size ? 0 : size - n;
  } else {
    if (!num(left, a) || (!right.empty() && !num(right, b))) return std::nullopt;
    if (a >= size || b < a) return std::nullopt;
    b = std::min(b, size - 1);
  }
  return std::make_pair(a, b);
}

}  // namespace wangge::ingest
