// Fixed-width big-endian encoding helpers shared by every persisted format.
// Big-endian so that byte-wise key order equals numeric order in RocksDB.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace wangge {

inline void PutU8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }

inline void PutU16(std::string& out, uint16_t v) {
  PutU8(out, static_cast<uint8_t>(v >> 8));
  PutU8(out, static_cast<uint8_t>(v));
}

inline void PutU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) PutU8(out, static_cast<uint8_t>(v >> shift));
}

inline void PutU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) PutU8(out, static_cast<uint8_t>(v >> shift));
}

// Signed values are stored offset by 2^63 so that order is preserved in keys.
inline void PutI64(std::string& out, int64_t v) {
  PutU64(out, static_cast<uint64_t>(v) ^ (uint64_t{1} << 63));
}

inline void PutF64(std::string& out, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  PutU64(out, bits);
}

// A u32 length, then the bytes.
inline void PutString(std::string& out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

inline uint64_t DecodeU64(std::string_view in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

inline std::string EncodeU64(uint64_t v) {
  std::string out;
  PutU64(out, v);
  return out;
}

// The first key after every key that starts with `prefix` (empty: no such key, so a
// scan runs to the end of the family).
inline std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last != 0xff) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

// Lower-case hex of the bytes.
inline std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

// The bytes of a hex string (either case); false when it is not one.
inline bool HexDecode(std::string_view hex, std::string& out) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out.clear();
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

// Reads what the Put* functions wrote. Every getter returns false, and leaves the
// reader failed, when the input is too short: decoding bytes from disk never asserts.
// Not thread-safe.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  bool U8(uint8_t& v) {
    if (!Need(1)) return false;
    v = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool U16(uint16_t& v) {
    uint64_t x;
    if (!Fixed(2, x)) return false;
    v = static_cast<uint16_t>(x);
    return true;
  }
  bool U32(uint32_t& v) {
    uint64_t x;
    if (!Fixed(4, x)) return false;
    v = static_cast<uint32_t>(x);
    return true;
  }
  bool U64(uint64_t& v) { return Fixed(8, v); }
  bool I64(int64_t& v) {
    uint64_t x;
    if (!Fixed(8, x)) return false;
    v = static_cast<int64_t>(x ^ (uint64_t{1} << 63));
    return true;
  }
  bool F64(double& v) {
    uint64_t x;
    if (!Fixed(8, x)) return false;
    std::memcpy(&v, &x, sizeof v);
    return true;
  }
  bool String(std::string& s) {
    uint32_t n;
    if (!U32(n) || !Need(n)) return false;
    s.assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool Bytes(size_t n, std::string_view& out) {
    if (!Need(n)) return false;
    out = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }

  bool failed() const { return failed_; }
  bool done() const { return !failed_ && pos_ == in_.size(); }
  size_t position() const { return pos_; }

 private:
  bool Need(size_t n) {
    if (failed_ || in_.size() - pos_ < n) {
      failed_ = true;
      return false;
    }
    return true;
  }
  bool Fixed(size_t n, uint64_t& v) {
    if (!Need(n)) return false;
    v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(in_[pos_ + i]);
    pos_ += n;
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace wangge
