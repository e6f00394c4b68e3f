// libFuzzer target: Open311 GeoReport v2 input (ingest/open311.h). The same bytes are
// read as a POST requests form, as a GET requests query string, as a GET
// servicerequestupdates query string and as a resource path.
// Parsing must never crash; a form it accepts must be a valid report once the server
// sets its id and time; a query it accepts must have a window of at most 90 days and a
// page size of 1-1000.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/domain.h"
#include "ingest/open311.h"
#include "rules/ruleset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wangge;
  using namespace wangge::ingest::open311;
  static const Catalog catalog = *CatalogFromRuleset(rules::Ruleset::BuiltInText());
  const std::string text(reinterpret_cast<const char*>(data), size);

  PostedRequest posted;
  if (ParsePostedRequest(text, catalog, posted).ok()) {
    posted.report.client_id = "o311-fuzz";
    posted.report.reported_at = TimeMs{1'764'000'000'000};
    if (!engine::ValidateReport(posted.report).ok()) std::abort();
  }
  Query q;
  if (ParseQuery(text, TimeMs{1'764'000'000'000}, q).ok()) {
    if (q.start > q.end || q.end.ms - q.start.ms > kMaxWindowMs) std::abort();
    if (q.page_size < 1 || q.page_size > kMaxPageSize || q.page < 1) std::abort();
    if (q.page * q.page_size > kMaxListDepth) std::abort();
  }
  UpdatesQuery u;
  if (ParseUpdatesQuery(text, TimeMs{1'764'000'000'000}, u).ok()) {
    if (u.start > u.end || u.end.ms - u.start.ms > kMaxWindowMs) std::abort();
  }
  std::vector<std::string> segments;
  size_t from = 0;
  for (size_t slash; (slash = text.find('/', from)) != std::string::npos; from = slash + 1) {
    segments.push_back(text.substr(from, slash - from));
  }
  segments.push_back(text.substr(from));
  Target target;
  (void)ParseTarget(segments, target);
  // Rendering what a parsed request would read back as: both formats, never a crash.
  (void)Render(Errors(400, text), Format::kXml);
  (void)Render(Errors(400, text), Format::kJson);
  return 0;
}
