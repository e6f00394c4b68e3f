// The C client's handles behind cluster::Nats, and a pull consumer over them. Private
// to the cluster code (cluster.cc, pull_consumer.cc, engine_node.cc).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <nats/nats.h>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/cluster.h"
#include "core/mutex.h"
#include "core/status.h"

namespace wangge::cluster {

// kNotFound, kInvalidArgument or kUnavailable, with the client's text and the JetStream
// error code when there is one.
Status NatsStatus(natsStatus s, int jerr, std::string_view what);

// The number k of a reply subject "<inbox>.<k>"; `none` when the subject has no number
// there.
uint64_t InboxIndex(std::string_view subject, std::string_view inbox, uint64_t none);

struct Nats::Impl {
  ~Impl();
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  Mutex kv_mu;
  kvStore* kv WANGGE_GUARDED_BY(kv_mu) = nullptr;  // set once by EnsureStream
  // The towns bucket; null before EnsureStream.
  kvStore* Kv() WANGGE_EXCLUDES(kv_mu) {
    MutexLock lock(kv_mu);
    return kv;
  }
};

// Removes consumer `durable` of `stream` from the server; a missing one is fine.
Status DeleteConsumer(Nats::Impl& nats, const std::string& stream, const std::string& durable);

// Fetched messages; destroys them.
struct MessageBatch {
  MessageBatch() = default;
  MessageBatch(MessageBatch&& o) noexcept : nc(o.nc), msgs(std::move(o.msgs)) { o.msgs.clear(); }
  MessageBatch& operator=(MessageBatch&&) = delete;
  ~MessageBatch();
  // Acknowledges every message, so the consumer's window (kConsumerWindow) moves on.
  void AckAll();
  natsConnection* nc = nullptr;
  std::vector<natsMsg*> msgs;
};

// A durable pull consumer of one subject, with explicit acks. Not thread-safe.
//
// It speaks JetStream's pull protocol itself (a request to
// $JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>, the messages and a closing status on
// one inbox) rather than through natsSubscription_Fetch: the C client 3.4.1 in Debian 12
// wrote past its message array when more messages were queued than the batch asked for
// (found under ASan with 100 towns behind the stream).
class PullConsumer {
 public:
  PullConsumer() = default;
  ~PullConsumer();  // unsubscribes; the consumer stays on the server until Delete
  PullConsumer(const PullConsumer&) = delete;
  PullConsumer& operator=(const PullConsumer&) = delete;

  // (Re)creates consumer `durable` on `subject`, delivering from stream sequence
  // `start_seq` (1 = the beginning). Opening again keeps the inbox subscription and
  // drops what the replaced consumer delivered.
  Status Open(Nats::Impl& nats, const std::string& stream, const std::string& subject,
              const std::string& durable, uint64_t start_seq);
  // Up to `max` messages (and about `max_bytes`, 0 = no limit) in delivery order,
  // waiting up to `wait` for the first; empty when none came. kUnavailable when a
  // delivery went missing on the way (the consumer sequence jumped, as when the server
  // dropped messages for a slow connection): the caller reopens the consumer at its own
  // position.
  Result<MessageBatch> Fetch(int max, std::chrono::milliseconds wait, int64_t max_bytes = 0);
  // Removes the consumer from the server.
  Status Delete();

  static uint64_t StreamSeq(natsMsg* msg);

 private:
  // Asks for `batch` more messages; `no_wait`: answer at once with what there is.
  Status Request(int batch, int64_t max_bytes, bool no_wait, std::chrono::milliseconds expires);

  Nats::Impl* nats_ = nullptr;
  std::string stream_;
  std::string durable_;
  std::string next_subject_;  // where pull requests go
  std::string inbox_;         // request k is answered on <inbox_>.<k>
  // The consumer sequence must follow on from the last message's.
  Status CheckDelivery(natsMsg* msg);
  // The request a message or status answers (the k of its subject).
  uint64_t RequestOf(natsMsg* msg) const;
  // A status saying the next message is larger than the request's max_bytes.
  static bool TooBig(natsMsg* msg);

  uint64_t request_ = 0;   // the newest request's k
  uint64_t open_ = 0;      // the request that may still deliver, 0 = none
  int64_t open_left_ = 0;  // messages it may still bring
  std::chrono::steady_clock::time_point open_until_;  // when the server drops it
  uint64_t delivered_ = 0;  // the consumer sequence of the last message taken
  natsSubscription* sub_ = nullptr;
};

}  // namespace wangge::cluster
