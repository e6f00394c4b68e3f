// Cluster mode's link to NATS JetStream (docs/scale-out.md): the command stream, the
// town ownership bucket, and the wire forms of the province-wide stats fan-out.
//
// A town is a partition. Every command for town T is one message on the subject
// `wangge.cmd.T` of one stream, replicated by JetStream (R=3 by default); a report's
// message id is its client id, so the stream drops a retried publish. Which engine
// instance applies a town is recorded in the key-value bucket `wangge_towns`
// (town -> instance name). Nothing here replicates or elects: JetStream does.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/stats.h"
#include "wire/stats_json.h"

namespace wangge::cluster {

inline constexpr std::string_view kCommandPrefix = "wangge.cmd.";  // + town
inline constexpr std::string_view kStatsPrefix = "wangge.stats.";  // + town
inline constexpr std::string_view kControlPrefix = "wangge.ctl.";  // + instance
inline constexpr std::string_view kTownsBucket = "wangge_towns";
// Messages a consumer hands out before it waits for their acknowledgement (JetStream's
// MaxAckPending). Every reader acknowledges what it has taken, or delivery stops here.
inline constexpr int kConsumerWindow = 8192;

struct ClusterOptions {
  // NATS server URLs, comma-separated ("nats://127.0.0.1:4222,nats://..."). Required.
  std::string servers;
  // The command stream's name. Default: WANGGE.
  std::string stream = "WANGGE";
  // Replicas of the stream and the ownership bucket, used when they are created.
  // Default: 3.
  int replicas = 3;
  // Longest wait for a JetStream acknowledgement or a request's answer. Default: 5 s.
  std::chrono::milliseconds timeout{5000};

  Status Validate() const;
};

// A town name: 1-64 of [a-z0-9_-]. It becomes part of subjects, consumer names and
// directory names. kInvalidArgument naming "town".
Status ValidateTown(std::string_view town);
// An engine instance's name: the same alphabet. kInvalidArgument naming "name".
Status ValidateInstanceName(std::string_view name);
// "a,b,c" -> towns, each validated; kInvalidArgument naming the bad one.
Result<std::vector<std::string>> ParseTownList(std::string_view list);

struct PublishAck {
  uint64_t stream_seq = 0;
  bool duplicate = false;  // the stream already held this message id
};

// One connection to the NATS cluster and its JetStream context. Thread-safe (the C
// client's connection and context are).
class Nats {
 public:
  // Connects (reconnecting forever after a lost server) and checks JetStream answers.
  // kUnavailable: no server reachable. `name` shows in the servers' connection lists.
  static Result<std::unique_ptr<Nats>> Connect(const ClusterOptions& options,
                                               const std::string& name);
  ~Nats();
  Nats(const Nats&) = delete;
  Nats& operator=(const Nats&) = delete;

  const ClusterOptions& options() const { return options_; }

  // Creates the command stream and the ownership bucket when missing (with
  // options.replicas), else leaves them as they are.
  Status EnsureStream();

  // Publishes one command line for `town` and waits for the stream's acknowledgement,
  // which JetStream gives once a majority of the stream's replicas hold the message.
  // `msg_id` (may be empty) deduplicates retries. kUnavailable: no acknowledgement.
  Result<PublishAck> Publish(std::string_view town, std::string_view data,
                             const std::string& msg_id);

  struct StreamState {
    uint64_t messages = 0, bytes = 0;
    int replicas = 0;
  };
  Result<StreamState> State();
  // Towns with at least one command in the stream, sorted.
  Result<std::vector<std::string>> StreamTowns();
  // The stream sequence of the last command for `town`, 0 when none.
  Result<uint64_t> LastSequence(std::string_view town);
  // Every command message of `town` from stream sequence `from`, in order:
  // fn(stream_seq, data); fn returns false to stop.
  Status ReadTown(std::string_view town, uint64_t from,
                  const std::function<bool(uint64_t, std::string_view)>& fn);

  // Ownership: town -> instance.
  Result<std::optional<std::string>> Owner(std::string_view town);
  // Records `instance` as the owner of an unowned town. kAlreadyExists naming the
  // current owner when it has one (another instance, or `instance` itself).
  Status Claim(std::string_view town, const std::string& instance);
  // Moves `town` from `from` to `to`: kFailedPrecondition when `from` is not the owner.
  Status Reassign(std::string_view town, const std::string& from, const std::string& to);
  // Every (town, owner) pair, sorted by town.
  Result<std::vector<std::pair<std::string, std::string>>> Owners();

  // A request-reply round trip. kUnavailable: no responder or no answer in time.
  Result<std::string> Request(const std::string& subject, std::string_view data,
                              std::chrono::milliseconds timeout);

  // The same request to every subject at once, the answers gathered on one inbox until
  // all came or `timeout` passed. answers[i] is subjects[i]'s; nullopt when it did not
  // answer in time (no responder looks the same as a slow one here).
  Result<std::vector<std::optional<std::string>>> RequestAll(
      const std::vector<std::string>& subjects, std::string_view data,
      std::chrono::milliseconds timeout);

  struct Impl;  // the C client's handles; public so the engine node can use them
  Impl& impl() { return *impl_; }

 private:
  explicit Nats(ClusterOptions options);
  ClusterOptions options_;
  std::unique_ptr<Impl> impl_;
};

// The stats request an HTTP node sends each town's owner: the parameters as given, with
// as_of fixed by the HTTP node so every town judges overdue cases at the same instant.
std::string EncodeStatsRequest(const wire::StatsParams& params);
Result<wire::StatsParams> DecodeStatsRequest(std::string_view json);

// A town's answer: its rows with their raw counters (not percentiles), so that answers
// add up exactly. An error answer carries the status instead.
std::string EncodeStatsAnswer(const Result<engine::StatsResult>& result);
Result<engine::StatsResult> DecodeStatsAnswer(std::string_view json);

// Adds `part` into `total` row by row (same period and key): counters, overdue and
// backlog. Rows stay ordered by period, then key, as engine::QueryStats orders them.
void MergeStats(engine::StatsResult& total, const engine::StatsResult& part);

// A control answer's "ok": OK, or kFailedPrecondition with its "error"; kInternal when the
// answer is malformed.
Status DecodeControlAnswer(std::string_view answer);

// One town of an engine instance's status answer.
struct TownProgress {
  std::string town;
  uint64_t applied = 0;
  double lag_p50_ms = 0, lag_p99_ms = 0;
};
// The towns of a status answer from instance `name` (named in errors). kInternal: malformed.
Result<std::vector<TownProgress>> DecodeStatusAnswer(std::string_view answer,
                                                     const std::string& name);

}  // namespace wangge::cluster
