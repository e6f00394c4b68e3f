// `wangge import-311`: city 311 service-request exports (Los Angeles, New York City,
// Boston) converted into wangge commands. Messy rows are counted and listed with their
// line numbers; none is dropped silently.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/domain.h"
#include "engine/engine.h"

namespace wangge::io {

enum class Format311 : uint8_t { kLosAngeles = 1, kNewYork = 2, kBoston = 3 };

// "la", "nyc" or "boston".
std::optional<Format311> Format311FromName(std::string_view name);

// One request of the export, converted.
struct Request311 {
  uint64_t line = 0;  // where the row starts in the file (1-based; the header is line 1)
  engine::Report report;
  std::optional<TimeMs> closed_at;  // set when the export says it was closed, validly
  std::string agency;               // the export's owning agency
};

struct Problems311 {
  std::map<std::string, uint64_t> counts;  // by kind, e.g. "closed before created"
  std::vector<std::string> lines;          // "FILE:LINE: kind: detail", at most `max`
  size_t max = 50;
  void Add(const std::string& file, uint64_t line, const std::string& kind,
           const std::string& detail);
};

struct Read311 {
  uint64_t rows = 0;  // data rows (records), excluding the header
  std::vector<Request311> requests;
  uint64_t skipped = 0;  // rows that could not become a report (listed in problems)
  Problems311 problems;
};

// Reads and converts an export. Malformed CSV (an unterminated quote) and a header
// missing required columns are errors; a bad row is a problem, and reading goes on.
// kInvalidArgument naming the file and line, kNotFound when it cannot be opened.
Result<Read311> Read311File(const std::string& path, Format311 format, size_t max_problems = 50);
Result<Read311> Read311Stream(std::istream& in, const std::string& name, Format311 format,
                              size_t max_problems = 50);

// A ruleset that routes every request type to the agency that owns most of its
// requests in `requests` (the most common agency by default), 72 calendar hours. Each of
// `areas` (CityGeography) is declared as a village with an office of its own ("area-N"),
// so that a geography of those areas checks against the ruleset.
std::string RulesetFromAgencies(const std::vector<Request311>& requests, const std::string& version,
                                const std::vector<std::string>& areas = {});

// A city's polygons as a wangge geography (rules/geography.h).
struct CityGeography {
  std::string geojson;             // grid and village properties, version set
  std::vector<std::string> areas;  // the distinct names, in file order
};
// Each feature of `geojson` (a FeatureCollection, such as a city's published
// neighbourhoods) becomes a grid of village `properties[name_property]` (a string or a
// number); features sharing a name become grids "NAME", "NAME #2"… of one village.
// kInvalidArgument naming `source` and the feature.
Result<CityGeography> GeographyFromPolygons(std::string_view geojson, const std::string& source,
                                            const std::string& name_property,
                                            const std::string& version);

// The office id for an agency name ("agency-bos").
std::string AgencyOffice(std::string_view agency);

struct Import311Report {
  uint64_t created = 0, duplicates = 0, closed = 0, rejected = 0;
  std::vector<std::string> errors;  // commands the engine refused
};

// Activates `ruleset_json` (unless empty) and `geography_json` (unless empty), and submits
// each request as a report, then accept, resolve and close at its closing time. With
// `owner_from_agency`, a request the ruleset routes elsewhere than its own agency is
// reassigned there by the command centre at once, so each case ends with the export's
// owner and the log says how it got there. With a geography, a request whose position
// lies in one of its grids is sent without village and grid, so the engine locates it
// (docs/place.md); one outside them all keeps the export's neighbourhood.
Result<Import311Report> Import311(engine::Engine& engine, const Read311& read,
                                  const std::string& ruleset_json, bool owner_from_agency,
                                  std::ostream* progress, const std::string& geography_json = {});

}  // namespace wangge::io
