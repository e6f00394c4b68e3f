// libFuzzer target: 311 CSV exports. The first byte picks the format; the export's own
// header is put before the rest, so the bytes are read as data rows. Reading must never
// crash, and every converted request must be a valid report.
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "io/import_311.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wangge;
  if (size == 0) return 0;
  static const char* kHeaders[] = {
      "SRNumber,CreatedDate,Owner,RequestType,Status,ClosedDate,NCName,ZipCode,Latitude,"
      "Longitude\n",
      "Unique Key,Created Date,Closed Date,Agency,Complaint Type,Descriptor,Status,Borough,"
      "Incident Zip,Latitude,Longitude\n",
      "case_enquiry_id,open_dt,closed_dt,case_status,type,department,neighborhood,ward,"
      "latitude,longitude\n"};
  const int which = data[0] % 3;
  const auto format = static_cast<io::Format311>(which + 1);
  std::istringstream in(std::string(kHeaders[which]) +
                        std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  auto read = io::Read311Stream(in, "fuzz.csv", format);
  if (!read.ok()) return 0;
  for (const auto& r : read->requests) {
    if (!engine::ValidateReport(r.report).ok()) std::abort();
    if (r.closed_at && *r.closed_at < r.report.reported_at) std::abort();
  }
  return 0;
}
