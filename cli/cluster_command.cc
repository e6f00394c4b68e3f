#include "cli/cluster_command.h"

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <signal.h>
#include <sys/resource.h>
#include <thread>

#include <fmt/format.h>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "cluster/engine_node.h"

namespace wangge::cli {

cluster::ClusterOptions ClusterArgs::Options() const {
  cluster::ClusterOptions o;
  o.servers = servers;
  o.stream = stream;
  o.replicas = replicas;
  o.timeout = std::chrono::milliseconds(timeout_ms);
  return o;
}

namespace {

// `town` at instance `name`, from its status answer; nullopt when the instance does not
// run it (yet).
Result<std::optional<cluster::TownProgress>> ProgressAt(cluster::Nats& nats,
                                                        const std::string& name,
                                                        const std::string& town) {
  WANGGE_ASSIGN_OR_RETURN(std::string answer,
                          nats.Request(std::string(cluster::kControlPrefix) + name,
                                       R"({"op":"status"})", nats.options().timeout));
  WANGGE_ASSIGN_OR_RETURN(auto towns, cluster::DecodeStatusAnswer(answer, name));
  for (const auto& t : towns) {
    if (t.town == town) return std::optional<cluster::TownProgress>(t);
  }
  return std::optional<cluster::TownProgress>();
}

Result<std::optional<uint64_t>> AppliedAt(cluster::Nats& nats, const std::string& name,
                                          const std::string& town) {
  WANGGE_ASSIGN_OR_RETURN(auto p, ProgressAt(nats, name, town));
  if (!p) return std::optional<uint64_t>();
  return std::optional<uint64_t>(p->applied);
}

// Each running town's store holds up to about 32 descriptors (docs/scale-out.md): take
// the hard limit.
// Returns the limit.
uint64_t RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : limit.rlim_cur;
}

// Running out of descriptors fails commits and flushes; they are retried, but the
// instance makes no progress meanwhile (docs/scale-out.md).
void WarnIfFewFiles(uint64_t limit, size_t towns) {
  if (limit == 0 || limit / 32 >= towns) return;
  std::cerr << fmt::format(
      "wangge: warning: {} open files allowed for {} towns; each running town needs up to "
      "about 32: raise LimitNOFILE / ulimit -n to {} or run at most {} towns here\n",
      limit, towns, towns * 32 + 1000, limit / 32);
}

}  // namespace

int RunEngineNode(const EngineArgs& args) {
  cluster::EngineNodeOptions o;
  o.cluster = args.cluster.Options();
  o.name = args.name;
  o.data = args.data;
  o.sync = !args.no_sync;
  o.fetch_batch = args.fetch_batch;
  o.block_cache_bytes = args.cache_mb << 20;
  o.memtable_bytes = args.memtable_mb << 20;
  if (!args.towns.empty()) {
    auto towns = cluster::ParseTownList(args.towns);
    if (!towns.ok()) return Fail(towns.status());
    o.towns = *towns;
  }
  if (Status s = o.Validate(); !s.ok()) return Fail(s);
  const uint64_t file_limit = RaiseFileLimit();

  const sigset_t signals = BlockStopSignals();

  SystemClock clock;
  // JetStream may be electing leaders (a node just restarted): keep trying for a minute.
  std::unique_ptr<cluster::EngineNode> started;
  for (int attempt = 1;; ++attempt) {
    auto candidate = std::make_unique<cluster::EngineNode>(o, clock);
    Status s = candidate->Start();
    if (s.ok()) {
      started = std::move(candidate);
      break;
    }
    if (s.code() != StatusCode::kUnavailable || attempt >= 60) return Fail(s);
    std::cerr << "wangge: " << s.ToString() << "; retrying\n";
    candidate.reset();
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  cluster::EngineNode& node = *started;
  WarnIfFewFiles(file_limit, node.Towns().size());
  std::string towns;
  for (const auto& t : node.Towns()) {
    towns += fmt::format("{}{} (from stream sequence {})", towns.empty() ? "" : ", ", t.town,
                         t.applied + 1);
  }
  std::cerr << fmt::format("wangge: engine {} on {}: applying {}; Ctrl-C stops\n", o.name,
                           o.cluster.servers, towns.empty() ? "no town yet" : towns);
  int signal = 0;
  sigwait(&signals, &signal);
  std::cerr << "wangge: stopping: finishing the batches in hand\n";
  const auto final_towns = node.Towns();
  node.Stop();
  for (const auto& t : final_towns) {
    std::cerr << fmt::format("wangge: town {}: applied through stream sequence {}\n", t.town,
                             t.applied);
  }
  return kExitOk;
}

Status MoveTown(cluster::Nats& nats, const std::string& town, const std::string& to,
                std::chrono::seconds wait, std::ostream& progress) {
  WANGGE_RETURN_IF_ERROR(cluster::ValidateTown(town));
  WANGGE_RETURN_IF_ERROR(cluster::ValidateInstanceName(to));
  WANGGE_ASSIGN_OR_RETURN(auto from, nats.Owner(town));
  if (!from) return FailedPrecondition("town " + town + " has no owner to move it from");
  if (*from == to) return FailedPrecondition("town " + town + " is already " + to + "'s");
  // The new owner must be running: a move to a typo would leave the town unapplied.
  WANGGE_RETURN_IF_ERROR(AppliedAt(nats, to, town).status());
  WANGGE_ASSIGN_OR_RETURN(const uint64_t target, nats.LastSequence(town));
  WANGGE_RETURN_IF_ERROR(nats.Reassign(town, *from, to));
  progress << fmt::format("town {}: owner is now {} (was {}); the stream holds it through {}\n",
                          town, to, *from, target);

  const std::string release = fmt::format(R"({{"op":"release","town":"{}"}})", town);
  auto released =
      nats.Request(std::string(cluster::kControlPrefix) + *from, release, std::chrono::seconds(60));
  if (released.ok()) WANGGE_RETURN_IF_ERROR(cluster::DecodeControlAnswer(*released));
  progress << (released.ok()
                   ? fmt::format("town {}: {} stopped applying it\n", town, *from)
                   : fmt::format("town {}: {} did not answer ({}); it will not run the town when "
                                 "it starts again\n",
                                 town, *from, released.status().message()));

  const std::string adopt = fmt::format(R"({{"op":"adopt","town":"{}"}})", town);
  WANGGE_ASSIGN_OR_RETURN(
      std::string adopted,
      nats.Request(std::string(cluster::kControlPrefix) + to, adopt, std::chrono::seconds(60)));
  WANGGE_RETURN_IF_ERROR(cluster::DecodeControlAnswer(adopted));
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    WANGGE_ASSIGN_OR_RETURN(auto applied, AppliedAt(nats, to, town));
    const uint64_t at = applied.value_or(0);
    progress << fmt::format("\rtown {}: {} applied through {} of {}", town, to, at, target)
             << std::flush;
    if (at >= target) break;
    if (std::chrono::steady_clock::now() > deadline) {
      progress << "\n";
      return Unavailable(fmt::format("{} has not caught up with town {} in {} s; it goes on", to,
                                     town, wait.count()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  progress << fmt::format("\ntown {}: moved to {}\n", town, to);
  return Status::Ok();
}

int RunMove(const MoveArgs& args) {
  auto nats = cluster::Nats::Connect(args.cluster.Options(), "wangge-move");
  if (!nats.ok()) return Fail(nats.status());
  if (Status s = (*nats)->EnsureStream(); !s.ok()) return Fail(s);
  Status s = MoveTown(**nats, args.town, args.to, std::chrono::seconds(args.wait_s), std::cerr);
  return s.ok() ? kExitOk : Fail(s);
}

int RunClusterStatus(const ClusterArgs& args) {
  auto nats = cluster::Nats::Connect(args.Options(), "wangge-status");
  if (!nats.ok()) return Fail(nats.status());
  if (Status s = (*nats)->EnsureStream(); !s.ok()) return Fail(s);
  auto towns = (*nats)->StreamTowns();
  auto owners = (*nats)->Owners();
  auto state = (*nats)->State();
  if (!towns.ok()) return Fail(towns.status());
  if (!owners.ok()) return Fail(owners.status());
  if (!state.ok()) return Fail(state.status());
  std::cerr << fmt::format(
      "stream {}: {} commands, {} bytes ({:.0f} per command), {} replicas\n", args.stream,
      state->messages, state->bytes,
      state->messages ? static_cast<double>(state->bytes) / static_cast<double>(state->messages)
                      : 0.0,
      state->replicas);
  std::cout << fmt::format("{:<24} {:<20} {:>14} {:>14} {:>12} {:>12}\n", "town", "owner",
                           "stream last", "applied", "lag p50 ms", "lag p99 ms");
  for (const auto& [town, owner] : *owners) {
    auto last = (*nats)->LastSequence(town);
    auto p = ProgressAt(**nats, owner, town);
    const std::string at = !p.ok()           ? "not-answering"
                           : !p->has_value() ? "not-running"
                                             : std::to_string((*p)->applied);
    const bool known = p.ok() && p->has_value();
    std::cout << fmt::format("{:<24} {:<20} {:>14} {:>14} {:>12} {:>12}\n", town, owner,
                             last.ok() ? std::to_string(*last) : "?", at,
                             known ? fmt::format("{:.0f}", (*p)->lag_p50_ms) : "-",
                             known ? fmt::format("{:.0f}", (*p)->lag_p99_ms) : "-");
  }
  for (const auto& town : *towns) {
    bool owned = false;
    for (const auto& o : *owners) owned = owned || o.first == town;
    if (!owned) std::cout << fmt::format("{:<24} {:<20}\n", town, "NONE (commands wait)");
  }
  return kExitOk;
}

int RunExportTown(const ExportTownArgs& args) {
  if (Status s = cluster::ValidateTown(args.town); !s.ok()) return Fail(s);
  auto nats = cluster::Nats::Connect(args.cluster.Options(), "wangge-export");
  if (!nats.ok()) return Fail(nats.status());
  std::ofstream file;
  if (!args.out.empty()) {
    file.open(args.out, std::ios::binary | std::ios::trunc);
    if (!file) return Fail(IOError("cannot write '" + args.out + "'"));
  }
  std::ostream& out = args.out.empty() ? std::cout : file;
  uint64_t n = 0;
  Status s = (*nats)->ReadTown(args.town, args.from, [&](uint64_t, std::string_view line) {
    out << line << '\n';
    if (++n % 100'000 == 0) std::cerr << fmt::format("\rexport: {} commands", n) << std::flush;
    return true;
  });
  out.flush();
  if (!s.ok()) return Fail(s);
  if (!out) return Fail(IOError("cannot write '" + args.out + "'"));
  std::cerr << fmt::format("\rexport: {} commands of town {}\n", n, args.town);
  return kExitOk;
}

void AddClusterOptions(CLI::App* cmd, ClusterArgs& c, bool required) {
  auto* opt = cmd->add_option("--cluster", c.servers,
                              "NATS server URLs, comma-separated (nats://HOST:PORT,...)");
  if (required) opt->required();
  cmd->add_option("--stream", c.stream, "JetStream stream of the commands")->capture_default_str();
  cmd->add_option("--replicas", c.replicas,
                  "Replicas of the stream and the ownership bucket when this creates them")
      ->capture_default_str();
  cmd->add_option("--nats-timeout", c.timeout_ms,
                  "Milliseconds to wait for a JetStream acknowledgement or an answer")
      ->capture_default_str();
}

void AddClusterCommands(CLI::App& app, Command& chosen) {
  auto engine_args_ptr = std::make_shared<cli::EngineArgs>();
  cli::EngineArgs& engine_args = *engine_args_ptr;
  auto* engine_cmd = app.add_subcommand(
      "engine",
      "Cluster mode: apply the towns this instance owns from the JetStream command stream, "
      "until SIGINT/SIGTERM (docs/scale-out.md)");
  AddClusterOptions(engine_cmd, engine_args.cluster, true);
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

  auto cluster_status_ptr = std::make_shared<cli::ClusterArgs>();
  cli::ClusterArgs& cluster_status = *cluster_status_ptr;
  auto move_args_ptr = std::make_shared<cli::MoveArgs>();
  cli::MoveArgs& move_args = *move_args_ptr;
  auto export_town_ptr = std::make_shared<cli::ExportTownArgs>();
  cli::ExportTownArgs& export_town = *export_town_ptr;
  auto* cluster_cmd = app.add_subcommand("cluster", "Operate cluster mode (docs/scale-out.md)");
  cluster_cmd->require_subcommand(1);
  auto* status_cmd = cluster_cmd->add_subcommand(
      "status", "Every town's owner, the stream's last command and what the owner applied");
  AddClusterOptions(status_cmd, cluster_status, true);
  auto* move_cmd = cluster_cmd->add_subcommand(
      "move", "Move a town to another engine instance and wait until it has caught up");
  AddClusterOptions(move_cmd, move_args.cluster, true);
  move_cmd->add_option("--town", move_args.town, "The town")->required();
  move_cmd->add_option("--to", move_args.to, "The instance that takes it (running)")->required();
  move_cmd->add_option("--wait", move_args.wait_s, "Seconds to wait for it to catch up")
      ->capture_default_str();
  auto* export_town_cmd = cluster_cmd->add_subcommand(
      "export", "Write a town's commands from the stream as NDJSON (for wangge import)");
  AddClusterOptions(export_town_cmd, export_town.cluster, true);
  export_town_cmd->add_option("--town", export_town.town, "The town")->required();
  export_town_cmd->add_option("--from", export_town.from, "First stream sequence")
      ->capture_default_str();
  export_town_cmd->add_option("--out", export_town.out, "File to write (default: stdout)");

  OnChosen(engine_cmd, chosen, [engine_args_ptr] { return RunEngineNode(*engine_args_ptr); });
  OnChosen(status_cmd, chosen,
           [cluster_status_ptr] { return RunClusterStatus(*cluster_status_ptr); });
  OnChosen(move_cmd, chosen, [move_args_ptr] { return RunMove(*move_args_ptr); });
  OnChosen(export_town_cmd, chosen, [export_town_ptr] { return RunExportTown(*export_town_ptr); });
}

}  // namespace wangge::cli
