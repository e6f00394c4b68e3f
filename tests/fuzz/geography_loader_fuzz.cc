// libFuzzer target: geography files. Loading must never crash; a geography that loads
// must locate as a scan of every grid does, and give finite distances.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rules/geography.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wangge;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto geo = rules::Geography::Load(text, "fuzz-geography", nullptr);
  if (!geo.ok()) return 0;
  const double points[][2] = {{29.875, 120.285}, {0, 0}, {29.87, 120.28}, {-89.9, 179.9}};
  for (const auto& p : points) {
    if ((*geo)->Locate(p[0], p[1]) != (*geo)->LocateByScan(p[0], p[1])) std::abort();
    const rules::Location near = (*geo)->Nearest(p[0], p[1]);
    if (!near.grid || !std::isfinite(near.distance_m) || near.distance_m < 0) std::abort();
  }
  return 0;
}
