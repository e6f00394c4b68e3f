// The HTTP test client: requests to a server on 127.0.0.1, each on a new connection
// (Fetch), raw bytes as they are (Raw), or several on one keep-alive connection
// (Connection). Every HTTP test uses it. Compiled once (tests/testing/http_client.cc):
// Beast's reading and writing are instantiated there, not in every test.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>

namespace wangge::testing {

namespace http = boost::beast::http;

struct Reply {
  int status = -1;  // -1: no answer (refused, or the server died or closed mid-request)
  std::string body;
  std::string content_type;
  http::fields headers;
};
using Headers = std::vector<std::pair<std::string, std::string>>;

inline Headers Bearer(const std::string& token) {
  if (token.empty()) return {};
  return {{"Authorization", "Bearer " + token}};
}

// A request with `headers` and `body` on a new connection; HEAD reads no body. The server
// may answer (413) and close before the whole body is sent: the write then fails, and
// the answer is still there to read.
Reply Fetch(uint16_t port, http::verb method, const std::string& target,
            const Headers& headers = {}, const std::string& body = {});

// Sends `bytes` as they are on a new connection and reads one answer, waiting at most
// 5 s for each.
Reply Raw(uint16_t port, const std::string& bytes);

// One keep-alive connection: each Send writes a request and reads its answer on it.
class Connection {
 public:
  explicit Connection(uint16_t port);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // status -1 when the connection failed or the server closed it.
  Reply Send(http::verb method, const std::string& target, const Headers& headers = {},
             const std::string& body = {});

 private:
  struct Socket;
  std::unique_ptr<Socket> socket_;
};

}  // namespace wangge::testing
