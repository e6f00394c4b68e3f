// Webhooks: an office registers a URL and a secret, and wangge POSTs each log record the
// office may see (feed.h, the office's current cases) to it as JSON, in sequence order,
// at least once. Each POST is signed: X-Wangge-Signature is "sha256=" and the hex
// HMAC-SHA256, under the office's secret, of X-Wangge-Timestamp, ".", and the body.
// A failure (no 2xx within the timeout) is retried with exponential backoff up to a
// cap; after max_failures in a row the webhook is paused until resumed. Registrations
// and delivery state live in the meta family (storage::kOutsideStatePrefix), so a
// restart resumes where delivery stopped. Only http:// targets; they come from the
// office's registration alone.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/mutex.h"
#include "engine/engine.h"

namespace wangge::ingest {

struct Webhook {
  std::string office;
  std::string url;
  std::string secret;
  uint64_t delivered = 0;    // the last sequence delivered (or skipped as not visible)
  uint32_t failures = 0;     // in a row
  int64_t next_attempt = 0;  // ms since the epoch; 0 = now
  bool paused = false;
  std::string last_error;
  uint64_t deliveries = 0;  // records delivered since registration
};

struct WebhookOptions {
  std::chrono::milliseconds timeout{5000};        // per POST
  std::chrono::milliseconds first_backoff{1000};  // doubled on each failure in a row
  std::chrono::milliseconds max_backoff{300'000};
  uint32_t max_failures = 10;                // in a row, then paused
  std::chrono::milliseconds idle_poll{200};  // how often to look for new records
};

// Thread-safe. Start once, Stop before the engine stops.
class Webhooks {
 public:
  Webhooks(engine::Engine& engine, const Clock& clock, WebhookOptions options = {});
  ~Webhooks();

  // Reads the registrations from the store and starts the delivery thread.
  Status Start();
  void Stop();

  // Registers (or replaces) the office's webhook. Delivery starts after the log's head
  // now; a replaced one keeps its position. kInvalidArgument naming url or secret.
  Result<Webhook> Put(const std::string& office, const std::string& url, const std::string& secret);
  Status Remove(const std::string& office);  // kNotFound when none
  Result<Webhook> Resume(const std::string& office);
  std::vector<Webhook> List() const;  // by office; secrets included: callers leave them out

  // The HMAC-SHA256 signature header value for `body` sent at `timestamp`.
  static std::string Sign(const std::string& secret, const std::string& timestamp,
                          const std::string& body);

 private:
  void Run();
  // Delivers what is due for one webhook; returns whether it made progress.
  bool DeliverSome(const std::string& office);
  Status Persist(const Webhook& w);

  engine::Engine& engine_;
  const Clock& clock_;
  WebhookOptions options_;
  mutable Mutex mu_;
  CondVar wake_;
  std::map<std::string, Webhook> hooks_ WANGGE_GUARDED_BY(mu_);
  bool stopping_ WANGGE_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace wangge::ingest
