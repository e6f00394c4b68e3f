// libFuzzer target: the EXIF of uploaded photos (libexif through ingest::ReadExif) and the
// type sniffing of their first bytes. Reading must never crash, and a position it reports
// must be a real one.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wangge;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)ingest::SniffImageType(bytes);
  engine::MediaInfo info;
  ingest::ReadExif(bytes, std::chrono::minutes{480}, info);
  if (info.lat && (!std::isfinite(*info.lat) || std::abs(*info.lat) > 90)) std::abort();
  if (info.lon && (!std::isfinite(*info.lon) || std::abs(*info.lon) > 180)) std::abort();
  return 0;
}
