#include "ingest/tokens.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "core/files.h"

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

bool IsLowerHex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
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

// A word of a line and its 1-based column.
struct Word {
  std::string_view text;
  size_t column;
};

std::vector<Word> SplitWords(std::string_view line) {
  constexpr std::string_view kSpace = " \t\r\v\f";
  std::vector<Word> words;
  for (size_t at = line.find_first_not_of(kSpace); at != std::string_view::npos;) {
    const size_t end = std::min(line.find_first_of(kSpace, at), line.size());
    words.push_back(Word{line.substr(at, end - at), at + 1});
    at = line.find_first_not_of(kSpace, end);
  }
  return words;
}

struct LineError {
  size_t column;
  std::string message;
};

// Reads the "created=" and "expires=" words that follow the positional ones.
std::optional<LineError> ParseTimes(const std::vector<Word>& words, size_t first,
                                    TokenEntry& entry) {
  for (size_t i = first; i < words.size(); ++i) {
    const std::string_view w = words[i].text;
    const size_t eq = w.find('=');
    const std::string_view key = w.substr(0, eq == std::string_view::npos ? 0 : eq);
    std::optional<TimeMs>* slot = key == "created"   ? &entry.created
                                  : key == "expires" ? &entry.expires
                                                     : nullptr;
    if (slot == nullptr) {
      return LineError{words[i].column,
                       "expected created=RFC3339 or expires=RFC3339, not '" + std::string(w) + "'"};
    }
    if (slot->has_value()) return LineError{words[i].column, std::string(key) + " appears twice"};
    auto t = ParseRfc3339(w.substr(eq + 1));
    if (!t.ok()) {
      return LineError{words[i].column + eq + 1, std::string(key) + ": " + t.status().message()};
    }
    *slot = *t;
  }
  return std::nullopt;
}

// Parses a line that holds a token (not blank, not a comment) into `entry`.
std::optional<LineError> ParseLine(const std::vector<Word>& words, TokenEntry& entry) {
  size_t positional = 0;
  while (positional < words.size() && words[positional].text.find('=') == std::string::npos) {
    ++positional;
  }
  if (positional < 3 || positional > 4) {
    return LineError{1,
                     "expected SHA256-HEX ACTOR ROLE [OFFICE] [created=RFC3339] "
                     "[expires=RFC3339]"};
  }
  const std::string_view hash = words[0].text;
  if (hash.size() != 64 || !IsLowerHex(hash)) {
    return LineError{1, "the first word must be 64 lowercase hex digits (a SHA-256)"};
  }
  auto role = engine::RoleFromName(words[2].text);
  if (!role || *role == engine::Role::kSystem) {
    return LineError{words[2].column, "unknown role '" + std::string(words[2].text) + "'"};
  }
  entry.hash = std::string(hash);
  entry.actor = engine::Actor{std::string(words[1].text), *role,
                              positional == 4 ? std::string(words[3].text) : ""};
  if (Status s = CheckActor(entry.actor); !s.ok()) {
    const bool at_office = s.field() == "office" && positional == 4;
    return LineError{words[at_office ? 3 : 1].column, s.message()};
  }
  return ParseTimes(words, positional, entry);
}

// Tokens `match` selects from `entries`. kInvalidArgument when none does, or when an id
// prefix selects more than one.
Result<std::vector<TokenEntry>> Select(const std::vector<TokenEntry>& entries,
                                       const TokenMatch& match, const std::string& path) {
  std::vector<TokenEntry> found;
  for (const auto& e : entries) {
    if (match.actor.empty() ? e.hash.starts_with(match.id_prefix) : e.actor.id == match.actor) {
      found.push_back(e);
    }
  }
  if (found.empty()) {
    return match.actor.empty()
               ? InvalidArgument("no token id in " + path + " starts with " + match.id_prefix, "id")
               : InvalidArgument("no token of actor " + match.actor + " in " + path, "actor");
  }
  if (match.actor.empty() && found.size() > 1) {
    std::string ids;
    for (const auto& e : found) ids += " " + e.Id();
    return InvalidArgument("id prefix " + match.id_prefix + " matches " +
                               std::to_string(found.size()) + " tokens (" + ids.substr(1) +
                               "): give more digits",
                           "id");
  }
  return found;
}

Status CheckMatch(const TokenMatch& match) {
  if (match.actor.empty() == match.id_prefix.empty()) {
    return InvalidArgument("give either an actor or a token id prefix", "actor");
  }
  if (!match.id_prefix.empty() &&
      (match.id_prefix.size() < 4 || match.id_prefix.size() > 64 || !IsLowerHex(match.id_prefix))) {
    return InvalidArgument("a token id prefix is 4-64 lowercase hex digits", "id");
  }
  return Status::Ok();
}

bool WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// A problem list on one line, for a log line.
std::string OneLine(std::string text) {
  for (size_t at; (at = text.find("\n  ")) != std::string::npos;) {
    text.replace(at, 3, at > 0 && text[at - 1] == ':' ? " " : "; ");
  }
  return text;
}

}  // namespace

std::string TokenEntry::Line() const {
  std::string text = hash + " " + actor.id + " " + std::string(engine::RoleName(actor.role));
  if (!actor.office.empty()) text += " " + actor.office;
  if (created) text += " created=" + FormatRfc3339(*created);
  if (expires) text += " expires=" + FormatRfc3339(*expires);
  return text;
}

TokenStore::TokenStore() : current_(std::make_shared<const Snapshot>()) {}

TokenStore::TokenStore(const TokenStore& other) : current_(other.Current()) {}

TokenStore& TokenStore::operator=(const TokenStore& other) {
  auto snapshot = other.Current();
  MutexLock lock(mu_);
  current_ = std::move(snapshot);
  return *this;
}

std::shared_ptr<const TokenStore::Snapshot> TokenStore::Current() const {
  MutexLock lock(mu_);
  return current_;
}

Result<TokenStore> TokenStore::Load(const std::string& path) {
  WANGGE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return Parse(text, path);
}

Result<TokenStore> TokenStore::Parse(std::string_view text, const std::string& name) {
  auto snapshot = std::make_shared<Snapshot>();
  std::vector<std::string> problems;
  std::istringstream in{std::string(text)};
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    const std::vector<Word> words = SplitWords(line);
    if (words.empty() || words[0].text.starts_with("#")) continue;
    TokenEntry entry;
    entry.line = number;
    std::optional<LineError> error = ParseLine(words, entry);
    if (!error && !snapshot->by_hash.emplace(entry.hash, snapshot->entries.size()).second) {
      error = LineError{1, "this token appears twice"};
    }
    if (error) {
      problems.push_back(fmt::format("{}:{}:{}: {}", name, number, error->column, error->message));
      continue;
    }
    snapshot->entries.push_back(std::move(entry));
  }
  if (!problems.empty()) {
    std::string msg = std::to_string(problems.size()) + " problem(s) in tokens file:";
    for (const auto& p : problems) msg += "\n  " + p;
    return InvalidArgument(std::move(msg));
  }
  TokenStore store;
  {
    MutexLock lock(store.mu_);
    store.current_ = std::move(snapshot);
  }
  return store;
}

std::optional<engine::Actor> TokenStore::Find(std::string_view token) const {
  return Find(token, SystemClock().Now());
}

std::optional<engine::Actor> TokenStore::Find(std::string_view token, TimeMs now) const {
  if (token.empty() || token.size() > 256) return std::nullopt;
  const auto snapshot = Current();
  auto it = snapshot->by_hash.find(Sha256Hex(token));
  if (it == snapshot->by_hash.end()) return std::nullopt;
  const TokenEntry& entry = snapshot->entries[it->second];
  if (entry.ExpiredAt(now)) return std::nullopt;
  return entry.actor;
}

size_t TokenStore::size() const { return Current()->entries.size(); }

std::vector<TokenEntry> TokenStore::Entries() const { return Current()->entries; }

Result<TokenChange> TokenStore::Reload(const std::string& path) {
  WANGGE_ASSIGN_OR_RETURN(TokenStore loaded, Load(path));
  auto next = loaded.Current();
  MutexLock lock(mu_);
  TokenChange change;
  change.tokens = next->entries.size();
  for (const auto& e : next->entries) {
    auto old = current_->by_hash.find(e.hash);
    if (old == current_->by_hash.end()) {
      ++change.added;
    } else if (const TokenEntry& o = current_->entries[old->second];
               o.actor != e.actor || o.expires != e.expires) {
      ++change.changed;
    }
  }
  for (const auto& e : current_->entries) change.removed += next->by_hash.count(e.hash) == 0;
  current_ = std::move(next);
  return change;
}

Result<std::pair<std::string, std::string>> TokenStore::NewToken(const engine::Actor& actor) {
  WANGGE_ASSIGN_OR_RETURN(auto made, NewToken(actor, std::nullopt, std::nullopt));
  return std::pair(std::move(made.first), made.second.Line());
}

Result<std::pair<std::string, TokenEntry>> TokenStore::NewToken(const engine::Actor& actor,
                                                                std::optional<TimeMs> created,
                                                                std::optional<TimeMs> expires) {
  WANGGE_RETURN_IF_ERROR(CheckActor(actor));
  std::array<unsigned char, 32> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return Internal("RAND_bytes failed");
  }
  std::string token = "wg_" + Hex(random.data(), random.size());
  TokenEntry entry{Sha256Hex(token), actor, created, expires};
  return std::pair(std::move(token), std::move(entry));
}

Status TokenStore::Append(const std::string& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return IOError("cannot open '" + path + "' for appending");
  const bool ok = WriteAll(fd, line + "\n") && ::fsync(fd) == 0;
  ::close(fd);
  return ok ? Status::Ok() : IOError("writing '" + path + "' failed");
}

Result<std::vector<TokenEntry>> RevokeTokens(const std::string& path, const TokenMatch& match) {
  WANGGE_RETURN_IF_ERROR(CheckMatch(match));
  WANGGE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  WANGGE_ASSIGN_OR_RETURN(TokenStore store, TokenStore::Parse(text, path));
  WANGGE_ASSIGN_OR_RETURN(auto revoked, Select(store.Entries(), match, path));
  std::set<size_t> drop;
  for (const auto& e : revoked) drop.insert(e.line);
  std::string kept;
  std::istringstream in(text);
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (!drop.contains(number)) kept += line + "\n";
  }
  WANGGE_RETURN_IF_ERROR(WriteFileAtomically(path, kept));
  return revoked;
}

Status WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::filesystem::path target(path);
  const std::string dir =
      target.has_parent_path() ? target.parent_path().string() : std::string(".");
  std::string temp = path + ".tmp-XXXXXX";
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) return IOError("cannot create a temporary file beside '" + path + "'");
  bool ok = ::fchmod(fd, 0600) == 0 && WriteAll(fd, text) && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return IOError("writing '" + path + "' failed; it is unchanged");
  }
  // The rename is durable once the directory is.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = dir_fd >= 0 && ::fsync(dir_fd) == 0;
  if (dir_fd >= 0) ::close(dir_fd);
  return synced ? Status::Ok()
                : IOError("'" + path + "' was replaced but its directory not synced");
}

std::string FormatTokenList(const std::vector<TokenEntry>& entries, TimeMs now) {
  const auto time = [](const std::optional<TimeMs>& t) {
    return t ? FormatRfc3339(*t) : std::string("-");
  };
  std::string out = fmt::format("{:<14}{:<20}{:<12}{:<20}{:<31}{:<31}{}\n", "id", "actor", "role",
                                "office", "created", "expires", "state");
  for (const auto& e : entries) {
    out +=
        fmt::format("{:<14}{:<20}{:<12}{:<20}{:<31}{:<31}{}\n", e.Id(), e.actor.id,
                    engine::RoleName(e.actor.role), e.actor.office.empty() ? "-" : e.actor.office,
                    time(e.created), time(e.expires), e.ExpiredAt(now) ? "expired" : "active");
  }
  return out;
}

TokenWatcher::TokenWatcher(TokenStore& store, std::string path, std::chrono::milliseconds poll)
    : store_(store), path_(std::move(path)), poll_(poll) {}

TokenWatcher::~TokenWatcher() { Stop(); }

void TokenWatcher::Start() {
  {
    MutexLock lock(reload_mu_);
    stamp_ = StampNow();
  }
  thread_ = std::thread([this] { Run(); });
}

void TokenWatcher::Stop() {
  {
    MutexLock lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.NotifyAll();
  if (thread_.joinable()) thread_.join();
}

Status TokenWatcher::ReloadNow() {
  MutexLock lock(reload_mu_);
  stamp_ = StampNow();
  return ReloadLocked();
}

TokenWatcher::Stamp TokenWatcher::StampNow() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return Stamp{};
  return Stamp{st.st_dev, st.st_ino, st.st_size,
               static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

void TokenWatcher::Run() {
  // A change is loaded once two polls in a row see the same new stamp, so a file that an
  // editor is still writing in place is not loaded half-written.
  Stamp seen;
  {
    MutexLock lock(reload_mu_);
    seen = stamp_;
  }
  MutexLock stop_lock(stop_mu_);
  for (;;) {
    const auto tick = std::chrono::steady_clock::now() + poll_;
    while (!stop_ && stop_cv_.WaitUntil(stop_lock, tick)) {
    }
    if (stop_) return;
    stop_lock.Unlock();
    {
      MutexLock lock(reload_mu_);
      const Stamp now = StampNow();
      if (now != stamp_ && now == seen) {
        stamp_ = now;
        (void)ReloadLocked();  // logs the outcome
      }
      seen = now;
    }
    stop_lock.Lock();
  }
}

Status TokenWatcher::ReloadLocked() {
  auto change = store_.Reload(path_);
  if (!change.ok()) {
    spdlog::warn("tokens: reloading {} failed, the {} tokens loaded before stay: {}", path_,
                 store_.size(), OneLine(change.status().ToString()));
    return change.status();
  }
  // Logged as a warning so that it shows at the default log level: who may act changed.
  spdlog::warn("tokens reloaded: {} tokens ({} added, {} removed){}", change->tokens, change->added,
               change->removed,
               change->changed ? fmt::format("; {} changed", change->changed) : "");
  return Status::Ok();
}

}  // namespace wangge::ingest
