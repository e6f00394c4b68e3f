// libFuzzer target: the messages engine instances and HTTP nodes exchange in cluster mode
// (a stats request, a town's stats answer). Parsing must never crash; an answer it
// accepts must encode back to an answer that decodes to the same rows, and merging it
// into itself must double every counter.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cluster/cluster.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wangge;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)cluster::DecodeStatsRequest(text);
  auto answer = cluster::DecodeStatsAnswer(text);
  if (!answer.ok()) return 0;
  auto again = cluster::DecodeStatsAnswer(cluster::EncodeStatsAnswer(*answer));
  if (!again.ok() || again->rows.size() != answer->rows.size()) std::abort();
  engine::StatsResult doubled = *answer;
  cluster::MergeStats(doubled, *answer);
  for (const auto& row : doubled.rows) {
    for (const auto& [slot, value] : row.counters.slots()) {
      if (value % 2 != 0) std::abort();
    }
  }
  return 0;
}
