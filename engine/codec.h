// Binary encodings of log records and case state. Each value opens with a format
// byte; fields are fixed-width big-endian or length-prefixed (docs/storage-format.md).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "engine/domain.h"

namespace wangge::engine {

inline constexpr uint8_t kRecordFormat = 1;
// Case format 2 added warned_at and breached_at; format 1 still decodes (both 0).
inline constexpr uint8_t kCaseFormat = 2;

// The payload stored in the log for `record` (its seq is the log key, not encoded).
std::string EncodeRecord(const Record& record);
// kCorruption when the bytes are not a record of a known format.
Result<Record> DecodeRecord(Seq seq, std::string_view payload);

std::string EncodeCase(const Case& c);
Result<Case> DecodeCase(std::string_view bytes);

}  // namespace wangge::engine
