#include "cli/export_command.h"

#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_support.h"
#include "io/export.h"
#include "io/media_files.h"

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
  // A whole-record export to a file takes its photos along, in FILE.media/.
  if (args.what == "log" && !csv && !args.out.empty()) {
    const std::string folder = io::MediaFolderOf(args.out);
    auto media = io::ExportMedia(**engine, *from, *to, folder);
    if (!media.ok()) return Fail(media.status());
    if (media->written > 0) {
      std::cerr << fmt::format("export: {} photos in {}\n", media->written, folder);
    }
    if (media->missing > 0) {
      std::cerr << fmt::format("export: {} referenced photos are not in the directory\n",
                               media->missing);
    }
  }
  return kExitOk;
}

int ImportRecords(const std::string& file, const std::string& data) {
  // The photos beside the export are checked before anything is written.
  if (Status s = io::CheckMediaFolder(io::MediaFolderOf(file)); !s.ok()) return Fail(s);
  auto report = io::ImportRecords(file, data);
  if (!report.ok()) {
    if (report.status().code() != StatusCode::kCorruption) return Fail(report.status());
    std::cerr << "wangge: " << report.status().ToString() << "\n";
    return kExitTampered;
  }
  std::cout << fmt::format("imported {} records into {}; head {}:{}\n", report->records, data,
                           report->head.seq.value, HexOf(report->head.hash));
  // The photos the records reference, from FILE.media/ beside the export.
  SystemClock clock;
  auto engine = OpenForWriting(data, /*create=*/false, /*sync=*/true, clock, /*timers=*/false);
  if (!engine.ok()) return Fail(engine.status());
  auto media = io::ImportMedia(**engine, io::MediaFolderOf(file));
  if (!media.ok()) return Fail(media.status());
  if (media->written > 0) std::cout << fmt::format("imported {} photos\n", media->written);
  if (media->missing > 0) {
    std::cerr << fmt::format(
        "import: {} referenced photos are not in {}; wangge verify will name their cases\n",
        media->missing, io::MediaFolderOf(file));
  }
  return kExitOk;
}

}  // namespace wangge::cli
