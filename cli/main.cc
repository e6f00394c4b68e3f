// The wangge binary: one command with subcommands (run `wangge --help`). Each command
// group (cli/commands.h) registers its own; main parses and runs the one chosen.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "cli/cli_support.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace wangge::cli;
  // Reports hold citizens' data: every directory and file wangge creates (RocksDB files,
  // data directories, exports, backups, tokens) is for its owner only, whatever the
  // caller's umask. Set first, before any thread or file exists.
  ::umask(0077);
  CLI::App app{
      "wangge: event-processing engine for township grid governance.\n"
      "Reports become cases, routed to an office with a deadline; every input is a record in a\n"
      "durable hash-chained log from which all case state is derived."};
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();

  Command chosen;
  AddDataCommands(app, chosen);
  AddServeCommands(app, chosen);
  AddClusterCommands(app, chosen);
  AddTokenCommands(app, chosen);
  AddReadCommands(app, chosen);
  AddAuditCommands(app, chosen);
  AddRulesCommands(app, chosen);
  AddGeoCommands(app, chosen);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits kExitBadInput.
    return app.exit(e) == 0 ? kExitOk : kExitBadInput;
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  return chosen ? chosen() : kExitBadInput;
}
