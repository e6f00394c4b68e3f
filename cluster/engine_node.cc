#include "cluster/engine_node.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <future>
#include <optional>
#include <sys/file.h>
#include <thread>
#include <unistd.h>
#include <utility>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include "cluster/nats.h"
#include "core/mutex.h"
#include "engine/engine.h"
#include "wire/command_json.h"
#include "wire/json_writer.h"

namespace wangge::cluster {
using wire::CommandDecoder;
using wire::EncodeCommand;
namespace json = boost::json;

namespace {

// An async subscription that answers requests with `handler` (given the subject and the
// data; nullopt = stay silent), stopped only after its last callback returned.
class Responder {
 public:
  using Handler =
      std::function<std::optional<std::string>(std::string_view subject, std::string_view data)>;
  ~Responder() { Stop(); }

  Status Start(natsConnection* nc, const std::string& subject, Handler handler) {
    handler_ = std::move(handler);
    natsStatus s = natsConnection_Subscribe(&sub_, nc, subject.c_str(), &Responder::OnMsg, this);
    if (s == NATS_OK) s = natsSubscription_SetOnCompleteCB(sub_, &Responder::OnComplete, this);
    return NatsStatus(s, static_cast<jsErrCode>(0), "subscribe to " + subject);
  }

  void Stop() {
    if (!sub_) return;
    auto done = completed_.get_future();
    if (natsSubscription_Unsubscribe(sub_) == NATS_OK) {
      done.wait_for(std::chrono::seconds(10));
    }
    natsSubscription_Destroy(sub_);
    sub_ = nullptr;
  }

 private:
  static void OnMsg(natsConnection* nc, natsSubscription*, natsMsg* msg, void* closure) {
    auto* self = static_cast<Responder*>(closure);
    const auto answer = self->handler_(
        natsMsg_GetSubject(msg),
        std::string_view(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg))));
    const char* reply = natsMsg_GetReply(msg);
    if (answer && reply != nullptr && reply[0] != '\0') {
      natsConnection_Publish(nc, reply, answer->data(), static_cast<int>(answer->size()));
    }
    natsMsg_Destroy(msg);
  }
  static void OnComplete(void* closure) {
    static_cast<Responder*>(closure)->completed_.set_value();
  }

  Handler handler_;
  natsSubscription* sub_ = nullptr;
  std::promise<void> completed_;
};

std::string ErrorAnswer(const Status& s) {
  return wire::WriteJson(json::object{{"ok", false}, {"error", s.ToString()}});
}

json::object StateJson(const TownState& t) {
  return json::object{{"town", t.town},
                      {"applied", t.applied},
                      {"log_head", t.log_head},
                      {"commands", t.commands},
                      {"lag_p50_ms", t.lag_p50_ms},
                      {"lag_p99_ms", t.lag_p99_ms},
                      {"lag_max_ms", t.lag_max_ms}};
}

}  // namespace

// One town: its directory, its consumer and the thread that applies it.
class TownWorker {
 public:
  TownWorker(Nats& nats, const EngineNodeOptions& options, std::string town, const Clock& clock,
             std::shared_ptr<storage::SharedMemory> memory, const std::atomic<int>& running)
      : nats_(nats),
        options_(options),
        running_(running),
        memory_(std::move(memory)),
        town_(std::move(town)),
        clock_(clock),
        dir_((std::filesystem::path(options.data) / "towns" / town_).string()),
        durable_(fmt::format("wangge-{}-{}", town_, options.name)) {}
  ~TownWorker() { Stop(false); }

  Status Start() {
    if (std::filesystem::exists(dir_)) WANGGE_RETURN_IF_ERROR(OpenEngine(std::nullopt));
    thread_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  // Stops after the batch in hand is durable. `remove_consumer`: the town is leaving
  // this instance, so its consumer goes too.
  TownState Stop(bool remove_consumer) {
    {
      MutexLock lock(mu_);
      if (stopped_) return StateLocked();
      stopping_ = true;
    }
    cv_.NotifyAll();
    if (thread_.joinable()) thread_.join();
    MutexLock lock(mu_);
    if (remove_consumer) {
      if (Status s = DeleteConsumer(nats_.impl(), nats_.options().stream, durable_); !s.ok()) {
        spdlog::warn("town {}: {}", town_, s.ToString());
      }
    }
    TownState state = StateLocked();
    if (engine_) engine_->Stop();
    engine_.reset();
    stopped_ = true;
    return state;
  }

  TownState State() const {
    MutexLock lock(mu_);
    return StateLocked();
  }

  std::string Stats(std::string_view request) { return AnswerStats(request); }

  // Publishes the town's due timers to its subject; the stream's message ids drop the
  // repeats of a timer published on an earlier tick and not applied yet.
  void PublishDueTimers() {
    auto engine = Engine();
    if (!engine) return;
    const TimeMs now = clock_.Now();
    auto due = engine->DueTimers(now, 1000);
    if (!due.ok()) return spdlog::warn("town {}: timers: {}", town_, due.status().ToString());
    for (auto& c : *due) {
      const auto& t = std::get<engine::TimerFired>(c.body);
      const std::string id = fmt::format("timer-{}-{}", static_cast<int>(t.kind), t.case_id);
      c.at = now;
      auto ack = nats_.Publish(town_, EncodeCommand(c), id);
      if (!ack.ok()) return spdlog::warn("town {}: timers: {}", town_, ack.status().ToString());
    }
  }

 private:
  std::shared_ptr<engine::Engine> Engine() const {
    MutexLock lock(mu_);
    return engine_;
  }

  TownState StateLocked() const WANGGE_REQUIRES(mu_) {
    TownState s{town_, applied_, 0, commands_};
    if (engine_) s.log_head = engine_->head().seq.value;
    if (!lags_.empty()) {
      std::vector<int64_t> sorted = lags_;
      std::sort(sorted.begin(), sorted.end());
      const auto at = [&](double q) {
        const double index = q * static_cast<double>(sorted.size() - 1);
        return static_cast<double>(sorted[static_cast<size_t>(index)]);
      };
      s.lag_p50_ms = at(0.5);
      s.lag_p99_ms = at(0.99);
      s.lag_max_ms = static_cast<double>(sorted.back());
    }
    return s;
  }

  static constexpr size_t kLagSamples = 1'000'000;

  // The bytes one fetch may bring: the instance's towns share kInFlightBytes, so towns all
  // far behind (a restart after downtime) do not overrun the server's buffer for this
  // connection (64 MB; past it the server drops messages and the fetch sees the gap).
  // Never under 16 KB, about 40 report commands; a larger command gets more room when
  // the server says it does not fit (PullConsumer::Fetch).
  static constexpr int64_t kInFlightBytes = int64_t{8} << 20;
  int64_t FetchBytes() const {
    const int64_t share = kInFlightBytes / std::max(1, running_.load());
    return std::max<int64_t>(share, 16 << 10);
  }

  // `first_at`: a new directory's built-in activation time (the first command's).
  Status OpenEngine(std::optional<TimeMs> first_at) {
    if (!std::filesystem::exists(dir_)) WANGGE_RETURN_IF_ERROR(CreateDirectory(first_at));
    WANGGE_ASSIGN_OR_RETURN(std::unique_ptr<engine::Engine> opened,
                            engine::Engine::Open(EngineOptions(dir_, false, std::nullopt), clock_));
    WANGGE_ASSIGN_OR_RETURN(const uint64_t position, opened->SourcePosition());
    MutexLock lock(mu_);
    engine_ = std::move(opened);
    applied_ = position;
    return Status::Ok();
  }

  // `create`: a new directory whose built-in ruleset is activated at `first_at`.
  engine::EngineOptions EngineOptions(const std::string& path, bool create,
                                      std::optional<TimeMs> first_at) const {
    engine::EngineOptions o;
    o.store.path = path;
    o.store.create_if_missing = create;
    o.store.sync = options_.sync;
    o.store.shared_memory = memory_;
    o.first_activation_at = first_at;
    return o;
  }

  // Makes the town's directory under a temporary name and renames it when it is
  // complete, so a failure halfway (descriptors or disk running out) leaves nothing that
  // looks like the town's directory but cannot be opened.
  Status CreateDirectory(std::optional<TimeMs> first_at) {
    namespace fs = std::filesystem;
    const fs::path dir(dir_);
    const fs::path making = dir.parent_path() / ("." + town_ + ".new");
    std::error_code ec;
    fs::remove_all(making, ec);  // an earlier attempt's
    fs::create_directories(dir.parent_path(), ec);
    {
      auto made = engine::Engine::Open(EngineOptions(making.string(), true, first_at), clock_);
      if (!made.ok()) {
        fs::remove_all(making, ec);
        return made.status();
      }
      (*made)->Stop();
    }
    fs::rename(making, dir, ec);
    if (ec)
      return IOError(
          fmt::format("cannot rename {} to {}: {}", making.string(), dir_, ec.message()));
    return Status::Ok();
  }

  bool WaitStopping(std::chrono::milliseconds d) {
    MutexLock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + d;
    while (!stopping_ && cv_.WaitUntil(lock, deadline)) {
    }
    return stopping_;
  }
  bool Stopping() {
    MutexLock lock(mu_);
    return stopping_;
  }

  void Run() {
    while (!Stopping()) {
      Status s = Consume();
      if (!s.ok())
        spdlog::warn("town {}: {}; resuming from the last applied command", town_, s.ToString());
      if (WaitStopping(std::chrono::seconds(1))) break;
    }
  }

  // Applies from the last durable position until stopped or an error.
  Status Consume() {
    uint64_t submitted = State().applied;
    WANGGE_RETURN_IF_ERROR(consumer_.Open(nats_.impl(), nats_.options().stream,
                                          std::string(kCommandPrefix) + town_, durable_,
                                          submitted + 1));
    while (!Stopping()) {
      WANGGE_ASSIGN_OR_RETURN(
          MessageBatch batch,
          consumer_.Fetch(options_.fetch_batch, std::chrono::milliseconds(250), FetchBytes()));
      if (!batch.msgs.empty()) WANGGE_RETURN_IF_ERROR(Apply(batch, submitted));
    }
    return Status::Ok();
  }

  Status Apply(MessageBatch& batch, uint64_t& submitted) {
    std::vector<std::future<Result<engine::Outcome>>> pending;
    std::vector<TimeMs> stamped;  // the applied commands' `at`
    std::shared_ptr<engine::Engine> engine = Engine();
    for (natsMsg* msg : batch.msgs) {
      const uint64_t seq = PullConsumer::StreamSeq(msg);
      if (seq <= submitted) continue;  // a redelivery of an applied command
      const std::string_view data(natsMsg_GetData(msg),
                                  static_cast<size_t>(natsMsg_GetDataLength(msg)));
      auto decoded = decoder_.Decode(data);
      if (!decoded.ok()) {
        // HTTP nodes publish only commands they decoded; this one came from elsewhere.
        spdlog::error("town {}: stream message {} is not a command ({}); skipped", town_, seq,
                      decoded.status().ToString());
        continue;
      }
      engine::Command command = std::move(decoded).value();
      if (!engine) {
        WANGGE_RETURN_IF_ERROR(OpenEngine(command.at));
        engine = Engine();
      }
      command.source_seq = seq;
      if (command.at) stamped.push_back(*command.at);
      pending.push_back(engine->sequencer().Submit(std::move(command)));
      submitted = seq;
    }
    for (auto& f : pending) (void)f.get();  // refusals are the log's business, not ours
    if (!engine) return Status::Ok();
    WANGGE_ASSIGN_OR_RETURN(const uint64_t position, engine->SourcePosition());
    const TimeMs now = clock_.Now();
    {
      MutexLock lock(mu_);
      commands_ += pending.size();
      applied_ = position;
      for (TimeMs at : stamped) {
        if (lags_.size() < kLagSamples) {
          lags_.push_back(now.ms - at.ms);
        } else {
          lags_[lag_next_++ % kLagSamples] = now.ms - at.ms;
        }
      }
    }
    if (position < submitted) {
      submitted = position;
      return Unavailable(fmt::format("commit failed after stream sequence {}", position));
    }
    batch.AckAll();
    return Status::Ok();
  }

  // The town's raw stats rows for the HTTP node's fan-out (cluster::DecodeStatsAnswer).
  std::string AnswerStats(std::string_view request) {
    auto params = DecodeStatsRequest(request);
    if (!params.ok()) return EncodeStatsAnswer(params.status());
    engine::StatsQuery q;
    if (Status s = BuildStatsQuery(*params, clock_.Now(), q); !s.ok()) return EncodeStatsAnswer(s);
    auto engine = Engine();
    if (!engine) return EncodeStatsAnswer(engine::StatsResult{});  // nothing applied yet
    return EncodeStatsAnswer(engine->Stats(q));
  }

  Nats& nats_;
  const EngineNodeOptions& options_;
  const std::atomic<int>& running_;  // towns on this instance
  PullConsumer consumer_;            // the worker thread's; reopened after errors
  const std::shared_ptr<storage::SharedMemory> memory_;
  const std::string town_;
  const Clock& clock_;
  const std::string dir_;
  const std::string durable_;
  CommandDecoder decoder_;  // the worker thread's

  mutable Mutex mu_;
  CondVar cv_;
  bool stopping_ WANGGE_GUARDED_BY(mu_) = false;
  bool stopped_ WANGGE_GUARDED_BY(mu_) = false;
  // Null until a command came.
  std::shared_ptr<engine::Engine> engine_ WANGGE_GUARDED_BY(mu_);
  uint64_t applied_ WANGGE_GUARDED_BY(mu_) = 0;
  uint64_t commands_ WANGGE_GUARDED_BY(mu_) = 0;
  std::vector<int64_t> lags_ WANGGE_GUARDED_BY(mu_);  // ms, a ring of kLagSamples
  size_t lag_next_ WANGGE_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

struct EngineNode::Control {
  Responder responder;
  // One subscription for every town's stats subject: only the instance running a town
  // answers for it.
  Responder stats;
  std::thread timers;
  Mutex mu;
  CondVar cv;
  bool stop WANGGE_GUARDED_BY(mu) = false;
};

Status EngineNodeOptions::Validate() const {
  WANGGE_RETURN_IF_ERROR(cluster.Validate());
  WANGGE_RETURN_IF_ERROR(ValidateInstanceName(name));
  if (data.empty()) return InvalidArgument("engine: no data directory given", "data");
  for (const auto& t : towns) WANGGE_RETURN_IF_ERROR(ValidateTown(t));
  if (fetch_batch < 1 || fetch_batch > 8192) {
    return InvalidArgument("engine: fetch batch must be 1-8192", "fetch_batch");
  }
  return Status::Ok();
}

namespace {

// One engine process per data directory: a second one would recreate the towns'
// consumers and take the first one's deliveries. The lock goes with the process.
Result<int> LockDataDirectory(const std::string& data) {
  std::error_code ec;
  std::filesystem::create_directories(data, ec);
  const std::string path = (std::filesystem::path(data) / "engine.lock").string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return IOError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Status(StatusCode::kFailedPrecondition,
                  fmt::format("another wangge engine is running on {} ({} is locked)", data, path),
                  "data");
  }
  return fd;
}

}  // namespace

EngineNode::EngineNode(EngineNodeOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock), control_(std::make_unique<Control>()) {}

EngineNode::~EngineNode() { Stop(); }

Status EngineNode::Start() {
  WANGGE_RETURN_IF_ERROR(options_.Validate());
  WANGGE_ASSIGN_OR_RETURN(lock_fd_, LockDataDirectory(options_.data));
  WANGGE_ASSIGN_OR_RETURN(
      memory_, storage::NewSharedMemory(options_.block_cache_bytes, options_.memtable_bytes));
  WANGGE_ASSIGN_OR_RETURN(nats_, Nats::Connect(options_.cluster, "wangge-engine-" + options_.name));
  WANGGE_RETURN_IF_ERROR(nats_->EnsureStream());
  for (const auto& town : options_.towns) {
    Status claimed = nats_->Claim(town, options_.name);
    if (claimed.code() == StatusCode::kAlreadyExists) {
      WANGGE_ASSIGN_OR_RETURN(auto owner, nats_->Owner(town));
      if (owner && *owner == options_.name) continue;
      return Status(StatusCode::kAlreadyExists,
                    claimed.message() + "; move it with: wangge cluster move --town " + town +
                        " --to " + options_.name,
                    "towns");
    }
    WANGGE_RETURN_IF_ERROR(claimed);
  }
  WANGGE_ASSIGN_OR_RETURN(auto owners, nats_->Owners());
  for (const auto& [town, owner] : owners) {
    if (owner == options_.name) WANGGE_RETURN_IF_ERROR(Adopt(town));
  }
  WANGGE_RETURN_IF_ERROR(control_->responder.Start(
      nats_->impl().nc, std::string(kControlPrefix) + options_.name,
      [this](std::string_view, std::string_view q) -> std::optional<std::string> {
        std::string answer;
        HandleControl(q, answer);
        return answer;
      }));
  WANGGE_RETURN_IF_ERROR(control_->stats.Start(
      nats_->impl().nc, std::string(kStatsPrefix) + "*",
      [this](std::string_view subject, std::string_view q) -> std::optional<std::string> {
        const std::string town(subject.substr(kStatsPrefix.size()));
        MutexLock lock(mu_);  // a town is not released while it answers
        auto it = workers_.find(town);
        if (it == workers_.end()) return std::nullopt;
        return it->second->Stats(q);
      }));
  if (options_.timer_interval.count() > 0) {
    control_->timers = std::thread([this] { RunTimers(); });
  }
  return Status::Ok();
}

void EngineNode::RunTimers() {
  MutexLock lock(control_->mu);
  for (;;) {
    const auto tick = std::chrono::steady_clock::now() + options_.timer_interval;
    while (!control_->stop && control_->cv.WaitUntil(lock, tick)) {
    }
    if (control_->stop) return;
    lock.Unlock();
    std::vector<TownWorker*> workers;
    {
      MutexLock w(mu_);
      for (auto& [town, worker] : workers_) workers.push_back(worker.get());
      for (auto* worker : workers) worker->PublishDueTimers();  // under mu_: no release meanwhile
    }
    lock.Lock();
  }
}

void EngineNode::Stop() {
  {
    MutexLock lock(control_->mu);
    control_->stop = true;
  }
  control_->cv.NotifyAll();
  if (control_->timers.joinable()) control_->timers.join();
  control_->responder.Stop();
  control_->stats.Stop();
  std::map<std::string, std::unique_ptr<TownWorker>> workers;
  {
    MutexLock lock(mu_);
    workers.swap(workers_);
  }
  for (auto& [town, worker] : workers) worker->Stop(false);
  workers.clear();
  nats_.reset();
  if (lock_fd_ >= 0) ::close(std::exchange(lock_fd_, -1));
}

Status EngineNode::Adopt(const std::string& town) {
  WANGGE_RETURN_IF_ERROR(ValidateTown(town));
  WANGGE_ASSIGN_OR_RETURN(auto owner, nats_->Owner(town));
  if (!owner || *owner != options_.name) {
    return FailedPrecondition(fmt::format("town {} is not this instance's ({}) but {}'s", town,
                                          options_.name, owner.value_or("nobody")));
  }
  MutexLock lock(mu_);
  if (workers_.contains(town)) return Status::Ok();
  auto worker = std::make_unique<TownWorker>(*nats_, options_, town, clock_, memory_, running_);
  WANGGE_RETURN_IF_ERROR(worker->Start());
  spdlog::info("engine {}: applying town {} from stream sequence {}", options_.name, town,
               worker->State().applied + 1);
  workers_.emplace(town, std::move(worker));
  running_ = static_cast<int>(workers_.size());
  return Status::Ok();
}

Result<TownState> EngineNode::Release(const std::string& town) {
  std::unique_ptr<TownWorker> worker;
  {
    MutexLock lock(mu_);
    auto it = workers_.find(town);
    if (it == workers_.end()) return NotFound("this instance does not run town " + town);
    worker = std::move(it->second);
    workers_.erase(it);
    running_ = static_cast<int>(workers_.size());
  }
  TownState state = worker->Stop(true);
  spdlog::info("engine {}: released town {} at stream sequence {}", options_.name, town,
               state.applied);
  return state;
}

std::vector<TownState> EngineNode::Towns() const {
  MutexLock lock(mu_);
  std::vector<TownState> towns;
  for (const auto& [town, worker] : workers_) towns.push_back(worker->State());
  return towns;
}

void EngineNode::HandleControl(std::string_view request, std::string& answer) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view op, town;
  if (parser.parse(request.data(), request.size()).get(doc) || doc["op"].get_string().get(op)) {
    answer = ErrorAnswer(InvalidArgument("control request needs a JSON object with \"op\""));
    return;
  }
  if (op == "status") {
    json::array towns;
    for (const auto& t : Towns()) towns.push_back(StateJson(t));
    answer = wire::WriteJson(
        json::object{{"ok", true}, {"name", options_.name}, {"towns", std::move(towns)}});
    return;
  }
  if (doc["town"].get_string().get(town)) {
    answer = ErrorAnswer(InvalidArgument("control request needs \"town\""));
    return;
  }
  const std::string name(town);
  if (op == "adopt") {
    Status s = Adopt(name);
    answer = s.ok() ? wire::WriteJson(json::object{{"ok", true}, {"town", name}}) : ErrorAnswer(s);
  } else if (op == "release") {
    auto state = Release(name);
    answer = state.ok() ? wire::WriteJson(json::object{{"ok", true}, {"state", StateJson(*state)}})
                        : ErrorAnswer(state.status());
  } else {
    answer = ErrorAnswer(InvalidArgument("unknown control op '" + std::string(op) + "'"));
  }
}

}  // namespace wangge::cluster
