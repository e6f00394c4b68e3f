#include "io/import_311.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csv.h>
#include <fstream>
#include <ostream>
#include <unordered_map>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "io/importer.h"
#include "rules/geography.h"
#include "rules/ruleset.h"
#include "wire/json_writer.h"

namespace wangge::io {
namespace {

// Columns of each export, by the names in its header row.
struct Columns {
  const char* id;
  const char* created;
  const char* closed;
  const char* status;
  const char* type;
  const char* descriptor;  // may be empty: not in this export
  const char* agency;
  const char* village;
  const char* grid;
  const char* lat;
  const char* lon;
  const char* prefix;       // of client ids
  int standard_offset_min;  // the city's standard time; US daylight saving applies
};

const Columns& ColumnsOf(Format311 f) {
  static const Columns kLa{"SRNumber",  "CreatedDate", "ClosedDate", "Status",  "RequestType",
                           "",          "Owner",       "NCName",     "ZipCode", "Latitude",
                           "Longitude", "la-",         -480};
  static const Columns kNyc{
      "Unique Key", "Created Date", "Closed Date", "Status",       "Complaint Type",
      "Descriptor", "Agency",       "Borough",     "Incident Zip", "Latitude",
      "Longitude",  "nyc-",         -300};
  static const Columns kBoston{
      "case_enquiry_id", "open_dt", "closed_dt", "case_status", "type", "",  "department",
      "neighborhood",    "ward",    "latitude",  "longitude",   "bos-", -300};
  return f == Format311::kLosAngeles ? kLa : f == Format311::kNewYork ? kNyc : kBoston;
}

// The nth Sunday of a month (n = 1, 2).
int64_t NthSunday(int y, unsigned m, int n) {
  const int64_t first = DayNumber(y, m, 1);
  const int64_t weekday = ((first % 7) + 7 + 4) % 7;  // 0 = Sunday; 1970-01-01 was a Thursday
  return first + (7 - weekday) % 7 + 7 * (n - 1);
}

// US daylight saving time (rules since 2007): from the second Sunday of March 02:00 to
// the first Sunday of November 02:00, local time. The repeated hour counts as standard.
bool IsUsDaylightTime(int y, int64_t day, int minute_of_day) {
  const int64_t start = NthSunday(y, 3, 2), end = NthSunday(y, 11, 1);
  if (day < start || day > end) return false;
  if (day == start) return minute_of_day >= 120;
  if (day == end) return minute_of_day < 60;
  return true;
}

bool ParseInt(std::string_view s, int& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// "12/31/2017 11:59:58 PM" or "2018-01-01 02:39:14" (an optional ".fff" is ignored), in
// the city's local time.
std::optional<TimeMs> ParseLocalTime(std::string_view s, int standard_offset_min) {
  int y, mo, d, h, mi, sec;
  std::string_view date = s.substr(0, s.find(' '));
  if (date.size() == s.size()) return std::nullopt;
  std::string_view clock = s.substr(date.size() + 1);
  if (date.size() == 10 && date[4] == '-') {
    if (!ParseInt(date.substr(0, 4), y) || !ParseInt(date.substr(5, 2), mo) ||
        !ParseInt(date.substr(8, 2), d)) {
      return std::nullopt;
    }
  } else {
    size_t a = date.find('/'), b = date.rfind('/');
    if (a == std::string_view::npos || a == b || !ParseInt(date.substr(0, a), mo) ||
        !ParseInt(date.substr(a + 1, b - a - 1), d) || !ParseInt(date.substr(b + 1), y)) {
      return std::nullopt;
    }
  }
  std::string_view ampm;
  if (size_t sp = clock.find(' '); sp != std::string_view::npos) {
    ampm = clock.substr(sp + 1);
    clock = clock.substr(0, sp);
  }
  clock = clock.substr(0, clock.find('.'));
  size_t c1 = clock.find(':'), c2 = clock.rfind(':');
  if (c1 == std::string_view::npos || c1 == c2 || !ParseInt(clock.substr(0, c1), h) ||
      !ParseInt(clock.substr(c1 + 1, c2 - c1 - 1), mi) || !ParseInt(clock.substr(c2 + 1), sec)) {
    return std::nullopt;
  }
  if (!ampm.empty()) {
    if (h < 1 || h > 12 || (ampm != "AM" && ampm != "PM")) return std::nullopt;
    h = h % 12 + (ampm == "PM" ? 12 : 0);
  }
  std::chrono::year_month_day ymd{std::chrono::year{y},
                                  std::chrono::month{static_cast<unsigned>(mo)},
                                  std::chrono::day{static_cast<unsigned>(d)}};
  if (y < 1990 || y > 2100 || !ymd.ok() || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  const int64_t day = DayNumber(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int offset = standard_offset_min + (IsUsDaylightTime(y, day, h * 60 + mi) ? 60 : 0);
  return TimeMs{((day * 86400 + h * 3600 + mi * 60 + sec) - offset * 60LL) * 1000};
}

// "Bulky Items" -> "bulky-items".
std::string Slug(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c)) {
      out.push_back(static_cast<char>(std::tolower(c)));
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
    if (out.size() >= 60) break;
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

// Replaces invalid UTF-8 with U+FFFD and control characters with spaces. Returns
// whether any byte was bad (whitespace such as a line break does not count).
bool CleanText(std::string& s) {
  std::string out;
  bool changed = false;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size() && !(n > 1 && c < 0xC2) && !(c > 0xF4);
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
    if (!ok) {
      out += "\xEF\xBF\xBD";
      changed = true;
      ++i;
    } else if (n == 1 && c < 0x20) {
      // Line breaks and tabs inside quoted fields are layout, not bad bytes.
      out.push_back(' ');
      changed = changed || (c != '\n' && c != '\r' && c != '\t');
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  s.swap(out);
  return changed;
}

// Collects fields and rows from libcsv's callbacks, with line numbers.
struct CsvSink {
  std::vector<std::string> fields;
  std::vector<std::vector<std::string>> rows;
  std::vector<uint64_t> row_lines;
  uint64_t line = 1;       // the line being fed
  uint64_t row_start = 0;  // the line where the current row began (0 = none yet)

  static void OnField(void* data, size_t len, void* self) {
    auto* sink = static_cast<CsvSink*>(self);
    if (sink->row_start == 0) sink->row_start = sink->line;
    sink->fields.emplace_back(static_cast<const char*>(data), len);
  }
  static void OnRow(int, void* self) {
    auto* sink = static_cast<CsvSink*>(self);
    sink->rows.push_back(std::move(sink->fields));
    sink->row_lines.push_back(sink->row_start ? sink->row_start : sink->line);
    sink->fields.clear();
    sink->row_start = 0;
  }
};

}  // namespace

void Problems311::Add(const std::string& file, uint64_t line, const std::string& kind,
                      const std::string& detail) {
  ++counts[kind];
  if (lines.size() < max) lines.push_back(fmt::format("{}:{}: {}: {}", file, line, kind, detail));
}

std::optional<Format311> Format311FromName(std::string_view name) {
  if (name == "la") return Format311::kLosAngeles;
  if (name == "nyc") return Format311::kNewYork;
  if (name == "boston") return Format311::kBoston;
  return std::nullopt;
}

std::string AgencyOffice(std::string_view agency) {
  std::string slug = Slug(agency);
  return "agency-" + (slug.empty() ? std::string("unknown") : slug);
}

Result<Read311> Read311File(const std::string& path, Format311 format, size_t max_problems) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open '" + path + "'");
  return Read311Stream(in, path, format, max_problems);
}

Result<Read311> Read311Stream(std::istream& in, const std::string& name, Format311 format,
                              size_t max_problems) {
  const Columns& col = ColumnsOf(format);
  Read311 out;
  out.problems.max = max_problems;
  csv_parser parser;
  if (csv_init(&parser, CSV_APPEND_NULL | CSV_STRICT_FINI) != 0) return Internal("csv_init failed");
  CsvSink sink;
  std::vector<std::string> header;
  std::unordered_map<std::string, size_t> index;
  std::unordered_map<std::string, uint64_t> seen_ids;

  // Converts the rows parsed so far (keeps memory bounded for big exports).
  auto convert = [&]() -> Status {
    for (size_t r = 0; r < sink.rows.size(); ++r) {
      auto& fields = sink.rows[r];
      const uint64_t line = sink.row_lines[r];
      if (header.empty()) {
        header = fields;
        if (!header.empty() && header[0].starts_with("\xEF\xBB\xBF")) header[0].erase(0, 3);
        for (size_t i = 0; i < header.size(); ++i) index[header[i]] = i;
        for (const char* required : {col.id, col.created, col.closed, col.status, col.type,
                                     col.agency, col.lat, col.lon}) {
          if (!index.contains(required)) {
            return InvalidArgument(
                fmt::format("{}:{}: the header has no column \"{}\"; is this "
                            "the right --format?",
                            name, line, required));
          }
        }
        continue;
      }
      ++out.rows;
      auto get = [&](const char* column) -> std::string {
        if (!*column) return {};
        auto it = index.find(column);
        return it != index.end() && it->second < fields.size() ? fields[it->second] : std::string();
      };
      if (fields.size() != header.size()) {
        out.problems.Add(name, line, "wrong field count",
                         fmt::format("{} fields, the header has {}", fields.size(), header.size()));
      }
      std::string id = get(col.id);
      if (id.empty() || CleanText(id) || id.size() > 100) {
        out.problems.Add(name, line, "missing id", "no usable request id; row skipped");
        ++out.skipped;
        continue;
      }
      if (auto [it, fresh] = seen_ids.emplace(id, line); !fresh) {
        out.problems.Add(
            name, line, "repeated id",
            fmt::format("{} already on line {}; imported as a duplicate", id, it->second));
      }
      auto created = ParseLocalTime(get(col.created), col.standard_offset_min);
      if (!created) {
        out.problems.Add(name, line, "missing or bad created date",
                         fmt::format("\"{}\"; row skipped", get(col.created).substr(0, 40)));
        ++out.skipped;
        continue;
      }
      Request311 req;
      req.line = line;
      engine::Report& rep = req.report;
      rep.client_id = col.prefix + id;
      std::string type = get(col.type), descriptor = get(col.descriptor);
      std::string village = get(col.village), grid = get(col.grid);
      req.agency = get(col.agency);
      bool odd = false;  // every field is cleaned, so no short-circuit
      for (std::string* field : {&type, &descriptor, &village, &grid, &req.agency}) {
        odd = CleanText(*field) || odd;
      }
      if (odd)
        out.problems.Add(name, line, "odd encoding", "invalid UTF-8 or control bytes replaced");
      std::string slug = Slug(type);
      if (slug.empty()) {
        out.problems.Add(name, line, "unknown type", "empty request type; category 311.unknown");
        slug = "unknown";
      }
      rep.category = "311." + slug;
      rep.village = village.empty() ? "unknown" : village.substr(0, 100);
      rep.grid = grid.empty() ? "unknown" : grid.substr(0, 100);
      rep.text = descriptor.empty() ? type : type + " / " + descriptor;
      if (rep.text.size() > 4000) rep.text.resize(4000);
      CleanText(rep.text);  // a cut may split a character
      rep.severity = 2;
      rep.reported_at = *created;
      double lat = 0, lon = 0;
      std::string lat_s = get(col.lat), lon_s = get(col.lon);
      auto lr = std::from_chars(lat_s.data(), lat_s.data() + lat_s.size(), lat);
      auto nr = std::from_chars(lon_s.data(), lon_s.data() + lon_s.size(), lon);
      if (lr.ec != std::errc() || nr.ec != std::errc() || !std::isfinite(lat) ||
          !std::isfinite(lon) || std::abs(lat) > 90 || std::abs(lon) > 180 ||
          (lat == 0 && lon == 0)) {
        out.problems.Add(name, line, "bad coordinates",
                         fmt::format("\"{}\", \"{}\"; imported without a location",
                                     lat_s.substr(0, 30), lon_s.substr(0, 30)));
        lat = lon = 0;
      }
      rep.lat = lat;
      rep.lon = lon;
      std::string status = get(col.status), closed_s = get(col.closed);
      std::transform(status.begin(), status.end(), status.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (status == "closed") {
        auto closed = ParseLocalTime(closed_s, col.standard_offset_min);
        if (!closed) {
          out.problems.Add(name, line, "closed without a closed date",
                           fmt::format("\"{}\"; imported as open", closed_s.substr(0, 40)));
        } else if (*closed < *created) {
          out.problems.Add(
              name, line, "closed before created",
              fmt::format("created {}, closed {}; imported as open", get(col.created), closed_s));
        } else {
          req.closed_at = closed;
        }
      }
      if (Status s = engine::ValidateReport(rep); !s.ok()) {
        out.problems.Add(name, line, "invalid report", s.ToString() + "; row skipped");
        ++out.skipped;
        continue;
      }
      out.requests.push_back(std::move(req));
    }
    sink.rows.clear();
    sink.row_lines.clear();
    return Status::Ok();
  };

  std::string text;
  Status status;
  while (status.ok() && std::getline(in, text)) {
    text.push_back('\n');
    if (csv_parse(&parser, text.data(), text.size(), CsvSink::OnField, CsvSink::OnRow, &sink) !=
        text.size()) {
      status = InvalidArgument(fmt::format("{}:{}: malformed CSV: {}", name, sink.line,
                                           csv_strerror(csv_error(&parser))));
      break;
    }
    ++sink.line;
    if (sink.rows.size() >= 4096) status = convert();
  }
  if (status.ok()) {
    // A quoted field still open at the end of the file: libcsv's public state says so
    // (pstate 2 is "field begun"; CSV_STRICT_FINI misses a field that spans lines).
    const bool open_quote = parser.quoted != 0 && parser.pstate == 2;
    const uint64_t row_line = sink.row_start ? sink.row_start : sink.line;
    if (csv_fini(&parser, CsvSink::OnField, CsvSink::OnRow, &sink) != 0 || open_quote) {
      status = InvalidArgument(
          fmt::format("{}:{}: malformed CSV: a quoted field is not closed", name, row_line));
    }
  }
  csv_free(&parser);
  if (status.ok()) status = convert();
  if (!status.ok()) return status;
  if (header.empty()) return InvalidArgument(name + ": the file is empty (no header row)");
  return out;
}

std::string RulesetFromAgencies(const std::vector<Request311>& requests, const std::string& version,
                                const std::vector<std::string>& areas) {
  namespace json = boost::json;
  std::map<std::string, std::map<std::string, uint64_t>> by_category;  // category -> agency -> n
  std::map<std::string, uint64_t> by_agency;
  for (const auto& r : requests) {
    ++by_category[r.report.category][r.agency];
    ++by_agency[r.agency];
  }
  auto majority = [](const std::map<std::string, uint64_t>& counts) {
    std::string best;
    uint64_t n = 0;
    for (const auto& [agency, c] : counts) {
      if (c > n) best = agency, n = c;  // ties: the first in name order
    }
    return best;
  };
  json::array offices;
  offices.push_back(json::object{
      {"id", "command-centre"}, {"name", "311 command centre"}, {"level", "platform"}});
  for (const auto& [agency, n] : by_agency) {
    offices.push_back(json::object{{"id", AgencyOffice(agency)},
                                   {"name", agency.empty() ? std::string("unknown") : agency},
                                   {"level", "line"}});
  }
  for (size_t i = 0; i < areas.size(); ++i) {
    offices.push_back(json::object{{"id", "area-" + std::to_string(i + 1)},
                                   {"name", areas[i]},
                                   {"level", "village"},
                                   {"village", areas[i]}});
  }
  json::array rows;
  for (const auto& [category, agencies] : by_category) {
    rows.push_back(
        json::object{{"id", category},
                     {"when", json::object{{"category", category}}},
                     {"then", json::object{{"office", AgencyOffice(majority(agencies))}}}});
  }
  const std::string fallback =
      by_agency.empty() ? "command-centre" : AgencyOffice(majority(by_agency));
  rows.push_back(json::object{
      {"id", "default"},
      {"default", true},
      {"then",
       json::object{{"office", fallback},
                    {"limit", json::object{{"calendar_hours", 72}}},
                    {"escalation", json::object{{"warn", json::array{"command-centre"}},
                                                {"breach", json::array{"command-centre"}}}}}}});
  json::object ruleset{
      {"version", version},
      {"name", "routing by the export's agency column"},
      {"offices", std::move(offices)},
      {"tables", json::array{json::object{{"id", "agency"}, {"rows", std::move(rows)}}}}};
  return wire::WriteJson(ruleset);
}

Result<Import311Report> Import311(engine::Engine& engine, const Read311& read,
                                  const std::string& ruleset_json, bool owner_from_agency,
                                  std::ostream* progress, const std::string& geography_json) {
  const engine::Actor admin{"import-311", engine::Role::kAdmin, ""};
  if (!ruleset_json.empty()) {
    WANGGE_ASSIGN_OR_RETURN(auto activated, engine.ActivateRules(ruleset_json, "", admin));
    (void)activated;
  }
  if (!geography_json.empty()) {
    WANGGE_ASSIGN_OR_RETURN(auto activated, engine.ActivateGeography(geography_json, admin));
    (void)activated;
  }
  const auto rules = engine.active_rules();
  const rules::Geography* geography = rules->geography();
  const engine::Actor reporter{"311", engine::Role::kWorker, ""};
  const engine::Actor supervisor{"311-close", engine::Role::kSupervisor, ""};
  CommandFeeder feeder(engine, 8192, "line", 50);
  auto submit = [&feeder](engine::Command c, uint64_t line) { feeder.Feed(std::move(c), line); };
  uint64_t done = 0;
  for (const auto& req : read.requests) {
    const TimeMs at = req.report.reported_at;
    engine::Report report = req.report;
    const rules::GridArea* area = nullptr;
    if (geography && (report.lat != 0 || report.lon != 0)) {
      area = geography->Locate(report.lat, report.lon);
    }
    if (area) report.village.clear(), report.grid.clear();  // the engine locates it
    submit(engine::Command{reporter, at, std::move(report)}, req.line);
    rules::Decision d = rules->Route(
        {req.report.category, req.report.severity, area ? area->village : req.report.village,
         area ? area->grid : req.report.grid, at, req.report.text, reporter.id});
    std::string office = d.office;
    if (owner_from_agency && AgencyOffice(req.agency) != office) {
      office = AgencyOffice(req.agency);
      engine::Transition t;
      t.case_id = req.report.client_id;
      t.action = engine::Action::kReassign;
      t.to_office = office;
      submit(engine::Command{supervisor, at, std::move(t)}, req.line);
    }
    if (req.closed_at) {
      // The export has no stages: the owning office accepts and resolves at closure,
      // and the command centre closes.
      const engine::Actor handler{"311-" + office, engine::Role::kHandler, office};
      for (auto [action, actor] : {std::pair{engine::Action::kAccept, handler},
                                   std::pair{engine::Action::kResolve, handler},
                                   std::pair{engine::Action::kClose, supervisor}}) {
        engine::Transition t;
        t.case_id = req.report.client_id;
        t.action = action;
        submit(engine::Command{actor, req.closed_at, std::move(t)}, req.line);
      }
    }
    if (progress && (++done & 0x3FFF) == 0) {
      *progress << fmt::format("\rimport-311: {}/{} requests", done, read.requests.size())
                << std::flush;
    }
  }
  ImportReport fed = feeder.Finish();
  if (progress && done >= 0x4000) *progress << "\n";
  Import311Report report;
  report.created = fed.created;
  report.duplicates = fed.duplicates;
  report.closed = fed.closed;
  report.rejected = fed.rejected;
  report.errors = std::move(fed.errors);
  return report;
}

}  // namespace wangge::io
