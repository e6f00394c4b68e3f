// The evidence check of `wangge verify`: every photo a record references is stored, and
// its bytes still hash to the name the record holds.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/engine.h"

namespace wangge::audit {

struct EvidenceReport {
  uint64_t references = 0;  // (record, photo) pairs checked
  uint64_t photos = 0;      // distinct photos read
  // "case C, step resolve (seq N): photo H is missing" or "... was altered (its bytes
  // hash to X)"; at most `max_problems`.
  std::vector<std::string> problems;
};

// Walks the log and checks each referenced photo once; `progress` hears the sequence
// reached. Errors: reading the store.
Result<EvidenceReport> CheckEvidence(const engine::Engine& engine, size_t max_problems = 20,
                                     const std::function<void(Seq)>& progress = nullptr);

// The photos referenced by the records of `engine`'s log recorded in [from, to) (either
// bound optional), in hash order. kCorruption: a record that does not decode.
Result<std::set<std::string>> ReferencedMedia(const engine::Engine& engine,
                                              std::optional<TimeMs> from = std::nullopt,
                                              std::optional<TimeMs> to = std::nullopt);

// Stores into `into` every photo that `into`'s log references and `from` holds (a replay
// rebuilds the references from the log; the photos are kept beside it). The number
// copied, and how many `from` lacks.
struct EvidenceCopy {
  uint64_t copied = 0;
  uint64_t missing = 0;
};
Result<EvidenceCopy> CopyEvidence(const engine::Engine& from, engine::Engine& into);

}  // namespace wangge::audit
