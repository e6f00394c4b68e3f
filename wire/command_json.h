// The recorded command stream's wire format (NDJSON, one command a line): decoding
// with simdjson, encoding with Boost.JSON. Field names follow docs/wire-format.md.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "engine/domain.h"

namespace wangge::wire {

// Longest accepted line, in bytes.
inline constexpr size_t kMaxLineBytes = 64 * 1024;

// Where decoding failed: the status names the field ("report.severity"); column is
// the 1-based byte column in the line (0 when unknown).
struct DecodeError {
  Status status;
  size_t column = 0;
};

// Decodes commands of the recorded stream. Reuses its parser and buffer between
// calls. Not thread-safe; one per thread.
class CommandDecoder {
 public:
  CommandDecoder();
  ~CommandDecoder();
  CommandDecoder(const CommandDecoder&) = delete;
  CommandDecoder& operator=(const CommandDecoder&) = delete;

  // One line of the stream (without its newline). On failure returns false and
  // fills `error`; the command is then unspecified.
  bool Decode(std::string_view line, engine::Command& command, DecodeError& error);

  // An HTTP request body holding one report object, or one transition object, of the
  // wire contract. Errors name the field without a prefix ("severity"). Same contract
  // as Decode; the body is at most kMaxLineBytes.
  bool DecodeReportBody(std::string_view json, engine::Report& report, DecodeError& error);
  bool DecodeTransitionBody(std::string_view json, engine::Transition& transition,
                            DecodeError& error);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The NDJSON line (without newline) for a command; times in +08:00.
std::string EncodeCommand(const engine::Command& command);

}  // namespace wangge::wire
