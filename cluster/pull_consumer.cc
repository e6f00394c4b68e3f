// JetStream's pull protocol, spoken by cluster::PullConsumer (cluster/nats.h).
#include <nats/nats.h>

#include <fmt/format.h>

#include "cluster/nats.h"

namespace wangge::cluster {

Status PullConsumer::Open(Nats::Impl& nats, const std::string& stream, const std::string& subject,
                          const std::string& durable, uint64_t start_seq) {
  nats_ = &nats;
  stream_ = stream;
  durable_ = durable;
  // The position is the caller's: a consumer of that name left by an earlier run is
  // replaced, so delivery starts exactly at start_seq.
  (void)DeleteConsumer(nats, stream, durable);  // a failure shows when it is created below
  jsConsumerConfig cfg;
  jsConsumerConfig_Init(&cfg);
  cfg.Durable = durable.c_str();
  cfg.DeliverPolicy = start_seq <= 1 ? js_DeliverAll : js_DeliverByStartSequence;
  cfg.OptStartSeq = start_seq <= 1 ? 0 : start_seq;
  cfg.AckPolicy = js_AckExplicit;
  cfg.AckWait = int64_t{60} * 1'000'000'000;
  cfg.MaxAckPending = kConsumerWindow;
  cfg.FilterSubject = subject.c_str();
  jsConsumerInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_AddConsumer(&info, nats.js, stream.c_str(), &cfg, nullptr, &jerr);
  jsConsumerInfo_Destroy(info);
  WANGGE_RETURN_IF_ERROR(NatsStatus(s, jerr, "consumer " + durable + " on " + subject));

  next_subject_ = fmt::format("$JS.API.CONSUMER.MSG.NEXT.{}.{}", stream, durable);
  open_ = 0;  // the replaced consumer's requests went with it
  delivered_ = 0;
  if (sub_) {
    // The inbox stays (subscriptions are not churned). What the replaced consumer sent
    // came before the server's answer to the creation above, so it is queued by now.
    uint64_t queued = 0;
    natsSubscription_QueuedMsgs(sub_, &queued);
    for (; queued > 0; --queued) {
      natsMsg* stale = nullptr;
      if (natsSubscription_NextMsg(&stale, sub_, 1) != NATS_OK) break;
      natsMsg_Destroy(stale);
    }
    return Status::Ok();
  }
  natsInbox* inbox = nullptr;
  WANGGE_RETURN_IF_ERROR(NatsStatus(natsInbox_Create(&inbox), 0, "inbox"));
  inbox_ = inbox;
  natsInbox_Destroy(inbox);
  s = natsConnection_SubscribeSync(&sub_, nats.nc, (inbox_ + ".*").c_str());
  return NatsStatus(s, 0, "subscribe to the deliveries of " + durable);
}

bool PullConsumer::TooBig(natsMsg* msg) {
  const char* status = nullptr;
  const char* description = nullptr;
  if (natsMsgHeader_Get(msg, "Status", &status) != NATS_OK || status == nullptr) return false;
  if (natsMsgHeader_Get(msg, "Description", &description) != NATS_OK || !description) return false;
  return std::string_view(status) == "409" &&
         std::string_view(description).find("MaxBytes") != std::string_view::npos;
}

uint64_t PullConsumer::RequestOf(natsMsg* msg) const {
  return InboxIndex(natsMsg_GetSubject(msg), inbox_, 0);
}

PullConsumer::~PullConsumer() {
  if (sub_) natsSubscription_Destroy(sub_);
}

Status PullConsumer::Request(int batch, int64_t max_bytes, bool no_wait,
                             std::chrono::milliseconds expires) {
  ++request_;
  std::string body = fmt::format(R"({{"batch":{})", batch);
  if (max_bytes > 0) body += fmt::format(R"(,"max_bytes":{})", max_bytes);
  body += no_wait ? R"(,"no_wait":true})"
                  : fmt::format(R"(,"expires":{}}})", std::chrono::nanoseconds(expires).count());
  const std::string reply = fmt::format("{}.{}", inbox_, request_);
  const natsStatus s = natsConnection_PublishRequest(
      nats_->nc, next_subject_.c_str(), reply.c_str(), body.data(), static_cast<int>(body.size()));
  WANGGE_RETURN_IF_ERROR(NatsStatus(s, 0, "pull request to " + durable_));
  open_ = request_;
  open_left_ = batch;
  open_until_ = std::chrono::steady_clock::now() + expires;
  return Status::Ok();
}

Result<MessageBatch> PullConsumer::Fetch(int max, std::chrono::milliseconds wait,
                                         int64_t max_bytes) {
  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + wait;
  MessageBatch batch;
  batch.nc = nats_->nc;
  // One request open at a time: while the last one may still deliver, this fetch takes
  // what it brings. What waits here, and what the server holds for this consumer, stays
  // under one request's batch and bytes.
  if (open_ != 0 && Clock::now() >= open_until_) open_ = 0;  // expired at the server
  uint64_t queued = 0;
  natsSubscription_QueuedMsgs(sub_, &queued);
  uint64_t own = 0;  // the request this fetch sent, whose closing status ends it
  bool waited = false;
  if (open_ == 0 && queued < static_cast<uint64_t>(max)) {
    WANGGE_RETURN_IF_ERROR(Request(max - static_cast<int>(queued), max_bytes, true, wait));
    own = open_;
  }
  while (batch.msgs.size() < static_cast<size_t>(max)) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    natsMsg* msg = nullptr;
    const natsStatus s = natsSubscription_NextMsg(&msg, sub_, left.count());
    if (s == NATS_TIMEOUT) break;
    WANGGE_RETURN_IF_ERROR(NatsStatus(s, 0, "fetch from " + durable_));
    const char* reply = natsMsg_GetReply(msg);
    if (reply != nullptr && std::string_view(reply).starts_with("$JS.ACK.")) {
      batch.msgs.push_back(msg);
      WANGGE_RETURN_IF_ERROR(CheckDelivery(msg));
      if (open_ != 0 && --open_left_ <= 0) open_ = 0;  // the request got all it asked for
      // Once a waiting request brings its first message, take what follows at once,
      // not the rest of the wait.
      if (waited && batch.msgs.size() == 1) {
        deadline = std::min(deadline, Clock::now() + std::chrono::milliseconds(2));
      }
      continue;
    }
    // A status (no messages, request expired, byte limit reached): it closes the request
    // it answers.
    // Statuses come on the request's own subject (messages on their stream subject).
    const uint64_t answers = RequestOf(msg);
    const bool closes_own = own != 0 && answers == own;
    if (open_ != 0 && answers == open_) open_ = 0;
    const bool too_big = TooBig(msg);
    natsMsg_Destroy(msg);
    if (!closes_own) continue;  // an earlier fetch's request
    if (too_big && batch.msgs.empty() && max_bytes > 0) {
      // The next message alone is larger than the byte budget: ask again with more room
      // (a few round trips for a rare large command; past 16 MB, no limit).
      max_bytes = max_bytes >= (int64_t{16} << 20) ? 0 : 2 * max_bytes;
      WANGGE_RETURN_IF_ERROR(Request(max, max_bytes, !waited, left));
      own = open_;
      continue;
    }
    if (!batch.msgs.empty() || waited) break;
    // Nothing there yet: wait for the first message, a little less long than we will.
    WANGGE_RETURN_IF_ERROR(
        Request(max, max_bytes, false, std::max(left - std::chrono::milliseconds(20), left / 2)));
    own = open_;
    waited = true;
  }
  return batch;
}

Status PullConsumer::CheckDelivery(natsMsg* msg) {
  jsMsgMetaData* meta = nullptr;
  uint64_t consumer_seq = 0;
  if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
    consumer_seq = meta->Sequence.Consumer;
    jsMsgMetaData_Destroy(meta);
  }
  if (delivered_ != 0 && consumer_seq != delivered_ + 1) {
    return Unavailable(fmt::format("consumer {} skipped deliveries {}-{}", durable_, delivered_ + 1,
                                   consumer_seq - 1));
  }
  delivered_ = consumer_seq;
  return Status::Ok();
}

uint64_t PullConsumer::StreamSeq(natsMsg* msg) {
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, msg) != NATS_OK) return 0;
  const uint64_t seq = meta->Sequence.Stream;
  jsMsgMetaData_Destroy(meta);
  return seq;
}

Status PullConsumer::Delete() {
  if (sub_) {
    natsSubscription_Destroy(sub_);
    sub_ = nullptr;
  }
  if (!nats_) return Status::Ok();
  Nats::Impl& nats = *std::exchange(nats_, nullptr);
  return DeleteConsumer(nats, stream_, durable_);
}

Status DeleteConsumer(Nats::Impl& nats, const std::string& stream, const std::string& durable) {
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = js_DeleteConsumer(nats.js, stream.c_str(), durable.c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND) return Status::Ok();
  return NatsStatus(s, jerr, "delete consumer " + durable);
}

void MessageBatch::AckAll() {
  static constexpr std::string_view kAck = "+ACK";
  for (natsMsg* m : msgs) {
    natsConnection_Publish(nc, natsMsg_GetReply(m), kAck.data(), static_cast<int>(kAck.size()));
  }
}

MessageBatch::~MessageBatch() {
  for (natsMsg* m : msgs) {
    if (m) natsMsg_Destroy(m);
  }
}

}  // namespace wangge::cluster
