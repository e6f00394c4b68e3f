#include "cli/export_command.h"

#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_support.h"
#include "io/export.h"

namespace wangge::cli {

int Export(const ExportArgs& args) {
  if (args.what != "log" && args.what != "cases") {
    return Fail(InvalidArgument("export log or cases", "what"));
  }
  if (args.format != "ndjson" && args.format != "csv") {
    return Fail(InvalidArgument("formats are ndjson and csv", "format"));
  }
  auto from = wire::ParseTimeBound(args.from, "from");
  if (!from.ok()) return Fail(from.status());
  auto to = wire::ParseTimeBound(args.to, "to");
  if (!to.ok()) return Fail(to.status());
  SystemClock clock;
  auto engine = OpenReadOnly(args.data, clock);
  if (!engine.ok()) return Fail(engine.status());
  std::ofstream file;
  if (!args.out.empty()) {
    file.open(args.out, std::ios::binary | std::ios::trunc);
    if (!file) return Fail(IOError("cannot write '" + args.out + "'"));
  }
  std::ostream& out = args.out.empty() ? std::cout : file;
  const bool csv = args.format == "csv";
  Status s = args.what == "log" ? io::ExportLog(**engine, *from, *to, csv, out)
                                : io::ExportCases(**engine, *from, *to, csv, out);
  if (!s.ok()) return Fail(s);
  out.flush();
  if (!out) return Fail(IOError("writing the export failed"));
  return kExitOk;
}

int ImportRecords(const std::string& file, const std::string& data) {
  auto report = io::ImportRecords(file, data);
  if (!report.ok()) {
    if (report.status().code() != StatusCode::kCorruption) return Fail(report.status());
    std::cerr << "wangge: " << report.status().ToString() << "\n";
    return kExitTampered;
  }
  std::cout << fmt::format("imported {} records into {}; head {}:{}\n", report->records, data,
                           report->head.seq.value, HexOf(report->head.hash));
  return kExitOk;
}

}  // namespace wangge::cli
