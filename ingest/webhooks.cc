#include "ingest/webhooks.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>

#include "core/sha256.h"
#include "ingest/feed.h"
#include "storage/store.h"
#include "wire/json_writer.h"

namespace wangge::ingest {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;

std::string KeyOf(const std::string& office) {
  return std::string(storage::kOutsideStatePrefix) + "webhook/" + office;
}

std::string Encode(const Webhook& w) {
  return wire::WriteJson(json::object{{"office", w.office},
                                      {"url", w.url},
                                      {"secret", w.secret},
                                      {"delivered", w.delivered},
                                      {"failures", w.failures},
                                      {"next_attempt", w.next_attempt},
                                      {"paused", w.paused},
                                      {"last_error", w.last_error},
                                      {"deliveries", w.deliveries}});
}

Result<Webhook> Decode(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Corruption("a stored webhook is not JSON");
  try {
    const json::object& o = v.as_object();
    Webhook w;
    w.office = std::string(o.at("office").as_string());
    w.url = std::string(o.at("url").as_string());
    w.secret = std::string(o.at("secret").as_string());
    w.delivered = o.at("delivered").to_number<uint64_t>();
    w.failures = o.at("failures").to_number<uint32_t>();
    w.next_attempt = o.at("next_attempt").to_number<int64_t>();
    w.paused = o.at("paused").as_bool();
    w.last_error = std::string(o.at("last_error").as_string());
    w.deliveries = o.at("deliveries").to_number<uint64_t>();
    return w;
  } catch (const std::exception& e) {
    return Corruption(std::string("a stored webhook is malformed: ") + e.what());
  }
}

Status CheckTarget(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  if (!u || u->scheme() != "http" || u->host().empty() || url.size() > 2048) {
    return InvalidArgument("url must be an http:// URL with a host, at most 2048 bytes", "url");
  }
  return Status::Ok();
}

struct PostResult {
  int status = 0;     // 0: no answer
  std::string error;  // when not 2xx
};

// One POST with a deadline over the whole exchange.
PostResult PostJson(const std::string& url,
                    const std::vector<std::pair<std::string, std::string>>& headers,
                    const std::string& body, std::chrono::milliseconds timeout) {
  PostResult result;
  auto u = boost::urls::parse_uri(url);
  const std::string host = std::string(u->host());
  const std::string port = u->has_port() ? std::string(u->port()) : "80";
  std::string target = std::string(u->encoded_target());
  if (target.empty()) target = "/";
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  tcp::resolver resolver(ioc);
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, host);
  req.set(http::field::content_type, "application/json");
  req.set(http::field::user_agent, "wangge-webhook");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  beast::error_code failure;
  stream.expires_after(timeout);
  resolver.async_resolve(host, port, [&](beast::error_code ec, tcp::resolver::results_type r) {
    if (ec) return void(failure = ec);
    stream.async_connect(r, [&](beast::error_code ec2, const tcp::endpoint&) {
      if (ec2) return void(failure = ec2);
      http::async_write(stream, req, [&](beast::error_code ec3, size_t) {
        if (ec3) return void(failure = ec3);
        http::async_read(stream, buffer, res, [&](beast::error_code ec4, size_t) {
          if (ec4) failure = ec4;
        });
      });
    });
  });
  ioc.run();
  if (failure) {
    result.error = failure == beast::error::timeout ? "timed out" : failure.message();
    return result;
  }
  result.status = static_cast<int>(res.result_int());
  if (result.status < 200 || result.status > 299) {
    result.error = "HTTP " + std::to_string(result.status);
  }
  return result;
}

}  // namespace

Webhooks::Webhooks(engine::Engine& engine, const Clock& clock, WebhookOptions options)
    : engine_(engine), clock_(clock), options_(options) {}

Webhooks::~Webhooks() { Stop(); }

Status Webhooks::Start() {
  const std::string prefix = std::string(storage::kOutsideStatePrefix) + "webhook/";
  WANGGE_ASSIGN_OR_RETURN(auto stored, engine_.ScanOutsideState(prefix));
  {
    MutexLock lock(mu_);
    for (const auto& [key, value] : stored) {
      WANGGE_ASSIGN_OR_RETURN(Webhook w, Decode(value));
      hooks_[w.office] = std::move(w);
    }
  }
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void Webhooks::Stop() {
  {
    MutexLock lock(mu_);
    if (stopping_ || !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.NotifyAll();
  thread_.join();
}

Result<Webhook> Webhooks::Put(const std::string& office, const std::string& url,
                              const std::string& secret) {
  WANGGE_RETURN_IF_ERROR(CheckTarget(url));
  if (secret.size() < 16 || secret.size() > 256) {
    return InvalidArgument("secret must be 16-256 bytes", "secret");
  }
  Webhook w;
  {
    MutexLock lock(mu_);
    auto it = hooks_.find(office);
    if (it != hooks_.end())
      w = it->second;
    else
      w.delivered = engine_.head().seq.value;
    w.office = office;
    w.url = url;
    w.secret = secret;
    w.failures = 0;
    w.next_attempt = 0;
    w.paused = false;
    w.last_error.clear();
    WANGGE_RETURN_IF_ERROR(Persist(w));
    hooks_[office] = w;
  }
  wake_.NotifyAll();
  return w;
}

Status Webhooks::Remove(const std::string& office) {
  MutexLock lock(mu_);
  if (!hooks_.contains(office)) return NotFound("no webhook for " + office);
  WANGGE_RETURN_IF_ERROR(engine_.PutOutsideState(KeyOf(office), std::nullopt));
  hooks_.erase(office);
  return Status::Ok();
}

Result<Webhook> Webhooks::Resume(const std::string& office) {
  Webhook w;
  {
    MutexLock lock(mu_);
    auto it = hooks_.find(office);
    if (it == hooks_.end()) return NotFound("no webhook for " + office);
    w = it->second;
    w.paused = false;
    w.failures = 0;
    w.next_attempt = 0;
    WANGGE_RETURN_IF_ERROR(Persist(w));
    it->second = w;
  }
  wake_.NotifyAll();
  return w;
}

std::vector<Webhook> Webhooks::List() const {
  MutexLock lock(mu_);
  std::vector<Webhook> out;
  for (const auto& [office, w] : hooks_) out.push_back(w);
  return out;
}

std::string Webhooks::Sign(const std::string& secret, const std::string& timestamp,
                           const std::string& body) {
  const std::string message = timestamp + "." + body;
  Hash mac{};
  unsigned len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(), &len);
  return "sha256=" + HexOf(mac);
}

Status Webhooks::Persist(const Webhook& w) {
  // Through the engine's writer, like everything persisted while serving.
  return engine_.PutOutsideState(KeyOf(w.office), Encode(w));
}

void Webhooks::Run() {
  MutexLock lock(mu_);
  while (!stopping_) {
    std::vector<std::string> offices;
    for (const auto& [office, w] : hooks_) offices.push_back(office);
    lock.Unlock();
    bool progress = false;
    for (const auto& office : offices) {
      for (int n = 0; n < 64 && DeliverSome(office); ++n) progress = true;
    }
    lock.Lock();
    if (!progress && !stopping_) wake_.WaitFor(lock, options_.idle_poll);
  }
}

bool Webhooks::DeliverSome(const std::string& office) {
  Webhook w;
  {
    MutexLock lock(mu_);
    auto it = hooks_.find(office);
    if (stopping_ || it == hooks_.end() || it->second.paused ||
        it->second.next_attempt > clock_.Now().ms) {
      return false;
    }
    w = it->second;
  }
  FeedFilter filter;
  filter.office = office;
  auto batch = ReadFeed(engine_, filter, w.delivered, 1, 4096);
  if (!batch.ok()) {
    spdlog::warn("webhook {}: {}", office, batch.status().ToString());
    return false;
  }
  if (batch->events.empty() && batch->last == w.delivered) return false;
  PostResult posted;
  if (!batch->events.empty()) {
    const FeedEvent& e = batch->events.front();
    const std::string ts = std::to_string(clock_.Now().ms / 1000);
    posted = PostJson(w.url,
                      {{"X-Wangge-Timestamp", ts},
                       {"X-Wangge-Signature", Sign(w.secret, ts, e.json)},
                       {"X-Wangge-Seq", std::to_string(e.seq)},
                       {"X-Wangge-Office", office}},
                      e.json, options_.timeout);
  }
  MutexLock lock(mu_);
  auto it = hooks_.find(office);
  if (it == hooks_.end() || it->second.url != w.url) return false;  // replaced meanwhile
  Webhook& h = it->second;
  if (batch->events.empty() || posted.error.empty()) {
    h.delivered = batch->last;
    h.failures = 0;
    h.next_attempt = 0;
    h.last_error.clear();
    h.deliveries += batch->events.size();
  } else {
    ++h.failures;
    const auto backoff =
        std::min<int64_t>(options_.max_backoff.count(),
                          options_.first_backoff.count() << std::min<uint32_t>(h.failures - 1, 30));
    h.next_attempt = clock_.Now().ms + backoff;
    h.last_error = posted.error;
    if (h.failures >= options_.max_failures) {
      h.paused = true;
      spdlog::warn("webhook {}: paused after {} failures in a row ({})", office, h.failures,
                   posted.error);
    }
  }
  if (Status s = Persist(h); !s.ok()) spdlog::warn("webhook {}: {}", office, s.ToString());
  return posted.error.empty();
}

}  // namespace wangge::ingest
