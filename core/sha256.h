// SHA-256 of byte strings, via OpenSSL's libcrypto. Used by the log's hash chain.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace wangge {

using Hash = std::array<uint8_t, 32>;

// Lowercase hex of a hash.
std::string HexOf(const Hash& h);

// The lowercase hex SHA-256 of `bytes` (a photo's name, engine/media.h).
std::string Sha256Hex(std::string_view bytes);

// Incremental SHA-256 that reuses one digest context. Not thread-safe.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  // The hash of the concatenation of `a` and `b`. Starts over: any Update before is lost.
  Hash Of(std::string_view a, std::string_view b);

  // Streaming use: Update any number of times, then Final (which starts over).
  void Update(std::string_view bytes);
  Hash Final();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  bool streaming_ = false;  // an Update has begun a digest that Final has not ended
};

}  // namespace wangge
