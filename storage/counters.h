// A sparse vector of signed 64-bit counters: the value format of the stats family. The
// family's merge operator adds vectors slot by slot, so a writer records a change as a
// delta (WriteSet::Merge) without reading the current value.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wangge::storage {

// Not thread-safe. Slots holding zero are not stored.
class Counters {
 public:
  void Add(uint16_t slot, int64_t delta);
  // Add for a slot above every slot held (building a vector in slot order); O(1).
  void Append(uint16_t slot, int64_t value) {
    if (value == 0) return;
    if (!slots_.empty() && slots_.back().first >= slot) return Add(slot, value);
    slots_.emplace_back(slot, value);
  }
  int64_t Get(uint16_t slot) const;
  // Adds `sign` × every slot of `other`.
  void AddAll(const Counters& other, int64_t sign = 1);
  bool empty() const { return slots_.empty(); }
  // (slot, value) in slot order, zeros left out.
  const std::vector<std::pair<uint16_t, int64_t>>& slots() const { return slots_; }

  // u16 slot then i64 value (both big-endian) for each non-zero slot, in slot order.
  std::string Encode() const;
  // The value of one slot read straight from an encoding (0 when absent or malformed):
  // cheaper than Decode when one slot is wanted.
  static int64_t GetEncoded(std::string_view bytes, uint16_t slot);
  // Calls fn(slot, value) for each pair of an encoding, in slot order; false when
  // `bytes` is not an encoding (fn may have seen some pairs).
  template <typename Fn>
  static bool ForEachEncoded(std::string_view bytes, Fn&& fn) {
    if (bytes.size() % kPairBytes != 0) return false;
    for (size_t i = 0; i < bytes.size(); i += kPairBytes) {
      const auto [slot, value] = LoadPair(bytes.data() + i);
      fn(slot, value);
    }
    return true;
  }
  // False, leaving `out` unspecified, when `bytes` is not an encoding.
  static bool Decode(std::string_view bytes, Counters& out);

  friend bool operator==(const Counters&, const Counters&) = default;

 private:
  static constexpr size_t kPairBytes = 10;
  // One encoded pair: u16 slot, then the value with its sign bit flipped, both big-endian.
  static std::pair<uint16_t, int64_t> LoadPair(const char* p) {
    uint16_t slot;
    uint64_t value;
    std::memcpy(&slot, p, 2);
    std::memcpy(&value, p + 2, 8);
    if constexpr (std::endian::native == std::endian::little) {
      slot = __builtin_bswap16(slot);
      value = __builtin_bswap64(value);
    }
    return {slot, static_cast<int64_t>(value ^ (uint64_t{1} << 63))};
  }

  std::vector<std::pair<uint16_t, int64_t>> slots_;
};

}  // namespace wangge::storage
