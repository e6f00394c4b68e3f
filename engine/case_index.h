// Where a case's state and its index entries live in the store, and how a change of
// case state becomes puts and deletes. The derived state of docs/storage-format.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "engine/domain.h"
#include "storage/store.h"

namespace wangge::engine {

// due: deadline (i64 BE) + case id; present only for open cases.
std::string DueKey(TimeMs deadline, std::string_view case_id);
// owner: office + 0x00 + status (u8) + case id.
std::string OwnerKey(std::string_view office, CaseStatus status, std::string_view case_id);

// dedupe: reporter + 0x00 + client id -> case id. A report's idempotency key is its
// client id in its reporter's namespace: two reporters' keys never meet.
std::string DedupeKey(std::string_view reporter, std::string_view client_id);

// dedupe, for a comment with a key: actor + 0x00 + case id + 0x00 + key -> the comment's
// sequence (u64 BE). Two separators, so it never meets a report's key (ids hold no 0x00).
std::string CommentKey(std::string_view actor, std::string_view case_id, std::string_view key);
// Adds the dedupe entry of `record` when it is a comment with a key, on case `case_id`.
void WriteCommentKey(storage::WriteSet& set, const Record& record, std::string_view case_id);

// history: case id + 0x00 + sequence (u64 BE); one per record of the case.
std::string HistoryKey(std::string_view case_id, Seq seq);

// timers: fire time (i64 BE) + kind (u8) + case id; the timers an open case has not
// fired yet (engine/lifecycle.h WarningTime, and its deadline).
std::string TimerKey(TimeMs at, TimerKind kind, std::string_view case_id);
std::vector<std::string> TimerKeys(const Case& c);

// Adds to `set` what moves the store from `before` (nullptr: new case) to `after`:
// the case value, the due, owner and timer index entries, and for a new case its
// reporter's idempotency key.
void WriteCaseChange(storage::WriteSet& set, const Case* before, const Case& after);

}  // namespace wangge::engine
