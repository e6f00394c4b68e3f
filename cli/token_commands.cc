// token add|list|revoke: the bearer tokens of the HTTP service (docs/operations.md).
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "ingest/qr_code.h"
#include "ingest/tokens.h"

namespace wangge::cli {
namespace {

struct TokenArgs {
  std::string file;
  std::string actor;
  std::string role;
  std::string office;
  std::string expires;  // add: YYYY-MM-DD (the end of that day, +08:00) or RFC 3339
  std::string id;       // revoke: a prefix of the token's id
  std::string qr;       // add: an SVG file for the token's login QR code
  std::string app_url = "http://127.0.0.1:8080/app/";  // add: the app the QR code opens
};

// Writes `text` to a new file at `path`, readable by its owner only: it holds a token.
Status WritePrivateFile(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status(StatusCode::kIOError,
                  "cannot create " + path + ": " + std::strerror(errno) +
                      (errno == EEXIST ? " (it exists; choose another name)" : ""));
  }
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Status(StatusCode::kIOError, "cannot write " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

// When a token expires: the last millisecond of a date YYYY-MM-DD (+08:00), or an RFC 3339
// time. kInvalidArgument when malformed or not after `now`.
Result<TimeMs> ParseExpires(const std::string& text, TimeMs now) {
  auto t = ParseRfc3339(text.size() == 10 ? text + "T23:59:59.999+08:00" : text);
  if (!t.ok()) return InvalidArgument(t.status().message(), "expires");
  if (*t <= now) {
    return InvalidArgument("--expires " + text + " is not in the future", "expires");
  }
  return t;
}

// The audit line of a token change: what, whose, which and when; never the token.
std::string TokenNote(const ingest::TokenEntry& e, const std::string& what, TimeMs at,
                      const std::string& file) {
  std::string whose = e.actor.id + " (" + std::string(engine::RoleName(e.actor.role));
  if (!e.actor.office.empty()) whose += ", office " + e.actor.office;
  std::string note = fmt::format("wangge: token {} of {}) {} at {} in {}", e.Id(), whose, what,
                                 FormatRfc3339(at), file);
  if (e.expires) note += ", expires " + FormatRfc3339(*e.expires);
  return note;
}

int RunTokenAdd(const TokenArgs& args) {
  auto role = engine::RoleFromName(args.role);
  if (!role || *role == engine::Role::kSystem) {
    return Fail(
        InvalidArgument("--role must be worker, handler, supervisor, auditor or admin", "role"));
  }
  const TimeMs clock_now = SystemClock().Now();
  const TimeMs now{clock_now.ms - clock_now.ms % 1000};  // whole seconds read better
  std::optional<TimeMs> expires;
  if (!args.expires.empty()) {
    auto t = ParseExpires(args.expires, now);
    if (!t.ok()) return Fail(t.status());
    expires = *t;
  }
  // Refuse to append to a file that does not load: a broken file must be fixed first.
  if (std::ifstream(args.file).good()) {
    auto existing = ingest::TokenStore::Load(args.file);
    if (!existing.ok()) return Fail(existing.status());
  }
  if (!args.qr.empty()) {
    if (Status s = ingest::AppLoginLink(args.app_url, "").status(); !s.ok()) return Fail(s);
  }
  auto made =
      ingest::TokenStore::NewToken(engine::Actor{args.actor, *role, args.office}, now, expires);
  if (!made.ok()) return Fail(made.status());
  // The QR code first: a token is added only with its code written.
  if (!args.qr.empty()) {
    auto svg = ingest::QrSvg(*ingest::AppLoginLink(args.app_url, made->first),
                             args.actor + " · " + args.role);
    if (!svg.ok()) return Fail(svg.status());
    if (Status s = WritePrivateFile(args.qr, *svg); !s.ok()) return Fail(s);
  }
  Status s = ingest::TokenStore::Append(args.file, made->second.Line());
  if (!s.ok()) {
    if (!args.qr.empty()) ::unlink(args.qr.c_str());
    return Fail(s);
  }
  if (!args.qr.empty()) {
    std::cerr << "wangge: the QR code in " << args.qr << " logs in to " << args.app_url << " as "
              << args.actor << "; it is the token: hand it over like one\n";
  }
  std::cerr << TokenNote(made->second, "added", now, args.file)
            << "; the token is shown once, keep it safe:\n";
  std::cout << made->first << "\n";
  return kExitOk;
}

int RunTokenList(const TokenArgs& args) {
  auto tokens = ingest::TokenStore::Load(args.file);
  if (!tokens.ok()) return Fail(tokens.status());
  std::cout << ingest::FormatTokenList(tokens->Entries(), SystemClock().Now());
  return kExitOk;
}

int RunTokenRevoke(const TokenArgs& args) {
  ingest::TokenMatch match{args.actor, args.id};
  std::transform(match.id_prefix.begin(), match.id_prefix.end(), match.id_prefix.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto revoked = ingest::RevokeTokens(args.file, match);
  if (!revoked.ok()) return Fail(revoked.status());
  const TimeMs now = SystemClock().Now();
  for (const auto& e : *revoked) std::cerr << TokenNote(e, "revoked", now, args.file) << "\n";
  return kExitOk;
}

}  // namespace

void AddTokenCommands(CLI::App& app, Command& chosen) {
  auto token_ptr = std::make_shared<TokenArgs>();
  TokenArgs& token = *token_ptr;
  auto* token_cmd = app.add_subcommand("token", "Manage bearer tokens for the HTTP service");
  token_cmd->require_subcommand(1);
  auto* token_add_cmd = token_cmd->add_subcommand(
      "add", "Create a token for an actor; the file keeps only its SHA-256");
  token_add_cmd->add_option("--tokens", token.file, "Tokens file (created with mode 0600)")
      ->required();
  token_add_cmd->add_option("--actor", token.actor, "Actor id, e.g. W017 or H-zz-03")->required();
  token_add_cmd->add_option("--role", token.role, "worker, handler, supervisor, auditor, admin")
      ->required();
  token_add_cmd->add_option("--office", token.office, "The office a handler acts for");
  token_add_cmd->add_option("--expires", token.expires,
                            "Refused after this: YYYY-MM-DD (the end of that day, +08:00) or an "
                            "RFC 3339 time; must be in the future");
  token_add_cmd->add_option("--qr", token.qr,
                            "Also write a QR code (SVG, mode 0600) that a phone's camera opens "
                            "as the field app, logged in with this token");
  token_add_cmd
      ->add_option("--app-url", token.app_url,
                   "The field app's address the QR code opens (as phones reach the server)")
      ->capture_default_str();
  auto* token_list_cmd = token_cmd->add_subcommand(
      "list", "Every token's id, actor, role, office, created, expires and state");
  token_list_cmd->add_option("--tokens", token.file, "Tokens file")->required();
  auto* token_revoke_cmd = token_cmd->add_subcommand(
      "revoke", "Remove tokens from the file (a running server refuses them within a second)");
  token_revoke_cmd->add_option("--tokens", token.file, "Tokens file")->required();
  auto* revoke_actor =
      token_revoke_cmd->add_option("--actor", token.actor, "Revoke every token of this actor");
  token_revoke_cmd
      ->add_option("--id", token.id, "Revoke the one token whose id starts with this (4+ hex)")
      ->excludes(revoke_actor);

  OnChosen(token_add_cmd, chosen, [token_ptr] { return RunTokenAdd(*token_ptr); });
  OnChosen(token_list_cmd, chosen, [token_ptr] { return RunTokenList(*token_ptr); });
  OnChosen(token_revoke_cmd, chosen, [token_ptr] { return RunTokenRevoke(*token_ptr); });
}

}  // namespace wangge::cli
