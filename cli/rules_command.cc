#include "cli/rules_command.h"

#include <algorithm>
#include <iostream>
#include <memory>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "audit/explain.h"
#include "cli/cli_support.h"
#include "cli/commands.h"
#include "engine/engine.h"
#include "rules/expected_routing.h"
#include "rules/ruleset.h"
#include "wire/audit_json.h"
#include "wire/json_writer.h"

namespace wangge::cli {
using wire::ParseTimeBound;
using wire::WhatIfJson;
namespace {

constexpr int kExitFailed = 1;  // rules test: some cases failed

struct Loaded {
  std::string ruleset_text;
  std::string calendar_text;
  std::shared_ptr<const rules::Ruleset> ruleset;
};

Result<Loaded> Load(const RulesArgs& args) {
  Loaded out;
  WANGGE_ASSIGN_OR_RETURN(out.ruleset_text, ReadWholeFile(args.file));
  if (args.calendar.empty()) {
    out.calendar_text = std::string(rules::Calendar::BuiltInText());
  } else {
    WANGGE_ASSIGN_OR_RETURN(out.calendar_text, ReadWholeFile(args.calendar));
  }
  const std::string calendar_name = args.calendar.empty() ? "built-in calendar" : args.calendar;
  WANGGE_ASSIGN_OR_RETURN(rules::Calendar calendar,
                          rules::Calendar::Load(out.calendar_text, calendar_name));
  WANGGE_ASSIGN_OR_RETURN(out.ruleset, rules::Ruleset::Load(out.ruleset_text, args.file, calendar));
  return out;
}

std::string LimitText(const rules::TimeLimit& l) {
  switch (l.kind) {
    case rules::LimitKind::kWorkingDays:
      return fmt::format("{} working day(s)", l.amount);
    case rules::LimitKind::kWorkingHours:
      return fmt::format("{} working hour(s)", l.amount);
    case rules::LimitKind::kCalendarHours:
      return fmt::format("{} calendar hour(s)", l.amount);
  }
  return "?";
}

}  // namespace

int RulesCheck(const RulesArgs& args) {
  auto loaded = Load(args);
  if (!loaded.ok()) return FailInput(loaded.status());
  const auto& rs = *loaded->ruleset;
  std::cout << fmt::format("{}: OK, version {}, {} offices, {} rows; calendar {}\n", args.file,
                           rs.version(), rs.offices().size(), rs.row_count(), rs.calendar().name());
  return kExitOk;
}

int RulesTest(const RulesArgs& args) {
  auto loaded = Load(args);
  if (!loaded.ok()) return FailInput(loaded.status());
  auto text = ReadWholeFile(args.tests);
  if (!text.ok()) return FailInput(text.status());
  auto cases = rules::LoadRuleTests(*text, args.tests);
  if (!cases.ok()) return FailInput(cases.status());
  auto failures = rules::RunRuleTests(*loaded->ruleset, *cases);
  for (const auto& f : failures) {
    std::cout << fmt::format("FAIL {}\n  {}: expected {}\n  {}  got      {}\n", f.name, f.field,
                             f.expected, std::string(f.field.size(), ' '), f.got);
  }
  const size_t failed_cases = [&] {
    std::vector<std::string> names;
    for (const auto& f : failures) {
      if (names.empty() || names.back() != f.name) names.push_back(f.name);
    }
    return names.size();
  }();
  std::cout << fmt::format("{} passed, {} failed\n", cases->size() - failed_cases, failed_cases);
  return failures.empty() ? kExitOk : kExitFailed;
}

int RulesExplain(const RulesArgs& args) {
  auto loaded = Load(args);
  if (!loaded.ok()) return FailInput(loaded.status());
  auto text = ReadWholeFile(args.report);
  if (!text.ok()) return FailInput(text.status());
  auto report = rules::LoadSampleReport(*text, args.report);
  if (!report.ok()) return FailInput(report.status());
  std::vector<rules::TraceStep> trace;
  const auto& rs = *loaded->ruleset;
  rules::Decision d = rs.Explain(report->input(), trace);
  std::string table;
  for (const auto& step : trace) {
    if (step.table != table) {
      table = step.table;
      std::cout << fmt::format("table {}:\n", table);
    }
    std::cout << fmt::format("  {} {:<24} {}\n", step.matched ? "✔" : "✘", step.row, step.reason);
  }
  std::cout << fmt::format(
      "decision: office {} | limit {} | deadline {} | priority {} | rule {} | ruleset {}\n",
      d.office, LimitText(d.limit), FormatRfc3339(d.deadline), d.priority, d.rule_id,
      d.ruleset_version);
  std::string warn, breach;
  for (const auto& o : d.escalation.warn) warn += (warn.empty() ? "" : ", ") + o;
  for (const auto& o : d.escalation.breach) breach += (breach.empty() ? "" : ", ") + o;
  std::cout << fmt::format("escalation: at {}% tell {}; at breach tell {}\n",
                           d.escalation.warn_at_percent, warn.empty() ? "nobody" : warn,
                           breach.empty() ? "nobody" : breach);
  return kExitOk;
}

int RulesActivate(const RulesArgs& args) {
  // Validate before the data directory is opened: a bad ruleset changes nothing.
  auto loaded = Load(args);
  if (!loaded.ok()) return FailInput(loaded.status());
  SystemClock clock;
  auto engine = OpenForWriting(args.data, /*create=*/false, /*sync=*/true, clock);
  if (!engine.ok()) return FailInput(engine.status());
  auto r = (*engine)->ActivateRules(loaded->ruleset_text, loaded->calendar_text,
                                    engine::Actor{args.actor, engine::Role::kAdmin, ""});
  (*engine)->Stop();
  if (!r.ok()) return FailInput(r.status());
  std::cout << fmt::format("activated ruleset {} at record {}\n", loaded->ruleset->version(),
                           r->seq.value);
  return kExitOk;
}

namespace {

void PrintWhatIf(const audit::WhatIfResult& r, const std::string& file) {
  const auto pct = [&](uint64_t n) {
    return r.reports ? 100.0 * static_cast<double>(n) / static_cast<double>(r.reports) : 0.0;
  };
  std::cout << fmt::format("{} recorded reports routed under {}:\n", r.reports, file);
  std::cout << fmt::format("  owner would change: {} ({:.1f}%)\n", r.owner_changed,
                           pct(r.owner_changed));
  std::cout << fmt::format("  deadline earlier: {} ({:.1f}%), later: {} ({:.1f}%)\n",
                           r.deadline_earlier, pct(r.deadline_earlier), r.deadline_later,
                           pct(r.deadline_later));
  if (r.moves.empty()) return;
  std::vector<std::pair<std::pair<std::string, std::string>, audit::OfficeMove>> moves(
      r.moves.begin(), r.moves.end());
  std::sort(moves.begin(), moves.end(),
            [](const auto& a, const auto& b) { return a.second.count > b.second.count; });
  std::cout << fmt::format("  {:<24} {:<24} {:>8}  examples\n", "from office", "to office",
                           "cases");
  for (const auto& [pair, move] : moves) {
    std::string examples;
    for (const auto& id : move.examples) examples += (examples.empty() ? "" : " ") + id;
    std::cout << fmt::format("  {:<24} {:<24} {:>8}  {}\n", pair.first, pair.second, move.count,
                             examples);
  }
}

}  // namespace

int RulesWhatIf(const RulesArgs& args) {
  auto loaded = Load(args);
  if (!loaded.ok()) return FailInput(loaded.status());
  audit::WhatIfOptions options;
  auto from = ParseTimeBound(args.from, "from");
  if (!from.ok()) return FailInput(from.status());
  auto to = ParseTimeBound(args.to, "to");
  if (!to.ok()) return FailInput(to.status());
  options.from = *from;
  options.to = *to;
  if (options.from && options.to && *options.from >= *options.to) {
    return FailInput(InvalidArgument("from is not before to", "from"));
  }
  SystemClock clock;
  auto engine = OpenReadOnly(args.data, clock);
  if (!engine.ok()) return FailInput(engine.status());
  auto result = audit::WhatIf((*engine)->log(), *loaded->ruleset, options);
  if (!result.ok()) return FailInput(result.status());
  if (args.json) {
    std::cout << wire::WriteJson(WhatIfJson(*result)) << "\n";
  } else {
    PrintWhatIf(*result, args.file);
  }
  return kExitOk;
}

void AddRulesCommands(CLI::App& app, Command& chosen) {
  auto rules_args_ptr = std::make_shared<cli::RulesArgs>();
  cli::RulesArgs& rules_args = *rules_args_ptr;
  auto* rules_cmd = app.add_subcommand("rules", "Check, test, explain and activate rulesets");
  rules_cmd->require_subcommand(1);
  auto* check_cmd = rules_cmd->add_subcommand(
      "check", "Validate a ruleset; every problem is listed with file, line and column");
  auto* test_cmd = rules_cmd->add_subcommand(
      "test", "Route a table of sample reports and compare with the expected routing");
  auto* explain_cmd = rules_cmd->add_subcommand(
      "explain", "Route one report and show each row tried and why it did or did not match");
  auto* activate_cmd = rules_cmd->add_subcommand(
      "activate", "Make a ruleset the active one in a data directory (a logged record)");
  auto* what_if_cmd = app.add_subcommand(
      "what-if",
      "Route the recorded reports of a data directory under another ruleset, writing nothing: "
      "how many would change owner or deadline, by old and new office, with examples");
  what_if_cmd->add_option("--data", rules_args.data, "Data directory (opened read-only)")
      ->required();
  what_if_cmd->add_option("--rules", rules_args.file, "Ruleset JSON to judge")->required();
  what_if_cmd->add_option("--from", rules_args.from,
                          "Reports recorded from this date (+08:00) or RFC 3339 time");
  what_if_cmd->add_option("--to", rules_args.to, "Reports recorded before this date or time");
  what_if_cmd->add_flag("--json", rules_args.json, "JSON instead of a table");
  for (auto* cmd : {check_cmd, test_cmd, explain_cmd, activate_cmd, what_if_cmd}) {
    cmd->add_option("--calendar", rules_args.calendar,
                    "Working-day calendar JSON (default: the built-in one)");
  }
  check_cmd->add_option("file", rules_args.file, "Ruleset JSON")->required();
  test_cmd->add_option("file", rules_args.file, "Ruleset JSON")->required();
  test_cmd->add_option("tests", rules_args.tests, "Expected routings JSON")->required();
  explain_cmd->add_option("file", rules_args.file, "Ruleset JSON")->required();
  explain_cmd->add_option("report", rules_args.report, "One report JSON")->required();
  activate_cmd->add_option("--data", rules_args.data, "Data directory")->required();
  activate_cmd->add_option("--actor", rules_args.actor, "Admin recorded as the actor")
      ->capture_default_str();
  activate_cmd->add_option("file", rules_args.file, "Ruleset JSON")->required();

  OnChosen(what_if_cmd, chosen, [rules_args_ptr] { return RulesWhatIf(*rules_args_ptr); });
  OnChosen(check_cmd, chosen, [rules_args_ptr] { return RulesCheck(*rules_args_ptr); });
  OnChosen(test_cmd, chosen, [rules_args_ptr] { return RulesTest(*rules_args_ptr); });
  OnChosen(explain_cmd, chosen, [rules_args_ptr] { return RulesExplain(*rules_args_ptr); });
  OnChosen(activate_cmd, chosen, [rules_args_ptr] { return RulesActivate(*rules_args_ptr); });
}

}  // namespace wangge::cli
