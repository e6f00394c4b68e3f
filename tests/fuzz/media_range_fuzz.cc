// libFuzzer target: the byte ranges of photo transfers, Content-Range on an upload's PUT
// and Range on a GET. Parsing must never crash, and what it accepts must lie within the
// file: FIRST <= LAST < TOTAL, and a GET range inside the file's size.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/media_ranges.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wangge::ingest;
  if (size < 4) return 0;
  // The first four bytes give the file size for the GET range.
  const uint64_t file_size = uint64_t{data[0]} | uint64_t{data[1]} << 8 | uint64_t{data[2]} << 16 |
                             uint64_t{data[3]} << 24;
  const std::string_view text(reinterpret_cast<const char*>(data) + 4, size - 4);
  auto put = ParseContentRange(text);
  if (put.ok() && !(put->first <= put->last && put->last < put->total)) std::abort();
  auto get = ParseRange(text, file_size);
  if (get && !(get->first <= get->second && get->second < file_size)) std::abort();
  return 0;
}
