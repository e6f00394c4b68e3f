// `wangge rules check|test|explain|activate`: working with ruleset files.
#pragma once

#include <string>

namespace wangge::cli {

struct RulesArgs {
  std::string file;      // ruleset JSON
  std::string calendar;  // calendar JSON; empty = built-in
  std::string tests;     // expected routings (rules test)
  std::string report;    // one report (rules explain)
  std::string data;      // data directory (rules activate)
  std::string actor = "admin";
  std::string from, to;  // what-if window: dates (+08:00) or RFC 3339 times
  bool json = false;     // what-if output
};

// Each returns a process exit code (docs/cli.md) and prints to stdout/stderr.
int RulesCheck(const RulesArgs& args);
int RulesTest(const RulesArgs& args);
int RulesExplain(const RulesArgs& args);
int RulesActivate(const RulesArgs& args);
// Routes the recorded reports of args.data under args.file; writes nothing.
int RulesWhatIf(const RulesArgs& args);

}  // namespace wangge::cli
