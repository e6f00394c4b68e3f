// The wangge binary's command groups: each adds its subcommands to the app; the one the
// command line chooses sets what main runs.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "cli/cluster_command.h"

namespace wangge::cli {

// What main runs once the command line is parsed: the chosen command; its exit code.
using Command = std::function<int()>;

// Makes `cmd`, when chosen, set `chosen` to `run`.
inline void OnChosen(CLI::App* cmd, Command& chosen, Command run) {
  cmd->callback([&chosen, run = std::move(run)] { chosen = run; });
}

void AddDataCommands(CLI::App& app, Command& chosen);     // gen, import, export, import-311
void AddServeCommands(CLI::App& app, Command& chosen);    // serve, demo
void AddClusterCommands(CLI::App& app, Command& chosen);  // engine, cluster status|move|export
void AddTokenCommands(CLI::App& app, Command& chosen);    // token add|list|revoke
void AddReadCommands(CLI::App& app, Command& chosen);     // info, stats, overdue
void AddAuditCommands(CLI::App& app, Command& chosen);    // replay, verify, backup, salvage, case
void AddRulesCommands(CLI::App& app, Command& chosen);    // rules …, what-if
void AddGeoCommands(CLI::App& app, Command& chosen);      // geo check|locate

// --cluster (required or not), --stream, --replicas, --nats-timeout.
void AddClusterOptions(CLI::App* cmd, ClusterArgs& c, bool required);

}  // namespace wangge::cli
