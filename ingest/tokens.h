// Bearer tokens: a file that maps the SHA-256 of each token to an actor and role, with
// when it was created and when it expires. The file never holds a token itself; `wangge
// token add` prints a new one once. A running server re-reads the file (TokenWatcher).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"
#include "core/time.h"
#include "engine/domain.h"

namespace wangge::ingest {

// One line of a tokens file. Immutable.
struct TokenEntry {
  std::string hash;  // hex SHA-256 of the token
  engine::Actor actor;
  std::optional<TimeMs> created;
  std::optional<TimeMs> expires;  // refused once the clock is past it
  size_t line = 0;                // 1-based line in the file it was read from; 0 if none

  // The token's short id: the first 12 hex digits of its hash (safe to show and log).
  std::string Id() const { return hash.substr(0, 12); }
  // Whether the token is refused at `now` because it expired.
  bool ExpiredAt(TimeMs now) const { return expires && now > *expires; }
  // The entry as a file line: "HASH ACTOR ROLE [OFFICE] [created=T] [expires=T]".
  std::string Line() const;
};

// What a reload changed, counted by token hash.
struct TokenChange {
  size_t tokens = 0;   // tokens in the new set
  size_t added = 0;    // hashes new in this set
  size_t removed = 0;  // hashes gone from it
  size_t changed = 0;  // same hash, another actor, role, office or expiry
};

// The tokens a server accepts. Thread-safe: Find and size read the current set while
// Reload swaps in a new one; a copy shares the copied set and reloads on its own.
class TokenStore {
 public:
  TokenStore();
  TokenStore(const TokenStore& other);
  TokenStore& operator=(const TokenStore& other);

  // Reads a tokens file: one token a line, "SHA256-HEX ACTOR ROLE [OFFICE]" followed by
  // optional "created=RFC3339" and "expires=RFC3339" words; blank lines and '#' comments
  // allowed. kInvalidArgument lists every bad line as "FILE:LINE:COLUMN: message";
  // kNotFound when the file is missing.
  static Result<TokenStore> Load(const std::string& path);
  static Result<TokenStore> Parse(std::string_view text, const std::string& name);

  // The actor a presented token stands for, or nullopt: unknown, malformed, or expired
  // (judged by the system clock, or `now`).
  std::optional<engine::Actor> Find(std::string_view token) const;
  std::optional<engine::Actor> Find(std::string_view token, TimeMs now) const;
  size_t size() const;
  // Every token, in file order.
  std::vector<TokenEntry> Entries() const;

  // Replaces the set with the one in `path` and says what changed. On any error (those of
  // Load) the current set stays.
  Result<TokenChange> Reload(const std::string& path);

  // A new random token (32 bytes from OpenSSL's RAND_bytes, hex) and its file line.
  // kInvalidArgument: bad actor, role, or office (handlers need one, others none).
  static Result<std::pair<std::string, std::string>> NewToken(const engine::Actor& actor);
  // The same with the times the line records.
  static Result<std::pair<std::string, TokenEntry>> NewToken(const engine::Actor& actor,
                                                             std::optional<TimeMs> created,
                                                             std::optional<TimeMs> expires);

  // Appends `line` to the file, creating it with mode 0600 when missing.
  static Status Append(const std::string& path, const std::string& line);

 private:
  struct Snapshot {
    std::vector<TokenEntry> entries;
    std::unordered_map<std::string, size_t> by_hash;  // hex SHA-256 -> index in entries
  };
  std::shared_ptr<const Snapshot> Current() const;

  mutable Mutex mu_;
  std::shared_ptr<const Snapshot> current_ WANGGE_GUARDED_BY(mu_);  // never null
};

// Which tokens `RevokeTokens` removes: those of `actor`, or the one whose id starts with
// `id_prefix` (exactly one of the two is set).
struct TokenMatch {
  std::string actor;
  std::string id_prefix;  // 4-64 lowercase hex digits
};

// Removes the matching tokens from the file at `path`, keeping every other line as it
// was, and rewrites it atomically (WriteFileAtomically). Returns what was removed.
// kInvalidArgument: a bad match, no token matches, a prefix that matches more than one
// token, or a malformed file; nothing is changed then. kNotFound: no such file.
Result<std::vector<TokenEntry>> RevokeTokens(const std::string& path, const TokenMatch& match);

// Replaces the file at `path` with `text`: a temporary file in the same directory with
// mode 0600, fsynced, renamed over `path`, then the directory fsynced, so a reader sees
// the old file or the new one, never a part. kIOError: `path` is unchanged.
Status WriteFileAtomically(const std::string& path, const std::string& text);

// A table of `entries` for people: id, actor, role, office, created, expires, state at
// `now`. Shows only the short id, never a whole hash.
std::string FormatTokenList(const std::vector<TokenEntry>& entries, TimeMs now);

// Keeps a TokenStore equal to its file while a server runs: a thread polls the file's
// inode, size and mtime every `poll` and reloads when they change; ReloadNow (SIGHUP)
// reloads at once. A failed reload (malformed or missing file) keeps the old set and
// logs a warning naming the problem; a successful one logs
// "tokens reloaded: N tokens (M added, K removed)". Thread-safe.
class TokenWatcher {
 public:
  // `store` outlives the watcher.
  TokenWatcher(TokenStore& store, std::string path,
               std::chrono::milliseconds poll = std::chrono::milliseconds(250));
  ~TokenWatcher();
  TokenWatcher(const TokenWatcher&) = delete;
  TokenWatcher& operator=(const TokenWatcher&) = delete;

  // Starts polling, taking the file as it is now as the loaded one. Call once.
  void Start();
  // Stops polling and joins the thread. Idempotent.
  void Stop();
  // Reloads now and logs the outcome.
  Status ReloadNow();

 private:
  // What identifies a version of the file; all zero when it cannot be read.
  struct Stamp {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    friend bool operator==(const Stamp&, const Stamp&) = default;
  };
  Stamp StampNow() const;
  void Run();
  Status ReloadLocked() WANGGE_REQUIRES(reload_mu_);

  TokenStore& store_;
  const std::string path_;
  const std::chrono::milliseconds poll_;
  Mutex reload_mu_;  // one reload at a time
  Stamp stamp_ WANGGE_GUARDED_BY(reload_mu_);
  Mutex stop_mu_;
  CondVar stop_cv_;
  bool stop_ WANGGE_GUARDED_BY(stop_mu_) = false;
  std::thread thread_;
};

}  // namespace wangge::ingest
