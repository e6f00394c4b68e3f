// The byte ranges of photo uploads and downloads: Content-Range on a PUT (a part of a
// resumable upload) and Range on a GET.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "core/status.h"

namespace wangge::ingest {

// "bytes FIRST-LAST/TOTAL" with FIRST <= LAST < TOTAL.
struct ContentRange {
  uint64_t first = 0, last = 0, total = 0;
};
// kInvalidArgument naming "content-range" for anything else.
Result<ContentRange> ParseContentRange(std::string_view v);

// One range of a GET, "bytes=A-B", "bytes=A-" or "bytes=-N", against a file of `size`
// bytes: [first, last] within it, or nullopt when it cannot be served (several ranges,
// malformed, or starting past the end).
std::optional<std::pair<uint64_t, uint64_t>> ParseRange(std::string_view v, uint64_t size);

}  // namespace wangge::ingest
