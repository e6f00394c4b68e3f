#include "wire/case_json.h"

#include <cmath>

#include "core/time.h"
#include "engine/access.h"
#include "engine/media.h"

namespace wangge::wire {

namespace json = boost::json;

namespace {

// Where a report came from and what an outside interface sent with it, when set.
void AddExtras(const engine::Report& r, json::object& o) {
  if (!r.channel.empty()) o["channel"] = r.channel;
  if (!r.address.empty()) o["address"] = r.address;
  if (!r.address_id.empty()) o["address_id"] = r.address_id;
  if (!r.media_url.empty()) o["media_url"] = r.media_url;
}

// The evidence flags of a case or step (engine/media.h), when any.
void AddEvidence(uint8_t flags, json::object& o) {
  if (flags == 0) return;
  json::array names;
  for (auto name : engine::EvidenceFlagNames(flags)) names.push_back(json::string(name));
  o["evidence_flags"] = std::move(names);
}

}  // namespace

// A case as `viewer` sees it: addressed as they address it (engine/access.h).
json::object CaseJson(const engine::Actor& viewer, const engine::Case& c) {
  json::object o{{"case_id", std::string(engine::CaseAddress(viewer, c))},
                 {"number", c.created_seq.value},
                 {"status", std::string(engine::StatusName(c.status))},
                 {"office", c.office},
                 {"category", c.report.category},
                 {"village", c.report.village},
                 {"grid", c.report.grid},
                 {"severity", c.report.severity},
                 {"reporter", c.reporter.id},
                 {"received_at", FormatRfc3339(c.received_at)},
                 {"deadline", FormatRfc3339(c.deadline)},
                 {"priority", c.priority},
                 {"rule", c.rule_id},
                 {"ruleset", c.ruleset_version},
                 {"last_seq", c.last_seq.value},
                 {"reopens", c.reopen_count},
                 {"extensions", c.extension_count}};
  if (c.closed_at.ms != 0) o["closed_at"] = FormatRfc3339(c.closed_at);
  if (c.satisfaction != 0) o["satisfaction"] = c.satisfaction;
  if (!c.report.text.empty()) o["text"] = c.report.text;
  if (c.report.has_position()) {
    o["lat"] = c.report.lat;
    o["lon"] = c.report.lon;
  }
  AddExtras(c.report, o);
  AddEvidence(c.evidence, o);
  return o;
}

void AddWorkingHoursLeft(json::object& view, const engine::Case& c, const rules::Calendar& calendar,
                         TimeMs now) {
  if (!c.open()) return;
  const int64_t ms = now < c.deadline ? calendar.WorkingMsBetween(now, c.deadline)
                                      : -calendar.WorkingMsBetween(c.deadline, now);
  view["working_hours_left"] =
      static_cast<double>(std::llround(static_cast<double>(ms) / 360'000.0)) / 10.0;
}

// One step of a case's history: who did what when, and where it left the case.
json::object StepJson(const engine::HistoryStep& step) {
  const engine::Record& r = step.record;
  json::object o{{"seq", r.seq.value},
                 {"at", FormatRfc3339(r.at)},
                 {"actor", r.actor.id},
                 {"role", std::string(engine::RoleName(r.actor.role))}};
  if (!r.actor.office.empty()) o["actor_office"] = r.actor.office;
  AddEvidence(r.evidence, o);
  if (const auto* t = std::get_if<engine::Transition>(&r.body)) {
    o["action"] = std::string(engine::ActionName(t->action));
    if (!t->note.empty()) o["note"] = t->note;
    if (t->satisfaction != 0) o["satisfaction"] = t->satisfaction;
    if (!t->to_office.empty()) o["to_office"] = t->to_office;
    if (t->until) o["until"] = FormatRfc3339(*t->until);
    if (!t->media.empty()) o["media"] = json::value_from(t->media);
    if (!t->media_url.empty()) o["media_url"] = t->media_url;
  } else if (const auto* f = std::get_if<engine::TimerFired>(&r.body)) {
    o["action"] = std::string(engine::TimerKindName(f->kind));
    json::array notified;
    for (const auto& office : f->notified) notified.push_back(json::string(office));
    o["notified"] = std::move(notified);
  } else {
    o["action"] = "report";
    o["rule"] = r.routing.rule_id;
    o["ruleset"] = r.routing.ruleset_version;
    o["deadline"] = FormatRfc3339(r.routing.deadline);
    if (const auto* report = std::get_if<engine::Report>(&r.body)) {
      if (!report->channel.empty()) o["channel"] = report->channel;
      if (!report->media.empty()) o["media"] = json::value_from(report->media);
    }
  }
  o["status"] = std::string(engine::StatusName(step.after.status));
  o["office"] = step.after.office;
  return o;
}

json::object MediaJson(std::string_view hash, const engine::MediaInfo& info) {
  json::object o{{"sha256", hash},        {"type", info.type},
                 {"size", info.size},     {"width", info.width},
                 {"height", info.height}, {"stored_at", FormatRfc3339(info.stored_at)}};
  if (info.captured_at) o["captured_at"] = FormatRfc3339(*info.captured_at);
  if (info.lat && info.lon) {
    o["captured_lat"] = *info.lat;
    o["captured_lon"] = *info.lon;
  }
  return o;
}

}  // namespace wangge::wire
