#include "cluster/cluster.h"

#include <algorithm>
#include <charconv>
#include <memory>
#include <nats/nats.h>
#include <random>
#include <utility>

#include <fmt/format.h>

#include "cluster/nats.h"

namespace wangge::cluster {

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

uint64_t InboxIndex(std::string_view subject, std::string_view inbox, uint64_t none) {
  uint64_t k = none;
  if (subject.size() > inbox.size() + 1 && subject.starts_with(inbox)) {
    const char* first = subject.data() + inbox.size() + 1;
    if (std::from_chars(first, subject.data() + subject.size(), k).ec != std::errc()) k = none;
  }
  return k;
}

namespace {

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

}  // namespace wangge::cluster
