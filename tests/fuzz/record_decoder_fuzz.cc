// libFuzzer target: bytes read from disk as a log record or a case state. Decoding
// must reject what is malformed without crashing, and re-encode what it accepts to
// the same bytes. A case of an older format re-encodes in the current one, which
// must decode to a case that encodes to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto record = wangge::engine::DecodeRecord(wangge::Seq{1}, bytes);
  if (record.ok() && wangge::engine::EncodeRecord(*record) != bytes) std::abort();
  auto c = wangge::engine::DecodeCase(bytes);
  if (c.ok()) {
    const std::string again = wangge::engine::EncodeCase(*c);
    const bool current = static_cast<uint8_t>(bytes[0]) == wangge::engine::kCaseFormat;
    if (current && again != bytes) std::abort();
    // Compared as bytes: a NaN coordinate is not equal to itself.
    auto back = wangge::engine::DecodeCase(again);
    if (!back.ok() || wangge::engine::EncodeCase(*back) != again) std::abort();
  }
  return 0;
}
