// SHA-256 of byte strings, via OpenSSL's libcrypto. Used by the log's hash chain.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace wangge::storage {

using Hash = std::array<uint8_t, 32>;

// Lowercase hex of a hash.
std::string HexOf(const Hash& h);

// Incremental SHA-256 that reuses one digest context. Not thread-safe.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  // The hash of the concatenation of `a` and `b`.
  Hash Of(std::string_view a, std::string_view b);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace wangge::storage
