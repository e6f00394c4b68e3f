#include "ingest/tokens.h"

#include <algorithm>
#include <array>
#include <fcntl.h>
#include <sstream>
#include <unistd.h>
#include <vector>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ingest/cli_support.h"

namespace wangge::ingest {
namespace {

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 15]);
  }
  return out;
}

std::string Sha256Hex(std::string_view s) {
  std::array<unsigned char, 32> digest{};
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), digest.data(), &len, EVP_sha256(), nullptr);
  return Hex(digest.data(), digest.size());
}

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

Status CheckActor(const engine::Actor& a) {
  if (a.id.empty() || a.id.size() > 64 || !std::all_of(a.id.begin(), a.id.end(), IsIdChar)) {
    return InvalidArgument("actor must be 1-64 letters, digits, '-', '_' or '.'", "actor");
  }
  if (a.role == engine::Role::kHandler) {
    if (a.office.empty() || a.office.size() > 64 ||
        !std::all_of(a.office.begin(), a.office.end(), IsIdChar)) {
      return InvalidArgument("a handler needs an office id", "office");
    }
  } else if (!a.office.empty()) {
    return InvalidArgument("only a handler has an office", "office");
  }
  return Status::Ok();
}

}  // namespace

Result<TokenStore> TokenStore::Load(const std::string& path) {
  WANGGE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return Parse(text, path);
}

Result<TokenStore> TokenStore::Parse(std::string_view text, const std::string& name) {
  TokenStore store;
  std::vector<std::string> problems;
  std::istringstream in{std::string(text)};
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    auto problem = [&](size_t column, const std::string& message) {
      problems.push_back(name + ":" + std::to_string(number) + ":" + std::to_string(column) + ": " +
                         message);
    };
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) w.push_back(word);
    if (w.empty() || w[0].starts_with("#")) continue;
    const size_t role_column = line.find(w.size() > 2 ? w[2] : w[0]) + 1;
    if (w.size() < 3 || w.size() > 4) {
      problem(1, "expected SHA256-HEX ACTOR ROLE [OFFICE]");
      continue;
    }
    if (w[0].size() != 64 || w[0].find_first_not_of("0123456789abcdef") != std::string::npos) {
      problem(1, "the first word must be 64 lowercase hex digits (a SHA-256)");
      continue;
    }
    auto role = engine::RoleFromName(w[2]);
    if (!role || *role == engine::Role::kSystem) {
      problem(role_column, "unknown role '" + w[2] + "'");
      continue;
    }
    engine::Actor actor{w[1], *role, w.size() == 4 ? w[3] : ""};
    if (Status s = CheckActor(actor); !s.ok()) {
      problem(line.find(w[1]) + 1, s.message());
      continue;
    }
    if (!store.by_hash_.emplace(w[0], actor).second) problem(1, "this token appears twice");
  }
  if (!problems.empty()) {
    std::string msg = std::to_string(problems.size()) + " problem(s) in tokens file:";
    for (const auto& p : problems) msg += "\n  " + p;
    return InvalidArgument(std::move(msg));
  }
  return store;
}

std::optional<engine::Actor> TokenStore::Find(std::string_view token) const {
  if (token.empty() || token.size() > 256) return std::nullopt;
  auto it = by_hash_.find(Sha256Hex(token));
  if (it == by_hash_.end()) return std::nullopt;
  return it->second;
}

Result<std::pair<std::string, std::string>> TokenStore::NewToken(const engine::Actor& actor) {
  WANGGE_RETURN_IF_ERROR(CheckActor(actor));
  std::array<unsigned char, 32> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return Internal("RAND_bytes failed");
  }
  std::string token = "wg_" + Hex(random.data(), random.size());
  std::string line =
      Sha256Hex(token) + " " + actor.id + " " + std::string(engine::RoleName(actor.role));
  if (!actor.office.empty()) line += " " + actor.office;
  return std::pair(std::move(token), std::move(line));
}

Status TokenStore::Append(const std::string& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return IOError("cannot open '" + path + "' for appending");
  const std::string text = line + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  return ok ? Status::Ok() : IOError("writing '" + path + "' failed");
}

}  // namespace wangge::ingest
