// Strong ids: types that cannot be mixed up by accident.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace wangge {

// A log sequence number. The first record is 1; 0 means "none".
struct Seq {
  uint64_t value = 0;
  friend auto operator<=>(const Seq&, const Seq&) = default;
};

// An office that owns cases, e.g. "zongzhi" or "V07-committee".
struct OfficeId {
  std::string value;
  friend auto operator<=>(const OfficeId&, const OfficeId&) = default;
};

// A case is addressed by its report's client id (a device UUID).
struct CaseId {
  std::string value;
  friend auto operator<=>(const CaseId&, const CaseId&) = default;
};

}  // namespace wangge
