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

}  // namespace wangge::cli
