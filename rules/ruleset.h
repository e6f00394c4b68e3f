// Rulesets: versioned decision tables that route a report to its owning office with a
// deadline. Loading validates everything; evaluation uses a per-table index by
// category, so it does not scan all rows. Format: docs/rules.md.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "rules/calendar.h"
#include "rules/decision.h"

namespace wangge::rules {

enum class OfficeLevel : uint8_t { kPlatform = 1, kLineOffice = 2, kSubCentre = 3, kVillage = 4 };

struct Office {
  std::string id;
  std::string name;
  OfficeLevel level = OfficeLevel::kPlatform;
  std::string village;  // for kVillage: the village it serves
};

// One step of an explanation: a row tried, and why it did or did not match.
struct TraceStep {
  std::string table;
  std::string row;
  bool matched = false;
  std::string reason;  // the first condition that failed, or "matched"
};

class Geography;

// Immutable; thread-safe.
class Ruleset {
 public:
  // Parses and validates `json`. Every problem is listed as
  // "SOURCE:LINE:COLUMN: path: message" in one kInvalidArgument.
  static Result<std::shared_ptr<const Ruleset>> Load(std::string_view json, std::string_view source,
                                                     const Calendar& calendar);
  // rules/default.json, built into wangge, with the built-in calendar.
  static std::shared_ptr<const Ruleset> BuiltIn();
  static std::string_view BuiltInText();

  ~Ruleset();

  // The decision for `in`, using the compiled index.
  Decision Route(const RouteInput& in) const;
  // The same decision by trying every row in order (the reference for tests).
  Decision RouteByScan(const RouteInput& in) const;
  // The decision, and every row tried with the reason it failed or matched.
  Decision Explain(const RouteInput& in, std::vector<TraceStep>& trace) const;

  const std::string& version() const { return version_; }
  const std::vector<Office>& offices() const { return offices_; }
  const Office* FindOffice(std::string_view id) const;
  // Whether a village office serves `village`: the villages a geography may name.
  bool DeclaresVillage(std::string_view village) const;
  const Calendar& calendar() const { return calendar_; }
  size_t row_count() const;

  // The town's geography activated with this ruleset (rules/geography.h), or nullptr.
  const Geography* geography() const { return geography_.get(); }
  std::shared_ptr<const Geography> shared_geography() const { return geography_; }
  // A copy of this ruleset that places reports with `geography`, which the caller loaded
  // against this ruleset (Geography::Load's `rules`); nullptr: none.
  std::shared_ptr<const Ruleset> WithGeography(std::shared_ptr<const Geography> geography) const;

  struct Table;
  struct Row;

 private:
  explicit Ruleset(Calendar calendar);
  Decision Decide(const RouteInput& in, bool use_index, std::vector<TraceStep>* trace) const;

  std::string version_;
  std::vector<Office> offices_;
  std::unordered_map<std::string, size_t> office_index_;
  std::unordered_map<std::string, std::string> village_office_;  // village -> office id
  std::vector<Table> tables_;
  // What a decision falls back to when no winning row set office or limit: the first
  // default row (in table order) that sets it. Loading guarantees both exist.
  std::string fallback_office_;
  TimeLimit fallback_limit_;
  Calendar calendar_;
  std::shared_ptr<const Geography> geography_;
};

}  // namespace wangge::rules
