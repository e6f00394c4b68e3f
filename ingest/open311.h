// Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2) on top of wangge's engine: the
// active ruleset's categories are the services, a POSTed request is a report of channel
// "open311", and a case is a service request. The HTTP session (http_server.cc) does the
// I/O, credentials and visibility; this file parses and renders.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "engine/domain.h"
#include "wire/catalog.h"

namespace wangge::ingest::open311 {

enum class Format { kJson, kXml };

// A response document. JSON and XML render the same tree: an object's children are its
// fields (elements), a list's children its items (each an element named by its `name`).
struct Node {
  enum class Kind { kNull, kText, kNumber, kBool, kObject, kList };
  std::string name;
  Kind kind = Kind::kNull;
  std::string text;
  double number = 0;
  bool flag = false;
  std::vector<Node> children;

  static Node Null(std::string name);
  static Node Text(std::string name, std::string value);
  static Node Number(std::string name, double value);
  static Node Bool(std::string name, bool value);
  static Node Object(std::string name, std::vector<Node> fields);
  static Node List(std::string name, std::vector<Node> items);
};

// JSON (a list is an array, an object an object), or XML with its declaration, in UTF-8.
std::string Render(const Node& root, Format format);
std::string_view ContentType(Format format);

// The spec's error list: [{"code", "description"}] / <errors><error>…
Node Errors(int code, const std::string& description);

// The path below /open311/v2/: "services.json", "services/env.garbage.xml",
// "requests/ID.json", "tokens/T.xml", "discovery.json". The format is the text after the
// last dot; ids may hold dots.
struct Target {
  std::string resource;  // discovery, services, requests, tokens
  std::string id;        // services/{id}, requests/{id}, tokens/{id}; empty for the lists
  Format format = Format::kXml;
};
// kNotFound for an unknown resource, kInvalidArgument for a missing or unknown format
// (with `format` set to XML, the spec's required format, for the error's own rendering).
Status ParseTarget(const std::vector<std::string>& segments, Target& target);

// What the ruleset says about services: its categories (wire/catalog.h).
using wire::Catalog;
using wire::CatalogFromRuleset;

Node Discovery(const std::string& base_url, const std::string& changeset);
Node Services(const Catalog& catalog);
Node ServiceDefinition(const Catalog& catalog, const Catalog::Category& service);

// A form's fields in the order sent (names and values decoded, in UTF-8).
using Fields = std::vector<std::pair<std::string, std::string>>;

// A POSTed form: application/x-www-form-urlencoded (also when the Content-Type is
// missing) or multipart/form-data (RFC 7578: the text parts are its fields, and the part
// named `media` that carries a filename or an image/* type is the photo, at most one).
struct Form {
  Fields fields;
  std::optional<std::string> photo;  // the bytes of the `media` file part
};
// kInvalidArgument naming the problem (field "Content-Type" for another type, "media"
// for a second photo, the parameter for one that is not UTF-8).
Result<Form> ReadForm(std::string_view content_type, std::string_view body);

// A parsed POST requests form. Contact fields are checked and then dropped: wangge keeps
// no personal contact data in its log.
struct PostedRequest {
  std::string jurisdiction_id;
  std::string api_key;
  engine::Report report;  // client_id left empty; reported_at left for the caller
  // The body parsed as form data, so api_key was looked for (it may still be missing or
  // the request otherwise invalid).
  bool form = false;
};
// Checks every field against the spec and the service's attributes. Errors name the
// parameter; an unknown service_code is kNotFound.
Status ParsePostedRequest(Fields fields, const Catalog& catalog, PostedRequest& out);
// The same, for an application/x-www-form-urlencoded body.
Status ParsePostedRequest(std::string_view body, const Catalog& catalog, PostedRequest& out);

// A parsed POST servicerequestupdates form (the updates extension): a citizen's comment,
// photo or both on a request, recorded as a comment on the case.
struct PostedUpdate {
  std::string jurisdiction_id;
  std::string api_key;
  std::string service_request_id;  // the request as the poster addresses it
  // The comment: its note (`description`), media_url and key (the client's own
  // `update_id`: a retry with the same one is recorded once). case_id is left empty.
  engine::Transition comment;
};
// Checks every field the extension defines: `service_request_id` is required, and so is
// one of `description`, `media_url` or (told by `has_photo`) a photo. `status` and
// `updated_datetime` are checked and not used (a comment changes no status; the record
// takes wangge's time); contact fields are checked and dropped; others are ignored.
// Errors are kInvalidArgument naming the parameter.
Status ParsePostedUpdate(Fields fields, bool has_photo, PostedUpdate& out);
// The answer to a posted update: its update_id, the record's sequence (the same the
// update has in GET servicerequestupdates).
Node UpdatePosted(uint64_t update_id);

// The client id of a posted request: from an Idempotency-Key (retries find the same
// case) or random. Both begin "o311-", which is how GET requests finds Open311 cases.
std::string RequestId(const std::string& actor, std::string_view idempotency_key);
inline constexpr std::string_view kIdPrefix = "o311-";

struct Query {
  std::string jurisdiction_id;
  std::string api_key;
  std::vector<std::string> ids;  // service_request_id; when set, the other filters are ignored
  std::set<std::string> service_codes;
  std::optional<bool> open;  // status=open or closed; both or none: any
  TimeMs start, end;         // requested_datetime window, both inclusive
  // Lists come newest first by requested_datetime; page counts from 1. By default one
  // page holds up to 1,000 requests, the spec's suggestion, so a client that does not page
  // gets the newest 1,000 of the window.
  size_t page = 1, page_size = 1000;
};
inline constexpr size_t kMaxPageSize = 1000;
// The deepest request a list answers (page × page_size): a list keeps that many cases in
// memory while it walks the window.
inline constexpr size_t kMaxListDepth = 10'000;
inline constexpr int64_t kMaxWindowMs = 90LL * 86'400'000;
// Parses GET requests' parameters. No dates: the 90 days up to `now`; one date: 90 days
// from or up to it; both: at most 90 days apart.
Status ParseQuery(std::string_view query, TimeMs now, Query& q);

// GET servicerequestupdates (the updates extension of GeoReport v2): the window, on the
// updates' times, as for requests (no date: the 90 days up to `now`), and the key.
// Parameters the spec does not define are ignored, as for requests.
struct UpdatesQuery {
  std::string jurisdiction_id;
  std::string api_key;
  TimeMs start, end;  // both inclusive
};
Status ParseUpdatesQuery(std::string_view query, TimeMs now, UpdatesQuery& q);
// The most updates one answer lists: the newest.
inline constexpr size_t kMaxUpdates = 1000;

// The update a record of a request is, or nullopt for a record that changed nothing a
// citizen sees (the report itself, a reassignment, a deadline timer). `request_id` is the
// request as the reader addresses it; `media_base` prefixes the first photo's path
// (/open311/v2/media/HASH). update_id is the record's sequence: stable across restarts and
// replays.
std::optional<Node> UpdateNode(const engine::Record& record, const engine::Case& after,
                               std::string_view request_id, const std::string& media_base);
Node Updates(std::vector<Node> updates);

// The request case `c` is, under `id` (how the reader addresses it: engine/access.h).
// `media_base` prefixes the hash of a photo the request carries (the media_url of a
// request that was posted with its photo, and of updates: /open311/v2/media/HASH).
Node RequestNode(const engine::Case& c, const Catalog& catalog, std::string_view id,
                 const std::string& media_base);
Node Requests(std::vector<Node> requests);
Node Posted(const std::string& id, const std::string& notice);
Node Token(const std::string& id);

}  // namespace wangge::ingest::open311
