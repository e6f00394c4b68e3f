// `wangge replay | verify | backup | salvage`: rebuilding, checking, copying and rescuing a
// data directory.
#pragma once

#include <cstdint>
#include <string>

namespace wangge::cli {

struct ReplayArgs {
  std::string data;        // source directory (opened read-only)
  std::string into;        // new directory; must not exist
  std::string until;       // a date (YYYY-MM-DD, +08:00) or RFC 3339 time; empty = no limit
  uint64_t until_seq = 0;  // 0 = the end of the log
  bool quiet = false;      // no progress lines
};

struct VerifyArgs {
  std::string data;
  std::string anchor;   // "SEQ:HEXHASH" kept from an earlier verify; empty = none
  std::string scratch;  // where the rebuild goes; empty = the system temp directory
  bool quiet = false;
};

struct BackupArgs {
  std::string data;
  std::string to;  // must not exist
};

struct SalvageArgs {
  std::string data;
};

struct CaseArgs {
  std::string data;
  std::string id;  // the case's client id
};

// Exit codes (docs/cli.md): 0 OK; 2 bad usage; 3 the directory cannot be read or
// written; 4 (verify) the log or the derived state was altered.
int Replay(const ReplayArgs& args);
int Verify(const VerifyArgs& args);
int Backup(const BackupArgs& args);
// Keeps what precedes damage in a write-ahead log: copies the directory aside first
// (DATA.damaged-TIME), then opens it dropping the log's records from the damage on,
// flushes, and checks the chain and the derived state. Exit 0 or 3.
int Salvage(const SalvageArgs& args);
// Exit 0, or 1 when there is no such case, or 4 when a recorded routing differs from
// the one its ruleset derives.
int PrintCase(const CaseArgs& args);

}  // namespace wangge::cli
