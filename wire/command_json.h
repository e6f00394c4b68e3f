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

struct DecodeError;

// Decodes commands of the recorded stream. Reuses its parser and buffer between
// calls. Not thread-safe; one per thread.
class CommandDecoder {
 public:
  CommandDecoder();
  ~CommandDecoder();
  CommandDecoder(const CommandDecoder&) = delete;
  CommandDecoder& operator=(const CommandDecoder&) = delete;

  // One line of the stream (without its newline). kInvalidArgument naming the field
  // ("report.severity"); error_column() then says where in the line.
  Result<engine::Command> Decode(std::string_view line);

  // An HTTP request body holding one report object, or one transition object, of the
  // wire contract. Errors name the field without a prefix ("severity"). The body is at
  // most kMaxLineBytes.
  Result<engine::Report> DecodeReportBody(std::string_view json);
  Result<engine::Transition> DecodeTransitionBody(std::string_view json);

  // The 1-based byte column of the last failure in its line (0 when unknown).
  size_t error_column() const { return error_column_; }

 private:
  bool DecodeLine(std::string_view line, engine::Command& command, DecodeError& error);
  size_t error_column_ = 0;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The NDJSON line (without newline) for a command; times in +08:00.
std::string EncodeCommand(const engine::Command& command);

}  // namespace wangge::wire
