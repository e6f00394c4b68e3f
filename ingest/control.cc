#include "ingest/control.h"

#include <cerrno>
#include <filesystem>
#include <sys/stat.h>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "wire/json_writer.h"

namespace wangge::ingest {
namespace {

namespace net = boost::asio;
using local = net::local::stream_protocol;

constexpr size_t kMaxRequest = 4096;

std::string Reply(const Status& s) {
  boost::json::object out{{"ok", s.ok()}};
  if (!s.ok()) out["error"] = s.ToString();
  return wire::WriteJson(out) + "\n";
}

}  // namespace

std::string ControlSocketPath(const std::string& data) {
  return (std::filesystem::path(data) / "control.sock").string();
}

Result<ControlCommand> ParseControlRequest(std::string_view line) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(line, ec);
  const auto* o = v.if_object();
  if (ec || !o) return InvalidArgument("the request is not a JSON object");
  const auto* op = o->if_contains("op");
  if (!op || !op->is_string()) return InvalidArgument("no op", "op");
  if (op->as_string() != "backup") {
    return InvalidArgument("unknown op " + std::string(op->as_string()), "op");
  }
  const auto* to = o->if_contains("to");
  if (!to || !to->is_string() ||
      !std::filesystem::path(std::string(to->as_string())).is_absolute()) {
    return InvalidArgument("backup needs an absolute path", "to");
  }
  return ControlCommand{"backup", std::string(to->as_string())};
}

struct ControlServer::Rep {
  engine::Engine& engine;
  std::string path;
  net::io_context io;
  local::acceptor acceptor{io};
  std::thread thread;

  Rep(engine::Engine& e, std::string p) : engine(e), path(std::move(p)) {}

  // One request: parse, act, answer. Runs on the control thread; a backup blocks
  // only this channel, never the HTTP service.
  std::string Handle(const std::string& line) {
    auto command = ParseControlRequest(line);
    if (!command.ok()) return Reply(command.status());
    spdlog::info("control: backup to {}", command->to);
    return Reply(engine.Checkpoint(command->to));
  }

  void Accept() {
    acceptor.async_accept([this](boost::system::error_code ec, local::socket socket) {
      if (ec) return;  // closed by Stop
      boost::system::error_code io_ec;
      std::string line;
      net::read_until(socket, net::dynamic_buffer(line, kMaxRequest), '\n', io_ec);
      const std::string reply =
          io_ec ? Reply(InvalidArgument("a request is one line of at most 4096 bytes"))
                : Handle(line.substr(0, line.find('\n')));
      net::write(socket, net::buffer(reply), io_ec);
      Accept();
    });
  }
};

ControlServer::ControlServer(engine::Engine& engine, std::string socket_path)
    : rep_(std::make_unique<Rep>(engine, std::move(socket_path))) {}

ControlServer::~ControlServer() { Stop(); }

Status ControlServer::Start() {
  std::error_code fs_ec;
  std::filesystem::remove(rep_->path, fs_ec);  // a socket left by a crash; we hold the lock
  boost::system::error_code ec;
  rep_->acceptor.open(local(), ec);
  if (!ec) rep_->acceptor.bind(local::endpoint(rep_->path), ec);
  // bind() gives the socket 0777 less the umask (0700 under wangge's 0077). Connecting
  // needs only write permission, so set 0600 before listening, without touching the
  // process-wide umask that other threads' files depend on.
  if (!ec && ::chmod(rep_->path.c_str(), 0600) != 0) {
    ec = boost::system::error_code(errno, boost::system::system_category());
  }
  if (!ec) rep_->acceptor.listen(8, ec);
  if (ec) return IOError("control socket " + rep_->path + ": " + ec.message());
  rep_->Accept();
  rep_->thread = std::thread([this] { rep_->io.run(); });
  return Status::Ok();
}

void ControlServer::Stop() {
  if (!rep_->thread.joinable()) return;
  net::post(rep_->io, [this] {
    boost::system::error_code ec;
    rep_->acceptor.close(ec);
  });
  rep_->thread.join();
  std::error_code fs_ec;
  std::filesystem::remove(rep_->path, fs_ec);
}

Result<std::string> ControlRequest(const std::string& socket_path, const std::string& request) {
  net::io_context io;
  local::socket socket(io);
  boost::system::error_code ec;
  socket.connect(local::endpoint(socket_path), ec);
  if (ec) return Unavailable("no wangge serve answers on " + socket_path + ": " + ec.message());
  net::write(socket, net::buffer(request + "\n"), ec);
  std::string reply;
  net::read_until(socket, net::dynamic_buffer(reply, 1 << 16), '\n', ec);
  if (ec && reply.empty())
    return IOError("reading the reply on " + socket_path + ": " + ec.message());
  return reply.substr(0, reply.find('\n'));
}

}  // namespace wangge::ingest
