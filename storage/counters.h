// A sparse vector of signed 64-bit counters: the value format of the stats family. The
// family's merge operator adds vectors slot by slot, so a writer records a change as a
// delta (WriteSet::Merge) without reading the current value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wangge::storage {

// Not thread-safe. Slots holding zero are not stored.
class Counters {
 public:
  void Add(uint16_t slot, int64_t delta);
  int64_t Get(uint16_t slot) const;
  // Adds `sign` × every slot of `other`.
  void AddAll(const Counters& other, int64_t sign = 1);
  bool empty() const { return slots_.empty(); }
  // (slot, value) in slot order, zeros left out.
  const std::vector<std::pair<uint16_t, int64_t>>& slots() const { return slots_; }

  // u16 slot then i64 value (both big-endian) for each non-zero slot, in slot order.
  std::string Encode() const;
  // False, leaving `out` unspecified, when `bytes` is not an encoding.
  static bool Decode(std::string_view bytes, Counters& out);

  friend bool operator==(const Counters&, const Counters&) = default;

 private:
  std::vector<std::pair<uint16_t, int64_t>> slots_;
};

}  // namespace wangge::storage
