// Cluster mode end to end, on loopback (docs/scale-out.md): a 3-node NATS JetStream
// cluster (Debian's nats-server), two `wangge engine` instances and one
// `wangge serve --cluster` HTTP node, all real processes. Clients post reports and
// cancellations for three towns while the test kills a NATS node, SIGKILLs an engine
// instance and restarts it, and moves a town between instances. Afterwards:
// - every acknowledged report and cancellation is in its town's log exactly once;
// - each town's directory verifies, and its state digest equals that of a single-node
//   `wangge import` of the town's commands exported from the stream;
// - the HTTP node's province-wide stats equal a single node's holding every town.
#include "cluster/cluster.h"

#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <signal.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>

#include <boost/asio.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "cluster/engine_node.h"
#include "cluster/nats.h"
#include "engine/engine.h"
#include "tests/testing/builders.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wangge_process.h"
#include "wire/command_json.h"

namespace wangge::testing {
namespace {

namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// A child process; stopped (SIGTERM, then SIGKILL after 10 s) when destroyed.
class Process {
 public:
  Process() = default;
  Process(const std::vector<std::string>& args, std::string log) : log_(std::move(log)) {
    pid_ = Spawn(args, log_);
  }
  Process(Process&& o) noexcept : pid_(std::exchange(o.pid_, 0)), log_(std::move(o.log_)) {}
  Process& operator=(Process&& o) noexcept {
    Stop();
    pid_ = std::exchange(o.pid_, 0);
    log_ = std::move(o.log_);
    return *this;
  }
  ~Process() { Stop(); }

  bool running() const { return pid_ > 0; }
  const std::string& log() const { return log_; }
  std::string LogText() const {
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // Waits up to `seconds` for `text` in the log.
  bool WaitFor(const std::string& text, int seconds = 20) const {
    for (int i = 0; i < seconds * 50; ++i) {
      if (LogText().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  void Kill() { Signal(SIGKILL); }
  void Stop() { Signal(SIGTERM); }

 private:
  void Signal(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    for (int i = 0; i < 500; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }
  pid_t pid_ = 0;
  std::string log_;
};

// A port nobody listens on now (the kernel's choice for a port-0 bind).
uint16_t FreePort() {
  net::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// Three JetStream nodes on loopback, clustered.
class NatsCluster {
 public:
  explicit NatsCluster(const TempDir& dir) : dir_(dir) {
    for (int i = 0; i < 3; ++i) {
      client_[i] = FreePort();
      route_[i] = FreePort();
    }
    for (int i = 0; i < 3; ++i) Start(i);
  }
  std::string Urls() const {
    std::string urls;
    for (int i = 0; i < 3; ++i) {
      urls += (i ? "," : "") + std::string("nats://127.0.0.1:") + std::to_string(client_[i]);
    }
    return urls;
  }
  void Start(int i) {
    const std::string name = "n" + std::to_string(i);
    std::ofstream conf(dir_.Sub(name + ".conf"));
    conf << "server_name: " << name << "\nlisten: 127.0.0.1:" << client_[i]
         << "\njetstream { store_dir: \"" << dir_.Sub(name) << "\" }\n"
         << "cluster { name: wangge, listen: 127.0.0.1:" << route_[i] << ", routes: [";
    for (int r = 0; r < 3; ++r) {
      conf << (r ? ", " : "") << "nats://127.0.0.1:" << route_[r];
    }
    conf << "] }\n";
    conf.close();
    nodes_[i] = Process({"nats-server", "-c", dir_.Sub(name + ".conf")}, dir_.Sub(name + ".log"));
  }
  bool WaitReady() {
    for (int i = 0; i < 3; ++i) {
      if (!nodes_[i].WaitFor("Server is ready")) return false;
    }
    for (int t = 0; t < 1000; ++t) {
      for (int i = 0; i < 3; ++i) {
        if (nodes_[i].LogText().find("JetStream cluster new metadata leader") !=
                std::string::npos ||
            nodes_[i].LogText().find("Self is new JetStream cluster metadata leader") !=
                std::string::npos) {
          return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  Process& node(int i) { return nodes_[i]; }

 private:
  const TempDir& dir_;
  uint16_t client_[3]{}, route_[3]{};
  Process nodes_[3];
};

std::string AddToken(const std::string& tokens, const std::string& actor, const std::string& role) {
  CliRun run = Wangge("token add --tokens " + tokens + " --actor " + actor + " --role " + role);
  const size_t at = run.output.find("wg_");
  return at == std::string::npos ? run.output
                                 : run.output.substr(at, run.output.find('\n', at) - at);
}

// The applied position per town from `wangge cluster status`: town -> (owner, last, applied).
struct TownRow {
  std::string owner;
  std::string last, applied;
};
std::map<std::string, TownRow> Status(const std::string& urls) {
  std::map<std::string, TownRow> rows;
  std::istringstream in(Wangge("cluster status --cluster " + urls).output);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string town;
    TownRow r;
    words >> town >> r.owner >> r.last >> r.applied;
    // Skip the stream's summary line and the header.
    if (!town.empty() && town != "stream" && town != "town") rows[town] = r;
  }
  return rows;
}

bool AllApplied(const std::string& urls, int seconds) {
  for (int i = 0; i < seconds * 5; ++i) {
    auto rows = Status(urls);
    bool done = !rows.empty();
    for (const auto& [town, r] : rows) done = done && r.last == r.applied;
    if (done) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

// What clients were told was accepted (202).
struct Acked {
  std::mutex mu;
  std::map<std::string, std::string> reports;  // client id -> town
  std::set<std::string> cancels, escalations;
  std::atomic<int> failures{0};
};

HttpReply PostJson(uint16_t port, const std::string& target, const std::string& token,
                   const std::string& body) {
  return Request(port, http::verb::post, target, token, body);
}

// Posts reports round-robin over `towns`, retrying a failed post with the same client id
// (the stream drops the duplicate), and cancels every seventh acknowledged report.
std::vector<std::thread> StartLoad(uint16_t port, const std::string& worker,
                                   const std::string& supervisor,
                                   const std::vector<std::string>& towns, Acked& acked,
                                   std::atomic<bool>& stop) {
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c, port, towns] {
      for (int i = 0; !stop; ++i) {
        const std::string town = towns[static_cast<size_t>(i + c) % towns.size()];
        const std::string id = "c" + std::to_string(c) + "-" + std::to_string(i);
        HttpReply r;
        for (int attempt = 0; attempt < 20 && !stop; ++attempt) {
          r = PostJson(port, "/v1/reports?town=" + town, worker, ReportJson(id));
          if (r.status == 202) break;
          ++acked.failures;
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (r.status != 202) continue;
        {
          std::lock_guard lock(acked.mu);
          acked.reports[id] = town;
        }
        // Escalation is not idempotent (each one raises the level and is recorded), so
        // one applied twice would show.
        const bool cancel = i % 7 == 0, escalate = i % 5 == 0;
        if (!cancel && !escalate) continue;
        r = PostJson(port, "/v1/cases/" + id + "/transitions?town=" + town, supervisor,
                     cancel ? R"({"action": "cancel", "note": "test"})"
                            : R"({"action": "escalate", "note": "test"})");
        if (r.status == 202) {
          std::lock_guard lock(acked.mu);
          (cancel ? acked.cancels : acked.escalations).insert(id);
        }
      }
    });
  }
  return clients;
}

// Counts of report, cancel and escalation records by case id in a town directory's log.
struct LogCounts {
  std::map<std::string, int> reports, cancels, escalations;
};
LogCounts CountLog(const std::string& dir) {
  LogCounts counts;
  std::istringstream in(Wangge("export --data " + dir + " --what log").output);
  std::string line;
  const auto field = [](const std::string& l, const std::string& name) {
    const std::string key = "\"" + name + "\":\"";
    const size_t at = l.find(key);
    if (at == std::string::npos) return std::string();
    const size_t from = at + key.size();
    return l.substr(from, l.find('"', from) - from);
  };
  while (std::getline(in, line)) {
    const std::string kind = field(line, "kind"), id = field(line, "case_id");
    if (kind == "report") ++counts.reports[id];
    if (kind == "transition" && field(line, "action") == "cancel") ++counts.cancels[id];
    if (kind == "transition" && field(line, "action") == "escalate") ++counts.escalations[id];
  }
  return counts;
}

std::string Digest(const std::string& dir) {
  const std::string out = Wangge("verify --data " + dir).output;
  const size_t at = out.find("state digest: ");
  return at == std::string::npos ? "FAILED: " + out : out.substr(at + 14, 64);
}

// The "rows" member of a stats answer, the last but for the HTTP node's "towns".
std::string Rows(const std::string& json) {
  const size_t at = json.find("\"rows\":");
  if (at == std::string::npos) return "NO ROWS: " + json;
  std::string rows = json.substr(at);
  if (const size_t towns = rows.find(",\"towns\":"); towns != std::string::npos) {
    rows.resize(towns);
  }
  while (!rows.empty() && (rows.back() == '\n' || rows.back() == '}')) rows.pop_back();
  return rows;
}

TEST(Cluster, FaultsMovesAndStatsOnAThreeNodeJetStream) {
  if (Wangge("--help").exit_code != 0 || std::system("command -v nats-server > /dev/null") != 0) {
    FAIL() << "nats-server is not installed (scripts/deps.sh installs it)";
  }
  TempDir dir;
  NatsCluster nats(dir);
  ASSERT_TRUE(nats.WaitReady()) << nats.node(0).LogText();
  const std::string urls = nats.Urls();
  const std::string tokens = dir.Sub("tokens");
  const std::string worker = AddToken(tokens, "W001", "worker");
  const std::string supervisor = AddToken(tokens, "S1", "supervisor");
  ASSERT_EQ(worker.size(), supervisor.size());

  const auto engine = [&](const std::string& name, const std::string& towns) {
    std::vector<std::string> args = {WANGGE_BINARY, "engine", "--cluster", urls,
                                     "--name",      name,     "--data",    dir.Sub(name)};
    if (!towns.empty()) args.insert(args.end(), {"--towns", towns});
    return Process(args, dir.Sub(name + "-" + std::to_string(std::rand()) + ".log"));
  };
  Process e1 = engine("e1", "ta,tb");
  ASSERT_TRUE(e1.WaitFor("Ctrl-C stops")) << e1.LogText();
  Process e2 = engine("e2", "tc");
  ASSERT_TRUE(e2.WaitFor("Ctrl-C stops")) << e2.LogText();
  const uint16_t port = FreePort();
  Process serve({WANGGE_BINARY, "serve", "--cluster", urls, "--tokens", tokens, "--listen",
                 "127.0.0.1:" + std::to_string(port), "--nats-timeout", "3000"},
                dir.Sub("serve.log"));
  ASSERT_TRUE(serve.WaitFor("Ctrl-C stops")) << serve.LogText();

  // A second engine may not take a town another one owns.
  CliRun taken =
      Wangge("engine --cluster " + urls + " --name e3 --data " + dir.Sub("e3") + " --towns ta", 20);
  EXPECT_NE(taken.exit_code, 0);
  EXPECT_NE(taken.output.find("town ta is owned by engine e1"), std::string::npos) << taken.output;
  // A town nobody owns is refused before anything is published.
  EXPECT_EQ(PostJson(port, "/v1/reports?town=nowhere", worker, ReportJson("x-1")).status, 404);
  EXPECT_EQ(PostJson(port, "/v1/reports", worker, ReportJson("x-1")).status, 400);
  // Photos are a single node's: a report naming one is refused before it is published.
  std::string with_media = ReportJson("x-2");
  with_media.insert(with_media.size() - 1, R"(, "media": [")" + std::string(64, 'a') + R"("])");
  auto refused = PostJson(port, "/v1/reports?town=ta", worker, with_media);
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("\"field\":\"media\""), std::string::npos) << refused.body;
  EXPECT_EQ(Request(port, http::verb::get, "/v1/media/" + std::string(64, 'a'), worker, "").status,
            501);

  Acked acked;
  std::atomic<bool> stop{false};
  auto clients = StartLoad(port, worker, supervisor, {"ta", "tb", "tc"}, acked, stop);
  struct JoinAtExit {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~JoinAtExit() {
      stop = true;
      for (auto& t : threads) {
        if (t.joinable()) t.join();
      }
    }
  } join_at_exit{stop, clients};
  const auto acked_count = [&] {
    std::lock_guard lock(acked.mu);
    return acked.reports.size();
  };
  const auto wait_for_more = [&](size_t more) {
    const size_t target = acked_count() + more;
    for (int i = 0; i < 3000 && acked_count() < target; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return acked_count() >= target;
  };
  ASSERT_TRUE(wait_for_more(300));

  // 1. A NATS node dies under load; the stream keeps a majority.
  nats.node(1).Kill();
  EXPECT_TRUE(wait_for_more(300)) << "no progress with one NATS node down";
  nats.Start(1);

  // 2. An engine instance is SIGKILLed mid-stream and restarted.
  EXPECT_TRUE(wait_for_more(200));
  e1.Kill();
  EXPECT_TRUE(wait_for_more(200)) << "the HTTP node stopped acknowledging";
  e1 = engine("e1", "ta,tb");
  ASSERT_TRUE(e1.WaitFor("Ctrl-C stops", 70)) << e1.LogText();

  // 3. A town moves between instances under load.
  EXPECT_TRUE(wait_for_more(200));
  CliRun moved = Wangge("cluster move --cluster " + urls + " --town tb --to e2", 120);
  EXPECT_EQ(moved.exit_code, 0) << moved.output;
  EXPECT_NE(moved.output.find("town tb: moved to e2"), std::string::npos) << moved.output;
  EXPECT_TRUE(wait_for_more(200));

  stop = true;
  for (auto& t : clients) t.join();
  ASSERT_TRUE(AllApplied(urls, 60)) << Wangge("cluster status --cluster " + urls).output;
  const auto owners = Status(urls);
  ASSERT_EQ(owners.size(), 3u);
  EXPECT_EQ(owners.at("ta").owner, "e1");
  EXPECT_EQ(owners.at("tb").owner, "e2");
  EXPECT_EQ(owners.at("tc").owner, "e2");

  // Province-wide stats, judged at one instant after the last event.
  const std::string as_of = "2099-01-01T00:00:00%2B08:00";
  const std::string stats_query = "/v1/stats?group_by=office&as_of=" + as_of;
  HttpReply province = Request(port, http::verb::get, stats_query, supervisor);
  ASSERT_EQ(province.status, 200) << province.body;
  EXPECT_NE(province.body.find("\"towns\":3"), std::string::npos) << province.body;
  // Without e1's town the figures would be incomplete: 503, naming it.
  e1.Stop();
  HttpReply partial = Request(port, http::verb::get, stats_query, supervisor);
  EXPECT_EQ(partial.status, 503) << partial.body;
  EXPECT_NE(partial.body.find("town ta did not answer"), std::string::npos) << partial.body;

  serve.Stop();
  e2.Stop();

  // Every acknowledged command is in its town's log exactly once, and each town equals a
  // single-node import of its commands from the stream.
  std::map<std::string, std::string> town_dir = {{"ta", dir.Sub("e1/towns/ta")},
                                                 {"tb", dir.Sub("e2/towns/tb")},
                                                 {"tc", dir.Sub("e2/towns/tc")}};
  std::string all_commands;
  size_t reports_in_logs = 0, escalations_in_logs = 0;
  for (const auto& [town, path] : town_dir) {
    SCOPED_TRACE(town);
    const LogCounts counts = CountLog(path);
    for (const auto& [id, n] : counts.reports) EXPECT_EQ(n, 1) << id;
    for (const auto& [id, n] : counts.cancels) EXPECT_EQ(n, 1) << id;
    for (const auto& [id, t] : acked.reports) {
      if (t != town) continue;
      EXPECT_EQ(counts.reports.count(id), 1u) << "acknowledged report lost: " << id;
      if (acked.cancels.count(id)) {
        EXPECT_EQ(counts.cancels.count(id), 1u) << "acknowledged cancel lost: " << id;
      }
      if (acked.escalations.count(id)) {
        EXPECT_EQ(counts.escalations.count(id), 1u) << "acknowledged escalation lost: " << id;
      }
    }
    for (const auto& [id, n] : counts.escalations) EXPECT_EQ(n, 1) << "applied twice: " << id;
    escalations_in_logs += counts.escalations.size();
    reports_in_logs += counts.reports.size();

    const std::string exported = dir.Sub(town + ".ndjson");
    CliRun ex =
        Wangge("cluster export --cluster " + urls + " --town " + town + " --out " + exported);
    ASSERT_EQ(ex.exit_code, 0) << ex.output;
    std::ifstream in(exported);
    all_commands += std::string(std::istreambuf_iterator<char>(in), {});
    const std::string single = dir.Sub("single-" + town);
    CliRun imported = Wangge("import --create --data " + single + " " + exported);
    ASSERT_EQ(imported.exit_code, 0) << imported.output;
    const std::string digest = Digest(path);
    EXPECT_EQ(digest.size(), 64u) << digest;
    EXPECT_EQ(digest, Digest(single));
  }
  // Unacknowledged posts (a NATS node or the engine died mid-request) may have landed too.
  EXPECT_GE(reports_in_logs, acked.reports.size());
  EXPECT_GE(escalations_in_logs, acked.escalations.size());
  EXPECT_GT(acked.reports.size(), 1000u);
  std::cout << "acknowledged: " << acked.reports.size() << " reports, " << acked.cancels.size()
            << " cancellations, " << acked.escalations.size() << " escalations; " << acked.failures
            << " posts failed and were retried; in the logs: " << reports_in_logs << " reports, "
            << escalations_in_logs << " escalations\n";

  // One node holding every town gives the figures the HTTP node added up.
  const std::string all = dir.Sub("all.ndjson");
  std::ofstream(all) << all_commands;
  CliRun imported = Wangge("import --create --data " + dir.Sub("single-all") + " " + all);
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  CliRun single_stats = Wangge(
      "stats --json --group-by office --as-of 2099-01-01T00:00:00+08:00 "
      "--data " +
      dir.Sub("single-all"));
  ASSERT_EQ(single_stats.exit_code, 0) << single_stats.output;
  EXPECT_EQ(Rows(province.body), Rows(single_stats.output));
  EXPECT_NE(Rows(province.body).find("\"total\":"), std::string::npos);
}

// One JetStream node (R=1) on loopback, its store in `dir`.
Process StartSingleNats(const TempDir& dir, uint16_t port) {
  {
    std::ofstream conf(dir.Sub("n.conf"));
    conf << "listen: 127.0.0.1:" << port << "\njetstream { store_dir: \"" << dir.Sub("js")
         << "\" }\n";
  }
  return Process({"nats-server", "-c", dir.Sub("n.conf")}, dir.Sub("n.log"));
}

cluster::ClusterOptions SingleNatsOptions(uint16_t port) {
  cluster::ClusterOptions c;
  c.servers = "nats://127.0.0.1:" + std::to_string(port);
  c.replicas = 1;
  return c;
}

// One JetStream node (R=1) and an engine instance in this process, on a fake clock: the
// deadline timers come from the stream, once each, and a released town adopted again
// resumes where it stopped.
TEST(Cluster, TimersComeThroughTheStreamAndAReleasedTownResumes) {
  TempDir dir;
  const uint16_t port = FreePort();
  Process server = StartSingleNats(dir, port);
  ASSERT_TRUE(server.WaitFor("Server is ready")) << server.LogText();
  const cluster::ClusterOptions c = SingleNatsOptions(port);
  FakeClock clock;
  cluster::EngineNodeOptions o;
  o.cluster = c;
  o.name = "solo";
  o.data = dir.Sub("solo");
  o.towns = {"tx"};
  o.timer_interval = std::chrono::milliseconds(50);
  // What an attempt to make the town's directory left when it failed halfway: the next
  // attempt starts afresh.
  std::filesystem::create_directories(dir.Sub("solo/towns/.tx.new"));
  std::ofstream(dir.Sub("solo/towns/.tx.new/CURRENT")) << "half-made\n";
  cluster::EngineNode node(o, clock);
  ASSERT_TRUE(node.Start().ok());
  {
    // A second instance on the same directory would take the first one's deliveries.
    cluster::EngineNode twin(o, clock);
    const wangge::Status refused = twin.Start();
    EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition) << refused.ToString();
    EXPECT_NE(refused.message().find("another wangge engine is running on"), std::string::npos)
        << refused.ToString();
  }
  auto nats = cluster::Nats::Connect(c, "test");
  ASSERT_TRUE(nats.ok());

  const auto wait_until = [&](auto done) {
    for (int i = 0; i < 500 && !done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return done();
  };
  const auto town = [&] {
    auto towns = node.Towns();
    return towns.empty() ? cluster::TownState{} : towns[0];
  };
  engine::Command report = ReportCommand("urgent-1");
  std::get<engine::Report>(report.body).severity = 4;  // a 3-hour limit
  report.at = clock.Now();
  auto ack = (*nats)->Publish("tx", wire::EncodeCommand(report), "urgent-1");
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  ASSERT_TRUE(wait_until([&] { return town().applied == ack->stream_seq; }));
  const uint64_t head_after_report = town().log_head;
  EXPECT_EQ(head_after_report, 2u);  // the ruleset activation, the report
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("solo/towns/.tx.new")));

  // Past the warning point and the deadline: one warning and one breach, from the stream.
  clock.Advance(4 * 3600 * 1000);
  ASSERT_TRUE(wait_until([&] { return town().log_head == head_after_report + 2; }))
      << town().log_head;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(town().log_head, head_after_report + 2) << "a timer fired twice";
  auto last = (*nats)->LastSequence("tx");
  ASSERT_TRUE(last.ok());
  EXPECT_GE(*last, ack->stream_seq + 2);

  // Released, then adopted again: it resumes after what it applied.
  auto released = node.Release("tx");
  ASSERT_TRUE(released.ok()) << released.status().ToString();
  EXPECT_TRUE(node.Towns().empty());
  EXPECT_EQ(node.Release("tx").status().code(), StatusCode::kNotFound);
  auto second = (*nats)->Publish("tx", wire::EncodeCommand([&] {
                                   engine::Command r = ReportCommand("later-1");
                                   r.at = clock.Now();
                                   return r;
                                 }()),
                                 "later-1");
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(node.Adopt("tx").ok());
  ASSERT_TRUE(wait_until([&] { return town().applied == second->stream_seq; }));
  EXPECT_EQ(town().log_head, released->log_head + 1);
  EXPECT_EQ(town().commands, 1u) << "commands applied again after the adoption";
  EXPECT_EQ(node.Adopt("other").code(), StatusCode::kFailedPrecondition);

  // One request to every town at once: an answer from the town this node runs, none from
  // a town nobody runs.
  const std::string stats_request = cluster::EncodeStatsRequest({});
  auto answers = (*nats)->RequestAll(
      {std::string(cluster::kStatsPrefix) + "nobody", std::string(cluster::kStatsPrefix) + "tx"},
      stats_request, std::chrono::milliseconds(500));
  ASSERT_TRUE(answers.ok()) << answers.status().ToString();
  ASSERT_EQ(answers->size(), 2u);
  EXPECT_FALSE((*answers)[0].has_value());
  ASSERT_TRUE((*answers)[1].has_value());
  auto rows = cluster::DecodeStatsAnswer(*(*answers)[1]);
  EXPECT_TRUE(rows.ok()) << *(*answers)[1];
  node.Stop();

  engine::EngineOptions ro;
  ro.store.path = dir.Sub("solo/towns/tx");
  ro.store.read_only = true;
  auto e = engine::Engine::Open(ro, clock);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  auto history = (*e)->CaseHistory("urgent-1");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_TRUE(std::holds_alternative<engine::TimerFired>((*history)[1].record.body));
  EXPECT_TRUE(std::holds_alternative<engine::TimerFired>((*history)[2].record.body));
  auto position = (*e)->SourcePosition();
  ASSERT_TRUE(position.ok());
  EXPECT_EQ(*position, second->stream_seq);
}

// One JetStream node (R=1) with the command stream, and a connection to it.
class ClusterOnOneNode : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.emplace(StartSingleNats(dir_, port_));
    ASSERT_TRUE(server_->WaitFor("Server is ready")) << server_->LogText();
    auto connected = cluster::Nats::Connect(SingleNatsOptions(port_), "test");
    ASSERT_TRUE(connected.ok()) << connected.status().ToString();
    nats = std::move(*connected);
    ASSERT_TRUE(nats->EnsureStream().ok());
  }

  TempDir dir_;
  const uint16_t port_ = FreePort();
  std::optional<Process> server_;
  std::unique_ptr<cluster::Nats> nats;
};

// A town holding more commands than a consumer hands out unacknowledged is read to its
// end: the export acknowledges what it takes.
TEST_F(ClusterOnOneNode, AnExportReadsATownLongerThanTheConsumerWindow) {
  const int n = cluster::kConsumerWindow + 100;
  for (int i = 0; i < n; ++i) {
    const std::string id = "r-" + std::to_string(i);
    auto ack = nats->Publish("big", wire::EncodeCommand(ReportCommand(id)), id);
    ASSERT_TRUE(ack.ok()) << ack.status().ToString();
    // Another town's commands interleave, as they do in a province.
    if (i % 3 == 0) {
      ASSERT_TRUE(nats->Publish("small", "x", "s-" + id).ok());
    }
  }
  std::set<std::string> ids;
  uint64_t last_seq = 0;
  wire::CommandDecoder decoder;
  const wangge::Status read = nats->ReadTown("big", 1, [&](uint64_t seq, std::string_view data) {
    EXPECT_GT(seq, last_seq);
    last_seq = seq;
    auto command = decoder.Decode(data);
    EXPECT_TRUE(command.ok()) << command.status().ToString();
    if (!command.ok()) return true;
    if (auto* report = std::get_if<engine::Report>(&command->body)) ids.insert(report->client_id);
    return true;
  });
  ASSERT_TRUE(read.ok()) << read.ToString();
  EXPECT_EQ(ids.size(), static_cast<size_t>(n));
  EXPECT_EQ(last_seq, *nats->LastSequence("big"));
}

// Fetches take at most what they asked for, in delivery order, with many consumers
// behind their subjects on one connection, as an engine instance runs its towns. (The C
// client's own fetch wrote past its message array in this situation.)
TEST_F(ClusterOnOneNode, FetchesStayWithinTheirBatchAndInOrder) {
  const int towns = 8, per_town = 2500;
  for (int i = 0; i < per_town; ++i) {
    for (int t = 0; t < towns; ++t) {
      const std::string id = "m-" + std::to_string(t) + "-" + std::to_string(i);
      ASSERT_TRUE(nats->Publish("q" + std::to_string(t), "x", id).ok());
    }
  }
  std::vector<std::string> failures(towns);
  std::vector<std::thread> threads;
  for (int t = 0; t < towns; ++t) {
    threads.emplace_back([&, t] {
      const std::string town = "q" + std::to_string(t);
      cluster::PullConsumer consumer;
      wangge::Status opened = consumer.Open(
          nats->impl(), "WANGGE", std::string(cluster::kCommandPrefix) + town, "fetch-" + town, 1);
      if (!opened.ok()) return void(failures[t] = opened.ToString());
      // Mixed batch sizes and waits often too short for their messages: later fetches
      // find an earlier request's messages queued.
      std::mt19937 random(static_cast<unsigned>(t));
      uint64_t last_seq = 0;
      int taken = 0;
      for (int round = 0; taken < per_town && round < 3000; ++round) {
        if (round == 40) {
          // Reopened at its own position, as a town worker does after an error: what the
          // replaced consumer still had on the way is dropped, nothing is lost.
          wangge::Status reopened =
              consumer.Open(nats->impl(), "WANGGE", std::string(cluster::kCommandPrefix) + town,
                            "fetch-" + town, last_seq + 1);
          if (!reopened.ok()) return void(failures[t] = reopened.ToString());
        }
        const int max = std::array{7, 300, 1024}[random() % 3];
        const auto wait = std::chrono::milliseconds(random() % 4 == 0 ? 250 : 1);
        auto batch = consumer.Fetch(max, wait);
        if (!batch.ok()) return void(failures[t] = batch.status().ToString());
        if (batch->msgs.size() > static_cast<size_t>(max)) {
          return void(failures[t] =
                          fmt::format("{} messages for a batch of {}", batch->msgs.size(), max));
        }
        for (natsMsg* msg : batch->msgs) {
          const uint64_t seq = cluster::PullConsumer::StreamSeq(msg);
          if (seq <= last_seq) return void(failures[t] = fmt::format("{} after {}", seq, last_seq));
          last_seq = seq;
        }
        taken += static_cast<int>(batch->msgs.size());
        batch->AckAll();
      }
      if (taken != per_town) failures[t] = fmt::format("{} of {} taken", taken, per_town);
      (void)consumer.Delete();
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < towns; ++t) EXPECT_EQ(failures[t], "") << "town q" << t;
}

// A command larger than a fetch's byte budget still comes through: the fetch asks again
// with more room when the server says it does not fit.
TEST_F(ClusterOnOneNode, ALargeCommandGetsRoomBeyondTheByteBudget) {
  const std::vector<size_t> sizes = {300, 60'000, 300, 300, 40'000, 300};
  for (size_t i = 0; i < sizes.size(); ++i) {
    ASSERT_TRUE(nats->Publish("big", std::string(sizes[i], 'x'), "m-" + std::to_string(i)).ok());
  }
  cluster::PullConsumer consumer;
  ASSERT_TRUE(
      consumer
          .Open(nats->impl(), "WANGGE", std::string(cluster::kCommandPrefix) + "big", "big-test", 1)
          .ok());
  std::vector<size_t> got;
  for (int round = 0; round < 20 && got.size() < sizes.size(); ++round) {
    auto batch = consumer.Fetch(100, std::chrono::milliseconds(200), 16 << 10);
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    for (natsMsg* msg : batch->msgs) got.push_back(static_cast<size_t>(natsMsg_GetDataLength(msg)));
    batch->AckAll();
  }
  EXPECT_EQ(got, sizes);
}

}  // namespace
}  // namespace wangge::testing
