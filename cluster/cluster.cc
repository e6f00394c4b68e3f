#include "cluster/cluster.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <memory>
#include <nats/nats.h>
#include <random>
#include <utility>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <simdjson.h>

#include "cluster/nats.h"
#include "wire/json_writer.h"

namespace wangge::cluster {
using wire::StatsParams;
namespace json = boost::json;

Status NatsStatus(natsStatus s, int jerr, std::string_view what) {
  if (s == NATS_OK) return Status::Ok();
  std::string msg = fmt::format("{}: {}", what, natsStatus_GetText(s));
  if (jerr != 0) msg += fmt::format(" (JetStream error {})", jerr);
  if (s == NATS_NOT_FOUND) return NotFound(std::move(msg));
  if (s == NATS_INVALID_ARG) return InvalidArgument(std::move(msg));
  return Unavailable(std::move(msg));
}

Nats::Impl::~Impl() {
  if (kv) kvStore_Destroy(kv);
  if (js) jsCtx_Destroy(js);
  if (nc) {
    natsConnection_Close(nc);
    natsConnection_Destroy(nc);
  }
}

Status ClusterOptions::Validate() const {
  if (servers.empty()) return InvalidArgument("cluster: no NATS server URL given", "cluster");
  if (replicas < 1 || replicas > 5) {
    return InvalidArgument("cluster: replicas must be 1-5", "replicas");
  }
  if (timeout.count() < 100) return InvalidArgument("cluster: timeout under 100 ms", "timeout");
  return ValidateInstanceName(stream).ok()
             ? Status::Ok()
             : InvalidArgument("cluster: stream name must be 1-64 of [a-z0-9_-]", "stream");
}

namespace {

// The number k of a reply subject "<inbox>.<k>"; `none` when the subject has no number
// there.
uint64_t InboxIndex(std::string_view subject, std::string_view inbox, uint64_t none) {
  uint64_t k = none;
  if (subject.size() > inbox.size() + 1 && subject.starts_with(inbox)) {
    const char* first = subject.data() + inbox.size() + 1;
    if (std::from_chars(first, subject.data() + subject.size(), k).ec != std::errc()) k = none;
  }
  return k;
}

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

Status CheckName(std::string_view name, const char* field) {
  if (name.empty() || name.size() > 64 || !std::all_of(name.begin(), name.end(), NameChar)) {
    return InvalidArgument(
        fmt::format("{} '{}' must be 1-64 letters, digits, '_' or '-'", field, name), field);
  }
  return Status::Ok();
}

std::string Subject(std::string_view town) {
  return std::string(kCommandPrefix) + std::string(town);
}

}  // namespace

Status ValidateTown(std::string_view town) { return CheckName(town, "town"); }
Status ValidateInstanceName(std::string_view name) { return CheckName(name, "name"); }

Result<std::vector<std::string>> ParseTownList(std::string_view list) {
  std::vector<std::string> towns;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t end = std::min(list.find(',', start), list.size());
    std::string town(list.substr(start, end - start));
    WANGGE_RETURN_IF_ERROR(ValidateTown(town));
    if (std::find(towns.begin(), towns.end(), town) == towns.end()) towns.push_back(town);
    start = end + 1;
  }
  return towns;
}

Nats::Nats(ClusterOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}
Nats::~Nats() = default;

Result<std::unique_ptr<Nats>> Nats::Connect(const ClusterOptions& options,
                                            const std::string& name) {
  WANGGE_RETURN_IF_ERROR(options.Validate());
  auto nats = std::unique_ptr<Nats>(new Nats(options));
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  std::vector<std::string> urls;
  for (size_t start = 0; start <= options.servers.size();) {
    const size_t end = std::min(options.servers.find(',', start), options.servers.size());
    if (end > start) urls.push_back(options.servers.substr(start, end - start));
    start = end + 1;
  }
  std::vector<const char*> url_ptrs;
  for (const auto& u : urls) url_ptrs.push_back(u.c_str());
  if (s == NATS_OK) {
    s = natsOptions_SetServers(opts, url_ptrs.data(), static_cast<int>(url_ptrs.size()));
  }
  if (s == NATS_OK) s = natsOptions_SetName(opts, name.c_str());
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 250);
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, options.timeout.count());
  if (s == NATS_OK) s = natsConnection_Connect(&nats->impl_->nc, opts);
  natsOptions_Destroy(opts);
  WANGGE_RETURN_IF_ERROR(NatsStatus(s, 0, "cannot connect to NATS at " + options.servers));
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = options.timeout.count();
  s = natsConnection_JetStream(&nats->impl_->js, nats->impl_->nc, &jo);
  WANGGE_RETURN_IF_ERROR(NatsStatus(s, 0, "JetStream context"));
  return nats;
}

Status Nats::EnsureStream() {
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsStreamInfo* si = nullptr;
  natsStatus s = js_GetStreamInfo(&si, impl_->js, options_.stream.c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND) {
    const std::string subjects = std::string(kCommandPrefix) + "*";
    const char* list[] = {subjects.c_str()};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = options_.stream.c_str();
    cfg.Subjects = list;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = options_.replicas;
    // Retried publishes inside this window are dropped by message id; later ones reach
    // the engine, which refuses a known client id anyway.
    cfg.Duplicates = int64_t{10} * 60 * 1'000'000'000;
    jerr = static_cast<jsErrCode>(0);
    s = js_AddStream(&si, impl_->js, &cfg, nullptr, &jerr);
    // Another node may have created it meanwhile.
    if (s != NATS_OK && jerr == JSStreamNameExistErr) s = NATS_OK;
  }
  if (si) jsStreamInfo_Destroy(si);
  WANGGE_RETURN_IF_ERROR(NatsStatus(s, jerr, "stream " + options_.stream));

  MutexLock lock(impl_->kv_mu);
  if (impl_->kv) return Status::Ok();
  s = js_KeyValue(&impl_->kv, impl_->js, std::string(kTownsBucket).c_str());
  if (s == NATS_NOT_FOUND) {
    kvConfig kc;
    kvConfig_Init(&kc);
    const std::string bucket(kTownsBucket);
    kc.Bucket = bucket.c_str();
    kc.History = 16;
    kc.Replicas = options_.replicas;
    s = js_CreateKeyValue(&impl_->kv, impl_->js, &kc);
  }
  return NatsStatus(s, 0, "ownership bucket " + std::string(kTownsBucket));
}

Result<PublishAck> Nats::Publish(std::string_view town, std::string_view data,
                                 const std::string& msg_id) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  if (!msg_id.empty()) po.MsgId = msg_id.c_str();
  po.ExpectStream = options_.stream.c_str();
  po.MaxWait = options_.timeout.count();
  jsPubAck* pa = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = js_Publish(&pa, impl_->js, Subject(town).c_str(), data.data(),
                                  static_cast<int>(data.size()), &po, &jerr);
  if (s != NATS_OK) {
    if (pa) jsPubAck_Destroy(pa);
    return NatsStatus(s, jerr, "publish to " + Subject(town));
  }
  PublishAck ack{pa->Sequence, pa->Duplicate};
  jsPubAck_Destroy(pa);
  return ack;
}

Result<Nats::StreamState> Nats::State() {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, impl_->js, options_.stream.c_str(), nullptr, &jerr);
  WANGGE_RETURN_IF_ERROR(NatsStatus(s, jerr, "stream " + options_.stream));
  StreamState state{si->State.Msgs, si->State.Bytes, static_cast<int>(si->Config->Replicas)};
  jsStreamInfo_Destroy(si);
  return state;
}

Result<std::vector<std::string>> Nats::StreamTowns() {
  const std::string filter = std::string(kCommandPrefix) + "*";
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Stream.Info.SubjectsFilter = filter.c_str();
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, impl_->js, options_.stream.c_str(), &jo, &jerr);
  WANGGE_RETURN_IF_ERROR(NatsStatus(s, jerr, "stream " + options_.stream));
  std::vector<std::string> towns;
  if (si->State.Subjects) {
    for (int i = 0; i < si->State.Subjects->Count; ++i) {
      std::string_view subject = si->State.Subjects->List[i].Subject;
      if (subject.starts_with(kCommandPrefix)) {
        towns.emplace_back(subject.substr(kCommandPrefix.size()));
      }
    }
  }
  jsStreamInfo_Destroy(si);
  std::sort(towns.begin(), towns.end());
  return towns;
}

Result<uint64_t> Nats::LastSequence(std::string_view town) {
  natsMsg* msg = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = js_GetLastMsg(&msg, impl_->js, options_.stream.c_str(),
                                     Subject(town).c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND) return uint64_t{0};
  WANGGE_RETURN_IF_ERROR(NatsStatus(s, jerr, "last message of " + Subject(town)));
  const uint64_t seq = natsMsg_GetSequence(msg);
  natsMsg_Destroy(msg);
  return seq;
}

Status Nats::ReadTown(std::string_view town, uint64_t from,
                      const std::function<bool(uint64_t, std::string_view)>& fn) {
  WANGGE_ASSIGN_OR_RETURN(const uint64_t last, LastSequence(town));
  if (last < from) return Status::Ok();
  std::random_device rd;
  const std::string durable = fmt::format("wangge-read-{}-{:08x}", town, rd());
  PullConsumer consumer;
  WANGGE_RETURN_IF_ERROR(consumer.Open(*impl_, options_.stream, Subject(town), durable, from));
  uint64_t seq = 0;
  Status result;
  int empty = 0;
  while (seq < last && result.ok()) {
    auto batch = consumer.Fetch(512, options_.timeout);
    if (!batch.ok()) {
      result = batch.status();
      break;
    }
    if (batch->msgs.empty() && ++empty >= 3) {
      result = Unavailable(fmt::format("the stream stopped delivering {} at sequence {} of {}",
                                       Subject(town), seq, last));
      break;
    }
    if (!batch->msgs.empty()) empty = 0;
    for (natsMsg* msg : batch->msgs) {
      seq = PullConsumer::StreamSeq(msg);
      if (!fn(seq, std::string_view(natsMsg_GetData(msg),
                                    static_cast<size_t>(natsMsg_GetDataLength(msg))))) {
        seq = last;
        break;
      }
    }
    batch->AckAll();
  }
  Status closed = consumer.Delete();
  return result.ok() ? closed : result;
}

Result<std::optional<std::string>> Nats::Owner(std::string_view town) {
  WANGGE_RETURN_IF_ERROR(EnsureStream());
  kvEntry* e = nullptr;
  const natsStatus s = kvStore_Get(&e, impl_->Kv(), std::string(town).c_str());
  if (s == NATS_NOT_FOUND) return std::optional<std::string>();
  WANGGE_RETURN_IF_ERROR(NatsStatus(s, 0, "owner of town " + std::string(town)));
  std::string owner = kvEntry_ValueString(e);
  kvEntry_Destroy(e);
  return std::optional<std::string>(std::move(owner));
}

Status Nats::Claim(std::string_view town, const std::string& instance) {
  WANGGE_RETURN_IF_ERROR(EnsureStream());
  uint64_t rev = 0;
  const natsStatus s =
      kvStore_CreateString(&rev, impl_->Kv(), std::string(town).c_str(), instance.c_str());
  if (s == NATS_OK) return Status::Ok();
  WANGGE_ASSIGN_OR_RETURN(auto owner, Owner(town));
  if (owner) {
    return Status(StatusCode::kAlreadyExists,
                  fmt::format("town {} is owned by engine {}", town, *owner), "town");
  }
  return NatsStatus(s, 0, "claim town " + std::string(town));
}

Status Nats::Reassign(std::string_view town, const std::string& from, const std::string& to) {
  WANGGE_RETURN_IF_ERROR(EnsureStream());
  kvEntry* e = nullptr;
  natsStatus s = kvStore_Get(&e, impl_->Kv(), std::string(town).c_str());
  if (s == NATS_NOT_FOUND) {
    return FailedPrecondition(fmt::format("town {} has no owner", town));
  }
  WANGGE_RETURN_IF_ERROR(NatsStatus(s, 0, "owner of town " + std::string(town)));
  const std::string owner = kvEntry_ValueString(e);
  const uint64_t revision = kvEntry_Revision(e);
  kvEntry_Destroy(e);
  if (owner != from) {
    return FailedPrecondition(fmt::format("town {} is owned by {}, not {}", town, owner, from));
  }
  uint64_t rev = 0;
  // Only if nobody changed the owner since it was read.
  s = kvStore_UpdateString(&rev, impl_->Kv(), std::string(town).c_str(), to.c_str(), revision);
  if (s != NATS_OK) {
    return FailedPrecondition(fmt::format("town {} changed owner meanwhile; try again", town));
  }
  return Status::Ok();
}

Result<std::vector<std::pair<std::string, std::string>>> Nats::Owners() {
  WANGGE_RETURN_IF_ERROR(EnsureStream());
  kvKeysList keys{};
  natsStatus s = kvStore_Keys(&keys, impl_->Kv(), nullptr);
  std::vector<std::pair<std::string, std::string>> owners;
  if (s == NATS_NOT_FOUND) return owners;
  WANGGE_RETURN_IF_ERROR(NatsStatus(s, 0, "town owners"));
  std::vector<std::string> towns(keys.Keys, keys.Keys + keys.Count);
  kvKeysList_Destroy(&keys);
  for (const auto& town : towns) {
    WANGGE_ASSIGN_OR_RETURN(auto owner, Owner(town));
    if (owner) owners.emplace_back(town, *owner);
  }
  std::sort(owners.begin(), owners.end());
  return owners;
}

Result<std::string> Nats::Request(const std::string& subject, std::string_view data,
                                  std::chrono::milliseconds timeout) {
  natsMsg* reply = nullptr;
  const natsStatus s = natsConnection_Request(&reply, impl_->nc, subject.c_str(), data.data(),
                                              static_cast<int>(data.size()), timeout.count());
  if (s == NATS_NO_RESPONDERS) return Unavailable("nothing answers on " + subject);
  if (s == NATS_TIMEOUT) return Unavailable("no answer on " + subject + " in time");
  WANGGE_RETURN_IF_ERROR(NatsStatus(s, 0, "request on " + subject));
  std::string answer(natsMsg_GetData(reply), static_cast<size_t>(natsMsg_GetDataLength(reply)));
  natsMsg_Destroy(reply);
  return answer;
}

Result<std::vector<std::optional<std::string>>> Nats::RequestAll(
    const std::vector<std::string>& subjects, std::string_view data,
    std::chrono::milliseconds timeout) {
  natsInbox* inbox = nullptr;
  WANGGE_RETURN_IF_ERROR(NatsStatus(natsInbox_Create(&inbox), 0, "inbox"));
  const std::string base = inbox;
  natsInbox_Destroy(inbox);
  // Answers come to <inbox>.<index>, so each is matched to its subject.
  natsSubscription* sub = nullptr;
  WANGGE_RETURN_IF_ERROR(NatsStatus(
      natsConnection_SubscribeSync(&sub, impl_->nc, (base + ".*").c_str()), 0, "subscribe"));
  // Destroying the subscription removes the interest too.
  const std::unique_ptr<natsSubscription, decltype(&natsSubscription_Destroy)> owned(
      sub, &natsSubscription_Destroy);
  std::vector<std::optional<std::string>> answers(subjects.size());
  for (size_t i = 0; i < subjects.size(); ++i) {
    const natsStatus s = natsConnection_PublishRequest(impl_->nc, subjects[i].c_str(),
                                                       fmt::format("{}.{}", base, i).c_str(),
                                                       data.data(), static_cast<int>(data.size()));
    WANGGE_RETURN_IF_ERROR(NatsStatus(s, 0, "request on " + subjects[i]));
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (size_t received = 0; received < subjects.size();) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    natsMsg* msg = nullptr;
    const natsStatus s = natsSubscription_NextMsg(&msg, sub, left.count());
    if (s == NATS_TIMEOUT) break;
    WANGGE_RETURN_IF_ERROR(NatsStatus(s, 0, "answers"));
    const uint64_t index = InboxIndex(natsMsg_GetSubject(msg), base, subjects.size());
    if (index < answers.size() && !answers[index]) {
      answers[index].emplace(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
      ++received;
    }
    natsMsg_Destroy(msg);
  }
  return answers;
}

// --- pull consumers ---

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

// --- stats on the wire ---

std::string EncodeStatsRequest(const StatsParams& p) {
  return wire::WriteJson(json::object{{"from", p.from},
                                      {"to", p.to},
                                      {"group_by", p.group_by},
                                      {"office", p.office},
                                      {"village", p.village},
                                      {"category", p.category},
                                      {"as_of", p.as_of},
                                      {"interval", p.interval}});
}

namespace {

Status Malformed(std::string_view what) {
  return Corruption("malformed stats message: " + std::string(what));
}

}  // namespace

Result<StatsParams> DecodeStatsRequest(std::string_view text) {
  // The DOM API validates the whole text before any field is read.
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text.data(), text.size()).get(doc)) return Malformed("not JSON");
  StatsParams p;
  std::pair<const char*, std::string*> fields[] = {
      {"from", &p.from},         {"to", &p.to},
      {"group_by", &p.group_by}, {"office", &p.office},
      {"village", &p.village},   {"category", &p.category},
      {"as_of", &p.as_of},       {"interval", &p.interval}};
  for (auto& [name, out] : fields) {
    std::string_view v;
    if (doc[name].get_string().get(v)) return Malformed(name);
    *out = std::string(v);
  }
  return p;
}

std::string EncodeStatsAnswer(const Result<engine::StatsResult>& result) {
  if (!result.ok()) {
    return wire::WriteJson(
        json::object{{"error", json::object{{"code", static_cast<int>(result.status().code())},
                                            {"message", result.status().message()},
                                            {"field", result.status().field()}}}});
  }
  json::array rows;
  for (const auto& r : result->rows) {
    json::array counters, backlog;
    for (const auto& [slot, value] : r.counters.slots()) counters.push_back({slot, value});
    for (int64_t b : r.backlog) backlog.push_back(b);
    rows.push_back(json::object{{"period", r.period},
                                {"key", r.key},
                                {"counters", std::move(counters)},
                                {"overdue_open", r.overdue_open},
                                {"backlog", std::move(backlog)}});
  }
  return wire::WriteJson(json::object{{"rows", std::move(rows)}});
}

namespace {

// |v| < 2^60 (a country's closure-time sum, in ms, over decades is below 2^60): answers
// so bounded are refused rather than overflowing when added up.
bool Plausible(int64_t v) { return v > -(int64_t{1} << 60) && v < (int64_t{1} << 60); }

Result<engine::StatsRow> DecodeRow(simdjson::dom::element row) {
  engine::StatsRow r;
  std::string_view text;
  if (row["period"].get_string().get(text)) return Malformed("period");
  r.period = std::string(text);
  if (row["key"].get_string().get(text)) return Malformed("key");
  r.key = std::string(text);
  simdjson::dom::array counters;
  if (row["counters"].get_array().get(counters)) return Malformed("counters");
  int64_t last_slot = -1;
  for (simdjson::dom::element pair : counters) {
    simdjson::dom::array a;
    int64_t slot = 0, value = 0;
    if (pair.get_array().get(a) || a.size() != 2 || a.at(0).get_int64().get(slot) ||
        a.at(1).get_int64().get(value)) {
      return Malformed("counter");
    }
    // Slots ascend, as Encode writes them; values stay far from overflow when added up.
    if (slot <= last_slot || slot > 0xffff || !Plausible(value)) return Malformed("counter");
    last_slot = slot;
    r.counters.Add(static_cast<uint16_t>(slot), value);
  }
  if (row["overdue_open"].get_int64().get(r.overdue_open) || !Plausible(r.overdue_open)) {
    return Malformed("overdue_open");
  }
  simdjson::dom::array backlog;
  if (row["backlog"].get_array().get(backlog) || backlog.size() != r.backlog.size()) {
    return Malformed("backlog");
  }
  size_t i = 0;
  for (simdjson::dom::element x : backlog) {
    if (x.get_int64().get(r.backlog[i]) || !Plausible(r.backlog[i])) return Malformed("backlog");
    ++i;
  }
  return r;
}

}  // namespace

Result<engine::StatsResult> DecodeStatsAnswer(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text.data(), text.size()).get(doc) || !doc.is_object()) {
    return Malformed("not a JSON object");
  }
  simdjson::dom::element error;
  if (!doc["error"].get(error)) {
    int64_t code = 0;
    std::string_view message, field;
    if (error["code"].get_int64().get(code) || error["message"].get_string().get(message) ||
        error["field"].get_string().get(field) || code < 1 ||
        code > static_cast<int64_t>(StatusCode::kNoSpace)) {
      return Malformed("error");
    }
    return Status(static_cast<StatusCode>(code), std::string(message), std::string(field));
  }
  simdjson::dom::array rows;
  if (doc["rows"].get_array().get(rows)) return Malformed("rows");
  engine::StatsResult result;
  for (simdjson::dom::element row : rows) {
    WANGGE_ASSIGN_OR_RETURN(auto r, DecodeRow(row));
    result.rows.push_back(std::move(r));
  }
  return result;
}

void MergeStats(engine::StatsResult& total, const engine::StatsResult& part) {
  std::map<std::pair<std::string, std::string>, engine::StatsRow> rows;
  const engine::StatsResult* sources[] = {&total, &part};
  for (const engine::StatsResult* source : sources) {
    for (const auto& r : source->rows) {
      auto [it, fresh] = rows.try_emplace({r.period, r.key}, r);
      if (fresh) continue;
      it->second.counters.AddAll(r.counters);
      it->second.overdue_open += r.overdue_open;
      for (size_t i = 0; i < r.backlog.size(); ++i) it->second.backlog[i] += r.backlog[i];
    }
  }
  total.rows.clear();
  for (auto& [key, row] : rows) total.rows.push_back(std::move(row));
}

Status DecodeControlAnswer(std::string_view answer) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  bool ok = false;
  if (parser.parse(answer.data(), answer.size()).get(doc) || doc["ok"].get_bool().get(ok)) {
    return Internal("malformed control answer: " + std::string(answer));
  }
  if (ok) return Status::Ok();
  std::string_view error = "no reason given";
  if (doc["error"].get_string().get(error)) error = "no reason given";
  return FailedPrecondition(std::string(error));
}

Result<std::vector<TownProgress>> DecodeStatusAnswer(std::string_view answer,
                                                     const std::string& name) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array towns;
  if (parser.parse(answer.data(), answer.size()).get(doc) || doc["towns"].get_array().get(towns)) {
    return Internal("malformed status answer from " + name);
  }
  std::vector<TownProgress> out;
  for (simdjson::dom::element t : towns) {
    std::string_view id;
    TownProgress p;
    if (t["town"].get_string().get(id) || t["applied"].get_uint64().get(p.applied) ||
        t["lag_p50_ms"].get_double().get(p.lag_p50_ms) ||
        t["lag_p99_ms"].get_double().get(p.lag_p99_ms)) {
      return Internal("malformed status answer from " + name);
    }
    p.town = std::string(id);
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace wangge::cluster
