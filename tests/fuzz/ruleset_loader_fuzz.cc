// libFuzzer target: ruleset and calendar files. Loading must never crash; a ruleset
// that loads must route, and its index must agree with a scan of every row.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rules/ruleset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wangge;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)rules::Calendar::Load(text, "fuzz-calendar");
  auto rs = rules::Ruleset::Load(text, "fuzz-ruleset", rules::Calendar::BuiltIn());
  if (!rs.ok()) return 0;
  const char* categories[] = {"env.garbage", "env.x.y", "a", "", "dispute.labour"};
  for (int i = 0; i < 5; ++i) {
    rules::RouteInput in{
        categories[i], i % 4 + 1, "V01", "V01-G1", TimeMs{1'583'114'400'000 + i * 37'000'000LL},
        "起火",        "W001"};
    rules::Decision a = (*rs)->Route(in), b = (*rs)->RouteByScan(in);
    if (a.rule_id != b.rule_id || a.office != b.office || a.deadline != b.deadline) std::abort();
    if (a.office.empty()) std::abort();
  }
  return 0;
}
