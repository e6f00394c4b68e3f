#include "audit/evidence.h"

#include <map>
#include <set>

#include "core/sha256.h"
#include "engine/codec.h"
#include "engine/media.h"

namespace wangge::audit {

Result<EvidenceReport> CheckEvidence(const engine::Engine& engine, size_t max_problems,
                                     const std::function<void(Seq)>& progress) {
  EvidenceReport report;
  std::map<std::string, std::string, std::less<>> verdicts;  // hash -> problem ("" = fine)
  Status failure;
  WANGGE_RETURN_IF_ERROR(engine.log().Scan(Seq{1}, Seq{0}, [&](Seq seq, std::string_view payload) {
    if (progress && seq.value % 10'000 == 0) progress(seq);
    auto record = engine::DecodeRecord(seq, payload);
    if (!record.ok()) {
      failure = record.status();
      return false;
    }
    const auto& hashes = engine::MediaOf(*record);
    for (const auto& hash : hashes) {
      ++report.references;
      auto it = verdicts.find(hash);
      if (it == verdicts.end()) {
        ++report.photos;
        auto bytes = engine.GetMediaBytes(hash);
        if (!bytes.ok()) {
          failure = bytes.status();
          return false;
        }
        std::string verdict;
        if (!*bytes) {
          verdict = "is missing";
        } else if (const std::string actual = Sha256Hex(**bytes); actual != hash) {
          verdict = "was altered (its bytes hash to " + actual + ")";
        }
        it = verdicts.emplace(hash, std::move(verdict)).first;
      }
      if (!it->second.empty() && report.problems.size() < max_problems) {
        const auto* t = std::get_if<engine::Transition>(&record->body);
        report.problems.push_back(
            "case " + std::string(engine::CaseIdOf(*record)) + ", step " +
            (t ? std::string(engine::ActionName(t->action)) : std::string("report")) + " (seq " +
            std::to_string(seq.value) + "): photo " + hash + " " + it->second);
      }
    }
    return true;
  }));
  WANGGE_RETURN_IF_ERROR(failure);
  return report;
}

Result<std::set<std::string>> ReferencedMedia(const engine::Engine& engine,
                                              std::optional<TimeMs> from,
                                              std::optional<TimeMs> to) {
  std::set<std::string> hashes;
  Status failure;
  WANGGE_RETURN_IF_ERROR(engine.log().Scan(Seq{1}, Seq{0}, [&](Seq seq, std::string_view payload) {
    auto record = engine::DecodeRecord(seq, payload);
    if (!record.ok()) {
      failure = record.status();
      return false;
    }
    if ((from && record->at < *from) || (to && record->at >= *to)) return true;
    for (const auto& h : engine::MediaOf(*record)) hashes.insert(h);
    return true;
  }));
  WANGGE_RETURN_IF_ERROR(failure);
  return hashes;
}

Result<EvidenceCopy> CopyEvidence(const engine::Engine& from, engine::Engine& into) {
  WANGGE_ASSIGN_OR_RETURN(auto hashes, ReferencedMedia(into));
  EvidenceCopy copy;
  for (const auto& hash : hashes) {
    WANGGE_ASSIGN_OR_RETURN(auto info, from.GetMediaInfo(hash));
    WANGGE_ASSIGN_OR_RETURN(auto bytes, from.GetMediaBytes(hash));
    if (!info || !bytes) {
      ++copy.missing;
      continue;
    }
    WANGGE_RETURN_IF_ERROR(into.StoreMedia(hash, std::move(*bytes), *info).status());
    ++copy.copied;
  }
  return copy;
}

}  // namespace wangge::audit
