// info, stats, overdue: a data directory read (read-only).
#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "audit/replay.h"
#include "cli/cli_support.h"
#include "cli/commands.h"
#include "engine/codec.h"
#include "engine/engine.h"
#include "wire/case_json.h"
#include "wire/json_writer.h"
#include "wire/stats_json.h"

namespace wangge::cli {
namespace {

struct InfoArgs {
  std::string data;
  bool check = false;
};

struct StatsArgs {
  std::string data;
  wire::StatsParams params;
  bool json = false;
  bool csv = false;
};

struct OverdueArgs {
  std::string data;
  std::string office;
  std::string village;
  std::string as_of;
  size_t limit = 50;
  bool json = false;
};

// Open cases past their deadline, oldest deadline first.
int RunOverdue(const OverdueArgs& args) {
  SystemClock clock;
  engine::CaseQuery q;
  q.overdue = true;
  q.office = args.office;
  q.village = args.village;
  q.as_of = clock.Now();
  if (!args.as_of.empty()) {
    auto t = ParseRfc3339(args.as_of);
    if (!t.ok()) return Fail(InvalidArgument(t.status().message(), "as-of"));
    q.as_of = *t;
  }
  auto engine = cli::OpenReadOnly(args.data, clock);
  if (!engine.ok()) return Fail(engine.status());
  std::vector<engine::Case> found;
  do {
    q.limit = args.limit - found.size();
    auto page = (*engine)->ListCases(q);
    if (!page.ok()) return Fail(page.status());
    for (auto& c : page->cases) found.push_back(std::move(c));
    q.after = page->next;
  } while (!q.after.empty() && found.size() < args.limit);
  if (args.json) {
    boost::json::array rows;
    for (const auto& c : found) {
      rows.push_back(wire::CaseJson(wire::kReader, c));
    }
    std::cout << wire::WriteJson(rows) << "\n";
    return kExitOk;
  }
  std::cout << fmt::format("{:<38}{:<22}{:<8}{:<22}{:<12}{:<27}{:>10}\n", "case", "office",
                           "village", "category", "status", "deadline", "late_h");
  for (const auto& c : found) {
    std::cout << fmt::format("{:<38}{:<22}{:<8}{:<22}{:<12}{:<27}{:>10.1f}\n", c.id, c.office,
                             c.report.village, c.report.category, engine::StatusName(c.status),
                             FormatRfc3339(c.deadline),
                             static_cast<double>(q.as_of.ms - c.deadline.ms) / 3.6e6);
  }
  std::cout << fmt::format("{} overdue as of {}{}\n", found.size(), FormatRfc3339(q.as_of),
                           q.after.empty() ? "" : " (more: raise --limit)");
  return kExitOk;
}

int RunStats(const StatsArgs& args) {
  SystemClock clock;
  engine::StatsQuery query;
  if (Status s = wire::BuildStatsQuery(args.params, clock.Now(), query); !s.ok()) return Fail(s);
  auto engine = cli::OpenReadOnly(args.data, clock);
  if (!engine.ok()) return Fail(engine.status());
  auto result = (*engine)->Stats(query);
  if (!result.ok()) return Fail(result.status());
  if (args.json) {
    std::cout << wire::WriteJson(wire::StatsJson(query, *result)) << "\n";
  } else if (args.csv) {
    std::cout << wire::StatsCsv(query, *result);
  } else {
    std::cout << wire::StatsTable(query, *result);
  }
  return kExitOk;
}

int RunInfo(const InfoArgs& args) {
  SystemClock clock;
  auto engine = cli::OpenReadOnly(args.data, clock);
  if (!engine.ok()) return Fail(engine.status());
  std::map<std::string, uint64_t> by_status;
  uint64_t total = 0;
  Status s = (*engine)->ForEachCase([&](const engine::Case& c) {
    ++total;
    ++by_status[std::string(engine::StatusName(c.status))];
    return true;
  });
  if (!s.ok()) return Fail(s);
  const auto head = (*engine)->head();
  std::cout << fmt::format("data directory: {}\nlog: {} records, head {}\ncases: {}", args.data,
                           head.seq.value, HexOf(head.hash), total);
  for (const auto& [status, n] : by_status) std::cout << fmt::format(", {} {}", n, status);
  std::cout << "\n";
  std::cout << fmt::format("rules: {} active\n", (*engine)->active_rules()->version());
  if (!args.check) return kExitOk;

  auto chain = (*engine)->log().Verify();
  if (!chain.ok()) return Fail(chain.status());
  if (!chain->ok) {
    std::cout << fmt::format("check: hash chain BROKEN at sequence {}: {}\n",
                             chain->first_bad.value, chain->problem);
    return kExitTampered;
  }
  auto problems = audit::CheckDerivedState(**engine);
  if (!problems.ok()) {
    std::cout << "check: " << problems.status().ToString() << "\n";
    return kExitTampered;
  }
  if (!problems->empty()) {
    std::cout << "check: derived state differs from the log:\n";
    for (const auto& p : *problems) std::cout << "  " << p << "\n";
    return kExitTampered;
  }
  std::cout << fmt::format(
      "check: OK, hash chain intact over {} records; derived state equals a "
      "rebuild from the log\n",
      chain->records);
  return kExitOk;
}

}  // namespace

void AddReadCommands(CLI::App& app, Command& chosen) {
  auto info_ptr = std::make_shared<InfoArgs>();
  InfoArgs& info = *info_ptr;
  auto* info_cmd = app.add_subcommand("info", "Summarise a data directory (read-only)");
  info_cmd->add_option("--data", info.data, "Data directory")->required();
  info_cmd->add_flag("--check", info.check,
                     "Also walk the hash chain and compare case state with a rebuild from the log");

  auto stats_ptr = std::make_shared<StatsArgs>();
  StatsArgs& stats = *stats_ptr;
  auto* stats_cmd = app.add_subcommand(
      "stats", "Closure and on-time rates, closure-time percentiles, overdue and backlog");
  stats_cmd->add_option("--data", stats.data, "Data directory (opened read-only)")->required();
  stats_cmd->add_option("--from", stats.params.from, "First day of receipt, YYYY-MM-DD (UTC+8)");
  stats_cmd->add_option("--to", stats.params.to, "Last day of receipt, YYYY-MM-DD, inclusive");
  stats_cmd->add_option("--group-by", stats.params.group_by,
                        "none, office, village, grid, worker or category");
  stats_cmd->add_option("--office", stats.params.office, "Only this office's cases");
  stats_cmd->add_option("--village", stats.params.village, "Only this village's cases");
  stats_cmd->add_option("--category", stats.params.category, "Only this category's cases");
  stats_cmd->add_option("--interval", stats.params.interval,
                        "A row per day, week or month of receipt");
  stats_cmd->add_option("--as-of", stats.params.as_of,
                        "Judge overdue and backlog at this RFC 3339 time (default: now)");
  auto* json_flag = stats_cmd->add_flag("--json", stats.json, "JSON (the HTTP API's shape)");
  stats_cmd->add_flag("--csv", stats.csv, "CSV with a header line")->excludes(json_flag);

  auto overdue_ptr = std::make_shared<OverdueArgs>();
  OverdueArgs& overdue = *overdue_ptr;
  auto* overdue_cmd =
      app.add_subcommand("overdue", "Open cases past their deadline, oldest deadline first");
  overdue_cmd->add_option("--data", overdue.data, "Data directory (opened read-only)")->required();
  overdue_cmd->add_option("--office", overdue.office, "Only this office's cases");
  overdue_cmd->add_option("--village", overdue.village, "Only this village's cases");
  overdue_cmd->add_option("--as-of", overdue.as_of, "Judge at this RFC 3339 time (default: now)");
  overdue_cmd->add_option("--limit", overdue.limit, "Most cases listed")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  overdue_cmd->add_flag("--json", overdue.json, "A JSON array");

  OnChosen(info_cmd, chosen, [info_ptr] { return RunInfo(*info_ptr); });
  OnChosen(stats_cmd, chosen, [stats_ptr] { return RunStats(*stats_ptr); });
  OnChosen(overdue_cmd, chosen, [overdue_ptr] { return RunOverdue(*overdue_ptr); });
}

}  // namespace wangge::cli
