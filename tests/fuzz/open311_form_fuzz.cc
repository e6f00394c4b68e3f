// libFuzzer target: Open311 GeoReport v2 input (ingest/open311.h). The same bytes are
// read as a POST requests form, as a POST servicerequestupdates form, as a GET requests
// query string, as a GET servicerequestupdates query string and as a resource path; and,
// when the first line names multipart/form-data, the rest as a form of that type.
// Parsing must never crash; a form it accepts must be a valid report once the server
// sets its id and time; a query it accepts must have a window of at most 90 days and a
// page size of 1-1000.
#include <algorithm>
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
  // An update it accepts is a comment the lifecycle takes, on a valid case id.
  if (auto form = ReadForm("", text); form.ok()) {
    PostedUpdate update;
    if (ParsePostedUpdate(form->fields, false, update).ok()) {
      const auto& c = update.comment;
      if (c.action != engine::Action::kComment || !engine::ValidateCommentFields(c).ok() ||
          !engine::ValidateCaseId(update.service_request_id).ok() ||
          (c.note.empty() && c.media_url.empty())) {
        std::abort();
      }
    }
  }
  if (text.starts_with("multipart/form-data")) {
    const size_t eol = std::min(text.find('\n'), text.size());
    if (auto form = ReadForm(std::string_view(text).substr(0, eol),
                             std::string_view(text).substr(std::min(eol + 1, text.size())));
        form.ok()) {
      PostedRequest from_parts;
      (void)ParsePostedRequest(form->fields, catalog, from_parts);
      PostedUpdate update;
      (void)ParsePostedUpdate(form->fields, form->photo.has_value(), update);
    }
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
