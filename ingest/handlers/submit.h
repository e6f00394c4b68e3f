// What the handler files share: submitting a command through a sink and answering what
// became of it, and the shape of case paths.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "ingest/exchange.h"
#include "wire/command_sink.h"

namespace wangge::ingest {

using Then = std::function<void(Exchange&, Result<wire::Accepted>)>;

// The partition (town) a partitioned sink's command goes to: ?town=NAME. Empty for a sink
// that is not partitioned. kInvalidArgument naming "town".
Result<std::string> Partition(Exchange& ex, const wire::CommandSink& sink);

// Hands `command` to `sink`; `then` runs on the exchange's executor with the outcome.
// The server's Stop waits for it.
void Submit(Exchange& ex, wire::CommandSink& sink, engine::Command command,
            const std::string& partition, const std::string& key, Then then);

// Answers a command the sink took: the case after it (201 new, 200 otherwise) as the
// caller sees it, a ruleset's version, or (queued in a replicated log) 202 with
// `queued_fields` and the log's receipt; or the error.
void AnswerAccepted(Exchange& ex, const Result<wire::Accepted>& r,
                    boost::json::object queued_fields);

// Whether `path` is v1/cases/{id} (size 3) or v1/cases/{id}/LAST (size 4).
bool IsCasePath(const std::vector<std::string>& path, size_t size, std::string_view last);

// The id in a case path is a valid case id (engine::ValidateCaseId) in UTF-8.
Status CheckCaseIdInPath(const std::vector<std::string>& path);

// Auditors, supervisors and admins read the audit routes; the refusal others get.
bool MayAudit(const engine::Actor& actor);
Status AuditorsOnly();

}  // namespace wangge::ingest
