#include "io/export.h"

#include <filesystem>
#include <fstream>
#include <iostream>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <simdjson.h>

#include "audit/replay.h"
#include "engine/codec.h"
#include "engine/engine.h"
#include "wire/case_json.h"
#include "wire/json_writer.h"
#include "wire/record_json.h"

namespace wangge::io {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// false when `text` is not canonical base64.
bool FromBase64(std::string_view text, std::string& out) {
  if (text.size() % 4 != 0) return false;
  out.assign(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return false;
  size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return Base64(out) == text;
}

// One record as a JSON object: readable fields for outside tools (feed.h), and the
// record's exact bytes (base64) so that an import reproduces it.
json::object RecordJson(const engine::Record& r, std::string_view payload) {
  json::object o = wire::RecordFields(r);
  o["payload"] = Base64(payload);
  return o;
}

std::string Csv(std::string_view field) {
  if (field.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

Status ExportLog(const engine::Engine& engine, std::optional<TimeMs> from, std::optional<TimeMs> to,
                 bool csv, std::ostream& out) {
  if (csv) out << "seq,at,kind,actor,role,case_id,action,office\n";
  Status failure;
  WANGGE_RETURN_IF_ERROR(engine.log().Scan(Seq{1}, Seq{}, [&](Seq seq, std::string_view p) {
    auto r = engine::DecodeRecord(seq, p);
    if (!r.ok()) {
      failure = r.status();
      return false;
    }
    if ((from && r->at < *from) || (to && r->at >= *to)) return true;
    const json::object o = RecordJson(*r, p);
    if (!csv) {
      out << wire::WriteJson(o) << '\n';
      return true;
    }
    auto field = [&](const char* k) {
      const auto* v = o.if_contains(k);
      return v && v->is_string() ? Csv(v->as_string()) : std::string();
    };
    out << seq.value << ',' << field("at") << ',' << field("kind") << ',' << field("actor") << ','
        << field("role") << ',' << field("case_id") << ','
        << (o.contains("action") ? field("action") : field("ruleset")) << ',' << field("office")
        << '\n';
    return true;
  }));
  return failure;
}

Status ExportCases(const engine::Engine& engine, std::optional<TimeMs> from,
                   std::optional<TimeMs> to, bool csv, std::ostream& out) {
  if (csv) {
    out << "case_id,office,village,grid,reporter,category,severity,status,received_at,deadline,"
           "closed_at,satisfaction,reopens,extensions\n";
  }
  return engine.ForEachCase([&](const engine::Case& c) {
    if ((from && c.received_at < *from) || (to && c.received_at >= *to)) return true;
    if (csv) {
      const std::string closed = c.closed_at.ms ? FormatRfc3339(c.closed_at) : "";
      out << Csv(c.id) << ',' << Csv(c.office) << ',' << Csv(c.report.village) << ','
          << Csv(c.report.grid) << ',' << Csv(c.reporter.id) << ',' << Csv(c.report.category) << ','
          << c.report.severity << ',' << engine::StatusName(c.status) << ','
          << FormatRfc3339(c.received_at) << ',' << FormatRfc3339(c.deadline) << ',' << closed
          << ',' << c.satisfaction << ',' << c.reopen_count << ',' << c.extension_count << '\n';
      return true;
    }
    out << wire::WriteJson(wire::CaseJson(wire::kReader, c)) << '\n';
    return true;
  });
}

Result<std::pair<uint64_t, std::string>> ParseExportLine(std::string_view line) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  uint64_t seq = 0;
  std::string_view payload;
  if (parser.parse(line.data(), line.size()).get(doc) || doc["seq"].get(seq) ||
      doc["payload"].get(payload)) {
    return InvalidArgument("not a log export line (an object with seq and payload)");
  }
  if (seq == 0) return InvalidArgument("seq 0: records start at 1");
  std::string bytes;
  if (!FromBase64(payload, bytes)) return InvalidArgument("payload is not base64");
  if (auto r = engine::DecodeRecord(Seq{seq}, bytes); !r.ok()) {
    return InvalidArgument(std::string(r.status().message()));
  }
  return std::make_pair(seq, std::move(bytes));
}

namespace {

// Calls fn(seq, payload bytes) for each line of a log export, checking that lines are
// records 1, 2, ... in order. kInvalidArgument names FILE:LINE; kNotFound: no file.
Status ForEachExportLine(const std::string& file,
                         const std::function<bool(Seq, std::string_view)>& fn) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return NotFound("cannot open '" + file + "'");
  std::string line;
  for (uint64_t n = 1; std::getline(in, line); ++n) {
    const auto where = fmt::format("{}:{}: ", file, n);
    auto parsed = ParseExportLine(line);
    if (!parsed.ok()) return InvalidArgument(where + parsed.status().message());
    if (parsed->first != n) {
      return InvalidArgument(
          where + fmt::format("seq {} where {} was due: a log export imports whole, from record 1",
                              parsed->first, n));
    }
    if (!fn(Seq{n}, parsed->second)) break;
  }
  if (in.bad()) return IOError("reading '" + file + "' failed");
  return Status::Ok();
}

}  // namespace

Result<audit::ReplayReport> ImportRecords(const std::string& file, const std::string& data) {
  std::error_code ec;
  if (fs::exists(data, ec)) {
    return InvalidArgument("'" + data + "' exists; a log export imports into a new directory",
                           "data");
  }
  // Every line is checked before anything is written; then the file is read again.
  WANGGE_RETURN_IF_ERROR(ForEachExportLine(file, [](Seq, std::string_view) { return true; }));
  auto report = audit::ReplayToNewDirectory(
      [&](const std::function<bool(Seq, std::string_view)>& each) {
        return ForEachExportLine(file, each);
      },
      data, {});
  if (!report.ok()) fs::remove_all(data, ec);  // not a usable directory: leave none
  return report;
}

}  // namespace wangge::io
