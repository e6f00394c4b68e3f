#include "storage/counters.h"

#include <algorithm>

#include "engine/core/bytes.h"

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
  for (const auto& [slot, value] : other.slots_) Add(slot, sign * value);
}

std::string Counters::Encode() const {
  std::string out;
  out.reserve(slots_.size() * 10);
  for (const auto& [slot, value] : slots_) {
    PutU16(out, slot);
    PutI64(out, value);
  }
  return out;
}

bool Counters::Decode(std::string_view bytes, Counters& out) {
  out.slots_.clear();
  if (bytes.size() % 10 != 0) return false;
  ByteReader r(bytes);
  int last = -1;
  while (!r.done()) {
    uint16_t slot = 0;
    int64_t value = 0;
    if (!r.U16(slot) || !r.I64(value)) return false;
    if (static_cast<int>(slot) <= last || value == 0) return false;  // sorted, no zeros
    last = slot;
    out.slots_.emplace_back(slot, value);
  }
  return true;
}

}  // namespace wangge::storage
