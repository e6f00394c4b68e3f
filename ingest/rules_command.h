// `wangge rules check|test|explain|activate`: working with ruleset files.
#pragma once

#include <string>

namespace wangge::ingest {

struct RulesArgs {
  std::string file;      // ruleset JSON
  std::string calendar;  // calendar JSON; empty = built-in
  std::string tests;     // expected routings (rules test)
  std::string report;    // one report (rules explain)
  std::string data;      // data directory (rules activate)
  std::string actor = "admin";
};

// Each returns a process exit code (docs/cli.md) and prints to stdout/stderr.
int RulesCheck(const RulesArgs& args);
int RulesTest(const RulesArgs& args);
int RulesExplain(const RulesArgs& args);
int RulesActivate(const RulesArgs& args);

}  // namespace wangge::ingest
