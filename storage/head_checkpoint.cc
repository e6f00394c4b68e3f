#include "storage/head_checkpoint.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "core/bytes.h"

namespace wangge::storage {
namespace {

namespace fs = std::filesystem;

// "wangge log head 1\nseq N\nhash HEX\ncheck HEX16\n": the check is the first 16 hex digits of
// the SHA-256 of the lines before it.
constexpr std::string_view kMagic = "wangge log head 1\n";

std::string Body(const LogHead& head) {
  return std::string(kMagic) + "seq " + std::to_string(head.seq.value) + "\nhash " +
         HexOf(head.hash) + "\n";
}

std::string CheckOf(std::string_view body) {
  Sha256 sha;
  return HexOf(sha.Of(body, "")).substr(0, 16);
}

Status WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IOError(std::string("writing the head checkpoint: ") + std::strerror(errno));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IOError("opening " + dir + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return IOError("syncing " + dir + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace

Status WriteHeadCheckpoint(const std::string& dir, const LogHead& head) {
  const std::string path = (fs::path(dir) / kHeadCheckpointFile).string();
  const std::string temp = path + ".new";
  const std::string body = Body(head);
  const std::string text = body + "check " + CheckOf(body) + "\n";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IOError("creating " + temp + ": " + std::strerror(errno));
  Status s = WriteAll(fd, text);
  if (s.ok() && ::fsync(fd) != 0) s = IOError("syncing " + temp + ": " + std::strerror(errno));
  ::close(fd);
  if (s.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    s = IOError("renaming " + temp + ": " + std::strerror(errno));
  }
  if (!s.ok()) {
    ::unlink(temp.c_str());
    return s;
  }
  return SyncDir(dir);
}

Result<std::optional<LogHead>> ReadHeadCheckpoint(const std::string& dir) {
  const std::string path = (fs::path(dir) / kHeadCheckpointFile).string();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return std::optional<LogHead>();
    return IOError("cannot read " + path);
  }
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  auto malformed = [&] {
    return DataLoss("the head checkpoint " + path + " is malformed; nothing was changed");
  };
  const size_t check_at = text.rfind("check ");
  if (!text.starts_with(kMagic) || check_at == std::string::npos) return malformed();
  const std::string body = text.substr(0, check_at);
  if (text.substr(check_at) != "check " + CheckOf(body) + "\n") return malformed();
  std::istringstream lines(body.substr(kMagic.size()));
  std::string seq_word, hash_word, hex;
  uint64_t seq = 0;
  if (!(lines >> seq_word >> seq >> hash_word >> hex) || seq_word != "seq" || hash_word != "hash") {
    return malformed();
  }
  LogHead head;
  head.seq = Seq{seq};
  std::string raw;
  if (!HexDecode(hex, raw) || raw.size() != head.hash.size()) return malformed();
  std::copy(raw.begin(), raw.end(), head.hash.begin());
  return std::optional<LogHead>(head);
}

Status CheckHeadCheckpoint(const EventLog& log, const std::string& dir) {
  WANGGE_ASSIGN_OR_RETURN(auto acknowledged, ReadHeadCheckpoint(dir));
  if (!acknowledged) return Status::Ok();
  const LogHead now = log.head();
  const auto describe = [](const LogHead& h) {
    return std::to_string(h.seq.value) + ":" + HexOf(h.hash);
  };
  if (now.seq < acknowledged->seq) {
    return DataLoss("the log in " + dir + " ends at " + describe(now) + ", but record " +
                    describe(*acknowledged) + " was acknowledged (checkpointed in " +
                    std::string(kHeadCheckpointFile) +
                    "): acknowledged records are missing, as when a write-ahead log is cut or "
                    "lost; nothing was changed");
  }
  WANGGE_ASSIGN_OR_RETURN(auto hash, log.HashAt(acknowledged->seq));
  if (!hash || *hash != acknowledged->hash) {
    return Corruption("record " + std::to_string(acknowledged->seq.value) + " of the log in " +
                      dir + " is not the one acknowledged (" + describe(*acknowledged) + " in " +
                      std::string(kHeadCheckpointFile) + "): the log was rewritten");
  }
  return Status::Ok();
}

}  // namespace wangge::storage
