// What a log holds, counted for the crash tests: the version of every ruleset
// activation and the number of timer records.
#pragma once

#include <set>
#include <string>
#include <variant>

#include <gtest/gtest.h>

#include "engine/codec.h"
#include "storage/event_log.h"

namespace wangge::testing {

struct LogCensus {
  std::set<std::string> versions;
  int timers = 0;
};

inline LogCensus Census(const storage::EventLog& log) {
  LogCensus census;
  const Status s = log.Scan(Seq{1}, Seq{0}, [&](Seq seq, std::string_view payload) {
    auto r = engine::DecodeRecord(seq, payload);
    EXPECT_TRUE(r.ok()) << "record " << seq.value << ": " << r.status().ToString();
    if (!r.ok()) return false;
    if (const auto* a = std::get_if<engine::RulesActivation>(&r->body)) {
      census.versions.insert(a->version);
    }
    if (std::holds_alternative<engine::TimerFired>(r->body)) ++census.timers;
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return census;
}

}  // namespace wangge::testing
