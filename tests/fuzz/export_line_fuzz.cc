// libFuzzer target: one line of a log export (wangge import --records). Parsing must
// never crash; what parses holds bytes that decode as a record, and re-exporting those
// bytes' base64 must give back the same payload.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/codec.h"
#include "io/export.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto parsed = wangge::io::ParseExportLine(line);
  if (!parsed.ok()) return 0;
  auto record = wangge::engine::DecodeRecord(wangge::Seq{parsed->first}, parsed->second);
  if (!record.ok()) std::abort();  // ParseExportLine promised a record
  // The record's canonical encoding is the payload itself (the decoder refuses others).
  if (wangge::engine::EncodeRecord(*record) != parsed->second) std::abort();
  return 0;
}
