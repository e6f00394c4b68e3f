// Bearer tokens: a file that maps the SHA-256 of each token to an actor and role. The
// file never holds a token itself; `wangge token add` prints a new one once.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/core/status.h"
#include "engine/domain.h"

namespace wangge::ingest {

// Immutable once loaded; thread-safe.
class TokenStore {
 public:
  // Reads a tokens file: one token a line, "SHA256-HEX ACTOR ROLE [OFFICE]", blank lines
  // and '#' comments allowed. kInvalidArgument lists every bad line as
  // "FILE:LINE:COLUMN: message"; kNotFound when the file is missing.
  static Result<TokenStore> Load(const std::string& path);
  static Result<TokenStore> Parse(std::string_view text, const std::string& name);

  // The actor a presented token stands for, or nullopt.
  std::optional<engine::Actor> Find(std::string_view token) const;
  size_t size() const { return by_hash_.size(); }

  // A new random token (32 bytes from OpenSSL's RAND_bytes, hex) and its file line.
  // kInvalidArgument: bad actor, role, or office (handlers need one, others none).
  static Result<std::pair<std::string, std::string>> NewToken(const engine::Actor& actor);

  // Appends `line` to the file, creating it with mode 0600 when missing.
  static Status Append(const std::string& path, const std::string& line);

 private:
  std::unordered_map<std::string, engine::Actor> by_hash_;  // hex SHA-256 -> actor
};

}  // namespace wangge::ingest
