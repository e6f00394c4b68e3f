#include "wire/command_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <vector>

#include <simdjson.h>

#include "rules/geography.h"

namespace wangge::wire {

// Where decoding failed: the status names the field; column is the 1-based byte column in
// the line (0 when unknown).
struct DecodeError {
  Status status;
  size_t column = 0;
};

namespace {

namespace od = simdjson::ondemand;
using engine::Action;
using engine::Command;
using engine::Report;
using engine::Role;
using engine::TimerFired;
using engine::Transition;

// Decoding state for one line: the line's start (for columns) and the first error.
struct Ctx {
  const char* begin = nullptr;
  DecodeError error;
  bool failed = false;

  bool Fail(Status s, const char* where) {
    if (!failed) {
      failed = true;
      error.status = std::move(s);
      error.column = where && where >= begin ? static_cast<size_t>(where - begin) + 1 : 0;
    }
    return false;
  }
  bool Fail(std::string field, std::string message, const char* where) {
    return Fail(InvalidArgument(std::move(message), std::move(field)), where);
  }
  bool Syntax(simdjson::error_code code, const char* where, std::string_view field) {
    std::string msg = "malformed JSON: ";
    msg += simdjson::error_message(code);
    return Fail(InvalidArgument(std::move(msg), std::string(field)), where);
  }
};

const char* Where(od::value& v) { return v.raw_json_token().data(); }

bool GetString(Ctx& ctx, od::value& v, std::string_view field, std::string& out) {
  const char* where = Where(v);
  std::string_view s;
  auto err = v.get_string().get(s);
  if (err == simdjson::INCORRECT_TYPE) {
    return ctx.Fail(std::string(field), std::string(field) + " must be a string", where);
  }
  if (err) return ctx.Syntax(err, where, field);
  out.assign(s);
  return true;
}

bool GetInt(Ctx& ctx, od::value& v, std::string_view field, int64_t lo, int64_t hi, int& out) {
  const char* where = Where(v);
  int64_t x;
  auto err = v.get_int64().get(x);
  if (err == simdjson::INCORRECT_TYPE || err == simdjson::NUMBER_ERROR ||
      err == simdjson::NUMBER_OUT_OF_RANGE) {
    return ctx.Fail(std::string(field), std::string(field) + " must be an integer", where);
  }
  if (err) return ctx.Syntax(err, where, field);
  if (x < lo || x > hi) {
    return ctx.Fail(
        std::string(field),
        std::string(field) + " must be " + std::to_string(lo) + "-" + std::to_string(hi), where);
  }
  out = static_cast<int>(x);
  return true;
}

bool GetDouble(Ctx& ctx, od::value& v, std::string_view field, double& out) {
  const char* where = Where(v);
  auto err = v.get_double().get(out);
  if (err == simdjson::INCORRECT_TYPE || err == simdjson::NUMBER_ERROR) {
    return ctx.Fail(std::string(field), std::string(field) + " must be a number", where);
  }
  if (err) return ctx.Syntax(err, where, field);
  return true;
}

bool GetTime(Ctx& ctx, od::value& v, std::string_view field, TimeMs& out) {
  const char* where = Where(v);
  std::string s;
  if (!GetString(ctx, v, field, s)) return false;
  auto t = ParseRfc3339(s);
  if (!t.ok()) return ctx.Fail(InvalidArgument(t.status().message(), std::string(field)), where);
  out = *t;
  return true;
}

// An array of SHA-256 hashes (engine::ValidateMedia checks their form).
bool GetMediaList(Ctx& ctx, od::value& v, std::string_view field, std::vector<std::string>& out) {
  const char* where = Where(v);
  od::array items;
  auto err = v.get_array().get(items);
  if (err == simdjson::INCORRECT_TYPE) {
    return ctx.Fail(std::string(field), std::string(field) + " must be an array of SHA-256 hashes",
                    where);
  }
  if (err) return ctx.Syntax(err, where, field);
  for (auto item : items) {
    od::value x;
    if ((err = item.get(x))) return ctx.Syntax(err, where, field);
    if (out.size() >= engine::kMaxMedia) {
      return ctx.Fail(
          std::string(field),
          std::string(field) + " holds at most " + std::to_string(engine::kMaxMedia) + " items",
          Where(x));
    }
    std::string h;
    if (!GetString(ctx, x, field, h)) return false;
    out.push_back(std::move(h));
  }
  Status s = engine::ValidateMedia(out);
  if (!s.ok()) {
    // The message starts with "media"; name the field as the caller sees it.
    return ctx.Fail(InvalidArgument(std::string(field) + s.message().substr(5), std::string(field)),
                    where);
  }
  return true;
}

// Calls on_field(key, value) for each field of `obj`; false stops. A key that appears
// twice is an error: a repeated field must not silently override the first.
// `prefix` names the object in messages ("report"; empty at the top level).
template <typename Fn>
bool ForEachFieldOf(Ctx& ctx, od::object& obj, std::string_view prefix, od::document* doc,
                    Fn on_field) {
  std::vector<std::string> seen;
  for (auto f : obj) {
    std::string_view key;
    od::value value;
    simdjson::error_code err;
    if ((err = f.unescaped_key().get(key)) || (err = f.value().get(value))) {
      const char* where = nullptr;
      if (doc != nullptr && doc->current_location().get(where)) where = nullptr;
      return ctx.Syntax(err, where, prefix);
    }
    std::string name =
        prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return ctx.Fail(name, "duplicate field " + name, Where(value));
    }
    seen.emplace_back(key);
    if (!on_field(key, value)) return false;
  }
  return true;
}

// The fields of `v`, which must be an object. `field` names the object in errors;
// `prefix` goes before its field names ("report", or empty for a request body).
template <typename Fn>
bool ForEachField(Ctx& ctx, od::value& v, std::string_view field, std::string_view prefix,
                  Fn on_field) {
  const char* where = Where(v);
  od::object obj;
  auto err = v.get_object().get(obj);
  if (err == simdjson::INCORRECT_TYPE) {
    return ctx.Fail(std::string(field), std::string(field) + " must be an object", where);
  }
  if (err) return ctx.Syntax(err, where, field);
  return ForEachFieldOf(ctx, obj, prefix, nullptr, on_field);
}

bool Unknown(Ctx& ctx, std::string_view prefix, std::string_view key, od::value& v) {
  std::string name = std::string(prefix) + std::string(key);
  return ctx.Fail(name, "unknown field " + name, Where(v));
}

// The path of field `k` under `prefix` ("report.severity"; just "severity" for a body).
std::string FieldPath(std::string_view prefix, std::string_view k) {
  return prefix.empty() ? std::string(k) : std::string(prefix) + "." + std::string(k);
}

// A report object; `prefix` names it in errors ("report" inside a command, "" for a body).
bool DecodeReport(Ctx& ctx, od::value& v, Report& r, std::string_view prefix) {
  const char* where = Where(v);
  bool have_time = false;
  std::string crs = "wgs84";
  auto f = [prefix](std::string_view k) { return FieldPath(prefix, k); };
  bool ok = ForEachField(
      ctx, v, prefix.empty() ? "body" : prefix, prefix, [&](std::string_view key, od::value& x) {
        if (key == "client_id") return GetString(ctx, x, f("client_id"), r.client_id);
        if (key == "crs") {
          const char* at = Where(x);
          if (!GetString(ctx, x, f("crs"), crs)) return false;
          if (crs != "wgs84" && crs != "gcj02") {
            return ctx.Fail(f("crs"), f("crs") + " must be \"wgs84\" or \"gcj02\"", at);
          }
          return true;
        }
        if (key == "category") return GetString(ctx, x, f("category"), r.category);
        if (key == "village") return GetString(ctx, x, f("village"), r.village);
        if (key == "grid") return GetString(ctx, x, f("grid"), r.grid);
        if (key == "severity") return GetInt(ctx, x, f("severity"), 1, 4, r.severity);
        if (key == "text") return GetString(ctx, x, f("text"), r.text);
        if (key == "lat") return GetDouble(ctx, x, f("lat"), r.lat);
        if (key == "lon") return GetDouble(ctx, x, f("lon"), r.lon);
        if (key == "attachments") return GetInt(ctx, x, f("attachments"), 0, 100, r.attachments);
        if (key == "media") return GetMediaList(ctx, x, f("media"), r.media);
        if (key == "reported_at") {
          have_time = true;
          return GetTime(ctx, x, f("reported_at"), r.reported_at);
        }
        return Unknown(ctx, prefix.empty() ? "" : std::string(prefix) + ".", key, x);
      });
  if (!ok) return false;
  if (!have_time) return ctx.Fail(f("reported_at"), f("reported_at") + " is required", where);
  Status s = engine::ValidateReport(r);
  if (!s.ok()) {
    std::string message = s.message();
    if (!prefix.empty()) message = std::string(prefix) + "." + message;
    return ctx.Fail(InvalidArgument(message, f(s.field())), where);
  }
  // Positions from Chinese map SDKs: stored as WGS 84 (docs/place.md "GCJ-02").
  if (crs == "gcj02") {
    const rules::LatLon wgs = rules::Gcj02ToWgs84(r.lat, r.lon);
    r.lat = wgs.lat;
    r.lon = wgs.lon;
  }
  return true;
}

// A transition object; `prefix` as for DecodeReport.
bool DecodeTransition(Ctx& ctx, od::value& v, Transition& t, std::string_view prefix) {
  const char* where = Where(v);
  bool have_action = false;
  auto f = [prefix](std::string_view k) { return FieldPath(prefix, k); };
  bool ok = ForEachField(
      ctx, v, prefix.empty() ? "body" : prefix, prefix, [&](std::string_view key, od::value& x) {
        if (key == "action") {
          const char* at = Where(x);
          std::string name;
          if (!GetString(ctx, x, f("action"), name)) return false;
          auto a = engine::ActionFromName(name);
          if (!a) return ctx.Fail(f("action"), "unknown action '" + name + "'", at);
          t.action = *a;
          have_action = true;
          return true;
        }
        if (key == "note") return GetString(ctx, x, f("note"), t.note);
        if (key == "satisfaction") return GetInt(ctx, x, f("satisfaction"), 1, 5, t.satisfaction);
        if (key == "to_office") return GetString(ctx, x, f("to_office"), t.to_office);
        if (key == "media") return GetMediaList(ctx, x, f("media"), t.media);
        if (key == "key") return GetString(ctx, x, f("key"), t.key);
        if (key == "media_url") return GetString(ctx, x, f("media_url"), t.media_url);
        if (key == "until") {
          TimeMs until;
          if (!GetTime(ctx, x, f("until"), until)) return false;
          t.until = until;
          return true;
        }
        return Unknown(ctx, prefix.empty() ? "" : std::string(prefix) + ".", key, x);
      });
  if (!ok) return false;
  if (!have_action) return ctx.Fail(f("action"), f("action") + " is required", where);
  if (t.note.size() > 4096) {
    return ctx.Fail(f("note"), f("note") + " is longer than 4096 bytes", where);
  }
  return true;
}

}  // namespace

struct CommandDecoder::Impl {
  od::parser parser{kMaxLineBytes};
  std::string buffer;
};

CommandDecoder::CommandDecoder() : impl_(std::make_unique<Impl>()) {
  impl_->buffer.reserve(kMaxLineBytes + simdjson::SIMDJSON_PADDING);
}
CommandDecoder::~CommandDecoder() = default;

// Parses a body whose root is one object and hands it to `decode(ctx, root)`.
template <typename Fn>
bool DecodeBody(od::parser& parser, std::string& buffer, std::string_view json, DecodeError& error,
                Fn decode) {
  Ctx ctx;
  if (json.size() > kMaxLineBytes) {
    error = DecodeError{InvalidArgument("body is longer than 65536 bytes"), 0};
    return false;
  }
  buffer.assign(json);
  ctx.begin = buffer.data();
  od::document doc;
  od::value root;
  auto err =
      parser.iterate(simdjson::padded_string_view(buffer.data(), json.size(), buffer.capacity()))
          .get(doc);
  if (err) {
    // The document never started (e.g. invalid UTF-8): it has no location to ask for.
    ctx.Syntax(err, ctx.begin, "");
  } else if ((err = doc.get_value().get(root))) {
    const char* where = nullptr;
    if (doc.current_location().get(where)) where = ctx.begin;
    ctx.Syntax(err, where, "");
  } else if (decode(ctx, root)) {
    const char* trailing = nullptr;
    if (!doc.current_location().get(trailing)) {
      ctx.Fail(InvalidArgument("trailing content after the JSON object"), trailing);
    }
  }
  if (ctx.failed) error = ctx.error;
  return !ctx.failed;
}

Result<Report> CommandDecoder::DecodeReportBody(std::string_view json) {
  Report report;
  DecodeError error;
  error_column_ = 0;
  if (!DecodeBody(impl_->parser, impl_->buffer, json, error,
                  [&](Ctx& ctx, od::value& root) { return DecodeReport(ctx, root, report, ""); })) {
    error_column_ = error.column;
    return error.status;
  }
  return report;
}

Result<Transition> CommandDecoder::DecodeTransitionBody(std::string_view json) {
  Transition transition;
  DecodeError error;
  error_column_ = 0;
  if (!DecodeBody(impl_->parser, impl_->buffer, json, error, [&](Ctx& ctx, od::value& root) {
        return DecodeTransition(ctx, root, transition, "");
      })) {
    error_column_ = error.column;
    return error.status;
  }
  return transition;
}

Result<Command> CommandDecoder::Decode(std::string_view line) {
  Command command;
  DecodeError error;
  error_column_ = 0;
  if (!DecodeLine(line, command, error)) {
    error_column_ = error.column;
    return error.status;
  }
  return command;
}

bool CommandDecoder::DecodeLine(std::string_view line, Command& command, DecodeError& error) {
  Ctx ctx;
  command = Command{};
  if (line.size() > kMaxLineBytes) {
    error = DecodeError{InvalidArgument("line is longer than 65536 bytes"), 0};
    return false;
  }
  // Copy into a buffer with simdjson's required padding after the text.
  impl_->buffer.assign(line);
  const char* begin = impl_->buffer.data();
  ctx.begin = begin;
  od::document doc;
  auto err =
      impl_->parser
          .iterate(simdjson::padded_string_view(begin, line.size(), impl_->buffer.capacity()))
          .get(doc);
  if (err) {
    ctx.Syntax(err, begin, "");
    error = ctx.error;
    return false;
  }

  std::string kind, role_name, case_id, timer_name;
  bool have_at = false, have_report = false, have_transition = false, have_timer = false;
  Report report;
  Transition transition;
  od::object obj;
  if ((err = doc.get_object().get(obj))) {
    const char* where = nullptr;
    if (doc.current_location().get(where)) where = begin;
    if (err == simdjson::INCORRECT_TYPE) {
      ctx.Fail("", "a command must be a JSON object", begin);
    } else {
      ctx.Syntax(err, where, "");
    }
    error = ctx.error;
    return false;
  }
  bool have_case = false;
  ForEachFieldOf(ctx, obj, "", &doc, [&](std::string_view key, od::value& v) {
    if (key == "kind") return GetString(ctx, v, "kind", kind);
    if (key == "at") {
      TimeMs at;
      have_at = GetTime(ctx, v, "at", at);
      command.at = at;
      return have_at;
    }
    if (key == "actor") return GetString(ctx, v, "actor", command.actor.id);
    if (key == "role") {
      const char* where = Where(v);
      if (!GetString(ctx, v, "role", role_name)) return false;
      auto role = engine::RoleFromName(role_name);
      if (!role || *role == engine::Role::kSystem) {
        return ctx.Fail("role", "unknown role '" + role_name + "'", where);
      }
      return true;
    }
    if (key == "office") return GetString(ctx, v, "office", command.actor.office);
    if (key == "case") {
      have_case = true;
      return GetString(ctx, v, "case", case_id);
    }
    if (key == "timer") {
      have_timer = true;
      return GetString(ctx, v, "timer", timer_name);
    }
    if (key == "report") {
      have_report = true;
      return DecodeReport(ctx, v, report, "report");
    }
    if (key == "transition") {
      have_transition = true;
      return DecodeTransition(ctx, v, transition, "transition");
    }
    return Unknown(ctx, "", key, v);
  });
  if (!ctx.failed) {
    // current_location() fails only at the end of the input: anything else is trailing.
    const char* where = nullptr;
    if (!doc.current_location().get(where)) {
      ctx.Fail(InvalidArgument("trailing content after the JSON object"), where);
    }
  }
  if (!ctx.failed) {
    if (!have_at) {
      ctx.Fail("at", "at is required", nullptr);
    } else if (kind == "timer") {
      // A deadline timer, as an engine instance publishes it in cluster mode: wangge fires
      // it, so it names no actor; the sequencer checks it is due at `at`.
      if (!command.actor.id.empty() || !role_name.empty()) {
        ctx.Fail("actor", "a timer command names no actor or role", nullptr);
      } else if (case_id.empty()) {
        ctx.Fail("case", "a timer command needs case", nullptr);
      } else if (timer_name != engine::TimerKindName(engine::TimerKind::kWarning) &&
                 timer_name != engine::TimerKindName(engine::TimerKind::kBreach)) {
        ctx.Fail("timer", "timer must be deadline_warning or deadline_breach", nullptr);
      } else if (have_report || have_transition) {
        ctx.Fail("kind", "a timer command has no report or transition", nullptr);
      }
      command.actor = engine::Actor{"timer", Role::kSystem, ""};
      command.body =
          engine::TimerFired{std::move(case_id),
                             timer_name == engine::TimerKindName(engine::TimerKind::kBreach)
                                 ? engine::TimerKind::kBreach
                                 : engine::TimerKind::kWarning,
                             {}};
    } else if (have_timer) {
      ctx.Fail("timer", "only a timer command has timer", nullptr);
    } else if (command.actor.id.empty()) {
      ctx.Fail("actor", "actor is required", nullptr);
    } else if (kind == "report") {
      // Only grid workers report; a report record carries no other role.
      if (!role_name.empty() && role_name != "worker") {
        ctx.Fail("role", "a report command's role must be worker", nullptr);
      }
      command.actor.role = Role::kWorker;
      if (!have_report) ctx.Fail("report", "a report command needs report", nullptr);
      if (have_transition) ctx.Fail("transition", "a report command has no transition", nullptr);
      if (have_case) ctx.Fail("case", "a report command has no case (client_id names it)", nullptr);
      command.body = std::move(report);
    } else if (kind == "transition") {
      if (role_name.empty()) ctx.Fail("role", "a transition command needs role", nullptr);
      if (case_id.empty()) ctx.Fail("case", "a transition command needs case", nullptr);
      if (!have_transition)
        ctx.Fail("transition", "a transition command needs transition", nullptr);
      if (!ctx.failed) {
        command.actor.role = *engine::RoleFromName(role_name);
        if (command.actor.role == Role::kHandler && command.actor.office.empty()) {
          ctx.Fail("office", "a handler's command needs office", nullptr);
        }
      }
      transition.case_id = std::move(case_id);
      command.body = std::move(transition);
    } else if (kind.empty()) {
      ctx.Fail("kind", "kind is required", nullptr);
    } else {
      ctx.Fail("kind", "unsupported kind '" + kind + "' (report, transition or timer)", nullptr);
    }
  }
  if (!ctx.failed && !command.actor.office.empty() && command.actor.role != Role::kHandler) {
    ctx.Fail("office", "office goes only with role handler", nullptr);
  }
  if (ctx.failed) error = ctx.error;
  return !ctx.failed;
}

namespace {

// Appends JSON text. Strings are escaped per RFC 8259; UTF-8 passes through.
class JsonOut {
 public:
  explicit JsonOut(std::string& out) : out_(out) {}

  // REQUIRES: `k` needs no escaping (the encoder's own field names).
  void Key(std::string_view k) {
    Separator();
    out_.push_back('"');
    out_.append(k);
    out_.append("\":");
    after_key_ = true;  // the value follows without a comma
  }
  void String(std::string_view s) {
    Separator();
    Quoted(s);
  }
  // Copies runs of plain bytes at once and escapes the rest.
  void Quoted(std::string_view s) {
    out_.push_back('"');
    size_t run = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out_.append(s.substr(run, i - run));
      run = i + 1;
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '\t':
          out_ += "\\t";
          break;
        default: {
          static constexpr char kHex[] = "0123456789abcdef";
          out_ += "\\u00";
          out_.push_back(kHex[c >> 4]);
          out_.push_back(kHex[c & 0xF]);
        }
      }
    }
    out_.append(s.substr(run));
    out_.push_back('"');
  }
  void Int(int64_t v) {
    Separator();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
  }
  void Double(double v) {
    Separator();
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
    out_.append(buf, r.ptr);
  }
  void Time(TimeMs t) { String(FormatRfc3339(t)); }
  void Open(char bracket = '{') {
    Separator();
    out_.push_back(bracket);
    first_ = true;
  }
  void Close(char bracket = '}') {
    out_.push_back(bracket);
    first_ = false;
  }

 private:
  void Separator() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_) out_.push_back(',');
    first_ = false;
  }

  std::string& out_;
  bool first_ = true;
  bool after_key_ = false;
};

}  // namespace

std::string EncodeCommand(const Command& command) {
  std::string out;
  out.reserve(512);
  JsonOut j(out);
  j.Open();
  if (const auto* r = std::get_if<Report>(&command.body)) {
    j.Key("kind");
    j.String("report");
    j.Key("at");
    j.Time(command.at.value_or(TimeMs{}));
    j.Key("actor");
    j.String(command.actor.id);
    j.Key("report");
    j.Open();
    j.Key("client_id");
    j.String(r->client_id);
    j.Key("category");
    j.String(r->category);
    j.Key("village");
    j.String(r->village);
    j.Key("grid");
    j.String(r->grid);
    j.Key("severity");
    j.Int(r->severity);
    j.Key("text");
    j.String(r->text);
    j.Key("lat");
    j.Double(r->lat);
    j.Key("lon");
    j.Double(r->lon);
    j.Key("reported_at");
    j.Time(r->reported_at);
    j.Key("attachments");
    j.Int(r->attachments);
    if (!r->media.empty()) {
      j.Key("media");
      j.Open('[');
      for (const auto& h : r->media) j.String(h);
      j.Close(']');
    }
    j.Close();
  } else if (const auto* t = std::get_if<Transition>(&command.body)) {
    j.Key("kind");
    j.String("transition");
    j.Key("at");
    j.Time(command.at.value_or(TimeMs{}));
    j.Key("actor");
    j.String(command.actor.id);
    j.Key("role");
    j.String(engine::RoleName(command.actor.role));
    if (!command.actor.office.empty()) {
      j.Key("office");
      j.String(command.actor.office);
    }
    j.Key("case");
    j.String(t->case_id);
    j.Key("transition");
    j.Open();
    j.Key("action");
    j.String(engine::ActionName(t->action));
    if (!t->note.empty()) {
      j.Key("note");
      j.String(t->note);
    }
    if (t->satisfaction != 0) {
      j.Key("satisfaction");
      j.Int(t->satisfaction);
    }
    if (!t->to_office.empty()) {
      j.Key("to_office");
      j.String(t->to_office);
    }
    if (t->until) {
      j.Key("until");
      j.Time(*t->until);
    }
    if (!t->media.empty()) {
      j.Key("media");
      j.Open('[');
      for (const auto& h : t->media) j.String(h);
      j.Close(']');
    }
    if (!t->key.empty()) {
      j.Key("key");
      j.String(t->key);
    }
    if (!t->media_url.empty()) {
      j.Key("media_url");
      j.String(t->media_url);
    }
    j.Close();
  } else if (const auto* f = std::get_if<TimerFired>(&command.body)) {
    // Published by engine instances in cluster mode (docs/wire-format.md).
    j.Key("kind");
    j.String("timer");
    j.Key("at");
    j.Time(command.at.value_or(TimeMs{}));
    j.Key("case");
    j.String(f->case_id);
    j.Key("timer");
    j.String(engine::TimerKindName(f->kind));
  } else {
    // Rules activations are not part of the command stream yet (docs/wire-format.md).
    j.Key("kind");
    j.String("rules");
  }
  j.Close();
  return out;
}

}  // namespace wangge::wire
