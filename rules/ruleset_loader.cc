// Ruleset::Load: reads a ruleset file through the rules' JSON tree, checks it and
// collects every problem with its place, then indexes each table by category.
#include <algorithm>
#include <array>
#include <set>

#include "rules/builtin_data.h"
#include "rules/internal/json_tree.h"
#include "rules/internal/ruleset_rows.h"
#include "rules/ruleset.h"

namespace wangge::rules {

using internal::JsonNode;
using internal::Problems;
using Type = JsonNode::Type;

namespace {

// Parses one ruleset, collecting every problem.
class Loader {
 public:
  Loader(std::string_view text, std::string_view source) : p_(text, source) {}

  Problems& problems() { return p_; }

  void Unknown(const JsonNode& obj, const std::string& path,
               std::initializer_list<std::string_view> known) {
    for (const auto& value : obj.fields) {
      const std::string& key = value.key;
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        p_.Add(value, path + "." + key, "unknown field");
      }
    }
  }

  bool String(const JsonNode* n, const JsonNode& parent, const std::string& path, std::string& out,
              bool required = true) {
    if (!n) {
      if (required) p_.Add(parent, path, "is required");
      return false;
    }
    if (n->type != Type::kString || n->string.empty() || n->string.size() > 128) {
      p_.Add(*n, path, "must be a string of 1-128 bytes");
      return false;
    }
    out = n->string;
    return true;
  }

  bool Int(const JsonNode& n, const std::string& path, int64_t lo, int64_t hi, int64_t& out) {
    if (n.type != Type::kInt || n.integer < lo || n.integer > hi) {
      p_.Add(n, path,
             "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
      return false;
    }
    out = n.integer;
    return true;
  }

  // A non-empty array of non-empty strings, returned sorted and without duplicates.
  bool StringList(const JsonNode& n, const std::string& path, std::vector<std::string>& out) {
    if (n.type != Type::kArray || n.items.empty()) {
      p_.Add(n, path, "must be a non-empty array of strings");
      return false;
    }
    for (size_t i = 0; i < n.items.size(); ++i) {
      if (n.items[i].type != Type::kString || n.items[i].string.empty()) {
        p_.Add(n.items[i], path + "[" + std::to_string(i) + "]", "must be a non-empty string");
        return false;
      }
      out.push_back(n.items[i].string);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return true;
  }

  void Categories(const JsonNode& n, const std::string& path, Ruleset::Row& row,
                  const std::set<std::string>& declared) {
    std::vector<std::string> patterns;
    if (n.type == Type::kString) {
      patterns.push_back(n.string);
    } else if (!StringList(n, path, patterns)) {
      return;
    }
    for (const auto& pat : patterns) {
      if (pat.size() > 2 && pat.ends_with(".*")) {
        std::string prefix = pat.substr(0, pat.size() - 1);
        auto it = declared.lower_bound(prefix);
        if (!declared.empty() && (it == declared.end() || !it->starts_with(prefix))) {
          p_.Add(n, path, "pattern " + pat + " matches no declared category");
        }
        row.prefixes.push_back(std::move(prefix));
      } else if (pat.find('*') != std::string::npos) {
        p_.Add(n, path, "pattern " + pat + " must be an exact category or end in \".*\"");
      } else {
        if (!declared.empty() && !declared.contains(pat)) {
          p_.Add(n, path, "category " + pat + " is not declared in categories");
        }
        row.exact.push_back(pat);
      }
    }
    std::sort(row.exact.begin(), row.exact.end());
  }

  void When(const JsonNode& n, const std::string& path, Ruleset::Row& row,
            const std::set<std::string>& declared) {
    if (n.type != Type::kObject) {
      p_.Add(n, path, "must be an object of conditions");
      return;
    }
    Unknown(n, path,
            {"category", "severity", "village", "grid", "keywords", "hours", "weekdays", "holiday",
             "working_day", "reporter"});
    if (const JsonNode* c = n.Find("category")) Categories(*c, path + ".category", row, declared);
    if (const JsonNode* s = n.Find("severity")) Severity(*s, path + ".severity", row);
    if (const JsonNode* v = n.Find("village")) StringList(*v, path + ".village", row.villages);
    if (const JsonNode* g = n.Find("grid")) StringList(*g, path + ".grid", row.grids);
    if (const JsonNode* r = n.Find("reporter")) StringList(*r, path + ".reporter", row.reporters);
    if (const JsonNode* k = n.Find("keywords")) {
      if (k->type != Type::kObject || k->fields.empty()) {
        p_.Add(*k, path + ".keywords", "must be an object with any and/or all");
      } else {
        Unknown(*k, path + ".keywords", {"any", "all"});
        if (const JsonNode* a = k->Find("any"))
          StringList(*a, path + ".keywords.any", row.words_any);
        if (const JsonNode* a = k->Find("all"))
          StringList(*a, path + ".keywords.all", row.words_all);
      }
    }
    if (const JsonNode* h = n.Find("hours")) {
      int64_t from = 0, to = 0;
      const JsonNode* f = h->type == Type::kObject ? h->Find("from") : nullptr;
      const JsonNode* t = h->type == Type::kObject ? h->Find("to") : nullptr;
      if (!f || !t) {
        p_.Add(*h, path + ".hours", "must be {\"from\": H, \"to\": H}");
      } else if (Int(*f, path + ".hours.from", 0, 23, from) &&
                 Int(*t, path + ".hours.to", 0, 24, to)) {
        if (from == to) p_.Add(*h, path + ".hours", "from and to must differ");
        row.hour_from = static_cast<int>(from);
        row.hour_to = static_cast<int>(to);
      }
    }
    if (const JsonNode* w = n.Find("weekdays")) {
      if (w->type != Type::kArray || w->items.empty()) {
        p_.Add(*w, path + ".weekdays", "must be a non-empty array of 1 (Monday) to 7 (Sunday)");
      } else {
        for (size_t i = 0; i < w->items.size(); ++i) {
          int64_t d = 0;
          if (Int(w->items[i], path + ".weekdays[" + std::to_string(i) + "]", 1, 7, d)) {
            row.weekdays = static_cast<uint8_t>(row.weekdays | (1u << d));
          }
        }
      }
    }
    for (const char* flag : {"holiday", "working_day"}) {
      if (const JsonNode* b = n.Find(flag)) {
        if (b->type != Type::kBool) {
          p_.Add(*b, path + "." + flag, "must be true or false");
        } else {
          (std::string_view(flag) == "holiday" ? row.holiday : row.working_day) = b->boolean;
        }
      }
    }
  }

  void Severity(const JsonNode& n, const std::string& path, Ruleset::Row& row) {
    int64_t lo = 1, hi = 4;
    if (n.type == Type::kInt) {
      if (!Int(n, path, 1, 4, lo)) return;
      hi = lo;
    } else if (n.type == Type::kObject) {
      Unknown(n, path, {"min", "max"});
      if (const JsonNode* a = n.Find("min")) Int(*a, path + ".min", 1, 4, lo);
      if (const JsonNode* b = n.Find("max")) Int(*b, path + ".max", 1, 4, hi);
      if (lo > hi) p_.Add(n, path, "min is greater than max");
    } else {
      p_.Add(n, path, "must be 1-4 or {\"min\": N, \"max\": N}");
      return;
    }
    row.severity_min = static_cast<int>(lo);
    row.severity_max = static_cast<int>(hi);
  }

  void Then(const JsonNode& n, const std::string& path, Ruleset::Row& row,
            const std::unordered_map<std::string, size_t>& offices) {
    if (n.type != Type::kObject || n.fields.empty()) {
      p_.Add(n, path, "must be an object with at least one output");
      return;
    }
    Unknown(n, path, {"office", "limit", "priority", "escalation"});
    std::string office;
    if (String(n.Find("office"), n, path + ".office", office, false)) {
      if (office != kVillageOffice && !offices.contains(office)) {
        p_.Add(*n.Find("office"), path + ".office", "office " + office + " is not declared");
      }
      row.office = office;
    }
    if (const JsonNode* l = n.Find("limit")) Limit(*l, path + ".limit", row);
    if (const JsonNode* pr = n.Find("priority")) {
      int64_t v = 0;
      if (Int(*pr, path + ".priority", 1, 5, v)) row.priority = static_cast<int>(v);
    }
    if (const JsonNode* e = n.Find("escalation")) Escalate(*e, path + ".escalation", row, offices);
  }

  void Limit(const JsonNode& n, const std::string& path, Ruleset::Row& row) {
    static constexpr std::array<std::tuple<std::string_view, LimitKind, int64_t>, 3> kKinds = {{
        {"working_days", LimitKind::kWorkingDays, 60},
        {"working_hours", LimitKind::kWorkingHours, 480},
        {"calendar_hours", LimitKind::kCalendarHours, 2160},
    }};
    if (n.type != Type::kObject || n.fields.size() != 1) {
      p_.Add(n, path, "must hold exactly one of working_days, working_hours, calendar_hours");
      return;
    }
    const JsonNode& value = n.fields[0];
    const std::string& key = value.key;
    for (const auto& [name, kind, max] : kKinds) {
      if (key != name) continue;
      int64_t amount = 0;
      if (Int(value, path + "." + key, 1, max, amount)) {
        row.limit = TimeLimit{kind, static_cast<int>(amount)};
      }
      return;
    }
    p_.Add(value, path + "." + key,
           "unknown limit kind (working_days, working_hours, calendar_hours)");
  }

  void Escalate(const JsonNode& n, const std::string& path, Ruleset::Row& row,
                const std::unordered_map<std::string, size_t>& offices) {
    if (n.type != Type::kObject) {
      p_.Add(n, path, "must be an object");
      return;
    }
    Unknown(n, path, {"warn_at_percent", "warn", "breach"});
    Escalation e;
    if (const JsonNode* w = n.Find("warn_at_percent")) {
      int64_t pct = 0;
      if (Int(*w, path + ".warn_at_percent", 1, 99, pct)) e.warn_at_percent = static_cast<int>(pct);
    }
    for (const char* list : {"warn", "breach"}) {
      const JsonNode* l = n.Find(list);
      if (!l) continue;
      std::vector<std::string> ids;
      if (!StringList(*l, path + "." + list, ids)) continue;
      for (const auto& id : ids) {
        if (!offices.contains(id))
          p_.Add(*l, path + "." + list, "office " + id + " is not declared");
      }
      (std::string_view(list) == "warn" ? e.warn : e.breach) = std::move(ids);
    }
    row.escalation = std::move(e);
  }

 private:
  Problems p_;
};

void IndexTable(Ruleset::Table& t) {
  for (uint32_t i = 0; i + 1 < t.rows.size(); ++i) {  // the default row is last, unindexed
    const auto& row = t.rows[i];
    if (row.exact.empty() && row.prefixes.empty()) t.any_category.push_back(i);
    for (const auto& c : row.exact) t.by_exact[c].push_back(i);
    for (const auto& p : row.prefixes) t.by_prefix[p].push_back(i);
  }
}

}  // namespace

Result<std::shared_ptr<const Ruleset>> Ruleset::Load(std::string_view json, std::string_view source,
                                                     const Calendar& calendar) {
  WANGGE_ASSIGN_OR_RETURN(JsonNode root, internal::ParseJsonTree(json, source));
  Loader load(json, source);
  Problems& p = load.problems();
  auto rs = std::shared_ptr<Ruleset>(new Ruleset(calendar));
  if (root.type != Type::kObject) {
    p.Add(root, "$", "a ruleset must be a JSON object");
    return p.ToStatus("ruleset");
  }
  load.Unknown(root, "$", {"version", "name", "offices", "categories", "tables"});
  load.String(root.Find("version"), root, "version", rs->version_);
  if (const JsonNode* n = root.Find("name")) {
    std::string name;
    load.String(n, root, "name", name);
  }

  // Offices.
  const JsonNode* offices = root.Find("offices");
  if (!offices || offices->type != Type::kArray || offices->items.empty()) {
    p.Add(offices ? *offices : root, "offices", "is required (a non-empty array)");
  } else {
    for (size_t i = 0; i < offices->items.size(); ++i) {
      const JsonNode& o = offices->items[i];
      const std::string path = "offices[" + std::to_string(i) + "]";
      if (o.type != Type::kObject) {
        p.Add(o, path, "must be an object");
        continue;
      }
      load.Unknown(o, path, {"id", "name", "level", "village"});
      Office office;
      bool ok = load.String(o.Find("id"), o, path + ".id", office.id);
      ok = load.String(o.Find("name"), o, path + ".name", office.name) && ok;
      std::string level;
      if (load.String(o.Find("level"), o, path + ".level", level)) {
        static const std::unordered_map<std::string, OfficeLevel> kLevels = {
            {"platform", OfficeLevel::kPlatform},
            {"line", OfficeLevel::kLineOffice},
            {"sub-centre", OfficeLevel::kSubCentre},
            {"village", OfficeLevel::kVillage}};
        auto it = kLevels.find(level);
        if (it == kLevels.end()) {
          p.Add(*o.Find("level"), path + ".level", "must be platform, line, sub-centre or village");
          ok = false;
        } else {
          office.level = it->second;
        }
      }
      if (office.level == OfficeLevel::kVillage) {
        if (load.String(o.Find("village"), o, path + ".village", office.village)) {
          if (rs->village_office_.contains(office.village)) {
            p.Add(o, path + ".village", "village " + office.village + " already has an office");
          }
          rs->village_office_[office.village] = office.id;
        }
      } else if (o.Find("village")) {
        p.Add(*o.Find("village"), path + ".village", "only a village-level office names a village");
      }
      if (!ok) continue;
      if (office.id.starts_with("@")) p.Add(o, path + ".id", "office ids may not start with @");
      if (!rs->office_index_.emplace(office.id, rs->offices_.size()).second) {
        p.Add(o, path + ".id", "office " + office.id + " is declared twice");
        continue;
      }
      rs->offices_.push_back(std::move(office));
    }
  }

  // Categories (optional registry that category conditions are checked against).
  std::set<std::string> declared;
  if (const JsonNode* cats = root.Find("categories")) {
    if (cats->type != Type::kArray) p.Add(*cats, "categories", "must be an array");
    for (size_t i = 0; i < cats->items.size(); ++i) {
      const JsonNode& c = cats->items[i];
      const std::string path = "categories[" + std::to_string(i) + "]";
      std::string id, name;
      if (c.type != Type::kObject) {
        p.Add(c, path, "must be an object");
        continue;
      }
      load.Unknown(c, path, {"id", "name"});
      if (load.String(c.Find("id"), c, path + ".id", id) && !declared.insert(id).second) {
        p.Add(c, path + ".id", "category " + id + " is declared twice");
      }
      load.String(c.Find("name"), c, path + ".name", name);
    }
  }

  // Tables.
  const JsonNode* tables = root.Find("tables");
  bool default_office = false, default_limit = false;
  if (!tables || tables->type != Type::kArray || tables->items.empty()) {
    p.Add(tables ? *tables : root, "tables", "is required (a non-empty array)");
    return p.ToStatus("ruleset");
  }
  std::set<std::string> table_ids;
  for (size_t ti = 0; ti < tables->items.size(); ++ti) {
    const JsonNode& t = tables->items[ti];
    const std::string tpath = "tables[" + std::to_string(ti) + "]";
    if (t.type != Type::kObject) {
      p.Add(t, tpath, "must be an object");
      continue;
    }
    load.Unknown(t, tpath, {"id", "rows"});
    Table table;
    if (load.String(t.Find("id"), t, tpath + ".id", table.id) &&
        !table_ids.insert(table.id).second) {
      p.Add(t, tpath + ".id", "table " + table.id + " appears twice");
    }
    const JsonNode* rows = t.Find("rows");
    if (!rows || rows->type != Type::kArray || rows->items.empty()) {
      p.Add(rows ? *rows : t, tpath + ".rows", "is required (a non-empty array)");
      continue;
    }
    std::set<std::string> row_ids;
    std::vector<Row> defaults;
    for (size_t ri = 0; ri < rows->items.size(); ++ri) {
      const JsonNode& r = rows->items[ri];
      const std::string rpath = tpath + ".rows[" + std::to_string(ri) + "]";
      if (r.type != Type::kObject) {
        p.Add(r, rpath, "must be an object");
        continue;
      }
      load.Unknown(r, rpath, {"id", "rank", "default", "when", "then"});
      Row row;
      if (load.String(r.Find("id"), r, rpath + ".id", row.id) && !row_ids.insert(row.id).second) {
        p.Add(r, rpath + ".id", "row " + row.id + " appears twice in table " + table.id);
      }
      if (const JsonNode* rank = r.Find("rank"))
        load.Int(*rank, rpath + ".rank", -1000000, 1000000, row.rank);
      if (const JsonNode* d = r.Find("default")) {
        if (d->type != Type::kBool) p.Add(*d, rpath + ".default", "must be true or false");
        row.is_default = d->type == Type::kBool && d->boolean;
      }
      if (const JsonNode* w = r.Find("when")) {
        if (row.is_default) p.Add(*w, rpath + ".when", "the default row has no conditions");
        load.When(*w, rpath + ".when", row, declared);
      } else if (!row.is_default) {
        p.Add(r, rpath + ".when", "is required (only the default row has no conditions)");
      }
      if (const JsonNode* th = r.Find("then")) {
        load.Then(*th, rpath + ".then", row, rs->office_index_);
      } else {
        p.Add(r, rpath + ".then", "is required");
      }
      if (row.is_default) {
        if (row.office && *row.office == kVillageOffice) {
          p.Add(r, rpath + ".then.office",
                "the default row must name a fixed office, not @village");
        }
        if (row.office && !default_office) rs->fallback_office_ = *row.office;
        if (row.limit && !default_limit) rs->fallback_limit_ = *row.limit;
        default_office = default_office || row.office.has_value();
        default_limit = default_limit || row.limit.has_value();
        defaults.push_back(std::move(row));
      } else {
        table.rows.push_back(std::move(row));
      }
    }
    if (defaults.size() != 1) {
      p.Add(*rows, tpath + ".rows",
            defaults.empty() ? "table " + table.id + " needs a default row (\"default\": true)"
                             : "table " + table.id + " has more than one default row");
      continue;
    }
    std::stable_sort(table.rows.begin(), table.rows.end(),
                     [](const Row& a, const Row& b) { return a.rank < b.rank; });
    table.rows.push_back(std::move(defaults[0]));
    IndexTable(table);
    rs->tables_.push_back(std::move(table));
  }
  if (p.empty() && !default_office) {
    p.Add(*tables, "tables", "no default row sets office, so some reports would have no owner");
  }
  if (p.empty() && !default_limit) {
    p.Add(*tables, "tables", "no default row sets limit, so some reports would have no deadline");
  }
  if (!p.empty()) return p.ToStatus("ruleset");
  return std::shared_ptr<const Ruleset>(std::move(rs));
}

std::shared_ptr<const Ruleset> Ruleset::BuiltIn() {
  static const std::shared_ptr<const Ruleset> ruleset = [] {
    auto loaded = Load(BuiltInText(), "rules/default.json", Calendar::BuiltIn());
    // The built-in file is checked by tests; failing here is a build defect.
    if (!loaded.ok()) std::abort();
    return std::move(loaded).value();
  }();
  return ruleset;
}

std::string_view Ruleset::BuiltInText() { return kBuiltInRuleset; }

}  // namespace wangge::rules
