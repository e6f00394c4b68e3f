#include "wire/record_json.h"

#include "core/time.h"

namespace wangge::wire {

namespace json = boost::json;

std::string_view KindOf(const engine::Record& r) {
  if (std::holds_alternative<engine::Report>(r.body)) return "report";
  if (std::holds_alternative<engine::Transition>(r.body)) return "transition";
  if (std::holds_alternative<engine::TimerFired>(r.body)) return "timer";
  return "rules";
}

json::object RecordFields(const engine::Record& r) {
  json::object o{{"seq", r.seq.value},
                 {"at", FormatRfc3339(r.at)},
                 {"actor", r.actor.id},
                 {"role", std::string(engine::RoleName(r.actor.role))},
                 {"kind", std::string(KindOf(r))}};
  if (!r.actor.office.empty()) o["actor_office"] = r.actor.office;
  if (const auto* rep = std::get_if<engine::Report>(&r.body)) {
    o["case_id"] = std::string(engine::CaseIdOf(r));
    o["category"] = rep->category;
    o["village"] = rep->village;
    o["grid"] = rep->grid;
    o["severity"] = rep->severity;
    o["text"] = rep->text;
    o["reported_at"] = FormatRfc3339(rep->reported_at);
    o["office"] = r.routing.office;
    o["deadline"] = FormatRfc3339(r.routing.deadline);
    o["rule"] = r.routing.rule_id;
    o["ruleset"] = r.routing.ruleset_version;
    if (!rep->channel.empty()) o["channel"] = rep->channel;
  } else if (const auto* t = std::get_if<engine::Transition>(&r.body)) {
    o["case_id"] = t->case_id;
    o["action"] = std::string(engine::ActionName(t->action));
    if (!t->note.empty()) o["note"] = t->note;
    if (t->satisfaction) o["satisfaction"] = t->satisfaction;
    if (!t->to_office.empty()) o["to_office"] = t->to_office;
    if (t->until) o["until"] = FormatRfc3339(*t->until);
    if (!t->key.empty()) o["key"] = t->key;
    if (!t->media_url.empty()) o["media_url"] = t->media_url;
  } else if (const auto* f = std::get_if<engine::TimerFired>(&r.body)) {
    o["case_id"] = f->case_id;
    o["action"] = std::string(engine::TimerKindName(f->kind));
    json::array notified;
    for (const auto& office : f->notified) notified.push_back(json::string(office));
    o["notified"] = std::move(notified);
  } else {
    o["ruleset"] = std::get<engine::RulesActivation>(r.body).version;
  }
  return o;
}

}  // namespace wangge::wire
