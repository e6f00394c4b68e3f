// The seed of a randomized test: WANGGE_TEST_SEED when set, else a fresh one. It is
// printed, so a failing run can be repeated exactly.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace wangge::testing {

inline uint32_t TestSeed(const char* test) {
  const char* env = std::getenv("WANGGE_TEST_SEED");
  const uint32_t seed =
      env ? static_cast<uint32_t>(std::strtoul(env, nullptr, 10)) : std::random_device{}();
  std::printf("%s: seed %u (WANGGE_TEST_SEED=%u repeats it)\n", test, seed, seed);
  return seed;
}

}  // namespace wangge::testing
