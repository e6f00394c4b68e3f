// serve and demo: the HTTP service over a data directory, or as an HTTP node in cluster
// mode.
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
#include <numeric>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "audit/replay.h"
#include "cli/cli_support.h"
#include "cli/commands.h"
#include "cluster/cluster.h"
#include "cluster/http_node.h"
#include "core/sha256.h"
#include "engine/codec.h"
#include "engine/engine.h"
#include "ingest/control.h"
#include "ingest/image.h"
#include "ingest/local_server.h"
#include "ingest/node_routes.h"
#include "ingest/tokens.h"
#include "io/generator.h"
#include "io/importer.h"
#include "rules/ruleset.h"
#include "wire/command_json.h"

namespace wangge::cli {
namespace {

struct ServeArgs {
  std::string data;
  bool create = false;
  std::string listen = "127.0.0.1:8080";
  std::string tokens;
  std::string rules;
  int threads = 1;
  int max_connections = 1024;
  size_t max_media_mib = 10;
  uint64_t max_media_megapixels = 50;
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
  options.max_media_bytes = args.max_media_mib << 20;
  options.max_media_pixels = args.max_media_megapixels * 1'000'000;
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

// Evidence for the demo: photos stored first, then attached to every 40th report (its
// "before") and to the resolve of those cases (its "after"), as a few hundred cases of a
// real town would have them.
class DemoPhotoPlan {
 public:
  static constexpr int kCases = 300;
  std::vector<std::string> hashes;  // 2 per case: before, after

  engine::Command Attach(const engine::Command& c) {
    engine::Command out = c;
    if (auto* r = std::get_if<engine::Report>(&out.body)) {
      if (reports_++ % 40 == 0 && next_ < kCases) {
        r->media = {hashes[2 * static_cast<size_t>(next_)]};
        cases_.emplace(r->client_id, next_++);
      }
    } else if (auto* t = std::get_if<engine::Transition>(&out.body);
               t && t->action == engine::Action::kResolve) {
      if (auto it = cases_.find(t->case_id); it != cases_.end()) {
        t->media = {hashes[2 * static_cast<size_t>(it->second) + 1]};
      }
    }
    return out;
  }

 private:
  uint64_t reports_ = 0;
  int next_ = 0;
  std::unordered_map<std::string, int> cases_;
};

Result<DemoPhotoPlan> DemoPhotos(engine::Engine& engine, const Clock& clock) {
  DemoPhotoPlan plan;
  for (int i = 0; i < 2 * DemoPhotoPlan::kCases; ++i) {
    std::string jpeg = ingest::SamplePhoto(i + 1);
    ingest::ImageProbe probe = ingest::ProbeImage(jpeg, 1'000'000);
    if (probe.problem != ingest::ImageProblem::kNone) return Internal(probe.message);
    probe.info.stored_at = clock.Now();
    std::string hash = Sha256Hex(jpeg);
    WANGGE_RETURN_IF_ERROR(engine.StoreMedia(hash, std::move(jpeg), probe.info).status());
    plan.hashes.push_back(std::move(hash));
  }
  return plan;
}

// Generates the demo's data the first time and checks it, with the deadline timers off:
// the check compares the derived state with a rebuild from the log, and must not race
// timer records. Returns an exit code (kExitOk when the data checks out).
int PrepareDemoData(const DemoArgs& args, const Clock& clock) {
  auto engine =
      cli::OpenForWriting(args.data, /*create=*/true, /*sync=*/true, clock, /*timers=*/false);
  if (!engine.ok()) return Fail(engine.status());
  auto counts = (*engine)->CaseCounts();
  if (!counts.ok()) return Fail(counts.status());
  // No case yet: a new directory, or a first run stopped before its import.
  if (std::accumulate(counts->begin(), counts->end(), int64_t{0}) == 0) {
    std::cerr << fmt::format("demo: generating the town-year up to now (seed {}) into {}\n",
                             args.seed, args.data);
    // The 365 days up to now, cut off now: recent cases are still open, some overdue,
    // as on a live server.
    io::GeneratorOptions gen;
    gen.seed = args.seed;
    gen.to = clock.Now();
    gen.from = TimeMs{gen.to->ms - 365LL * 86'400'000};
    gen.open_at_end = true;
    // The town's grids first, so that every report is placed (docs/place.md).
    auto placed = (*engine)->ActivateGeography(io::TownGeography(gen),
                                               engine::Actor{"demo", engine::Role::kAdmin, ""});
    if (!placed.ok()) return Fail(placed.status());
    auto photos = DemoPhotos(**engine, clock);
    if (!photos.ok()) return Fail(photos.status());
    io::CommandFeeder feeder(**engine, 8192, "generated", 20);
    uint64_t n = 0;
    const auto start = std::chrono::steady_clock::now();
    Status s = io::GenerateTownYear(gen, *rules::Ruleset::BuiltIn(), [&](const engine::Command& c) {
      feeder.Feed(photos->Attach(c), ++n);
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
  auto problems = audit::CheckDerivedState(**engine);
  auto chain = (*engine)->log().Verify();
  if (!problems.ok() || !problems->empty() || !chain.ok() || !chain->ok) {
    std::cerr << "demo: the data directory does not check out; run wangge info --check\n";
    return kExitTampered;
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
  (void)(*engine)->ForEachCase([&](const engine::Case& c) {
    if (c.reporter.id == "W001") sample_case = c.id;
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
      "Dashboard: {}/ui/ (log in with the supervisor or auditor token)\n"
      "Field app: {}/app/ (log in with the worker or handler token; on a phone too)\n\n"
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
      (*engine)->head().seq.value, args.data, url, args.data, listing, url, url, url, url, worker,
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

}  // namespace

void AddServeCommands(CLI::App& app, Command& chosen) {
  auto demo_ptr = std::make_shared<DemoArgs>();
  DemoArgs& demo = *demo_ptr;
  auto* demo_cmd = app.add_subcommand(
      "demo",
      "Generate a town-year into a local data directory (once), then serve it with "
      "demo tokens for every role");
  demo_cmd->add_option("--data", demo.data, "Data directory")->capture_default_str();
  demo_cmd->add_option("--listen", demo.listen, "HOST:PORT")->capture_default_str();
  demo_cmd->add_option("--seed", demo.seed, "Generator seed")->capture_default_str();

  auto serve_ptr = std::make_shared<ServeArgs>();
  ServeArgs& serve = *serve_ptr;
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
  serve_cmd
      ->add_option("--max-media-mib", serve.max_media_mib,
                   "Largest photo (PUT /v1/media), in MiB; also a resumable upload's total")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  serve_cmd
      ->add_option("--max-media-megapixels", serve.max_media_megapixels,
                   "Most pixels in a photo, read from its header before decoding")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  serve_cmd->add_option("--access-log", serve.access_log,
                        "File for one line per request (id, peer, actor, method, target, status, "
                        "bytes, µs)");
  serve_cmd
      ->add_option("--idle-timeout", serve.idle_timeout_s,
                   "Seconds a connection may take to send a request or read an answer")
      ->capture_default_str();

  AddClusterOptions(serve_cmd, serve.cluster, false);
  serve_cmd
      ->add_option("--cluster-threads", serve.cluster_threads,
                   "Cluster mode: publishes in flight at once")
      ->capture_default_str();

  OnChosen(serve_cmd, chosen, [serve_ptr] { return RunServe(*serve_ptr); });
  OnChosen(demo_cmd, chosen, [demo_ptr] { return RunDemo(*demo_ptr); });
}

}  // namespace wangge::cli
