// The one report fixture: builders for domain commands with sensible defaults, so tests
// state only what matters, and the same report as a device's JSON.
#pragma once

#include <string>

#include "engine/domain.h"
#include "rules/ruleset.h"

namespace wangge::testing {

inline engine::Report MakeReport(const std::string& client_id,
                                 const std::string& category = "env.garbage", int severity = 2) {
  engine::Report r;
  r.client_id = client_id;
  r.category = category;
  r.village = "V07";
  r.grid = "V07-G3";
  r.severity = severity;
  r.text = "河道漂浮垃圾";
  r.lat = 29.874;
  r.lon = 120.281;
  r.reported_at = TimeMs{1'583'111'700'000};
  r.attachments = 1;
  return r;
}

// The same report as the JSON body a device posts (one line, so it is also an NDJSON line).
inline std::string ReportJson(const std::string& client_id, int severity = 2,
                              const std::string& village = "V07") {
  return R"({"client_id": ")" + client_id + R"(", "category": "env.garbage", "village": ")" +
         village + R"(", "grid": "V07-G3", "severity": )" + std::to_string(severity) +
         R"(, "text": "河道漂浮垃圾", "lat": 29.874, "lon": 120.281, )"
         R"("reported_at": "2020-03-02T09:15:00+08:00", "attachments": 1})";
}

inline engine::Command ReportCommand(const std::string& client_id,
                                     const std::string& worker = "W017") {
  return engine::Command{engine::Actor{worker, engine::Role::kWorker, ""}, std::nullopt,
                         MakeReport(client_id)};
}

inline engine::Command TransitionCommand(const std::string& case_id, engine::Action action,
                                         engine::Actor actor) {
  engine::Transition t;
  t.case_id = case_id;
  t.action = action;
  return engine::Command{std::move(actor), std::nullopt, std::move(t)};
}

inline engine::Actor Handler(const std::string& office, const std::string& id = "H-1") {
  return engine::Actor{id, engine::Role::kHandler, office};
}
inline engine::Actor Supervisor() { return engine::Actor{"S-1", engine::Role::kSupervisor, ""}; }
inline engine::Actor Worker(const std::string& id = "W017") {
  return engine::Actor{id, engine::Role::kWorker, ""};
}

// The built-in ruleset's text under another version name (for activations).
inline std::string BuiltInRulesetAs(const std::string& version) {
  std::string rules(rules::Ruleset::BuiltInText());
  const std::string from = "\"" + rules::Ruleset::BuiltIn()->version() + "\"";
  return rules.replace(rules.find(from), from.size(), "\"" + version + "\"");
}

}  // namespace wangge::testing
