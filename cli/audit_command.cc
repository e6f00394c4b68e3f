#include "cli/audit_command.h"

#include <charconv>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <unistd.h>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "audit/evidence.h"
#include "audit/explain.h"
#include "audit/replay.h"
#include "audit/salvage.h"
#include "cli/cli_support.h"
#include "cli/commands.h"
#include "core/bytes.h"
#include "engine/engine.h"
#include "ingest/control.h"
#include "storage/head_checkpoint.h"
#include "wire/json_writer.h"

namespace wangge::cli {
using ingest::ControlRequest;
using ingest::ControlSocketPath;
namespace {

namespace fs = std::filesystem;

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// "replay: 1,234,567 / 10,000,000 records (12%), 512k/s, ETA 17 s" on stderr, rewritten
// in place on a terminal and one line per call otherwise.
class Progress {
 public:
  Progress(std::string what, uint64_t total, bool quiet)
      : what_(std::move(what)), total_(total), quiet_(quiet), tty_(isatty(STDERR_FILENO)) {}
  void Update(uint64_t done) {
    if (quiet_) return;
    const double s = SecondsSince(start_);
    if (done < total_ && s - last_ < 1.0) return;
    last_ = s;
    const double rate = s > 0 ? static_cast<double>(done) / s : 0;
    const double eta = rate > 0 ? static_cast<double>(total_ - std::min(done, total_)) / rate : 0;
    std::cerr << fmt::format(
        "{}{}: {} / {} records ({:.0f}%), {:.0f}k/s, ETA {:.0f} s{}", tty_ ? "\r" : "", what_, done,
        total_, total_ ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 100.0,
        rate / 1000, eta, tty_ ? "   " : "\n");
  }
  void Done() {
    if (!quiet_ && tty_) std::cerr << "\n";
  }

 private:
  std::string what_;
  uint64_t total_;
  bool quiet_, tty_;
  SteadyClock::time_point start_ = SteadyClock::now();
  double last_ = -1;
};

// Replays `log` into a new directory at `path`, flushed to disk on success.
Result<audit::ReplayReport> RebuildAt(const storage::EventLog& log, const std::string& path,
                                      audit::ReplayOptions options, const std::string& what,
                                      bool quiet) {
  const uint64_t head = log.head().seq.value;
  Progress progress(what, options.until_seq.value ? std::min(options.until_seq.value, head) : head,
                    quiet);
  options.progress = [&](uint64_t done) { progress.Update(done); };
  auto report = audit::ReplayToNewDirectory(log, path, options);
  progress.Done();
  return report;
}

Result<TimeMs> ParseUntil(const std::string& text) {
  auto t = ParseRfc3339(text.size() == 10 ? text + "T23:59:59.999+08:00" : text);
  if (!t.ok()) return InvalidArgument(t.status().message(), "until");
  return t;
}

Result<storage::LogHead> ParseAnchor(const std::string& text) {
  const size_t colon = text.find(':');
  storage::LogHead anchor;
  std::string hash;
  const char* end = text.data() + (colon == std::string::npos ? text.size() : colon);
  const auto [ptr, err] = std::from_chars(text.data(), end, anchor.seq.value);
  if (colon == std::string::npos || err != std::errc() || ptr != end || anchor.seq.value == 0 ||
      !HexDecode(text.substr(colon + 1), hash) || hash.size() != 32) {
    return InvalidArgument("an anchor is SEQ:HASH (the sequence and 64 hex digits verify printed)",
                           "anchor");
  }
  std::copy(hash.begin(), hash.end(), anchor.hash.begin());
  return anchor;
}

// The families whose digests differ, by name.
std::string DifferingFamilies(const audit::StateDigest& a, const audit::StateDigest& b) {
  std::string out;
  for (int i = 0; i < storage::kFamilyCount; ++i) {
    if (a.families[static_cast<size_t>(i)] == b.families[static_cast<size_t>(i)]) continue;
    if (!out.empty()) out += ", ";
    out += storage::FamilyName(static_cast<storage::Family>(i));
  }
  return out;
}

}  // namespace

int Replay(const ReplayArgs& args) {
  audit::ReplayOptions options;
  options.until_seq = Seq{args.until_seq};
  if (!args.until.empty()) {
    auto t = ParseUntil(args.until);
    if (!t.ok()) return Fail(t.status());
    options.until_time = *t;
  }
  SystemClock clock;
  auto source = OpenReadOnly(args.data, clock);
  if (!source.ok()) return Fail(source.status());
  // Built beside the target and renamed when complete: a directory named `into` is
  // always a whole replay.
  const std::string partial = args.into + ".partial";
  std::error_code ec;
  if (fs::exists(args.into, ec)) {
    return Fail(InvalidArgument("'" + args.into + "' already exists", "into"));
  }
  if (fs::exists(partial, ec)) {
    return Fail(
        InvalidArgument("'" + partial + "' is left from an interrupted replay; remove it", "into"));
  }
  const auto start = SteadyClock::now();
  auto report = RebuildAt((*source)->log(), partial, options, "replay", args.quiet);
  if (!report.ok()) return Fail(report.status());
  // The photos the replayed records reference come along; they are not in the log.
  {
    auto rebuilt =
        OpenForWriting(partial, /*create=*/false, /*sync=*/true, clock, /*timers=*/false);
    if (!rebuilt.ok()) return Fail(rebuilt.status());
    auto photos = audit::CopyEvidence(**source, **rebuilt);
    if (!photos.ok()) return Fail(photos.status());
    if (photos->copied > 0) std::cout << fmt::format("copied {} photos\n", photos->copied);
    if (photos->missing > 0) {
      std::cerr << fmt::format("replay: {} referenced photos are not in {}\n", photos->missing,
                               args.data);
    }
  }
  fs::rename(partial, args.into, ec);
  if (ec) return Fail(IOError("renaming '" + partial + "': " + ec.message()));
  const double s = SecondsSince(start);
  std::cout << fmt::format("replayed {} records into {} in {:.1f} s ({:.0f} records/s)\n",
                           report->records, args.into, s,
                           s > 0 ? static_cast<double>(report->records) / s : 0.0);
  std::cout << fmt::format("head: {}:{}\n", report->head.seq.value, HexOf(report->head.hash));
  return kExitOk;
}

int Verify(const VerifyArgs& args) {
  std::optional<storage::LogHead> anchor;
  if (!args.anchor.empty()) {
    auto a = ParseAnchor(args.anchor);
    if (!a.ok()) return Fail(a.status());
    anchor = *a;
  }
  SystemClock clock;
  auto source = OpenReadOnly(args.data, clock);
  if (!source.ok() && source.status().code() == StatusCode::kCorruption) {
    // The log's last record or its head was altered: the open checks them.
    std::cout << "TAMPERED: " << source.status().message() << "\n";
    return kExitTampered;
  }
  if (!source.ok() && source.status().code() == StatusCode::kDataLoss) {
    // A damaged file, or acknowledged records missing: damage, not an alteration.
    std::cout << "DAMAGED: " << source.status().message() << "\n";
    return kExitDataError;
  }
  if (!source.ok()) return Fail(source.status());
  const storage::EventLog& log = (*source)->log();

  Progress chain_progress("chain", log.head().seq.value, args.quiet);
  auto chain =
      log.Verify([&](Seq s) { chain_progress.Update(s.value); }, anchor ? &*anchor : nullptr);
  chain_progress.Done();
  if (!chain.ok()) return Fail(chain.status());
  if (!chain->ok) {
    std::cout << fmt::format("TAMPERED: the hash chain breaks at sequence {}: {}\n",
                             chain->first_bad.value, chain->problem);
    return kExitTampered;
  }

  const fs::path base = args.scratch.empty() ? fs::temp_directory_path() : fs::path(args.scratch);
  std::string scratch = (base / "wangge-verify-XXXXXX").string();
  if (mkdtemp(scratch.data()) == nullptr) {
    return Fail(IOError("cannot make a scratch directory under '" + base.string() + "'"));
  }
  struct Cleanup {
    std::string path;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } cleanup{scratch};
  auto rebuilt = RebuildAt(log, scratch + "/db", {}, "replay", args.quiet);
  if (!rebuilt.ok()) {
    if (rebuilt.status().code() == StatusCode::kCorruption) {
      std::cout << "TAMPERED: the log does not replay: " << rebuilt.status().message() << "\n";
      return kExitTampered;
    }
    return Fail(rebuilt.status());
  }
  auto want = audit::DigestDirectory(scratch + "/db");
  auto have = audit::DigestState(**source);
  if (!want.ok()) return Fail(want.status());
  if (!have.ok()) return Fail(have.status());
  if (!(*want == *have)) {
    std::cout << "TAMPERED: the derived state differs from a replay of the log in: "
              << DifferingFamilies(*want, *have) << "\n";
    return kExitTampered;
  }
  auto evidence = audit::CheckEvidence(**source);
  if (!evidence.ok()) return Fail(evidence.status());
  if (!evidence->problems.empty()) {
    std::cout << "TAMPERED: evidence does not check out:\n";
    for (const auto& p : evidence->problems) std::cout << "  " << p << "\n";
    return kExitTampered;
  }
  std::cout << fmt::format(
      "OK: {} records, hash chain intact{}; derived state equals a replay of the log; {} "
      "photos hash to their names\n"
      "head: {}:{}\nstate digest: {}\n",
      chain->records, anchor ? fmt::format(" through anchor {}", anchor->seq.value) : "",
      evidence->photos, chain->head.seq.value, HexOf(chain->head.hash), HexOf(want->all));
  return kExitOk;
}

// A checkpoint of `data` at `dest`: directly when no process holds the directory, or by
// the running `wangge serve` through its control socket.
Status Checkpoint(const std::string& data, const std::string& dest) {
  Status direct = audit::CheckpointDirectory(data, dest);
  // In use: a running server holds the directory.
  if (direct.code() != StatusCode::kUnavailable) return direct;
  const std::string socket = ControlSocketPath(data);
  WANGGE_ASSIGN_OR_RETURN(
      std::string reply,
      ControlRequest(socket, wire::WriteJson(boost::json::object{{"op", "backup"}, {"to", dest}})));
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(reply, ec);
  const auto* o_reply = v.if_object();
  if (ec || !o_reply || !o_reply->contains("ok")) {
    return Internal("the server answered the backup request with '" + reply + "'");
  }
  if (!o_reply->at("ok").as_bool()) {
    const auto* error = o_reply->if_contains("error");
    return IOError("the server could not write the backup: " +
                   (error && error->is_string() ? std::string(error->as_string()) : reply));
  }
  return Status::Ok();
}

int Backup(const BackupArgs& args) {
  std::error_code ec;
  const std::string dest = fs::absolute(args.to, ec).lexically_normal().string();
  if (ec || fs::exists(dest, ec)) {
    return Fail(InvalidArgument("'" + args.to + "' already exists", "to"));
  }
  const auto start = SteadyClock::now();
  if (Status s = Checkpoint(args.data, dest); !s.ok()) return Fail(s);
  std::cout << fmt::format("backup: checkpoint of {} written to {} in {:.1f} s; verifying it\n",
                           args.data, dest, SecondsSince(start));
  std::cout.flush();
  VerifyArgs verify;
  verify.data = dest;
  verify.quiet = true;
  return Verify(verify);
}

namespace {

// Copies the regular files of `from` (the control socket is not one) into a new `to`.
Status CopyFiles(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  for (const auto& e : fs::directory_iterator(from, ec)) {
    if (!e.is_regular_file()) continue;
    fs::copy_file(e.path(), to / e.path().filename(), ec);
    if (ec) break;
  }
  if (ec) return IOError("copying '" + from.string() + "' aside failed: " + ec.message());
  return Status::Ok();
}

}  // namespace

int Salvage(const SalvageArgs& args) {
  std::error_code ec;
  const fs::path data = fs::absolute(args.data, ec).lexically_normal();
  if (ec || !fs::is_directory(data, ec)) {
    return Fail(NotFound("no data directory at '" + args.data + "'"));
  }
  const std::string aside =
      data.string() + ".damaged-" + FormatRfc3339(SystemClock().Now()).substr(0, 19);
  if (fs::exists(aside, ec)) return Fail(FailedPrecondition("'" + aside + "' already exists"));
  if (Status s = CopyFiles(data, aside); !s.ok()) return Fail(s);
  std::cout << fmt::format("salvage: the directory as found is copied to {}\n", aside);
  if (Status kept = audit::KeepBeforeDamage(data); !kept.ok()) {
    if (kept.code() != StatusCode::kDataLoss) return Fail(kept);
    // The other families were flushed past the damage: rebuild them from the log.
    std::cout << fmt::format(
                     "salvage: the families do not stop at the same point ({}); rebuilding from "
                     "the log's intact records\n",
                     kept.message())
              << std::flush;
    auto rebuilt = audit::RebuildFromIntactPrefix(data);
    if (!rebuilt.ok()) return Fail(rebuilt.status());
  }
  SystemClock clock;
  auto engine = OpenReadOnly(data.string(), clock);
  if (!engine.ok()) return Fail(engine.status());
  auto chain = (*engine)->log().Verify();
  if (!chain.ok()) return Fail(chain.status());
  auto problems = audit::CheckDerivedState(**engine);
  if (!problems.ok()) return Fail(problems.status());
  if (!chain->ok || !problems->empty()) {
    std::cout << fmt::format("salvage: what was kept does not check out ({}); restore a backup\n",
                             chain->ok ? (*problems)[0] : chain->problem);
    return kExitDataError;
  }
  std::cout << fmt::format(
      "salvage: {} kept {} records; the log ends at {}:{}. Records written after the damage "
      "are lost: compare this head with your last backup or anchor (wangge verify --anchor)\n",
      data.string(), chain->records, chain->head.seq.value, HexOf(chain->head.hash));
  return kExitOk;
}

namespace {

std::string OfficeList(const std::vector<std::string>& offices) {
  std::string out;
  for (const auto& o : offices) out += (out.empty() ? "" : ", ") + o;
  return out.empty() ? "nobody" : out;
}

// "accept", "deadline_warning (told: ...)", "report"; with the transition's fields.
std::string WhatHappened(const engine::Record& r) {
  if (const auto* t = std::get_if<engine::Transition>(&r.body)) {
    std::string out(engine::ActionName(t->action));
    if (!t->to_office.empty()) out += " to " + t->to_office;
    if (t->until) out += " until " + FormatRfc3339(*t->until);
    if (t->satisfaction != 0) out += fmt::format(" (satisfaction {})", t->satisfaction);
    if (!t->note.empty()) out += " — " + t->note;
    return out;
  }
  if (const auto* f = std::get_if<engine::TimerFired>(&r.body)) {
    return std::string(engine::TimerKindName(f->kind)) + " (told " + OfficeList(f->notified) + ")";
  }
  return "report";
}

void PrintPlace(const audit::RoutingExplanation& e, const engine::Record& report) {
  const auto& place = report.place;
  if (place.geography_version.empty()) return;
  const auto& rep = std::get<engine::Report>(report.body);
  const std::string at = fmt::format("{:.6f}, {:.6f}", rep.lat, rep.lon);
  if (place.how == engine::PlaceHow::kLocated) {
    std::cout << fmt::format("    located at {} in grid {} of village {} by geography {}\n", at,
                             rep.grid, rep.village, place.geography_version);
    if (e.located_grid != rep.grid) {
      std::cout << fmt::format("    RE-LOCATED GRID DIFFERS: {} (recorded: {})\n",
                               e.located_grid.empty() ? "none" : e.located_grid, rep.grid);
    }
  } else if (place.how == engine::PlaceHow::kGridUnmapped) {
    std::cout << fmt::format("    position {}: grid {} is not in geography {}\n", at, rep.grid,
                             place.geography_version);
  } else {
    std::cout << fmt::format("    position {}: {} m from grid {} in geography {}\n", at,
                             place.distance_m, rep.grid, place.geography_version);
  }
}

void PrintRouting(const audit::RoutingExplanation& e, const engine::Routing& recorded) {
  std::cout << fmt::format(
      "    routed by rule {} under ruleset {} ({}):\n", recorded.rule_id, recorded.ruleset_version,
      e.rules_seq.value ? fmt::format("activated by record {}", e.rules_seq.value)
                        : std::string("built in"));
  std::string table;
  for (const auto& step : e.trace) {
    if (step.table != table) {
      table = step.table;
      std::cout << fmt::format("      table {}:\n", table);
    }
    std::cout << fmt::format("        {} {:<24} {}\n", step.matched ? "✔" : "✘", step.row,
                             step.reason);
  }
  std::cout << fmt::format(
      "    escalation: at {}% tell {}; at breach tell {}\n", recorded.escalation.warn_at_percent,
      OfficeList(recorded.escalation.warn), OfficeList(recorded.escalation.breach));
  if (e.matches_record) {
    std::cout << "    re-derived under that ruleset: the same decision\n";
  } else {
    std::cout << fmt::format(
        "    RE-DERIVED DECISION DIFFERS: office {}, deadline {}, rule {} (recorded: {}, {}, {})\n",
        e.derived.office, FormatRfc3339(e.derived.deadline), e.derived.rule_id, recorded.office,
        FormatRfc3339(recorded.deadline), recorded.rule_id);
  }
}

}  // namespace

int PrintCase(const CaseArgs& args) {
  SystemClock clock;
  auto engine = OpenReadOnly(args.data, clock);
  if (!engine.ok()) return Fail(engine.status());
  auto steps = (*engine)->CaseHistory(args.id);
  if (!steps.ok()) return Fail(steps.status());
  if (steps->empty()) {
    std::cerr << "wangge: no case with client id " << args.id << "\n";
    return 1;
  }
  const engine::Report& report = std::get<engine::Report>(steps->front().record.body);
  std::cout << fmt::format("case {}: {}, severity {}, village {}, grid {}\n  \"{}\"\n", args.id,
                           report.category, report.severity, report.village, report.grid,
                           report.text);
  bool all_match = true;
  const engine::Case* before = nullptr;
  for (const auto& step : *steps) {
    const engine::Record& r = step.record;
    std::cout << fmt::format("#{} {} {} by {} ({}{})\n", r.seq.value, FormatRfc3339(r.at),
                             WhatHappened(r), r.actor.id, engine::RoleName(r.actor.role),
                             r.actor.office.empty() ? "" : ", office " + r.actor.office);
    std::cout << fmt::format("    status {} → {}; office {} → {}; deadline {}\n",
                             before ? engine::StatusName(before->status) : "—",
                             engine::StatusName(step.after.status), before ? before->office : "—",
                             step.after.office, FormatRfc3339(step.after.deadline));
    if (std::holds_alternative<engine::Report>(r.body)) {
      auto explained = audit::ExplainRouting((*engine)->log(), r);
      if (!explained.ok()) return Fail(explained.status());
      PrintPlace(*explained, r);
      PrintRouting(*explained, r.routing);
      all_match = all_match && explained->matches_record;
    }
    before = &step.after;
  }
  return all_match ? kExitOk : kExitTampered;
}

void AddAuditCommands(CLI::App& app, Command& chosen) {
  auto replay_ptr = std::make_shared<cli::ReplayArgs>();
  cli::ReplayArgs& replay = *replay_ptr;
  auto* replay_cmd = app.add_subcommand(
      "replay", "Rebuild a data directory from its log alone, up to a record or a time");
  replay_cmd->add_option("--data", replay.data, "Data directory (opened read-only)")->required();
  replay_cmd->add_option("--into", replay.into, "New data directory (must not exist)")->required();
  auto* until_opt = replay_cmd->add_option(
      "--until", replay.until,
      "Stop before the first record after this time (YYYY-MM-DD: the end of that day, "
      "+08:00; or RFC 3339)");
  replay_cmd->add_option("--until-seq", replay.until_seq, "Last record to apply")
      ->excludes(until_opt)
      ->check(CLI::PositiveNumber);
  replay_cmd->add_flag("--quiet", replay.quiet, "No progress lines");

  auto backup_ptr = std::make_shared<cli::BackupArgs>();
  cli::BackupArgs& backup = *backup_ptr;
  auto* backup_cmd = app.add_subcommand(
      "backup",
      "Copy a data directory (a RocksDB checkpoint; through the running server when there is "
      "one), then verify the copy");
  backup_cmd->add_option("--data", backup.data, "Data directory")->required();
  backup_cmd->add_option("--to", backup.to, "Backup directory (must not exist)")->required();

  auto salvage_ptr = std::make_shared<cli::SalvageArgs>();
  cli::SalvageArgs& salvage = *salvage_ptr;
  auto* salvage_cmd = app.add_subcommand(
      "salvage",
      "Open a directory whose write-ahead log is damaged, keeping the records before the "
      "damage (the directory is copied aside first); then check what was kept");
  salvage_cmd->add_option("--data", salvage.data, "Data directory")->required();

  auto case_args_ptr = std::make_shared<cli::CaseArgs>();
  cli::CaseArgs& case_args = *case_args_ptr;
  auto* case_cmd = app.add_subcommand(
      "case",
      "Print a case's full history: every record with actor, role, time and state before and "
      "after, and why it was routed where it went (re-derived under the ruleset in force)");
  case_cmd->add_option("--data", case_args.data, "Data directory (opened read-only)")->required();
  case_cmd->add_option("id", case_args.id, "The case's client id")->required();

  auto verify_ptr = std::make_shared<cli::VerifyArgs>();
  cli::VerifyArgs& verify = *verify_ptr;
  auto* verify_cmd = app.add_subcommand(
      "verify",
      "Walk the hash chain and compare the derived state with a replay of the log; exit 0 OK, "
      "4 altered, 3 unreadable");
  verify_cmd->add_option("--data", verify.data, "Data directory (opened read-only)")->required();
  verify_cmd->add_option("--anchor", verify.anchor,
                         "SEQ:HASH from an earlier verify, kept elsewhere: the log must still "
                         "pass through it");
  verify_cmd->add_option("--scratch", verify.scratch,
                         "Directory for the replay (default: the system temp directory)");
  verify_cmd->add_flag("--quiet", verify.quiet, "No progress lines");

  OnChosen(replay_cmd, chosen, [replay_ptr] { return Replay(*replay_ptr); });
  OnChosen(verify_cmd, chosen, [verify_ptr] { return Verify(*verify_ptr); });
  OnChosen(backup_cmd, chosen, [backup_ptr] { return Backup(*backup_ptr); });
  OnChosen(salvage_cmd, chosen, [salvage_ptr] { return Salvage(*salvage_ptr); });
  OnChosen(case_cmd, chosen, [case_args_ptr] { return PrintCase(*case_args_ptr); });
}

}  // namespace wangge::cli
