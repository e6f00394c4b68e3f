// libFuzzer target: one line of the recorded command stream. Decoding must never
// crash; what decodes must survive an encode/decode round trip.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "wire/command_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static wangge::wire::CommandDecoder decoder;
  std::string_view line(reinterpret_cast<const char*>(data), size);
  auto command = decoder.Decode(line);
  if (!command.ok()) return 0;
  auto again = decoder.Decode(wangge::wire::EncodeCommand(*command));
  if (!again.ok()) std::abort();
  if (!(again->body == command->body) || !(again->actor == command->actor)) std::abort();
  return 0;
}
