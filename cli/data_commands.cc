// gen, import, export, import-311: bulk data in and out.
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

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "cli/export_command.h"
#include "engine/engine.h"
#include "io/generator.h"
#include "io/import_311.h"
#include "io/importer.h"
#include "rules/ruleset.h"
#include "wire/command_json.h"

namespace wangge::cli {
namespace {

struct GenArgs {
  io::GeneratorOptions options;
  std::string out;
  std::string from, to;
  std::string geography_out;  // also write the town's geography here
};

// A local date "YYYY-MM-DD" (+08:00 midnight) or a full RFC 3339 time.
Result<TimeMs> ParseDateOrTime(const std::string& text, const char* field) {
  auto t = ParseRfc3339(text.size() == 10 ? text + "T00:00:00+08:00" : text);
  if (!t.ok()) return InvalidArgument(t.status().message(), field);
  return t;
}

int RunGen(GenArgs args) {
  if (!args.from.empty()) {
    auto t = ParseDateOrTime(args.from, "from");
    if (!t.ok()) return Fail(t.status());
    args.options.from = *t;
  }
  if (!args.to.empty()) {
    auto t = ParseDateOrTime(args.to, "to");
    if (!t.ok()) return Fail(t.status());
    args.options.to = *t;
  }
  if (!args.geography_out.empty()) {
    if (Status s = args.options.Validate(); !s.ok()) return Fail(s);
    std::ofstream geo(args.geography_out, std::ios::binary | std::ios::trunc);
    geo << io::TownGeography(args.options);
    geo.flush();
    if (!geo) return Fail(IOError("cannot write '" + args.geography_out + "'"));
    std::cerr << fmt::format("gen: the town's geography ({} grids) written to {}\n",
                             args.options.villages * io::kGridsPerVillage, args.geography_out);
  }
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (!args.out.empty()) {
    file.open(args.out, std::ios::binary | std::ios::trunc);
    if (!file) return Fail(IOError("cannot write '" + args.out + "'"));
    out = &file;
  }
  const uint64_t expected = args.options.reports * static_cast<uint64_t>(args.options.towns);
  const bool show_progress = expected >= 200'000;
  const auto start = std::chrono::steady_clock::now();
  uint64_t n = 0, reports = 0;
  std::string line;
  Status s =
      io::GenerateTownYear(args.options, *rules::Ruleset::BuiltIn(), [&](const engine::Command& c) {
        line = wire::EncodeCommand(c);
        line.push_back('\n');
        out->write(line.data(), static_cast<std::streamsize>(line.size()));
        ++n;
        if (std::holds_alternative<engine::Report>(c.body)) ++reports;
        if (show_progress && (n & 0xFFFFF) == 0) {
          double secs =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          std::cerr << fmt::format(
                           "\rgen: {} commands, {} reports ({:.0f}% of {}), {:.0f}/s   ", n,
                           reports,
                           100.0 * static_cast<double>(reports) / static_cast<double>(expected),
                           expected, static_cast<double>(n) / secs)
                    << std::flush;
        }
      });
  if (!s.ok()) return Fail(s);
  out->flush();
  if (!*out) return Fail(IOError("writing the command stream failed"));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << fmt::format("{}gen: {} commands ({} reports) written to {} in {:.2f}s ({:.0f}/s)\n",
                           show_progress ? "\n" : "", n, reports,
                           args.out.empty() ? "stdout" : args.out, secs,
                           static_cast<double>(n) / secs);
  return kExitOk;
}

struct ImportArgs {
  std::string data;
  bool create = false;
  bool no_sync = false;
  bool records = false;  // a log export (wangge export), not a command stream
  std::string file;
};

int RunImport(const ImportArgs& args) {
  io::ImportOptions import;
  import.path = args.file;
  // Validate the whole file before the data directory is opened or created.
  std::optional<TimeMs> first_at;
  auto total = io::CheckFile(import, &first_at);
  if (!total.ok()) return Fail(total.status());
  import.prechecked_lines = *total;

  // A new directory's built-in ruleset is activated at the first command's time, so an
  // import of the same commands gives the same log whenever it runs.
  SystemClock clock;
  auto engine = cli::OpenForWriting(args.data, args.create, !args.no_sync, clock, false, first_at);
  if (!engine.ok()) return Fail(engine.status());
  auto report = io::ImportFile(**engine, import, &std::cerr);
  (*engine)->Stop();
  if (!report.ok()) return Fail(report.status());
  for (const auto& e : report->errors) std::cerr << e << "\n";
  const auto head = (*engine)->head();
  std::cout << fmt::format(
      "imported {} commands: {} cases created, {} duplicates, {} transitions, {} rejected\n"
      "log head: sequence {} hash {}\n",
      report->lines, report->created, report->duplicates, report->applied, report->rejected,
      head.seq.value, HexOf(head.hash));
  return report->rejected > 0 ? kExitRejected : kExitOk;
}

struct Import311Args {
  std::string data;
  bool create = false;
  bool no_sync = false;
  std::string format;
  std::string rules;
  std::string file;
  std::string geography;                // a city's polygons (GeoJSON)
  std::string geography_name = "name";  // the property naming each polygon
};

int RunImport311(const Import311Args& args) {
  auto format = io::Format311FromName(args.format);
  if (!format) return Fail(InvalidArgument("--format must be la, nyc or boston", "format"));
  auto read = io::Read311File(args.file, *format);
  if (!read.ok()) return Fail(read.status());
  const std::string base = args.file.substr(args.file.find_last_of('/') + 1);
  io::CityGeography city;
  if (!args.geography.empty()) {
    auto text = ReadWholeFile(args.geography);
    if (!text.ok()) return Fail(text.status());
    auto converted =
        io::GeographyFromPolygons(*text, args.geography, args.geography_name, "311-geo-" + base);
    if (!converted.ok()) return Fail(converted.status());
    city = std::move(converted).value();
  }
  std::string ruleset;
  if (!args.rules.empty()) {
    auto text = ReadWholeFile(args.rules);
    if (!text.ok()) return Fail(text.status());
    ruleset = std::move(text).value();
    auto check = rules::Ruleset::Load(ruleset, args.rules, rules::Calendar::BuiltIn());
    if (!check.ok()) return Fail(check.status());
  } else {
    ruleset =
        io::RulesetFromAgencies(read->requests, "311-" + args.format + "-" + base, city.areas);
  }
  SystemClock clock;
  auto engine = cli::OpenForWriting(args.data, args.create, !args.no_sync, clock);
  if (!engine.ok()) return Fail(engine.status());
  auto report =
      io::Import311(**engine, *read, ruleset, args.rules.empty(), &std::cerr, city.geojson);
  (*engine)->Stop();
  if (!report.ok()) return Fail(report.status());
  for (const auto& line : read->problems.lines) std::cerr << line << "\n";
  for (const auto& e : report->errors) std::cerr << args.file << ": " << e << "\n";
  std::cout << fmt::format("{}: {} rows, {} imported, {} skipped\n", args.file, read->rows,
                           read->requests.size(), read->skipped);
  for (const auto& [kind, n] : read->problems.counts) {
    std::cout << fmt::format("  {}: {}\n", kind, n);
  }
  std::cout << fmt::format(
      "cases: {} created, {} duplicates, {} closed; {} commands refused; rules {}\n",
      report->created, report->duplicates, report->closed, report->rejected,
      (*engine)->active_rules()->version());
  return report->rejected > 0 ? kExitRejected : kExitOk;
}

}  // namespace

void AddDataCommands(CLI::App& app, Command& chosen) {
  auto gen_ptr = std::make_shared<GenArgs>();
  GenArgs& gen = *gen_ptr;
  auto* gen_cmd = app.add_subcommand(
      "gen", "Write a synthetic town-year of recorded commands (NDJSON) to stdout or --out");
  gen_cmd->add_option("--out", gen.out, "Output file (default: stdout)");
  gen_cmd->add_option("--reports", gen.options.reports, "Reports per town over the period")
      ->capture_default_str();
  gen_cmd
      ->add_option("--towns", gen.options.towns,
                   "Towns, each with its own villages and workers (a province is ~1,300)")
      ->capture_default_str();
  gen_cmd->add_option("--from", gen.from, "Start of the period, YYYY-MM-DD (default: --year)");
  gen_cmd->add_option("--to", gen.to, "End of the period, exclusive, YYYY-MM-DD");
  gen_cmd->add_option("--workers", gen.options.workers, "Grid workers")->capture_default_str();
  gen_cmd->add_option("--villages", gen.options.villages, "Villages")->capture_default_str();
  gen_cmd->add_option("--year", gen.options.year, "Year of the reports")->capture_default_str();
  gen_cmd->add_flag("--open-at-end", gen.options.open_at_end,
                    "Stop at the end of the period: cases still in progress then stay open");
  gen_cmd->add_option("--seed", gen.options.seed, "Random seed; same seed, same stream")
      ->capture_default_str();
  gen_cmd->add_option("--geography-out", gen.geography_out,
                      "Also write the town's grids as GeoJSON here (for wangge geo activate); "
                      "the reports' positions fall inside their grids");

  auto import_ptr = std::make_shared<ImportArgs>();
  ImportArgs& import = *import_ptr;
  auto* import_cmd = app.add_subcommand(
      "import", "Feed a recorded command stream (NDJSON) through the sequencer into --data");
  import_cmd->add_option("--data", import.data, "Data directory")->required();
  import_cmd->add_flag("--create", import.create, "Create the data directory if it is missing");
  import_cmd->add_flag("--no-sync", import.no_sync,
                       "Do not fsync each group commit (faster; a power cut may lose the tail)");
  import_cmd->add_option("file", import.file, "NDJSON command stream")->required();
  import_cmd->add_flag("--records", import.records,
                       "The file is a whole-log export (wangge export): rebuild a new --data "
                       "from its records, with the same state digest");

  auto export_args_ptr = std::make_shared<cli::ExportArgs>();
  cli::ExportArgs& export_args = *export_args_ptr;
  auto* export_cmd = app.add_subcommand(
      "export", "Write the log or the cases as NDJSON or CSV for outside tools (read-only)");
  export_cmd->add_option("--data", export_args.data, "Data directory (opened read-only)")
      ->required();
  export_cmd->add_option("--what", export_args.what, "log or cases")->capture_default_str();
  export_cmd->add_option("--format", export_args.format, "ndjson or csv")->capture_default_str();
  export_cmd->add_option("--from", export_args.from,
                         "Records (cases: receipts) from this date (+08:00) or RFC 3339 time");
  export_cmd->add_option("--to", export_args.to, "... before this date or time");
  export_cmd->add_option("--out", export_args.out, "Output file (default: stdout)");

  auto i311_ptr = std::make_shared<Import311Args>();
  Import311Args& i311 = *i311_ptr;
  auto* import311_cmd = app.add_subcommand(
      "import-311",
      "Import a city 311 export (CSV): a report at creation, accept/resolve/close at closure");
  import311_cmd->add_option("--format", i311.format, "la, nyc or boston")->required();
  import311_cmd->add_option("--data", i311.data, "Data directory")->required();
  import311_cmd->add_flag("--create", i311.create, "Create the data directory if it is missing");
  import311_cmd->add_flag("--no-sync", i311.no_sync, "Do not fsync each group commit");
  import311_cmd->add_option("--rules", i311.rules,
                            "Ruleset mapping 311.* categories to offices (default: a ruleset "
                            "built from the export's agency column)");
  import311_cmd->add_option(
      "--geography", i311.geography,
      "A city's polygons (GeoJSON, such as its neighbourhoods): requests are located in them by "
      "position, each polygon a grid of the area it names");
  import311_cmd
      ->add_option("--geography-name", i311.geography_name,
                   "The polygons' property that names each area")
      ->capture_default_str();
  import311_cmd->add_option("file", i311.file, "The CSV export")->required();

  OnChosen(gen_cmd, chosen, [gen_ptr] { return RunGen(*gen_ptr); });
  OnChosen(import_cmd, chosen, [import_ptr] {
    return import_ptr->records ? ImportRecords(import_ptr->file, import_ptr->data)
                               : RunImport(*import_ptr);
  });
  OnChosen(export_cmd, chosen, [export_args_ptr] { return Export(*export_args_ptr); });
  OnChosen(import311_cmd, chosen, [i311_ptr] { return RunImport311(*i311_ptr); });
}

}  // namespace wangge::cli
