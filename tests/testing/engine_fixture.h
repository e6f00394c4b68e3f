// A test with an Engine over a real RocksDB in a temp directory and a fake clock.
#pragma once

#include <memory>

#include <gtest/gtest.h>

#include "engine/engine.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace wangge::testing {

class EngineFixture : public ::testing::Test {
 protected:
  void SetUp() override { Open(true); }

  // Opens (or, with `create`, creates) the engine on the fixture's directory, closing the
  // one open first.
  void Open(bool create = false) {
    engine_.reset();
    engine::EngineOptions o;
    o.store.path = dir_.Sub("data");
    o.store.create_if_missing = create;
    auto e = engine::Engine::Open(o, clock_);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
  }

  TempDir dir_;
  FakeClock clock_;  // 2020-03-02 09:15 +08:00, a Monday
  std::unique_ptr<engine::Engine> engine_;
};

}  // namespace wangge::testing
