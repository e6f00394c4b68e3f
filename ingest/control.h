// A local control channel for a running `wangge serve`: a Unix socket in the data
// directory (mode 0600: whoever may read the data may use it). One JSON request line,
// one JSON reply line, then the connection closes. Used by `wangge backup` while the
// server holds the directory.
//
//   {"op": "backup", "to": "/abs/path"}  ->  {"ok": true} | {"ok": false, "error": "..."}
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "core/status.h"
#include "engine/engine.h"

namespace wangge::ingest {

// A request the control channel acts on.
struct ControlCommand {
  std::string op;  // "backup"
  std::string to;  // absolute destination path
};
// kInvalidArgument naming the problem: not a JSON object, no or an unknown op, a
// backup without an absolute path.
Result<ControlCommand> ParseControlRequest(std::string_view line);

// The socket's path for a data directory.
std::string ControlSocketPath(const std::string& data);

class ControlServer {
 public:
  // `engine` outlives the server.
  ControlServer(engine::Engine& engine, std::string socket_path);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds the socket (replacing a stale one left by a crash) and serves on its own
  // thread. kIOError: the socket cannot be made (path too long, no permission).
  Status Start();
  // Stops serving and removes the socket. Idempotent.
  void Stop();

 private:
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

// Sends one request line and returns the reply line. kUnavailable: nothing listens.
Result<std::string> ControlRequest(const std::string& socket_path, const std::string& request);

}  // namespace wangge::ingest
