// The change feed (GET /v1/feed) and webhooks against the running server over loopback:
// long-poll and Server-Sent Events from every position, roles, resuming with
// Last-Event-ID across a restart, a consumer that stops reading, and webhooks to a
// loopback receiver that fails, times out and recovers.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ingest/local_server.h"
#include "tests/testing/http_fixture.h"

namespace wangge::ingest {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

class FeedTest : public testing::HttpServerFixture {
 protected:
  // Reports: `n` to zonghe-zhifa (env.garbage), each accepted by its handler.
  void Work(int n, const std::string& prefix) {
    for (int i = 0; i < n; ++i) {
      const std::string id = prefix + std::to_string(i);
      ASSERT_EQ(Call(http::verb::post, "/v1/reports", worker_, ReportBody(id)).status, 201);
      ASSERT_EQ(Call(http::verb::post, "/v1/cases/" + id + "/transitions", handler_,
                     R"({"action":"accept"})")
                    .status,
                200);
    }
  }
  // A report that goes to shichang (food.stall), by the other worker.
  void OtherOffice(const std::string& id) {
    const std::string body = R"({"client_id":")" + id +
                             R"(","category":"food.stall","village":"V01","grid":"V01-G1",)"
                             R"("severity":2,"reported_at":"2020-03-02T09:15:00+08:00"})";
    ASSERT_EQ(Call(http::verb::post, "/v1/reports", other_worker_, body).status, 201);
  }
  std::vector<uint64_t> Seqs(const std::string& query, const std::string& token,
                             uint64_t* next = nullptr) {
    auto r = Call(http::verb::get, query.empty() ? "/v1/feed" : "/v1/feed?" + query, token);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    std::vector<uint64_t> out;
    if (r.status != 200) return out;
    const auto body = boost::json::parse(r.body);
    for (const auto& rec : body.at("records").as_array()) {
      out.push_back(rec.at("seq").to_number<uint64_t>());
    }
    if (next) *next = body.at("next").to_number<uint64_t>();
    return out;
  }
  uint64_t Head() { return engine_->head().seq.value; }
  void RestartEngineAndServer() {
    ReopenEngine();
    StartServer(options_);
  }
  double Metric(const std::string& name) {
    const std::string text = Call(http::verb::get, "/metrics", "").body;
    const size_t at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
  }
  ServerOptions options_ = [] {
    ServerOptions so;
    so.port = 0;
    so.feed_heartbeat = std::chrono::milliseconds(500);
    so.webhooks.first_backoff = std::chrono::milliseconds(1000);
    so.webhooks.max_failures = 4;
    so.webhooks.timeout = std::chrono::milliseconds(500);
    so.webhooks.idle_poll = std::chrono::milliseconds(20);
    return so;
  }();
};

// A Server-Sent Events client on a raw socket.
class EventStream {
 public:
  EventStream(uint16_t port, const std::string& token, const std::string& query,
              const std::string& last_event_id = "", int receive_buffer = 0) {
    socket_.open(tcp::v4());
    if (receive_buffer) socket_.set_option(net::socket_base::receive_buffer_size(receive_buffer));
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    std::string req = "GET /v1/feed" + (query.empty() ? "" : "?" + query) +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                      "Authorization: Bearer " +
                      token + "\r\n";
    if (!last_event_id.empty()) req += "Last-Event-ID: " + last_event_id + "\r\n";
    net::write(socket_, net::buffer(req + "\r\n"));
  }
  // Reads until `n` events (or `heartbeats` comment lines) arrived, for at most `seconds`.
  std::vector<uint64_t> Read(size_t n, int seconds = 10, size_t heartbeats = 0) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while ((ids_.size() < n || heartbeats_ < heartbeats) &&
           std::chrono::steady_clock::now() < deadline) {
      socket_.non_blocking(true);
      char buf[65536];
      boost::system::error_code ec;
      const size_t got = socket_.read_some(net::buffer(buf), ec);
      if (ec == net::error::would_block) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      if (ec) break;
      text_.append(buf, got);
      Parse();
    }
    return ids_;
  }
  const std::string& text() const { return text_; }

 private:
  void Parse() {
    size_t end;
    while ((end = text_.find("\n\n", parsed_)) != std::string::npos) {
      const std::string block = text_.substr(parsed_, end - parsed_);
      parsed_ = end + 2;
      if (block.starts_with(": keepalive")) ++heartbeats_;
      const size_t id = block.find("id: ");
      if (id != std::string::npos) ids_.push_back(std::stoull(block.substr(id + 4)));
    }
  }
  net::io_context ioc_;
  tcp::socket socket_{ioc_};
  std::string text_;
  size_t parsed_ = 0;
  size_t heartbeats_ = 0;
  std::vector<uint64_t> ids_;
};

TEST_F(FeedTest, LongPollResumesFromEveryPositionWithoutGapsOrRepeats) {
  StartServer(options_);
  Work(6, "lp-");
  const uint64_t head = Head();
  for (uint64_t after = 0; after <= head; ++after) {
    uint64_t next = 0;
    std::vector<uint64_t> expected;
    for (uint64_t s = after + 1; s <= head; ++s) expected.push_back(s);
    EXPECT_EQ(Seqs("after=" + std::to_string(after), supervisor_, &next), expected) << after;
    EXPECT_EQ(next, head);
  }
  // Paging with limit: following `next` reads each record once.
  std::vector<uint64_t> all;
  uint64_t next = 0;
  for (int pages = 0; pages < 20 && next < head; ++pages) {
    auto page = Seqs("limit=4&after=" + std::to_string(next), supervisor_, &next);
    all.insert(all.end(), page.begin(), page.end());
  }
  ASSERT_EQ(all.size(), head);
  for (uint64_t s = 1; s <= head; ++s) EXPECT_EQ(all[s - 1], s);
  // Without `after`: from now, so nothing yet.
  EXPECT_TRUE(Seqs("", supervisor_).empty());
}

TEST_F(FeedTest, LongPollWaitsForTheNextRecord) {
  StartServer(options_);
  const uint64_t head = Head();
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(Call(http::verb::post, "/v1/reports", worker_, ReportBody("w-1")).status, 201);
  });
  const auto start = std::chrono::steady_clock::now();
  auto got = Seqs("wait=10s&after=" + std::to_string(head), supervisor_);
  const auto took = std::chrono::steady_clock::now() - start;
  later.join();
  EXPECT_EQ(got, std::vector<uint64_t>{head + 1});
  EXPECT_LT(took, std::chrono::seconds(5));
  // Nothing comes: the answer is empty once the wait is over.
  const auto quiet = std::chrono::steady_clock::now();
  EXPECT_TRUE(Seqs("wait=1s&after=" + std::to_string(Head()), supervisor_).empty());
  EXPECT_GE(std::chrono::steady_clock::now() - quiet, std::chrono::milliseconds(900));
}

TEST_F(FeedTest, EachRoleSeesWhatItMaySee) {
  StartServer(options_);
  Work(2, "r-");  // zonghe-zhifa: seqs 2..5
  OtherOffice("r-other");
  const uint64_t rules_seq = 1;
  const auto sup = Seqs("after=0", supervisor_);
  EXPECT_EQ(sup.size(), Head());
  EXPECT_EQ(sup.front(), rules_seq);
  const auto mine = Seqs("after=0", handler_);
  EXPECT_EQ(mine, (std::vector<uint64_t>{2, 3, 4, 5}));  // no ruleset, no other office
  EXPECT_EQ(Seqs("after=0", other_handler_), std::vector<uint64_t>{Head()});
  EXPECT_EQ(Seqs("after=0", other_worker_), std::vector<uint64_t>{Head()});
  EXPECT_EQ(Seqs("after=0&office=shichang", supervisor_), std::vector<uint64_t>{Head()});
  EXPECT_EQ(Seqs("after=0&kinds=report", handler_), (std::vector<uint64_t>{2, 4}));
  EXPECT_EQ(Seqs("after=0&kinds=rules", supervisor_), std::vector<uint64_t>{rules_seq});
  EXPECT_EQ(Call(http::verb::get, "/v1/feed?office=shichang", handler_).status, 403);
  EXPECT_EQ(Call(http::verb::get, "/v1/feed?kinds=nope", supervisor_).status, 400);
  EXPECT_EQ(Call(http::verb::get, "/v1/feed?limit=0", supervisor_).status, 400);
  EXPECT_EQ(Call(http::verb::get, "/v1/feed?wait=61s", supervisor_).status, 400);
  EXPECT_EQ(Call(http::verb::get, "/v1/feed", "").status, 401);
}

TEST_F(FeedTest, AnEventStreamResumesWithLastEventIdAcrossARestart) {
  StartServer(options_);
  Work(3, "s-");
  EventStream first(server_->port(), supervisor_, "after=0");
  auto seen = first.Read(Head());
  ASSERT_EQ(seen.size(), Head()) << first.text();
  EXPECT_NE(first.text().find("Content-Type: text/event-stream"), std::string::npos);
  Work(2, "live-");  // arrives while connected
  seen = first.Read(Head());
  ASSERT_EQ(seen.size(), Head());
  const uint64_t last = seen.back();
  // The server goes away and comes back; more is written meanwhile.
  RestartEngineAndServer();
  Work(2, "after-restart-");
  EventStream again(server_->port(), supervisor_, "after=0", std::to_string(last));
  const auto rest = again.Read(Head() - last);
  std::vector<uint64_t> expected;
  for (uint64_t s = last + 1; s <= Head(); ++s) expected.push_back(s);
  EXPECT_EQ(rest, expected);  // nothing missed, nothing twice
  // A quiet stream gets heartbeats.
  again.Read(rest.size(), 5, 2);
  EXPECT_NE(again.text().find(": keepalive"), std::string::npos);
  EXPECT_EQ(Metric("wangge_feed_streams"), 1);
}

TEST_F(FeedTest, AnEventStreamResumesFromEveryPosition) {
  StartServer(options_);
  Work(4, "e-");
  const uint64_t head = Head();
  for (uint64_t last = 0; last <= head; ++last) {
    EventStream stream(server_->port(), supervisor_, "", std::to_string(last));
    std::vector<uint64_t> expected;
    for (uint64_t s = last + 1; s <= head; ++s) expected.push_back(s);
    EXPECT_EQ(stream.Read(expected.size(), 5), expected) << "after " << last;
  }
  // `after` works the same without the header.
  EventStream by_query(server_->port(), supervisor_, "after=" + std::to_string(head - 2));
  EXPECT_EQ(by_query.Read(2, 5), (std::vector<uint64_t>{head - 1, head}));
}

// A consumer that stops reading for a minute while 10,000 records are written: the
// server holds one batch for it, never the backlog; then it gets every record in order.
TEST_F(FeedTest, AConsumerThatStopsReadingCostsOneBatch) {
  StartServer(options_);
  const uint64_t start = Head();
  EventStream slow(server_->port(), supervisor_, "after=" + std::to_string(start), "", 4096);
  slow.Read(0, 1);  // the header
  double most = 0;
  const auto stall_until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int batch_no = 0;
  while (std::chrono::steady_clock::now() < stall_until) {
    if (batch_no < 10) {
      std::string lines;
      for (int i = 0; i < 1000; ++i) {
        lines += R"({"client_id":"bulk-)" + std::to_string(batch_no) + "-" + std::to_string(i) +
                 R"(","category":"env.garbage","village":"V07","grid":"V07-G3","severity":2,)"
                 R"("reported_at":"2020-03-02T09:15:00+08:00"})"
                 "\n";
      }
      auto r = Call(http::verb::post, "/v1/reports:batch", worker_, lines);
      ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
      ++batch_no;
    }
    most = std::max(most, Metric("wangge_feed_buffered_bytes"));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_EQ(Head() - start, 10'000u);
  EXPECT_LE(most, 1 << 20) << "bytes held for the stalled stream";
  // The stall was real: the socket could not take everything, so records waited in
  // RocksDB, not in memory.
  const double sent = Metric("wangge_feed_events_total");
  EXPECT_LT(sent, 10'000);
  std::cout << "stalled consumer: " << sent << " of 10000 records sent before it read; at most "
            << most << " bytes held\n";
  const auto seen = slow.Read(10'000, 60);
  ASSERT_EQ(seen.size(), 10'000u);
  for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], start + 1 + i);
}

// ---- Webhooks ----

// A loopback receiver that answers by a policy and keeps what it was sent.
class Receiver {
 public:
  struct Got {
    uint64_t seq;
    std::string body, timestamp, signature;
  };
  Receiver() : acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~Receiver() {
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket poke(ioc_);
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/hook";
  }
  std::atomic<int> fail{0};         // answer 500 to this many more requests
  std::atomic<int> hang{0};         // never answer this many more (the sender times out)
  std::atomic<bool> broken{false};  // answer 500 to everything
  std::vector<Got> got() {
    std::lock_guard lock(mu_);
    return got_;
  }
  int requests() { return requests_.load(); }

 private:
  void Serve() {
    while (!stop_) {
      tcp::socket s(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (ec || stop_) return;
      beast::flat_buffer buf;
      http::request<http::string_body> req;
      http::read(s, buf, req, ec);
      if (ec) continue;
      ++requests_;
      if (hang > 0) {
        --hang;
        std::this_thread::sleep_for(std::chrono::milliseconds(900));
        continue;
      }
      const bool ok = !broken && fail <= 0;
      if (!ok && fail > 0) --fail;
      if (ok) {
        std::lock_guard lock(mu_);
        got_.push_back({std::stoull(std::string(req["X-Wangge-Seq"])), req.body(),
                        std::string(req["X-Wangge-Timestamp"]),
                        std::string(req["X-Wangge-Signature"])});
      }
      http::response<http::string_body> res{
          ok ? http::status::ok : http::status::internal_server_error, 11};
      res.body() = ok ? "ok" : "down";
      res.prepare_payload();
      http::write(s, res, ec);
    }
  }
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::vector<Got> got_;
};

std::string Hmac(const std::string& secret, const std::string& message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  std::string hex = "sha256=";
  for (unsigned i = 0; i < len; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", mac[i]);
    hex += b;
  }
  return hex;
}

constexpr const char* kSecret = "s3cret-for-zonghe-zhifa";

class WebhookTest : public FeedTest {
 protected:
  void Register(const std::string& url) {
    auto r = Call(http::verb::put, "/v1/webhooks/zonghe-zhifa", admin_,
                  R"({"url":")" + url + R"(","secret":")" + kSecret + R"("})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body.find(kSecret), std::string::npos);  // never answered back
  }
  boost::json::object State() {
    auto r = Call(http::verb::get, "/v1/webhooks", admin_);
    EXPECT_EQ(r.status, 200) << r.body;
    const auto parsed = boost::json::parse(r.body);
    return parsed.at("webhooks").as_array().at(0).as_object();
  }
  // Waits (advancing the fake clock past any backoff) until `pred`.
  template <typename Pred>
  bool Eventually(Pred pred, int seconds = 20) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      clock_.Advance(400'000);  // beyond the largest backoff
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return pred();
  }
  // The office's records, as the feed shows them to its handler.
  std::vector<uint64_t> Expected(uint64_t after) {
    return Seqs("after=" + std::to_string(after) + "&limit=1000", handler_);
  }
};

TEST_F(WebhookTest, EveryVisibleRecordArrivesInOrderSignedThroughFailuresAndTimeouts) {
  StartServer(options_);
  Receiver rx;
  const uint64_t registered_at = Head();
  Register(rx.url());
  rx.fail = 2;
  rx.hang = 1;
  Work(5, "h-");
  OtherOffice("h-other");  // not this office's: never sent
  Work(2, "h2-");
  const auto expected = Expected(registered_at);
  ASSERT_EQ(expected.size(), 14u);
  ASSERT_TRUE(Eventually([&] {
    auto got = rx.got();
    return !got.empty() && got.back().seq == expected.back();
  })) << rx.got().size();
  std::vector<uint64_t> order;
  for (const auto& g : rx.got()) {
    EXPECT_EQ(g.signature, Hmac(kSecret, g.timestamp + "." + g.body)) << g.seq;
    EXPECT_EQ(boost::json::parse(g.body).at("seq").to_number<uint64_t>(), g.seq);
    if (order.empty() || order.back() != g.seq) order.push_back(g.seq);  // at least once
  }
  EXPECT_EQ(order, expected);
  EXPECT_GE(rx.requests(), 17);  // 14 + two failures + one timeout
  const auto state = State();
  EXPECT_EQ(state.at("delivered").to_number<uint64_t>(), Head());
  EXPECT_EQ(state.at("failures").to_number<int>(), 0);
}

TEST_F(WebhookTest, AReceiverThatKeepsFailingIsPausedVisiblyAndResumes) {
  StartServer(options_);
  Receiver rx;
  const uint64_t registered_at = Head();
  Register(rx.url());
  rx.broken = true;
  Work(1, "p-");
  ASSERT_TRUE(Eventually([&] { return State().at("paused").as_bool(); }));
  EXPECT_EQ(State().at("failures").to_number<int>(), 4);
  EXPECT_NE(std::string(State().at("last_error").as_string()).find("500"), std::string::npos);
  EXPECT_NE(Call(http::verb::get, "/metrics", "")
                .body.find("wangge_webhook_paused{office=\"zonghe-zhifa\"} 1"),
            std::string::npos);
  const int tries = rx.requests();
  clock_.Advance(3'600'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(rx.requests(), tries);  // paused: no more attempts
  rx.broken = false;
  EXPECT_EQ(Call(http::verb::post, "/v1/webhooks/zonghe-zhifa/resume", handler_).status, 200);
  const auto expected = Expected(registered_at);
  ASSERT_TRUE(Eventually([&] { return rx.got().size() >= expected.size(); }));
  EXPECT_EQ(rx.got().back().seq, expected.back());
}

TEST_F(WebhookTest, DeliveryResumesAfterARestartWhereItStopped) {
  StartServer(options_);
  Receiver rx;
  const uint64_t registered_at = Head();
  Register(rx.url());
  Work(2, "b-");
  ASSERT_TRUE(Eventually([&] { return rx.got().size() == 4; }));
  rx.broken = true;
  Work(2, "c-");
  ASSERT_TRUE(Eventually([&] { return State().at("failures").to_number<int>() >= 1; }));
  RestartEngineAndServer();
  rx.broken = false;
  Work(1, "d-");
  const auto expected = Expected(registered_at);
  ASSERT_TRUE(Eventually([&] {
    auto got = rx.got();
    return !got.empty() && got.back().seq == expected.back();
  }));
  std::vector<uint64_t> order;
  for (const auto& g : rx.got()) {
    if (order.empty() || order.back() != g.seq) order.push_back(g.seq);
  }
  EXPECT_EQ(order, expected);
}

TEST_F(WebhookTest, RegistrationsAreCheckedAndLimitedToTheOffice) {
  StartServer(options_);
  const auto put = [&](const std::string& token, const std::string& office,
                       const std::string& body) {
    return Call(http::verb::put, "/v1/webhooks/" + office, token, body).status;
  };
  const std::string good = R"({"url":"http://127.0.0.1:9/x","secret":"0123456789abcdef"})";
  EXPECT_EQ(
      put(admin_, "zonghe-zhifa", R"({"url":"https://x.example/h","secret":"0123456789abcdef"})"),
      400);
  EXPECT_EQ(put(admin_, "zonghe-zhifa", R"({"url":"http://127.0.0.1:9/x","secret":"short"})"), 400);
  EXPECT_EQ(put(admin_, "zonghe-zhifa", R"({"url":"http://127.0.0.1:9/x"})"), 400);
  EXPECT_EQ(put(admin_, "zonghe-zhifa",
                R"({"url":"http://127.0.0.1:9/x","secret":"0123456789abcdef","x":1})"),
            400);
  EXPECT_EQ(put(admin_, "no-such-office", good), 404);
  EXPECT_EQ(put(other_handler_, "zonghe-zhifa", good), 403);
  EXPECT_EQ(put(supervisor_, "zonghe-zhifa", good), 403);
  EXPECT_EQ(put(handler_, "zonghe-zhifa", good), 200);  // an office registers its own
  EXPECT_EQ(Call(http::verb::get, "/v1/webhooks", worker_).status, 403);
  auto other = Call(http::verb::get, "/v1/webhooks", other_handler_);
  EXPECT_EQ(boost::json::parse(other.body).at("webhooks").as_array().size(), 0u);
  EXPECT_EQ(Call(http::verb::delete_, "/v1/webhooks/zonghe-zhifa", handler_).status, 200);
  EXPECT_EQ(Call(http::verb::delete_, "/v1/webhooks/zonghe-zhifa", admin_).status, 404);
}

}  // namespace
}  // namespace wangge::ingest
