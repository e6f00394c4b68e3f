// libFuzzer target: HTTP request bodies for POST /v1/reports and the transitions
// endpoint. Decoding must never crash; a decoded report must be valid, and both must
// survive the encoder.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "wire/command_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wangge;
  static wire::CommandDecoder decoder;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  if (auto report = decoder.DecodeReportBody(body); report.ok()) {
    if (!engine::ValidateReport(*report).ok()) std::abort();
    engine::Command c{engine::Actor{"W1", engine::Role::kWorker, ""}, TimeMs{0}, *report};
    auto back = decoder.Decode(wire::EncodeCommand(c));
    if (!back.ok() || !(back->body == c.body)) std::abort();
  }
  (void)decoder.DecodeTransitionBody(body);
  return 0;
}
