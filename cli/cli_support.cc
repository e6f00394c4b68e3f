#include "cli/cli_support.h"

#include <fstream>
#include <iostream>
#include <sstream>

namespace wangge::cli {

int Fail(const Status& s) {
  std::cerr << "wangge: " << s.ToString() << "\n";
  return s.code() == StatusCode::kInvalidArgument ? kExitBadInput : kExitDataError;
}

int FailInput(const Status& s) {
  if (s.code() != StatusCode::kNotFound) return Fail(s);
  std::cerr << "wangge: " << s.ToString() << "\n";
  return kExitBadInput;
}

namespace {

// A damaged directory's open error, with what to do about it.
Result<std::unique_ptr<engine::Engine>> WithRecoveryHint(
    Result<std::unique_ptr<engine::Engine>> opened, const std::string& data) {
  if (opened.ok() || opened.status().code() != StatusCode::kDataLoss) return opened;
  return DataLoss(opened.status().message() +
                  ". To recover: restore the latest verified backup (docs/operations.md), or "
                  "keep the records before the damage with `wangge salvage --data " +
                  data + "` (it copies the directory aside first)");
}

}  // namespace

Status CheckTableFiles(const engine::Engine& engine, const std::string& data) {
  WANGGE_ASSIGN_OR_RETURN(auto damaged, engine.VerifyFiles());
  if (!damaged) return Status::Ok();
  const std::string family =
      damaged->family ? std::string(storage::FamilyName(*damaged->family)) : "unknown";
  std::string what = "table file " + damaged->file + " of the '" + family +
                     "' family is damaged (" + damaged->problem + "); nothing was changed. ";
  if (damaged->family == storage::Family::kLog || !damaged->family) {
    what += "It holds the log itself: restore the latest verified backup (docs/operations.md)";
  } else {
    what += "It holds state derived from the log: rebuild it with `wangge replay --data " + data +
            " --into NEW`, check NEW with `wangge verify --data NEW` and put it in place of " +
            data + " (docs/operations.md); or restore the latest verified backup";
  }
  return Corruption(what);
}

Result<std::unique_ptr<engine::Engine>> OpenReadOnly(const std::string& data, const Clock& clock) {
  engine::EngineOptions options;
  options.store.path = data;
  options.store.read_only = true;
  return WithRecoveryHint(engine::Engine::Open(options, clock), data);
}

Result<std::unique_ptr<engine::Engine>> OpenForWriting(const std::string& data, bool create,
                                                       bool sync, const Clock& clock, bool timers,
                                                       std::optional<TimeMs> first_at) {
  engine::EngineOptions options;
  options.first_activation_at = first_at;
  options.store.path = data;
  options.store.create_if_missing = create;
  options.store.sync = sync;
  options.timers = timers;
  auto opened = engine::Engine::Open(options, clock);
  if (!opened.ok() && opened.status().code() == StatusCode::kNotFound && !create) {
    return NotFound(opened.status().message() + "; pass --create to make a new one");
  }
  return WithRecoveryHint(std::move(opened), data);
}

sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

}  // namespace wangge::cli
