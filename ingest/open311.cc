#include "ingest/open311.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <pugixml.hpp>
#include <random>

#include <boost/json.hpp>
#include <boost/url.hpp>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include "core/sha256.h"
#include "ingest/multipart.h"
#include "wire/json_writer.h"
#include "wire/query_params.h"

namespace wangge::ingest::open311 {
namespace {

namespace json = boost::json;

json::value ToJson(const Node& n) {
  switch (n.kind) {
    case Node::Kind::kText:
      return json::string(n.text);
    case Node::Kind::kNumber:
      if (n.number == std::floor(n.number) && std::fabs(n.number) < 1e15) {
        return static_cast<int64_t>(n.number);
      }
      return n.number;
    case Node::Kind::kBool:
      return n.flag;
    case Node::Kind::kObject: {
      json::object o;
      for (const Node& c : n.children) o[c.name] = ToJson(c);
      return o;
    }
    case Node::Kind::kList: {
      json::array a;
      for (const Node& c : n.children) a.push_back(ToJson(c));
      return a;
    }
    default:
      return nullptr;
  }
}

// Numbers as plain decimals (coordinates keep their six places), integers without a point.
std::string NumberText(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  std::string s(buf);
  while (s.back() == '0') s.pop_back();
  return s;
}

void ToXml(const Node& n, pugi::xml_node parent) {
  pugi::xml_node e = parent.append_child(n.name.c_str());
  switch (n.kind) {
    case Node::Kind::kText:
      e.text().set(n.text.c_str());
      break;
    case Node::Kind::kNumber:
      e.text().set(NumberText(n.number).c_str());
      break;
    case Node::Kind::kBool:
      e.text().set(n.flag ? "true" : "false");
      break;
    case Node::Kind::kObject:
    case Node::Kind::kList:
      for (const Node& c : n.children) ToXml(c, e);
      break;
    default:
      break;
  }
}

struct StringWriter : pugi::xml_writer {
  std::string out;
  void write(const void* data, size_t size) override {
    out.append(static_cast<const char*>(data), size);
  }
};

Node Field(std::string name, const std::string& value) {
  return value.empty() ? Node::Null(std::move(name)) : Node::Text(std::move(name), value);
}

// A form or query string as decoded pairs ('+' is a space), in order. Only malformed
// text is an error here ("malformed …"); repeated names are left to MergeRepeated.
// Form bodies in the field carry bytes a URL query may not, raw: "attribute[village]=V07"
// from curl --data-urlencode, or UTF-8 from a hand-written client. They are escaped
// before parsing, so they read as the client meant.
std::string EscapeForQuery(std::string_view text) {
  static const std::string_view kAllowed = "-._~!$&'()*+,;=:@/?%";
  std::string out = "/?";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || kAllowed.find(c) != std::string_view::npos) {
      out += c;
    } else {
      static const char* hex = "0123456789ABCDEF";
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

Result<Fields> Pairs(std::string_view text) {
  const std::string target = EscapeForQuery(text);  // the view below points into it
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return InvalidArgument("malformed form data: " + url.error().message());
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& p : url->params()) {
    if (p.key.empty()) continue;
    if (!simdjson::validate_utf8(p.key.data(), p.key.size()) ||
        !simdjson::validate_utf8(p.value.data(), p.value.size())) {
      return InvalidArgument("malformed form data: parameters must be UTF-8", p.key);
    }
    out.emplace_back(p.key, p.value);
  }
  return out;
}

// Parameters the spec lets a client repeat: their values merge, comma separated, in the
// order given.
bool IsListParam(std::string_view key) {
  return key == "service_request_id" || key == "service_code" || key == "status";
}

// Merges repeated parameters: in a query (`query`), the list parameters' values join,
// comma separated, in the order given. Elsewhere an empty value (a blank attribute)
// yields to a value, and a later media_url is dropped (a request keeps one); any other
// parameter given twice with values is 400.
Status MergeRepeated(std::vector<std::pair<std::string, std::string>>& pairs, bool query) {
  std::map<std::string, size_t> first;
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [key, value] : pairs) {
    auto [it, fresh] = first.emplace(key, out.size());
    std::string* kept = fresh ? nullptr : &out[it->second].second;
    if (fresh) {
      out.emplace_back(std::move(key), std::move(value));
    } else if (query && IsListParam(key)) {
      if (!value.empty()) *kept += (kept->empty() ? "" : ",") + value;
    } else if (value.empty() || kept->empty()) {
      if (kept->empty()) *kept = std::move(value);
    } else if (key == "media_url") {
      spdlog::debug("open311: a repeated media_url is ignored: {}", value.substr(0, 200));
    } else {
      return InvalidArgument(key + " is given twice", key);
    }
  }
  pairs = std::move(out);
  return Status::Ok();
}

// The W3C date-time profiles Open311 clients send (a date; minutes; seconds; fractions;
// "Z" or an offset) as a time. A date alone is its whole day in China Standard Time, the
// jurisdiction's own time: from its first millisecond as a start_date, to its last as an
// end_date.
Result<TimeMs> ParseW3cTime(const std::string& key, std::string value) {
  if (value.size() == 10) {
    value += key == "end_date" ? "T23:59:59.999+08:00" : "T00:00:00+08:00";
  }
  // Minutes without seconds: "2026-12-01T09:30+08:00" or "…T09:30Z".
  if (value.size() > 16 && value[13] == ':' &&
      (value[16] == 'Z' || value[16] == '+' || value[16] == '-')) {
    value.insert(16, ":00");
  }
  auto t = ParseRfc3339(value);
  if (t.ok()) return *t;
  if (value.size() > 19 && value.find(' ', 19) != std::string::npos) {
    return InvalidArgument(key +
                               " has a space where its offset's + should be: a + in a query "
                               "string means a space, so send it as %2B",
                           key);
  }
  return InvalidArgument(key +
                             " must be a W3C date-time: 2026-11-25, 2026-11-25T09:00+08:00, "
                             "2026-11-25T09:00:00Z or 2026-11-25T09:00:00.5+08:00",
                         key);
}

Result<double> Coordinate(const std::string& text, const char* name, double limit) {
  double v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v) || std::fabs(v) > limit) {
    return InvalidArgument(std::string(name) + " must be a number from -" + NumberText(limit) +
                               " to " + NumberText(limit),
                           name);
  }
  return v;
}

Status CheckLength(const std::string& value, size_t max_chars, const std::string& name) {
  if (engine::CharCount(value) > max_chars) {
    return InvalidArgument(name + " is longer than " + std::to_string(max_chars) + " characters",
                           name);
  }
  return Status::Ok();
}

Status CheckMediaUrl(const std::string& value) {
  auto url = boost::urls::parse_absolute_uri(value);
  if (!url || (url->scheme() != "http" && url->scheme() != "https") || !url->has_authority() ||
      value.size() > 2048) {
    return InvalidArgument("media_url must be an http or https URL of at most 2048 bytes",
                           "media_url");
  }
  return Status::Ok();
}

const std::pair<int, const char*> kSeverities[] = {
    {1, "轻微 minor"}, {2, "一般 ordinary"}, {3, "较大 major"}, {4, "紧急 emergency"}};

// The attributes every service defines: where it is and how serious. wangge routes on them.
Status ApplyAttribute(const std::string& code, const std::string& value, const Catalog& catalog,
                      engine::Report& r) {
  const std::string name = "attribute[" + code + "]";
  // Clients send every attribute of a service; one the user left empty is absent.
  if (value.empty()) return Status::Ok();
  if (code == "village") {
    const bool known = std::any_of(catalog.villages.begin(), catalog.villages.end(),
                                   [&](const auto& v) { return v.first == value; });
    if (!known) return InvalidArgument(name + " is not a village of this jurisdiction", name);
    r.village = value;
  } else if (code == "grid") {
    if (value.size() > 128) return InvalidArgument(name + " must be 1-128 bytes", name);
    r.grid = value;
  } else if (code == "severity") {
    if (value.size() != 1 || value[0] < '1' || value[0] > '4') {
      return InvalidArgument(name + " must be one of 1, 2, 3, 4", name);
    }
    r.severity = value[0] - '0';
  } else {
    spdlog::debug("open311: {} is not an attribute of this service; ignored", name.substr(0, 100));
  }
  return Status::Ok();
}

Status ApplyParam(const std::string& key, const std::string& value, const Catalog& catalog,
                  PostedRequest& out, std::string& lat, std::string& lon) {
  engine::Report& r = out.report;
  if (key.starts_with("attribute[") && key.ends_with("]")) {
    return ApplyAttribute(key.substr(10, key.size() - 11), value, catalog, r);
  }
  if (key == "jurisdiction_id") {
    out.jurisdiction_id = value;
  } else if (key == "api_key") {
    out.api_key = value;
  } else if (key == "service_code") {
    r.category = value;
  } else if (key == "lat") {
    lat = value;
  } else if (key == "long") {
    lon = value;
  } else if (key == "address_string") {
    WANGGE_RETURN_IF_ERROR(CheckLength(value, 300, key));
    r.address = value;
  } else if (key == "address_id") {
    WANGGE_RETURN_IF_ERROR(CheckLength(value, 128, key));
    r.address_id = value;
  } else if (key == "description") {
    WANGGE_RETURN_IF_ERROR(CheckLength(value, 4000, key));
    r.text = value;
  } else if (key == "media_url") {
    if (!value.empty()) WANGGE_RETURN_IF_ERROR(CheckMediaUrl(value));
    r.media_url = value;
  } else if (key == "email") {
    if (!value.empty() && (value.size() > 254 || value.find('@') == std::string::npos)) {
      return InvalidArgument("email is not an email address", key);
    }
  } else if (key == "phone" || key == "device_id" || key == "account_id" || key == "first_name" ||
             key == "last_name") {
    WANGGE_RETURN_IF_ERROR(CheckLength(value, 128, key));
  } else {
    spdlog::debug("open311: unknown parameter {} ignored", key.substr(0, 100));
  }
  return Status::Ok();
}

std::string StatusNotes(const engine::Case& c, const Catalog& catalog) {
  const std::string office = catalog.OfficeName(c.office);
  switch (c.status) {
    case engine::CaseStatus::kDispatched:
      return "已分派至" + office;
    case engine::CaseStatus::kAccepted:
      return office + "已受理";
    case engine::CaseStatus::kResolved:
      return office + "已办理，待核实";
    case engine::CaseStatus::kReturned:
      return "已退回，待重新分派";
    case engine::CaseStatus::kClosed:
      return "已办结";
    case engine::CaseStatus::kCancelled:
      // Reads as closed, as the spec has no other state: the note says it was not fixed.
      return "已作废，未处置 cancelled, not fixed";
  }
  return "";
}

}  // namespace

Node Node::Null(std::string name) {
  Node n;
  n.name = std::move(name);
  return n;
}
Node Node::Text(std::string name, std::string value) {
  Node n = Null(std::move(name));
  n.kind = Kind::kText;
  n.text = std::move(value);
  return n;
}
Node Node::Number(std::string name, double value) {
  Node n = Null(std::move(name));
  n.kind = Kind::kNumber;
  n.number = value;
  return n;
}
Node Node::Bool(std::string name, bool value) {
  Node n = Null(std::move(name));
  n.kind = Kind::kBool;
  n.flag = value;
  return n;
}
Node Node::Object(std::string name, std::vector<Node> fields) {
  Node n = Null(std::move(name));
  n.kind = Kind::kObject;
  n.children = std::move(fields);
  return n;
}
Node Node::List(std::string name, std::vector<Node> items) {
  Node n = Null(std::move(name));
  n.kind = Kind::kList;
  n.children = std::move(items);
  return n;
}

std::string Render(const Node& root, Format format) {
  if (format == Format::kJson) return wire::WriteJson(ToJson(root));
  pugi::xml_document doc;
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  ToXml(root, doc);
  StringWriter w;
  doc.save(w, "", pugi::format_raw, pugi::encoding_utf8);
  return w.out;
}

std::string_view ContentType(Format format) {
  return format == Format::kJson ? "application/json; charset=utf-8" : "text/xml; charset=utf-8";
}

Node Errors(int code, const std::string& description) {
  return Node::List("errors", {Node::Object("error", {Node::Number("code", code),
                                                      Node::Text("description", description)})});
}

Status ParseTarget(const std::vector<std::string>& segments, Target& target) {
  target.format = Format::kXml;
  if (segments.empty() || segments.size() > 2) return NotFound("no such Open311 resource");
  const std::string& last = segments.back();
  const size_t dot = last.rfind('.');
  const std::string stem = dot == std::string::npos ? last : last.substr(0, dot);
  const std::string resource = segments.size() == 2 ? segments[0] : stem;
  const bool listed = resource == "discovery" || resource == "services" || resource == "requests" ||
                      resource == "tokens" || resource == "servicerequestupdates";
  if (!listed ||
      (segments.size() == 2 && (resource == "discovery" || resource == "servicerequestupdates")) ||
      (segments.size() == 1 && resource == "tokens")) {
    return NotFound("no such Open311 resource");
  }
  const std::string ext = dot == std::string::npos ? "" : last.substr(dot + 1);
  if (ext != "json" && ext != "xml") {
    return InvalidArgument("the format must be .json or .xml", "format");
  }
  target.format = ext == "json" ? Format::kJson : Format::kXml;
  target.resource = resource;
  target.id = segments.size() == 2 ? stem : "";
  if (segments.size() == 2 && target.id.empty()) return NotFound("no such Open311 resource");
  return Status::Ok();
}

Node Discovery(const std::string& base_url, const std::string& changeset) {
  std::vector<Node> formats = {Node::Text("format", "text/xml"),
                               Node::Text("format", "application/json")};
  Node endpoint = Node::Object(
      "endpoint", {Node::Text("specification", "http://wiki.open311.org/GeoReport_v2"),
                   Node::Text("url", base_url), Node::Text("changeset", changeset),
                   Node::Text("type", "production"), Node::List("formats", std::move(formats))});
  return Node::Object(
      "discovery",
      {Node::Text("changeset", changeset),
       Node::Text("contact", "the operator of this wangge server"),
       Node::Text("key_service", "api_key: a wangge worker token (wangge token add --role worker)"),
       Node::List("endpoints", {std::move(endpoint)})});
}

Node Services(const Catalog& catalog) {
  std::vector<Node> items;
  for (const auto& s : catalog.categories) {
    const size_t sep = s.name.find("·");
    const std::string keywords =
        s.code + (sep != std::string::npos ? "," + s.name.substr(sep + 2) : "");
    items.push_back(Node::Object(
        "service", {Node::Text("service_code", s.code), Node::Text("service_name", s.name),
                    Node::Text("description", s.name), Node::Bool("metadata", true),
                    Node::Text("type", "realtime"), Node::Text("keywords", keywords),
                    Node::Text("group", s.group)}));
  }
  return Node::List("services", std::move(items));
}

Node ServiceDefinition(const Catalog& catalog, const Catalog::Category& service) {
  const auto attribute = [](const char* code, const char* datatype, bool required, int order,
                            const char* description, std::vector<Node> values) {
    std::vector<Node> fields = {
        Node::Bool("variable", true),           Node::Text("code", code),
        Node::Text("datatype", datatype),       Node::Bool("required", required),
        Node::Text("datatype_description", ""), Node::Number("order", order),
        Node::Text("description", description)};
    if (!values.empty()) fields.push_back(Node::List("values", std::move(values)));
    return Node::Object("attribute", std::move(fields));
  };
  std::vector<Node> villages, severities;
  for (const auto& [code, name] : catalog.villages) {
    villages.push_back(Node::Object("value", {Node::Text("key", code), Node::Text("name", name)}));
  }
  for (const auto& [level, name] : kSeverities) {
    severities.push_back(Node::Object(
        "value", {Node::Text("key", std::to_string(level)), Node::Text("name", name)}));
  }
  std::vector<Node> attributes;
  attributes.push_back(attribute("village", "singlevaluelist", false, 1,
                                 "村（社区） village or community where it is; without it, lat and "
                                 "long locate the request in its grid",
                                 std::move(villages)));
  attributes.push_back(attribute("grid", "string", false, 2,
                                 "网格 grid code, e.g. V07-G3; without one: VILLAGE-311", {}));
  attributes.push_back(attribute("severity", "singlevaluelist", false, 3,
                                 "等级 how serious; without one: 2", std::move(severities)));
  return Node::Object("service_definition", {Node::Text("service_code", service.code),
                                             Node::List("attributes", std::move(attributes))});
}

Result<Form> ReadForm(std::string_view content_type, std::string_view body) {
  const std::string_view type = content_type.substr(0, content_type.find(';'));
  const auto is = [&](std::string_view want) {
    std::string_view t = type;
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    return t.size() == want.size() &&
           std::equal(t.begin(), t.end(), want.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == b;
           });
  };
  Form form;
  if (content_type.empty() || is("application/x-www-form-urlencoded")) {
    WANGGE_ASSIGN_OR_RETURN(form.fields, Pairs(body));
    return form;
  }
  if (!is("multipart/form-data")) {
    return InvalidArgument(
        "send the form as application/x-www-form-urlencoded or multipart/form-data",
        "Content-Type");
  }
  WANGGE_ASSIGN_OR_RETURN(auto parts, ParseMultipart(content_type, body));
  for (FormPart& part : parts) {
    const bool file = !part.filename.empty() || part.content_type.starts_with("image/");
    if (part.name == "media" && file) {
      if (form.photo) return InvalidArgument("media may carry one photo", "media");
      form.photo = std::string(part.body);
      continue;
    }
    if (!simdjson::validate_utf8(part.name.data(), part.name.size())) {
      return InvalidArgument("malformed form data: parameter names must be UTF-8", "form");
    }
    if (!simdjson::validate_utf8(part.body.data(), part.body.size())) {
      return InvalidArgument("malformed form data: parameters must be UTF-8", part.name);
    }
    form.fields.emplace_back(std::move(part.name), std::string(part.body));
  }
  return form;
}

Status ParsePostedRequest(std::string_view body, const Catalog& catalog, PostedRequest& out) {
  WANGGE_ASSIGN_OR_RETURN(auto pairs, Pairs(body));
  return ParsePostedRequest(std::move(pairs), catalog, out);
}

Status ParsePostedRequest(Fields pairs, const Catalog& catalog, PostedRequest& out) {
  out.form = true;
  // The key first, so the caller can judge it whatever else is wrong.
  for (const auto& [key, value] : pairs) {
    if (key == "api_key" && out.api_key.empty()) out.api_key = value;
  }
  WANGGE_RETURN_IF_ERROR(MergeRepeated(pairs, /*query=*/false));
  std::string lat, lon;
  out.report.severity = 2;  // unless attribute[severity] says otherwise
  for (const auto& [key, value] : pairs) {
    WANGGE_RETURN_IF_ERROR(ApplyParam(key, value, catalog, out, lat, lon));
  }
  engine::Report& r = out.report;
  if (r.category.empty()) return InvalidArgument("service_code is required", "service_code");
  if (!catalog.FindCategory(r.category)) {
    return NotFound("service_code " + r.category + " was not found");
  }
  if (lat.empty() != lon.empty()) {
    return InvalidArgument("lat and long go together", lat.empty() ? "lat" : "long");
  }
  if (lat.empty() && r.address.empty() && r.address_id.empty()) {
    return InvalidArgument("a location is required: lat and long, address_string or address_id",
                           "lat");
  }
  if (!lat.empty()) {
    WANGGE_ASSIGN_OR_RETURN(r.lat, Coordinate(lat, "lat", 90));
    WANGGE_ASSIGN_OR_RETURN(r.lon, Coordinate(lon, "long", 180));
    // (0, 0) is a position too when a client sends it: kept, so it reads back as sent.
    r.zero_position = r.lat == 0 && r.lon == 0;
  }
  // Without a village, the position places the request (the geography in force: the
  // sequencer answers 422 when it cannot; docs/place.md).
  const bool to_locate = r.village.empty() && r.grid.empty() && r.has_position();
  if (r.village.empty() && !to_locate) {
    return InvalidArgument("attribute[village] is required, unless lat and long locate the request",
                           "attribute[village]");
  }
  if (r.grid.empty() && !to_locate) r.grid = r.village + "-311";
  r.channel = "open311";
  r.attachments = r.media_url.empty() ? 0 : 1;
  // What the engine will check once the server sets the id and time: answered here, so
  // that a form this accepts is a report the sequencer takes.
  engine::Report probe = r;
  probe.client_id = std::string(kIdPrefix);
  return engine::ValidateReport(probe);
}

std::string RequestId(const std::string& actor, std::string_view idempotency_key) {
  std::string input;
  if (idempotency_key.empty()) {
    std::random_device rd;
    for (int i = 0; i < 4; ++i) input += std::to_string(rd());
  } else {
    input = actor + "\n" + std::string(idempotency_key);
  }
  Sha256 sha;
  return std::string(kIdPrefix) + HexOf(sha.Of(input, "")).substr(0, 32);
}

// The window of a list: no date, the 90 days up to `now`; one date, 90 days from or up
// to it; both, at most 90 days apart.
Status Window(std::optional<TimeMs> start, std::optional<TimeMs> end, TimeMs now, TimeMs& from,
              TimeMs& to) {
  if (!start && !end) end = now;
  to = end ? *end : TimeMs{start->ms + kMaxWindowMs};
  from = start ? *start : TimeMs{to.ms - kMaxWindowMs};
  if (from > to) return InvalidArgument("start_date is after end_date", "start_date");
  if (to.ms - from.ms > kMaxWindowMs) {
    return InvalidArgument("start_date and end_date are more than 90 days apart", "start_date");
  }
  return Status::Ok();
}

Status ParseQuery(std::string_view query, TimeMs now, Query& q) {
  WANGGE_ASSIGN_OR_RETURN(auto pairs, Pairs(query));
  WANGGE_RETURN_IF_ERROR(MergeRepeated(pairs, /*query=*/true));
  std::optional<TimeMs> start, end;
  const auto split = [](const std::string& v) {
    std::vector<std::string> out;
    size_t from = 0;
    while (from <= v.size()) {
      const size_t comma = std::min(v.find(',', from), v.size());
      if (comma > from) out.push_back(v.substr(from, comma - from));
      from = comma + 1;
    }
    return out;
  };
  const auto count = [](const std::string& v, const std::string& name, size_t lo, size_t hi,
                        size_t& out) {
    size_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n < lo || n > hi) {
      return InvalidArgument(
          name + " must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi),
          name);
    }
    out = n;
    return Status::Ok();
  };
  for (const auto& [key, value] : pairs) {
    if (key == "jurisdiction_id") {
      q.jurisdiction_id = value;
    } else if (key == "api_key") {
      q.api_key = value;
    } else if (key == "service_request_id") {
      q.ids = split(value);
      if (q.ids.empty() || q.ids.size() > kMaxPageSize) {
        return InvalidArgument("service_request_id takes 1 to 1000 ids, comma separated", key);
      }
    } else if (key == "service_code") {
      for (auto& code : split(value)) q.service_codes.insert(code);
    } else if (key == "status") {
      bool open = false, closed = false;
      for (const auto& s : split(value)) {
        if (s != "open" && s != "closed") {
          return InvalidArgument("status must be open, closed or both", key);
        }
        (s == "open" ? open : closed) = true;
      }
      if (open != closed) q.open = open;
    } else if (key == "start_date" || key == "end_date") {
      WANGGE_ASSIGN_OR_RETURN(TimeMs t, ParseW3cTime(key, value));
      (key == "start_date" ? start : end) = t;
    } else if (key == "page") {
      WANGGE_RETURN_IF_ERROR(count(value, key, 1, 1'000'000, q.page));
    } else if (key == "page_size") {
      WANGGE_RETURN_IF_ERROR(count(value, key, 1, kMaxPageSize, q.page_size));
    } else {
      // lat, long, radius, device ids and the like: clients send them; wangge does not
      // filter on them.
      spdlog::debug("open311: unknown parameter {} ignored", key.substr(0, 100));
    }
  }
  if (q.page * q.page_size > kMaxListDepth) {
    return InvalidArgument("page × page_size may be at most " + std::to_string(kMaxListDepth) +
                               "; narrow the window instead",
                           "page");
  }
  return Window(start, end, now, q.start, q.end);
}

Node RequestNode(const engine::Case& c, const Catalog& catalog, std::string_view id,
                 const std::string& media_base) {
  const engine::Report& r = c.report;
  const auto* service = catalog.FindCategory(r.category);
  std::vector<Node> f = {Node::Text("service_request_id", std::string(id)),
                         Node::Text("status", c.open() ? "open" : "closed"),
                         Node::Text("status_notes", StatusNotes(c, catalog)),
                         Node::Text("service_name", service ? service->name : r.category),
                         Node::Text("service_code", r.category),
                         Field("description", r.text),
                         Node::Text("agency_responsible", catalog.OfficeName(c.office)),
                         Node::Null("service_notice"),
                         Node::Text("requested_datetime", FormatRfc3339(c.received_at)),
                         Node::Text("updated_datetime", FormatRfc3339(c.updated_at)),
                         Node::Text("expected_datetime", FormatRfc3339(c.deadline)),
                         Field("address", r.address),
                         Field("address_id", r.address_id),
                         Node::Null("zipcode")};
  const bool located = r.has_position();
  f.push_back(located ? Node::Number("lat", r.lat) : Node::Null("lat"));
  f.push_back(located ? Node::Number("long", r.lon) : Node::Null("long"));
  // A reference the client sent stays as sent; a photo it uploaded is served here.
  f.push_back(Field("media_url", !r.media_url.empty() || r.media.empty()
                                     ? r.media_url
                                     : media_base + r.media.front()));
  return Node::Object("request", std::move(f));
}

Node Requests(std::vector<Node> requests) {
  return Node::List("service_requests", std::move(requests));
}

Status ParseUpdatesQuery(std::string_view query, TimeMs now, UpdatesQuery& q) {
  WANGGE_ASSIGN_OR_RETURN(auto pairs, Pairs(query));
  WANGGE_RETURN_IF_ERROR(MergeRepeated(pairs, /*query=*/true));
  std::optional<TimeMs> start, end;
  for (const auto& [key, value] : pairs) {
    if (key == "jurisdiction_id") {
      q.jurisdiction_id = value;
    } else if (key == "api_key") {
      q.api_key = value;
    } else if (key == "start_date" || key == "end_date") {
      WANGGE_ASSIGN_OR_RETURN(TimeMs t, ParseW3cTime(key, value));
      (key == "start_date" ? start : end) = t;
    } else {
      spdlog::debug("open311: unknown parameter {} ignored", key.substr(0, 100));
    }
  }
  return Window(start, end, now, q.start, q.end);
}

namespace {

// What a citizen is told of each action that changes what they see; nullptr for others.
const char* UpdateText(engine::Action a) {
  switch (a) {
    case engine::Action::kAccept:
      return "已受理 accepted";
    case engine::Action::kReturn:
      return "已退回，待重新分派 returned for reassignment";
    case engine::Action::kResolve:
      return "已办理，待核实 resolved, awaiting verification";
    case engine::Action::kVerify:
      return "已核实办结 verified and closed";
    case engine::Action::kClose:
      return "已办结 closed";
    case engine::Action::kReopen:
      return "已重新办理 reopened";
    case engine::Action::kCancel:
      return "已作废，未处置 cancelled, not fixed";
    case engine::Action::kEscalate:
      return "已督办 escalated";
    case engine::Action::kExtend:
      return "已延期 extended";
    case engine::Action::kComment:
      return "留言 comment";
    case engine::Action::kReassign:
    case engine::Action::kRequestExtension:  // the citizen hears of it once granted
      return nullptr;
  }
  return nullptr;
}

}  // namespace

std::optional<Node> UpdateNode(const engine::Record& record, const engine::Case& after,
                               std::string_view request_id, const std::string& media_base) {
  const auto* t = std::get_if<engine::Transition>(&record.body);
  const char* text = t ? UpdateText(t->action) : nullptr;
  if (!text) return std::nullopt;
  std::string description = text;
  if (t->action == engine::Action::kExtend && t->until) {
    description += "，新期限 " + FormatRfc3339(*t->until);
  }
  // A comment reads as its own words; one with only a photo keeps the label.
  if (t->action == engine::Action::kComment && !t->note.empty()) description = t->note;
  std::string media_url = t->media_url;
  if (media_url.empty() && !t->media.empty()) media_url = media_base + t->media[0];
  return Node::Object("request_update", {Node::Text("update_id", std::to_string(record.seq.value)),
                                         Node::Text("service_request_id", std::string(request_id)),
                                         Node::Text("status", after.open() ? "open" : "closed"),
                                         Node::Text("updated_datetime", FormatRfc3339(record.at)),
                                         Node::Text("description", description),
                                         media_url.empty() ? Node::Null("media_url")
                                                           : Node::Text("media_url", media_url)});
}

Node Updates(std::vector<Node> updates) {
  return Node::List("service_request_updates", std::move(updates));
}

Status ParsePostedUpdate(Fields fields, bool has_photo, PostedUpdate& out) {
  for (const auto& [key, value] : fields) {
    if (key == "api_key" && out.api_key.empty()) out.api_key = value;
  }
  WANGGE_RETURN_IF_ERROR(MergeRepeated(fields, /*query=*/false));
  engine::Transition& t = out.comment;
  t.action = engine::Action::kComment;
  for (const auto& [key, value] : fields) {
    if (key == "jurisdiction_id") {
      out.jurisdiction_id = value;
    } else if (key == "api_key") {
      out.api_key = value;
    } else if (key == "service_request_id") {
      out.service_request_id = value;
    } else if (key == "description") {
      WANGGE_RETURN_IF_ERROR(CheckLength(value, 4000, key));
      t.note = value;
    } else if (key == "media_url") {
      if (!value.empty()) WANGGE_RETURN_IF_ERROR(CheckMediaUrl(value));
      t.media_url = value;
    } else if (key == "update_id") {
      if (value.size() > 200) return InvalidArgument("update_id is longer than 200 bytes", key);
      t.key = value;
    } else if (key == "updated_datetime") {
      if (!value.empty()) WANGGE_RETURN_IF_ERROR(ParseW3cTime(key, value).status());
    } else if (key == "status") {
      std::string s;
      for (char c : value) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!s.empty() && s != "open" && s != "closed") {
        return InvalidArgument("status must be open or closed", key);
      }
    } else if (key == "email") {
      if (!value.empty() && (value.size() > 254 || value.find('@') == std::string::npos)) {
        return InvalidArgument("email is not an email address", key);
      }
    } else if (key == "phone" || key == "account_id" || key == "first_name" || key == "last_name" ||
               key == "device_id") {
      WANGGE_RETURN_IF_ERROR(CheckLength(value, 128, key));
    } else {
      spdlog::debug("open311: unknown parameter {} ignored", key.substr(0, 100));
    }
  }
  if (out.service_request_id.empty()) {
    return InvalidArgument("service_request_id is required", "service_request_id");
  }
  WANGGE_RETURN_IF_ERROR(engine::ValidateCaseId(out.service_request_id));
  if (t.note.empty() && t.media_url.empty() && !has_photo) {
    return InvalidArgument("an update needs a description, a media_url or a photo (media)",
                           "description");
  }
  return engine::ValidateCommentFields(t);
}

Node UpdatePosted(uint64_t update_id) {
  return Updates(
      {Node::Object("request_update", {Node::Text("update_id", std::to_string(update_id))})});
}

Node Posted(const std::string& id, const std::string& notice) {
  return Requests(
      {Node::Object("request", {Node::Text("service_request_id", id),
                                Node::Text("service_notice", notice), Node::Null("account_id")})});
}

Node Token(const std::string& id) {
  return Requests(
      {Node::Object("request", {Node::Text("service_request_id", id), Node::Text("token", id)})});
}

}  // namespace wangge::ingest::open311
