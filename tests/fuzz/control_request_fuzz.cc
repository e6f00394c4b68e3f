// libFuzzer target: request lines on the control socket. Parsing must never crash,
// and a request it accepts is a backup to an absolute path.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "ingest/control.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wangge;
  auto command =
      ingest::ParseControlRequest(std::string_view(reinterpret_cast<const char*>(data), size));
  if (command.ok() &&
      (command->op != "backup" || !std::filesystem::path(command->to).is_absolute())) {
    std::abort();
  }
  return 0;
}
