// GET /v1/feed: the change feed, as Server-Sent Events or a JSON long-poll (ingest/feed.h).
#include "ingest/feed.h"

#include <charconv>

#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "ingest/handlers/handlers.h"
#include "ingest/server.h"

namespace wangge::ingest {

namespace {

constexpr auto kFeedPoll = std::chrono::milliseconds(100);
constexpr size_t kFeedBatch = 256;
constexpr size_t kFeedExamine = 4096;

// One reader of the feed: a long-poll until it answers, or an event stream until the
// client goes or the server stops. Lives on its connection's executor; its callbacks keep
// it (and the connection, through Keep) alive.
class FeedReader : public std::enable_shared_from_this<FeedReader> {
 public:
  FeedReader(Exchange& ex, const engine::Engine& engine, FeedQuery q)
      : ex_(ex.Keep()),
        engine_(engine),
        query_(std::move(q)),
        cursor_(query_.after.value_or(engine.head().seq.value)),
        timer_(ex.executor()) {}

  // Long-poll: answers with what is there, or waits (polling the head) until something
  // is or the wait is over.
  void StartPoll() {
    deadline_ = std::chrono::steady_clock::now() + query_.wait;
    Poll();
  }

  // Server-Sent Events: the header, then events as they are read, one batch in flight at
  // a time; a comment line every 15 s of quiet keeps proxies from closing the stream.
  void StartStream() {
    const std::string id = ex_->StartStream();
    out_ =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
        "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\nConnection: close\r\n"
        "X-Request-Id: " +
        id + "\r\nServer: wangge\r\n\r\nretry: 2000\n\n";
    WriteOut();
  }

 private:
  void Poll() {
    auto batch = ReadFeed(engine_, query_.filter, cursor_, query_.limit, kFeedExamine);
    if (!batch.ok()) return ex_->Fail(batch.status());
    cursor_ = batch->last;
    const uint64_t head = engine_.head().seq.value;
    const bool caught_up = cursor_ >= head;
    if (batch->events.empty() && caught_up && std::chrono::steady_clock::now() < deadline_) {
      timer_.expires_after(kFeedPoll);
      return timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec) self->Poll();
      });
    }
    std::string records = "[";
    for (const auto& e : batch->events) records += (records.size() > 1 ? "," : "") + e.json;
    records += "]";
    Response res{http::status::ok, ex_->request().version()};
    res.set(http::field::content_type, "application/json");
    res.keep_alive(ex_->request().keep_alive());
    res.body() = "{\"records\":" + records + ",\"next\":" + std::to_string(cursor_) +
                 ",\"head\":" + std::to_string(engine_.head().seq.value) + "}";
    res.prepare_payload();
    ex_->Send(std::move(res));
  }

  void WriteOut() {
    last_sent_ = std::chrono::steady_clock::now();
    auto bytes = std::make_shared<const std::string>(std::move(out_));
    out_.clear();
    const auto size = static_cast<int64_t>(bytes->size());
    ex_->metrics().FeedBuffered(size);
    ex_->Write(bytes, ex_->options().feed_write_timeout,
               [self = shared_from_this(), size](bool ok) {
                 self->ex_->metrics().FeedBuffered(-size);
                 if (!ok) return self->ex_->Close();
                 self->Pump();
               });
  }

  void Pump() {
    auto batch = ReadFeed(engine_, query_.filter, cursor_, kFeedBatch, kFeedExamine);
    if (!batch.ok()) {
      spdlog::warn("feed: {}", batch.status().ToString());
      return ex_->Close();
    }
    cursor_ = batch->last;
    for (const auto& e : batch->events) {
      out_ += "id: " + std::to_string(e.seq) + "\nevent: record\ndata: " + e.json + "\n\n";
    }
    ex_->metrics().FeedSent(batch->events.size());
    if (!out_.empty()) return WriteOut();
    if (std::chrono::steady_clock::now() - last_sent_ >= ex_->options().feed_heartbeat) {
      out_ = ": keepalive\n\n";
      return WriteOut();
    }
    if (cursor_ < engine_.head().seq.value) return Pump();  // only skipped
    timer_.expires_after(kFeedPoll);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->Pump();
    });
  }

  std::shared_ptr<Exchange> ex_;
  const engine::Engine& engine_;
  FeedQuery query_;
  uint64_t cursor_;  // the last sequence sent or skipped
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_;   // long-poll
  std::chrono::steady_clock::time_point last_sent_;  // event stream: for heartbeats
  std::string out_;                                  // the bytes to write next
};

void GetFeed(Exchange& ex, const engine::Engine& engine) {
  if (ex.request().method() != http::verb::get) return ex.MethodNotAllowed("GET");
  const engine::Actor& actor = ex.actor();
  FeedQuery q;
  if (Status bad = ParseFeedQuery(ex.params(), q); !bad.ok()) return ex.Fail(bad);
  if (actor.role == engine::Role::kHandler && !q.filter.office.empty() &&
      q.filter.office != actor.office) {
    return ex.Fail(PermissionDenied("a handler follows only their own office"));
  }
  q.filter.actor = actor;
  // A reconnecting EventSource names the last event it saw; that wins over `after`.
  const auto last_id = ex.request()["Last-Event-ID"];
  if (!last_id.empty()) {
    uint64_t seq = 0;
    auto [p, ec] = std::from_chars(last_id.data(), last_id.data() + last_id.size(), seq);
    if (ec != std::errc() || p != last_id.data() + last_id.size()) {
      return ex.Fail(InvalidArgument("Last-Event-ID must be a sequence number", "Last-Event-ID"));
    }
    q.after = seq;
  }
  auto reader = std::make_shared<FeedReader>(ex, engine, std::move(q));
  if (ex.request()[http::field::accept].find("text/event-stream") != std::string_view::npos) {
    return reader->StartStream();
  }
  reader->StartPoll();
}

}  // namespace

void AddFeedRoute(Routes& routes, const engine::Engine& engine) {
  routes.push_back({Route::kFeed,
                    [](const auto& path) { return IsV1(path, "feed"); },
                    true,
                    false,
                    {},
                    [&engine](Exchange& ex) { GetFeed(ex, engine); }});
}

}  // namespace wangge::ingest
