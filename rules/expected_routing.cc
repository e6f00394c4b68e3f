#include "rules/expected_routing.h"

#include <algorithm>

#include "rules/internal/json_tree.h"

namespace wangge::rules {
namespace {

using internal::JsonNode;
using internal::Problems;
using Type = JsonNode::Type;

bool GetString(const JsonNode& obj, const char* key, const std::string& path, Problems& p,
               std::string& out, bool required) {
  const JsonNode* n = obj.Find(key);
  if (!n) {
    if (required) p.Add(obj, path + "." + key, "is required");
    return false;
  }
  if (n->type != Type::kString) {
    p.Add(*n, path + "." + key, "must be a string");
    return false;
  }
  out = n->string;
  return true;
}

bool GetTime(const JsonNode& obj, const char* key, const std::string& path, Problems& p,
             TimeMs& out, bool required) {
  std::string text;
  if (!GetString(obj, key, path, p, text, required)) return false;
  auto t = ParseRfc3339(text);
  if (!t.ok()) {
    p.Add(*obj.Find(key), path + "." + key, t.status().message());
    return false;
  }
  out = *t;
  return true;
}

void ParseReport(const JsonNode& n, const std::string& path, Problems& p, SampleReport& r) {
  if (n.type != Type::kObject) {
    p.Add(n, path, "must be an object");
    return;
  }
  for (const auto& value : n.fields) {
    const std::string& key = value.key;
    static const char* kKnown[] = {"category", "severity", "village",    "grid",
                                   "text",     "reporter", "received_at"};
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      p.Add(value, path + "." + key, "unknown field");
    }
  }
  GetString(n, "category", path, p, r.category, true);
  GetString(n, "village", path, p, r.village, false);
  GetString(n, "grid", path, p, r.grid, false);
  GetString(n, "text", path, p, r.text, false);
  GetString(n, "reporter", path, p, r.reporter, false);
  GetTime(n, "received_at", path, p, r.received_at, true);
  const JsonNode* s = n.Find("severity");
  if (!s || s->type != Type::kInt || s->integer < 1 || s->integer > 4) {
    p.Add(s ? *s : n, path + ".severity", "is required (an integer from 1 to 4)");
  } else {
    r.severity = static_cast<int>(s->integer);
  }
}

}  // namespace

Result<std::vector<RuleTestCase>> LoadRuleTests(std::string_view json, std::string_view source) {
  WANGGE_ASSIGN_OR_RETURN(JsonNode root, internal::ParseJsonTree(json, source));
  Problems p(json, source);
  std::vector<RuleTestCase> cases;
  const JsonNode* list = root.type == Type::kObject ? root.Find("cases") : nullptr;
  if (!list || list->type != Type::kArray || list->items.empty()) {
    p.Add(list ? *list : root, "cases", "is required (a non-empty array)");
    return p.ToStatus("rule tests");
  }
  for (size_t i = 0; i < list->items.size(); ++i) {
    const JsonNode& c = list->items[i];
    const std::string path = "cases[" + std::to_string(i) + "]";
    if (c.type != Type::kObject) {
      p.Add(c, path, "must be an object");
      continue;
    }
    RuleTestCase tc;
    GetString(c, "name", path, p, tc.name, true);
    if (const JsonNode* r = c.Find("report")) {
      ParseReport(*r, path + ".report", p, tc.report);
    } else {
      p.Add(c, path + ".report", "is required");
    }
    const JsonNode* e = c.Find("expect");
    if (!e || e->type != Type::kObject || e->fields.empty()) {
      p.Add(e ? *e : c, path + ".expect", "is required (office, deadline, rule and/or priority)");
      continue;
    }
    std::string s;
    if (GetString(*e, "office", path + ".expect", p, s, false)) tc.office = s;
    if (GetString(*e, "rule", path + ".expect", p, s, false)) tc.rule = s;
    TimeMs t;
    if (GetTime(*e, "deadline", path + ".expect", p, t, false)) tc.deadline = t;
    if (const JsonNode* pr = e->Find("priority")) {
      if (pr->type != Type::kInt) {
        p.Add(*pr, path + ".expect.priority", "must be an integer");
      } else {
        tc.priority = static_cast<int>(pr->integer);
      }
    }
    cases.push_back(std::move(tc));
  }
  if (!p.empty()) return p.ToStatus("rule tests");
  return cases;
}

Result<SampleReport> LoadSampleReport(std::string_view json, std::string_view source) {
  WANGGE_ASSIGN_OR_RETURN(JsonNode root, internal::ParseJsonTree(json, source));
  Problems p(json, source);
  SampleReport r;
  ParseReport(root, "report", p, r);
  if (!p.empty()) return p.ToStatus("report");
  return r;
}

std::vector<RuleTestFailure> RunRuleTests(const Ruleset& rules,
                                          const std::vector<RuleTestCase>& cases) {
  std::vector<RuleTestFailure> failures;
  for (const auto& c : cases) {
    Decision d = rules.Route(c.report.input());
    auto check = [&](const char* field, const std::string& expected, const std::string& got) {
      if (expected != got) failures.push_back({c.name, field, expected, got});
    };
    if (c.office) check("office", *c.office, d.office);
    if (c.rule) check("rule", *c.rule, d.rule_id);
    if (c.deadline) check("deadline", FormatRfc3339(*c.deadline), FormatRfc3339(d.deadline));
    if (c.priority) check("priority", std::to_string(*c.priority), std::to_string(d.priority));
  }
  return failures;
}

}  // namespace wangge::rules
