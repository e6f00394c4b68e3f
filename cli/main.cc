// The wangge binary: one command with subcommands (run `wangge --help`).
#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "audit/replay.h"
#include "cli/audit_command.h"
#include "cli/cli_support.h"
#include "cli/cluster_command.h"
#include "cli/export_command.h"
#include "cli/rules_command.h"
#include "cluster/cluster.h"
#include "cluster/http_node.h"
#include "engine/codec.h"
#include "engine/engine.h"
#include "ingest/control.h"
#include "ingest/local_server.h"
#include "ingest/node_routes.h"
#include "ingest/tokens.h"
#include "io/generator.h"
#include "io/import_311.h"
#include "io/importer.h"
#include "rules/ruleset.h"
#include "wire/command_json.h"
#include "wire/stats_json.h"

namespace {

using namespace wangge;

// Exit codes, documented in docs/cli.md.
constexpr int kExitOk = 0;
constexpr int kExitRejected = 1;     // some commands were refused by the engine
constexpr int kExitBadInput = 2;     // usage or malformed input; nothing written
constexpr int kExitDataError = 3;    // the data directory cannot be used
constexpr int kExitCheckFailed = 4;  // a check found the data altered or inconsistent

int ExitFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return kExitBadInput;
    default:
      return kExitDataError;
  }
}

int Fail(const Status& s) {
  std::cerr << "wangge: " << s.ToString() << "\n";
  return ExitFor(s);
}

struct GenArgs {
  io::GeneratorOptions options;
  std::string out;
  std::string from, to;
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
};

int RunImport311(const Import311Args& args) {
  auto format = io::Format311FromName(args.format);
  if (!format) return Fail(InvalidArgument("--format must be la, nyc or boston", "format"));
  auto read = io::Read311File(args.file, *format);
  if (!read.ok()) return Fail(read.status());
  std::string ruleset;
  if (!args.rules.empty()) {
    auto text = ReadWholeFile(args.rules);
    if (!text.ok()) return Fail(text.status());
    ruleset = std::move(text).value();
    auto check = rules::Ruleset::Load(ruleset, args.rules, rules::Calendar::BuiltIn());
    if (!check.ok()) return Fail(check.status());
  } else {
    const std::string base = args.file.substr(args.file.find_last_of('/') + 1);
    ruleset = io::RulesetFromAgencies(read->requests, "311-" + args.format + "-" + base);
  }
  SystemClock clock;
  auto engine = cli::OpenForWriting(args.data, args.create, !args.no_sync, clock);
  if (!engine.ok()) return Fail(engine.status());
  auto report = io::Import311(**engine, *read, ruleset, args.rules.empty(), &std::cerr);
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

struct TokenArgs {
  std::string file;
  std::string actor;
  std::string role;
  std::string office;
  std::string expires;  // add: YYYY-MM-DD (the end of that day, +08:00) or RFC 3339
  std::string id;       // revoke: a prefix of the token's id
};

// When a token expires: the last millisecond of a date YYYY-MM-DD (+08:00), or an RFC 3339
// time. kInvalidArgument when malformed or not after `now`.
Result<TimeMs> ParseExpires(const std::string& text, TimeMs now) {
  auto t = ParseRfc3339(text.size() == 10 ? text + "T23:59:59.999+08:00" : text);
  if (!t.ok()) return InvalidArgument(t.status().message(), "expires");
  if (*t <= now) {
    return InvalidArgument("--expires " + text + " is not in the future", "expires");
  }
  return t;
}

// The audit line of a token change: what, whose, which and when; never the token.
std::string TokenNote(const ingest::TokenEntry& e, const std::string& what, TimeMs at,
                      const std::string& file) {
  std::string whose = e.actor.id + " (" + std::string(engine::RoleName(e.actor.role));
  if (!e.actor.office.empty()) whose += ", office " + e.actor.office;
  std::string note = fmt::format("wangge: token {} of {}) {} at {} in {}", e.Id(), whose, what,
                                 FormatRfc3339(at), file);
  if (e.expires) note += ", expires " + FormatRfc3339(*e.expires);
  return note;
}

int RunTokenAdd(const TokenArgs& args) {
  auto role = engine::RoleFromName(args.role);
  if (!role || *role == engine::Role::kSystem) {
    return Fail(
        InvalidArgument("--role must be worker, handler, supervisor, auditor or admin", "role"));
  }
  const TimeMs clock_now = SystemClock().Now();
  const TimeMs now{clock_now.ms - clock_now.ms % 1000};  // whole seconds read better
  std::optional<TimeMs> expires;
  if (!args.expires.empty()) {
    auto t = ParseExpires(args.expires, now);
    if (!t.ok()) return Fail(t.status());
    expires = *t;
  }
  // Refuse to append to a file that does not load: a broken file must be fixed first.
  if (std::ifstream(args.file).good()) {
    auto existing = ingest::TokenStore::Load(args.file);
    if (!existing.ok()) return Fail(existing.status());
  }
  auto made =
      ingest::TokenStore::NewToken(engine::Actor{args.actor, *role, args.office}, now, expires);
  if (!made.ok()) return Fail(made.status());
  Status s = ingest::TokenStore::Append(args.file, made->second.Line());
  if (!s.ok()) return Fail(s);
  std::cerr << TokenNote(made->second, "added", now, args.file)
            << "; the token is shown once, keep it safe:\n";
  std::cout << made->first << "\n";
  return kExitOk;
}

int RunTokenList(const TokenArgs& args) {
  auto tokens = ingest::TokenStore::Load(args.file);
  if (!tokens.ok()) return Fail(tokens.status());
  std::cout << ingest::FormatTokenList(tokens->Entries(), SystemClock().Now());
  return kExitOk;
}

int RunTokenRevoke(const TokenArgs& args) {
  ingest::TokenMatch match{args.actor, args.id};
  std::transform(match.id_prefix.begin(), match.id_prefix.end(), match.id_prefix.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto revoked = ingest::RevokeTokens(args.file, match);
  if (!revoked.ok()) return Fail(revoked.status());
  const TimeMs now = SystemClock().Now();
  for (const auto& e : *revoked) std::cerr << TokenNote(e, "revoked", now, args.file) << "\n";
  return kExitOk;
}

struct ServeArgs {
  std::string data;
  bool create = false;
  std::string listen = "127.0.0.1:8080";
  std::string tokens;
  std::string rules;
  int threads = 1;
  int max_connections = 1024;
  int idle_timeout_s = 30;
  std::string access_log;
  bool skip_file_check = false;
  std::string jurisdiction = "wangge";
  bool open311_public = false;
  cli::ClusterArgs cluster;  // servers empty = single node
  int cluster_threads = 32;
};

// Activates the ruleset in `path` unless it is already the active version.
Status ActivateRulesFile(engine::Engine& engine, const std::string& path) {
  WANGGE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  WANGGE_ASSIGN_OR_RETURN(auto loaded,
                          rules::Ruleset::Load(text, path, rules::Calendar::BuiltIn()));
  if (loaded->version() == engine.active_rules()->version()) return Status::Ok();
  WANGGE_ASSIGN_OR_RETURN(
      auto outcome, engine.ActivateRules(std::move(text), "",
                                         engine::Actor{"serve --rules", engine::Role::kAdmin, ""}));
  std::cerr << fmt::format("wangge: activated ruleset {} from {} (record {})\n", loaded->version(),
                           path, outcome.seq.value);
  return Status::Ok();
}

// Fills options.host and options.port from "HOST:PORT". kInvalidArgument otherwise.
Status ParseListen(const std::string& listen, ingest::ServerOptions& options) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos && colon + 1 < listen.size()) {
    const char* first = listen.data() + colon + 1;
    const char* last = listen.data() + listen.size();
    auto r = std::from_chars(first, last, port);
    if (r.ec != std::errc() || r.ptr != last) port = -1;
  }
  if (colon == std::string::npos || colon == 0 || port < 0 || port > 65535) {
    return InvalidArgument("--listen must be HOST:PORT", "listen");
  }
  options.host = listen.substr(0, colon);
  options.port = static_cast<uint16_t>(port);
  return Status::Ok();
}

using cli::BlockStopSignals;

// Blocks SIGHUP with the stop signals (call before any thread starts) and returns the set
// WaitForStop waits on.
sigset_t BlockServeSignals() {
  sigset_t signals = BlockStopSignals();
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// Returns on SIGINT or SIGTERM; each SIGHUP before that reloads the tokens file.
void WaitForStop(const sigset_t& signals, ingest::TokenWatcher& tokens) {
  int signal = 0;
  while (sigwait(&signals, &signal) == 0 && signal == SIGHUP) (void)tokens.ReloadNow();
}

// An HTTP node in cluster mode: no data directory; commands go to JetStream.
int RunClusterServe(const ServeArgs& args, ingest::ServerOptions options,
                    ingest::TokenStore& tokens) {
  if (args.cluster_threads < 1 || args.cluster_threads > 1024) {
    return Fail(InvalidArgument("--cluster-threads must be 1-1024", "cluster_threads"));
  }
  if (!args.data.empty() || !args.rules.empty()) {
    return Fail(
        InvalidArgument("--cluster serves without a data directory or ruleset (engines hold them): "
                        "drop --data and --rules",
                        "cluster"));
  }
  const sigset_t signals = BlockServeSignals();
  auto nats = cluster::Nats::Connect(args.cluster.Options(), "wangge-http");
  if (!nats.ok()) return Fail(nats.status());
  if (Status s = (*nats)->EnsureStream(); !s.ok()) return Fail(s);
  SystemClock clock;
  cluster::HttpNode node(**nats, clock, args.cluster_threads);
  ingest::HttpServer server(ingest::NodeRoutes(node, node), tokens, clock, options);
  if (Status s = server.Start(); !s.ok()) return Fail(s);
  std::cerr << fmt::format(
      "wangge: HTTP node for {} (stream {}) on http://{}:{} ({} tokens); Ctrl-C stops\n",
      args.cluster.servers, args.cluster.stream, options.host, server.port(), tokens.size());
  ingest::TokenWatcher watcher(tokens, args.tokens);
  watcher.Start();
  WaitForStop(signals, watcher);
  std::cerr << "wangge: stopping: no new connections, finishing what is in flight\n";
  watcher.Stop();
  server.Stop();
  node.Stop();
  return kExitOk;
}

int RunServe(const ServeArgs& args) {
  ingest::ServerOptions options;
  if (Status s = ParseListen(args.listen, options); !s.ok()) return Fail(s);
  options.threads = args.threads;
  options.max_connections = args.max_connections;
  options.idle_timeout = std::chrono::seconds(args.idle_timeout_s);
  options.access_log = args.access_log;
  options.jurisdiction = args.jurisdiction;
  options.open311_public = args.open311_public;
  if (Status s = options.Validate(); !s.ok()) return Fail(s);
  auto tokens = ingest::TokenStore::Load(args.tokens);
  if (!tokens.ok()) return Fail(tokens.status());
  if (!args.cluster.servers.empty()) return RunClusterServe(args, options, *tokens);
  if (args.data.empty()) return Fail(InvalidArgument("--data is required (or --cluster)", "data"));

  const sigset_t signals = BlockServeSignals();

  SystemClock clock;
  auto engine = cli::OpenForWriting(args.data, args.create, /*sync=*/true, clock, /*timers=*/true);
  if (!engine.ok()) return Fail(engine.status());
  if (!args.skip_file_check) {
    if (Status s = cli::CheckTableFiles(**engine, args.data); !s.ok()) return Fail(s);
  }
  if (!args.rules.empty()) {
    if (Status s = ActivateRulesFile(**engine, args.rules); !s.ok()) return Fail(s);
  }
  ingest::LocalServer server(**engine, *tokens, clock, options);
  if (Status s = server.Start(); !s.ok()) return Fail(s);
  ingest::ControlServer control(**engine, ingest::ControlSocketPath(args.data));
  if (Status s = control.Start(); !s.ok()) {
    std::cerr << "wangge: warning: " << s.ToString()
              << "; wangge backup will need the server stopped\n";
  }
  std::cerr << fmt::format("wangge: serving {} on http://{}:{} ({} tokens); Ctrl-C stops\n",
                           args.data, options.host, server.port(), tokens->size());
  ingest::TokenWatcher watcher(*tokens, args.tokens);
  watcher.Start();
  WaitForStop(signals, watcher);
  std::cerr << "wangge: stopping: no new connections, finishing what is in flight\n";
  watcher.Stop();
  control.Stop();
  server.Stop();
  (*engine)->Stop();
  std::cerr << fmt::format("wangge: stopped cleanly at log sequence {}\n",
                           (*engine)->head().seq.value);
  return kExitOk;
}

struct DemoArgs {
  std::string data = "wangge-data";
  std::string listen = "127.0.0.1:8080";
  uint64_t seed = 1;
};

// Demo tokens for each role, kept in plain text beside the hashes: demo data only.
Result<ingest::TokenStore> DemoTokens(const std::string& data, std::string& listing) {
  const std::string hashes = data + "/tokens", plain = data + "/demo-tokens.txt";
  if (!std::ifstream(plain).good()) {
    const engine::Actor actors[] = {{"W001", engine::Role::kWorker, ""},
                                    {"H-zonghe-zhifa-01", engine::Role::kHandler, "zonghe-zhifa"},
                                    {"S-01", engine::Role::kSupervisor, ""},
                                    {"A-01", engine::Role::kAuditor, ""},
                                    {"ADMIN", engine::Role::kAdmin, ""}};
    std::string text;
    for (const auto& a : actors) {
      WANGGE_ASSIGN_OR_RETURN(auto made, ingest::TokenStore::NewToken(a));
      WANGGE_RETURN_IF_ERROR(ingest::TokenStore::Append(hashes, made.second));
      text += fmt::format("{:<10} {:<18} {}\n", engine::RoleName(a.role), a.id, made.first);
    }
    std::ofstream(plain) << text;
  }
  WANGGE_ASSIGN_OR_RETURN(listing, ReadWholeFile(plain));
  return ingest::TokenStore::Load(hashes);
}

// Generates the demo's data the first time and checks it, with the deadline timers off:
// the check compares the derived state with a rebuild from the log, and must not race
// timer records. Returns an exit code (kExitOk when the data checks out).
int PrepareDemoData(const DemoArgs& args, const Clock& clock) {
  auto engine =
      cli::OpenForWriting(args.data, /*create=*/true, /*sync=*/true, clock, /*timers=*/false);
  if (!engine.ok()) return Fail(engine.status());
  if ((*engine)->head().seq.value <= 1) {
    std::cerr << fmt::format("demo: generating the town-year up to now (seed {}) into {}\n",
                             args.seed, args.data);
    // The 365 days up to now, cut off now: recent cases are still open, some overdue,
    // as on a live server.
    io::GeneratorOptions gen;
    gen.seed = args.seed;
    gen.to = clock.Now();
    gen.from = TimeMs{gen.to->ms - 365LL * 86'400'000};
    gen.open_at_end = true;
    io::CommandFeeder feeder(**engine, 8192, "generated", 20);
    uint64_t n = 0;
    const auto start = std::chrono::steady_clock::now();
    Status s = io::GenerateTownYear(gen, *rules::Ruleset::BuiltIn(), [&](const engine::Command& c) {
      feeder.Feed(c, ++n);
      if (n % 8192 == 0) {
        std::cerr << fmt::format("\rdemo: {} commands", n) << std::flush;
      }
    });
    io::ImportReport report = feeder.Finish();
    if (!s.ok()) return Fail(s);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << fmt::format(
        "\rdemo: {} commands in {:.1f}s: {} cases, {} transitions, {} refused\n", n, secs,
        report.created, report.applied, report.rejected);
  }
  auto problems = audit::CheckDerivedState((*engine)->store(), (*engine)->log());
  auto chain = (*engine)->log().Verify();
  if (!problems.ok() || !problems->empty() || !chain.ok() || !chain->ok) {
    std::cerr << "demo: the data directory does not check out; run wangge info --check\n";
    return kExitCheckFailed;
  }
  (*engine)->Stop();
  return kExitOk;
}

int RunDemo(const DemoArgs& args) {
  ingest::ServerOptions options;
  if (Status s = ParseListen(args.listen, options); !s.ok()) return Fail(s);
  const sigset_t signals = BlockStopSignals();

  SystemClock clock;
  if (int rc = PrepareDemoData(args, clock); rc != kExitOk) return rc;
  auto engine =
      cli::OpenForWriting(args.data, /*create=*/false, /*sync=*/true, clock, /*timers=*/true);
  if (!engine.ok()) return Fail(engine.status());
  std::string listing;
  auto tokens = DemoTokens(args.data, listing);
  if (!tokens.ok()) return Fail(tokens.status());

  ingest::LocalServer server(**engine, *tokens, clock, options);
  if (Status s = server.Start(); !s.ok()) return Fail(s);
  ingest::ControlServer control(**engine, ingest::ControlSocketPath(args.data));
  if (Status s = control.Start(); !s.ok()) std::cerr << "demo: warning: " << s.ToString() << "\n";
  const std::string url = fmt::format("http://{}:{}", options.host, server.port());
  // Tokens by role: the last word of each line of the listing.
  std::string worker, supervisor, handler;
  {
    std::istringstream lines(listing);
    for (std::string line; std::getline(lines, line);) {
      const std::string token = line.substr(line.rfind(' ') + 1);
      if (line.starts_with("worker")) worker = token;
      if (line.starts_with("supervisor")) supervisor = token;
      if (line.starts_with("handler")) handler = token;
    }
  }
  std::string sample_case;
  (void)(*engine)->store().Scan(storage::Family::kCases, "", "",
                                [&](std::string_view key, std::string_view value) {
                                  auto c = engine::DecodeCase(value);
                                  if (c.ok() && c->reporter.id == "W001") sample_case = key;
                                  return sample_case.empty();
                                });
  // The year's headline figures, as GET /v1/stats and wangge stats compute them.
  engine::StatsQuery headline;
  headline.as_of = clock.Now();
  if (auto figures = (*engine)->Stats(headline); figures.ok() && !figures->rows.empty()) {
    const engine::StatsRow& row = figures->rows.front();
    const auto rate = [&](uint16_t n, uint16_t d) {
      return row.Get(d) ? 100.0 * static_cast<double>(row.Get(n)) / static_cast<double>(row.Get(d))
                        : 0.0;
    };
    std::cout << fmt::format(
        "Closure: {} cases, {:.1f}% closed, {:.1f}% of those on time, median closure {:.1f} h "
        "({:.1f} working h).\n  wangge stats --data {} --group-by office   # by office, "
        "village, grid, worker or category\n\n",
        row.Get(engine::slot::kTotal), rate(engine::slot::kClosed, engine::slot::kTotal),
        rate(engine::slot::kOnTime, engine::slot::kClosed),
        row.ClosureHours(0.5, false).value_or(0), row.ClosureHours(0.5, true).value_or(0),
        args.data);
  }
  std::cout << fmt::format(
      "wangge demo: {} records in {}, hash chain and derived state check out.\n"
      "Serving {} ; Ctrl-C stops.\n\nTokens (demo only; also in {}/demo-tokens.txt):\n{}\n"
      "Dashboard: {}/ui/ (log in with the supervisor or auditor token)\n\n"
      "Try:\n"
      "  curl -s {}/healthz\n"
      "  curl -s -X POST {}/v1/reports -H 'Authorization: Bearer {}' -H 'Content-Type: "
      "application/json' -d '{{\"client_id\": "
      "\"demo-1\", \"category\": \"env.garbage\", \"village\": \"V01\", "
      "\"grid\": \"V01-G1\", \"severity\": 2, \"text\": \"河道漂浮垃圾\", "
      "\"reported_at\": \"{}\"}}'\n"
      "  curl -s {}/v1/cases/{} -H 'Authorization: Bearer {}'          # state and history\n"
      "  curl -s '{}/v1/cases?overdue=true&limit=5' -H 'Authorization: Bearer {}'  # oldest "
      "overdue first\n"
      "  curl -s '{}/v1/cases?status=dispatched&limit=5' -H 'Authorization: Bearer {}'  # a "
      "handler's queue\n"
      "  curl -s '{}/v1/stats?group_by=office' -H 'Authorization: Bearer {}'  # closure "
      "rates\n"
      "  curl -s {}/open311/v2/services.json  # Open311 GeoReport v2 (docs/open311.md)\n"
      "  curl -s {}/metrics\n",
      (*engine)->head().seq.value, args.data, url, args.data, listing, url, url, url, worker,
      FormatRfc3339(clock.Now()), url, sample_case, worker, url, supervisor, url, handler, url,
      supervisor, url, url);
  std::cout.flush();
  int signal = 0;
  sigwait(&signals, &signal);
  std::cerr << "demo: stopping\n";
  control.Stop();
  server.Stop();
  (*engine)->Stop();
  return kExitOk;
}

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
      rows.push_back(boost::json::object{{"case_id", c.id},
                                         {"office", c.office},
                                         {"village", c.report.village},
                                         {"category", c.report.category},
                                         {"status", std::string(engine::StatusName(c.status))},
                                         {"deadline", FormatRfc3339(c.deadline)},
                                         {"received_at", FormatRfc3339(c.received_at)}});
    }
    std::cout << boost::json::serialize(rows) << "\n";
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
    std::cout << boost::json::serialize(wire::StatsJson(query, *result)) << "\n";
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
  auto& store = (*engine)->store();
  std::map<std::string, uint64_t> by_status;
  uint64_t total = 0;
  Status bad;
  Status s = store.Scan(storage::Family::kCases, "", "", [&](std::string_view, std::string_view v) {
    auto c = engine::DecodeCase(v);
    if (!c.ok()) {
      bad = c.status();
      return false;
    }
    ++total;
    ++by_status[std::string(engine::StatusName(c->status))];
    return true;
  });
  if (!s.ok()) return Fail(s);
  if (!bad.ok()) return Fail(bad);
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
    return kExitCheckFailed;
  }
  auto problems = audit::CheckDerivedState(store, (*engine)->log());
  if (!problems.ok()) {
    std::cout << "check: " << problems.status().ToString() << "\n";
    return kExitCheckFailed;
  }
  if (!problems->empty()) {
    std::cout << "check: derived state differs from the log:\n";
    for (const auto& p : *problems) std::cout << "  " << p << "\n";
    return kExitCheckFailed;
  }
  std::cout << fmt::format(
      "check: OK, hash chain intact over {} records; derived state equals a "
      "rebuild from the log\n",
      chain->records);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
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

  GenArgs gen;
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

  ImportArgs import;
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

  cli::ExportArgs export_args;
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

  Import311Args i311;
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
  import311_cmd->add_option("file", i311.file, "The CSV export")->required();

  DemoArgs demo;
  auto* demo_cmd = app.add_subcommand(
      "demo",
      "Generate a town-year into a local data directory (once), then serve it with "
      "demo tokens for every role");
  demo_cmd->add_option("--data", demo.data, "Data directory")->capture_default_str();
  demo_cmd->add_option("--listen", demo.listen, "HOST:PORT")->capture_default_str();
  demo_cmd->add_option("--seed", demo.seed, "Generator seed")->capture_default_str();

  ServeArgs serve;
  auto* serve_cmd = app.add_subcommand(
      "serve",
      "Serve the HTTP API (reports, cases, transitions, rules, /metrics) until SIGINT/SIGTERM");
  serve_cmd->add_option("--data", serve.data, "Data directory (required without --cluster)");
  serve_cmd->add_flag("--create", serve.create, "Create the data directory if it is missing");
  serve_cmd->add_flag("--skip-file-check", serve.skip_file_check,
                      "Do not read every table file's checksums at start (they are read by "
                      "default, about 1 s per GB, so damage is reported before serving)");
  serve_cmd->add_option("--listen", serve.listen, "HOST:PORT")->capture_default_str();
  serve_cmd->add_option("--tokens", serve.tokens, "Tokens file (wangge token add)")->required();
  serve_cmd->add_option("--threads", serve.threads, "I/O threads")->capture_default_str();
  serve_cmd
      ->add_option("--jurisdiction", serve.jurisdiction,
                   "The Open311 jurisdiction_id this server answers for (docs/open311.md)")
      ->capture_default_str();
  serve_cmd->add_flag("--open311-public", serve.open311_public,
                      "Let Open311 reads without an api_key see the requests that came in "
                      "through Open311, public fields only (default: a key is required)");
  serve_cmd->add_option("--rules", serve.rules,
                        "Ruleset file to activate at start (skipped when its version is active)");
  serve_cmd
      ->add_option("--max-connections", serve.max_connections,
                   "Open connections beyond which new ones get 503")
      ->capture_default_str();
  serve_cmd->add_option("--access-log", serve.access_log,
                        "File for one line per request (id, peer, actor, method, target, status, "
                        "bytes, µs)");
  serve_cmd
      ->add_option("--idle-timeout", serve.idle_timeout_s,
                   "Seconds a connection may take to send a request or read an answer")
      ->capture_default_str();

  const auto add_cluster_options = [](CLI::App* cmd, cli::ClusterArgs& c, bool required) {
    auto* opt = cmd->add_option("--cluster", c.servers,
                                "NATS server URLs, comma-separated (nats://HOST:PORT,...)");
    if (required) opt->required();
    cmd->add_option("--stream", c.stream, "JetStream stream of the commands")
        ->capture_default_str();
    cmd->add_option("--replicas", c.replicas,
                    "Replicas of the stream and the ownership bucket when this creates them")
        ->capture_default_str();
    cmd->add_option("--nats-timeout", c.timeout_ms,
                    "Milliseconds to wait for a JetStream acknowledgement or an answer")
        ->capture_default_str();
  };
  add_cluster_options(serve_cmd, serve.cluster, false);
  serve_cmd
      ->add_option("--cluster-threads", serve.cluster_threads,
                   "Cluster mode: publishes in flight at once")
      ->capture_default_str();

  cli::EngineArgs engine_args;
  auto* engine_cmd = app.add_subcommand(
      "engine",
      "Cluster mode: apply the towns this instance owns from the JetStream command stream, "
      "until SIGINT/SIGTERM (docs/scale-out.md)");
  add_cluster_options(engine_cmd, engine_args.cluster, true);
  engine_cmd->add_option("--name", engine_args.name, "This instance's name, unique in the cluster")
      ->required();
  engine_cmd->add_option("--data", engine_args.data, "Directory; town T is kept in DATA/towns/T")
      ->required();
  engine_cmd->add_option("--towns", engine_args.towns,
                         "Towns to claim, comma-separated (each must be unowned or already "
                         "this instance's); the instance also runs the towns moved to it");
  engine_cmd->add_flag("--no-sync", engine_args.no_sync,
                       "Do not fsync commits (a crash may lose applied commands; they are "
                       "applied again from the stream)");
  engine_cmd
      ->add_option("--fetch-batch", engine_args.fetch_batch,
                   "Most commands fetched and applied at once")
      ->capture_default_str();
  engine_cmd
      ->add_option("--cache-mb", engine_args.cache_mb,
                   "Block cache shared by every town's store, MiB")
      ->capture_default_str();
  engine_cmd
      ->add_option("--memtable-mb", engine_args.memtable_mb,
                   "Memtable budget shared by every town's store, MiB (a town flushes "
                   "rather than pass it)")
      ->capture_default_str();

  cli::ClusterArgs cluster_status;
  cli::MoveArgs move_args;
  cli::ExportTownArgs export_town;
  auto* cluster_cmd = app.add_subcommand("cluster", "Operate cluster mode (docs/scale-out.md)");
  cluster_cmd->require_subcommand(1);
  auto* status_cmd = cluster_cmd->add_subcommand(
      "status", "Every town's owner, the stream's last command and what the owner applied");
  add_cluster_options(status_cmd, cluster_status, true);
  auto* move_cmd = cluster_cmd->add_subcommand(
      "move", "Move a town to another engine instance and wait until it has caught up");
  add_cluster_options(move_cmd, move_args.cluster, true);
  move_cmd->add_option("--town", move_args.town, "The town")->required();
  move_cmd->add_option("--to", move_args.to, "The instance that takes it (running)")->required();
  move_cmd->add_option("--wait", move_args.wait_s, "Seconds to wait for it to catch up")
      ->capture_default_str();
  auto* export_town_cmd = cluster_cmd->add_subcommand(
      "export", "Write a town's commands from the stream as NDJSON (for wangge import)");
  add_cluster_options(export_town_cmd, export_town.cluster, true);
  export_town_cmd->add_option("--town", export_town.town, "The town")->required();
  export_town_cmd->add_option("--from", export_town.from, "First stream sequence")
      ->capture_default_str();
  export_town_cmd->add_option("--out", export_town.out, "File to write (default: stdout)");

  TokenArgs token;
  auto* token_cmd = app.add_subcommand("token", "Manage bearer tokens for the HTTP service");
  token_cmd->require_subcommand(1);
  auto* token_add_cmd = token_cmd->add_subcommand(
      "add", "Create a token for an actor; the file keeps only its SHA-256");
  token_add_cmd->add_option("--tokens", token.file, "Tokens file (created with mode 0600)")
      ->required();
  token_add_cmd->add_option("--actor", token.actor, "Actor id, e.g. W017 or H-zz-03")->required();
  token_add_cmd->add_option("--role", token.role, "worker, handler, supervisor, auditor, admin")
      ->required();
  token_add_cmd->add_option("--office", token.office, "The office a handler acts for");
  token_add_cmd->add_option("--expires", token.expires,
                            "Refused after this: YYYY-MM-DD (the end of that day, +08:00) or an "
                            "RFC 3339 time; must be in the future");
  auto* token_list_cmd = token_cmd->add_subcommand(
      "list", "Every token's id, actor, role, office, created, expires and state");
  token_list_cmd->add_option("--tokens", token.file, "Tokens file")->required();
  auto* token_revoke_cmd = token_cmd->add_subcommand(
      "revoke", "Remove tokens from the file (a running server refuses them within a second)");
  token_revoke_cmd->add_option("--tokens", token.file, "Tokens file")->required();
  auto* revoke_actor =
      token_revoke_cmd->add_option("--actor", token.actor, "Revoke every token of this actor");
  token_revoke_cmd
      ->add_option("--id", token.id, "Revoke the one token whose id starts with this (4+ hex)")
      ->excludes(revoke_actor);

  InfoArgs info;
  auto* info_cmd = app.add_subcommand("info", "Summarise a data directory (read-only)");
  info_cmd->add_option("--data", info.data, "Data directory")->required();
  info_cmd->add_flag("--check", info.check,
                     "Also walk the hash chain and compare case state with a rebuild from the log");

  StatsArgs stats;
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

  OverdueArgs overdue;
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

  cli::ReplayArgs replay;
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

  cli::BackupArgs backup;
  auto* backup_cmd = app.add_subcommand(
      "backup",
      "Copy a data directory (a RocksDB checkpoint; through the running server when there is "
      "one), then verify the copy");
  backup_cmd->add_option("--data", backup.data, "Data directory")->required();
  backup_cmd->add_option("--to", backup.to, "Backup directory (must not exist)")->required();

  cli::SalvageArgs salvage;
  auto* salvage_cmd = app.add_subcommand(
      "salvage",
      "Open a directory whose write-ahead log is damaged, keeping the records before the "
      "damage (the directory is copied aside first); then check what was kept");
  salvage_cmd->add_option("--data", salvage.data, "Data directory")->required();

  cli::CaseArgs case_args;
  auto* case_cmd = app.add_subcommand(
      "case",
      "Print a case's full history: every record with actor, role, time and state before and "
      "after, and why it was routed where it went (re-derived under the ruleset in force)");
  case_cmd->add_option("--data", case_args.data, "Data directory (opened read-only)")->required();
  case_cmd->add_option("id", case_args.id, "The case's client id")->required();

  cli::VerifyArgs verify;
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

  cli::RulesArgs rules_args;
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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits kExitBadInput.
    return app.exit(e) == 0 ? kExitOk : kExitBadInput;
  }
  spdlog::set_level(spdlog::level::from_str(log_level));

  if (*gen_cmd) return RunGen(gen);
  if (*import_cmd && import.records) return cli::ImportRecords(import.file, import.data);
  if (*import_cmd) return RunImport(import);
  if (*export_cmd) return cli::Export(export_args);
  if (*info_cmd) return RunInfo(info);
  if (*stats_cmd) return RunStats(stats);
  if (*overdue_cmd) return RunOverdue(overdue);
  if (*import311_cmd) return RunImport311(i311);
  if (*token_add_cmd) return RunTokenAdd(token);
  if (*token_list_cmd) return RunTokenList(token);
  if (*token_revoke_cmd) return RunTokenRevoke(token);
  if (*serve_cmd) return RunServe(serve);
  if (*engine_cmd) return cli::RunEngineNode(engine_args);
  if (*status_cmd) return cli::RunClusterStatus(cluster_status);
  if (*move_cmd) return cli::RunMove(move_args);
  if (*export_town_cmd) return cli::RunExportTown(export_town);
  if (*demo_cmd) return RunDemo(demo);
  if (*replay_cmd) return cli::Replay(replay);
  if (*verify_cmd) return cli::Verify(verify);
  if (*backup_cmd) return cli::Backup(backup);
  if (*salvage_cmd) return cli::Salvage(salvage);
  if (*case_cmd) return cli::PrintCase(case_args);
  if (*what_if_cmd) return cli::RulesWhatIf(rules_args);
  if (*check_cmd) return cli::RulesCheck(rules_args);
  if (*test_cmd) return cli::RulesTest(rules_args);
  if (*explain_cmd) return cli::RulesExplain(rules_args);
  if (*activate_cmd) return cli::RulesActivate(rules_args);
  return kExitBadInput;
}
