#include "storage/counters.h"

#include <algorithm>

namespace wangge::storage {

void Counters::Add(uint16_t slot, int64_t delta) {
  if (delta == 0) return;
  auto it = std::lower_bound(slots_.begin(), slots_.end(), slot,
                             [](const auto& p, uint16_t s) { return p.first < s; });
  if (it != slots_.end() && it->first == slot) {
    it->second += delta;
    if (it->second == 0) slots_.erase(it);
  } else {
    slots_.insert(it, {slot, delta});
  }
}

int64_t Counters::Get(uint16_t slot) const {
  auto it = std::lower_bound(slots_.begin(), slots_.end(), slot,
                             [](const auto& p, uint16_t s) { return p.first < s; });
  return it != slots_.end() && it->first == slot ? it->second : 0;
}

void Counters::AddAll(const Counters& other, int64_t sign) {
  if (other.slots_.empty()) return;
  if (other.slots_.size() * 8 < slots_.size()) {
    // A small vector into a large one (a day's histogram into a year's): search forward
    // from the last position instead of rebuilding the large one.
    auto from = slots_.begin();
    for (const auto& [slot, value] : other.slots_) {
      from = std::lower_bound(from, slots_.end(), slot,
                              [](const auto& p, uint16_t s) { return p.first < s; });
      if (from != slots_.end() && from->first == slot) {
        from->second += sign * value;
        if (from->second == 0) from = slots_.erase(from);
      } else {
        from = slots_.insert(from, {slot, sign * value}) + 1;
      }
    }
    return;
  }
  // A linear merge of two sorted runs: adding histograms stays O(n + m).
  std::vector<std::pair<uint16_t, int64_t>> out;
  out.reserve(slots_.size() + other.slots_.size());
  auto a = slots_.cbegin();
  auto b = other.slots_.cbegin();
  while (a != slots_.cend() || b != other.slots_.cend()) {
    if (b == other.slots_.cend() || (a != slots_.cend() && a->first < b->first)) {
      out.push_back(*a++);
    } else if (a == slots_.cend() || b->first < a->first) {
      out.emplace_back(b->first, sign * b->second);
      ++b;
    } else {
      const int64_t v = a->second + sign * b->second;
      if (v != 0) out.emplace_back(a->first, v);
      ++a;
      ++b;
    }
  }
  slots_ = std::move(out);
}

std::string Counters::Encode() const {
  std::string out(slots_.size() * kPairBytes, '\0');
  char* p = out.data();
  for (const auto& [slot, value] : slots_) {
    uint16_t s = slot;
    auto v = static_cast<uint64_t>(value) ^ (uint64_t{1} << 63);
    if constexpr (std::endian::native == std::endian::little) {
      s = __builtin_bswap16(s);
      v = __builtin_bswap64(v);
    }
    std::memcpy(p, &s, 2);
    std::memcpy(p + 2, &v, 8);
    p += kPairBytes;
  }
  return out;
}

int64_t Counters::GetEncoded(std::string_view bytes, uint16_t slot) {
  if (bytes.size() % kPairBytes != 0) return 0;
  for (size_t i = 0; i < bytes.size(); i += kPairBytes) {
    const auto [s, value] = LoadPair(bytes.data() + i);
    if (s == slot) return value;
    if (s > slot) break;
  }
  return 0;
}

bool Counters::Decode(std::string_view bytes, Counters& out) {
  out.slots_.clear();
  if (bytes.size() % kPairBytes != 0) return false;
  out.slots_.reserve(bytes.size() / kPairBytes);
  int last = -1;
  for (size_t i = 0; i < bytes.size(); i += kPairBytes) {
    const auto [slot, value] = LoadPair(bytes.data() + i);
    if (static_cast<int>(slot) <= last || value == 0) return false;  // sorted, no zeros
    last = slot;
    out.slots_.emplace_back(slot, value);
  }
  return true;
}

}  // namespace wangge::storage
