#include "cluster/http_node.h"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "wire/command_json.h"

namespace wangge::cluster {

namespace net = boost::asio;

HttpNode::HttpNode(Nats& nats, const Clock& clock, int threads)
    : nats_(nats),
      clock_(clock),
      pool_(std::make_unique<net::thread_pool>(static_cast<size_t>(threads))) {}

HttpNode::~HttpNode() { Stop(); }

void HttpNode::Stop() { pool_->join(); }

Status HttpNode::CheckTown(const std::string& town) {
  const auto now = std::chrono::steady_clock::now();
  {
    MutexLock lock(towns_mu_);
    auto it = known_towns_.find(town);
    if (it != known_towns_.end() && now - it->second < std::chrono::seconds(10)) {
      return Status::Ok();
    }
  }
  WANGGE_ASSIGN_OR_RETURN(auto owner, nats_.Owner(town));
  if (!owner) return NotFound("no engine instance owns town " + town);
  MutexLock lock(towns_mu_);
  known_towns_[town] = now;
  return Status::Ok();
}

void HttpNode::Submit(engine::Command command, const std::string& town, const std::string& key,
                      std::function<void(Result<wire::Accepted>)> done) {
  // Photos live in a town's data directory and this node has none: a command naming one
  // would be acknowledged here and then refused by the engine. Refuse it before publishing.
  const auto* report = std::get_if<engine::Report>(&command.body);
  const auto* transition = std::get_if<engine::Transition>(&command.body);
  if ((report && !report->media.empty()) || (transition && !transition->media.empty())) {
    return done(Status(StatusCode::kFailedPrecondition,
                       "photos are not taken in cluster mode: send the report without "
                       "\"media\" (docs/scale-out.md)",
                       "media"));
  }
  if (!command.at) command.at = clock_.Now();
  net::post(*pool_, [this, town, key, received = *command.at, data = wire::EncodeCommand(command),
                     done = std::move(done)]() {
    Status s = CheckTown(town);
    if (!s.ok()) return done(s);
    auto ack = nats_.Publish(town, data, key);
    if (!ack.ok()) return done(ack.status());
    wire::Accepted accepted;
    accepted.queued = wire::Accepted::Queued{town, ack->stream_seq, ack->duplicate, received};
    done(std::move(accepted));
  });
}

void HttpNode::Read(const wire::StatsParams& params, const engine::StatsQuery& query,
                    std::function<void(Result<wire::Figures>)> done) {
  net::post(*pool_, [this, params, query, done = std::move(done)]() -> void {
    auto towns = nats_.StreamTowns();
    if (!towns.ok()) return done(towns.status());
    const std::string request = EncodeStatsRequest(params);
    std::vector<std::string> subjects;
    for (const auto& town : *towns) subjects.push_back(std::string(kStatsPrefix) + town);
    auto answers = nats_.RequestAll(subjects, request, nats_.options().timeout);
    if (!answers.ok()) return done(answers.status());
    wire::Figures total;
    for (size_t i = 0; i < towns->size(); ++i) {
      if (!(*answers)[i]) {
        return done(Unavailable("town " + (*towns)[i] +
                                " did not answer in time; the figures would be incomplete"));
      }
      auto part = DecodeStatsAnswer(*(*answers)[i]);
      if (!part.ok()) return done(part.status());
      MergeStats(total.result, *part);
    }
    total.partitions = towns->size();
    (void)query;  // the towns build their own from `params`
    done(std::move(total));
  });
}

}  // namespace wangge::cluster
