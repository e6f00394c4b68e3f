#include "tests/testing/http_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace wangge::testing {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// A request with `headers` and `body` on a new connection; HEAD reads no body. The server
// may answer (413) and close before the whole body is sent: the write then fails, and
// the answer is still there to read.
Reply Fetch(uint16_t port, http::verb method, const std::string& target, const Headers& headers,
            const std::string& body) {
  net::io_context ioc;
  tcp::socket socket(ioc);
  boost::beast::error_code ec;
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return Reply{-1, ec.message(), "", {}};
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  http::write(socket, req, ec);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);  // photos
  parser.skip(method == http::verb::head);
  http::read(socket, buffer, parser, ec);
  if (ec) return Reply{-1, ec.message(), "", {}};
  const auto& res = parser.get();
  return Reply{static_cast<int>(res.result_int()), res.body(),
               std::string(res[http::field::content_type]), res.base()};
}

// Sends `bytes` as they are on a new connection and reads one answer, waiting at most
// 5 s for each.
Reply Raw(uint16_t port, const std::string& bytes) {
  net::io_context ioc;
  boost::beast::tcp_stream stream(ioc);
  boost::beast::error_code ec;
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return Reply{-1, ec.message(), "", {}};
  // The server may answer and close before it has read everything: a failed write
  // still leaves its answer to read.
  stream.expires_after(std::chrono::seconds(5));
  net::async_write(stream, net::buffer(bytes), [](boost::beast::error_code, size_t) {});
  ioc.run();
  ioc.restart();
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  stream.expires_after(std::chrono::seconds(5));
  http::async_read(stream, buffer, res, [&](boost::beast::error_code e, size_t) { ec = e; });
  ioc.run();
  if (ec) return Reply{-1, ec.message(), "", {}};
  return Reply{static_cast<int>(res.result_int()), res.body(),
               std::string(res[http::field::content_type]), res.base()};
}

struct Connection::Socket {
  net::io_context ioc;
  tcp::socket socket{ioc};
  boost::beast::flat_buffer buffer;
};

Connection::Connection(uint16_t port) : socket_(std::make_unique<Socket>()) {
  boost::system::error_code ec;
  socket_->socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
}

Connection::~Connection() = default;

Reply Connection::Send(http::verb method, const std::string& target, const Headers& headers,
                       const std::string& body) {
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.keep_alive(true);
  req.body() = body;
  req.prepare_payload();
  boost::beast::error_code ec;
  http::write(socket_->socket, req, ec);
  http::response<http::string_body> res;
  if (!ec) http::read(socket_->socket, socket_->buffer, res, ec);
  if (ec || !res.keep_alive()) return Reply{};
  return Reply{static_cast<int>(res.result_int()), res.body(),
               std::string(res[http::field::content_type]), res.base()};
}

}  // namespace wangge::testing
