// A Clock whose time the test sets. Thread-safe.
#pragma once

#include <atomic>

#include "core/time.h"

namespace wangge::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimeMs start = TimeMs{1'583'111'700'000}) : now_(start.ms) {}
  TimeMs Now() const override { return TimeMs{now_.load()}; }
  void Set(TimeMs t) { now_.store(t.ms); }
  void Advance(int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace wangge::testing
