// libFuzzer target: bytes read from disk as a log record or a case state. Decoding
// must reject what is malformed without crashing, and re-encode what it accepts to
// the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto record = wangge::engine::DecodeRecord(wangge::Seq{1}, bytes);
  if (record.ok() && wangge::engine::EncodeRecord(*record) != bytes) std::abort();
  auto c = wangge::engine::DecodeCase(bytes);
  if (c.ok() && wangge::engine::EncodeCase(*c) != bytes) std::abort();
  return 0;
}
