// What a ruleset offers the people who use it: its categories, grouped as the ruleset
// names them ("矛盾纠纷·邻里纠纷" is in group 矛盾纠纷) and searchable by pinyin initials, its
// offices and its villages. Open311's services and the field app's category picker are
// both this one view.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "core/status.h"

namespace wangge::wire {

struct Catalog {
  struct Category {
    std::string code, name, group;
    std::string initials;  // pinyin initials of the name (wire/pinyin.h)
  };
  std::string version;
  std::vector<Category> categories;
  std::vector<std::pair<std::string, std::string>> villages;  // code, committee name
  std::vector<std::pair<std::string, std::string>> offices;   // id, name
  const Category* FindCategory(std::string_view code) const;
  std::string OfficeName(std::string_view id) const;
};

// The catalog of a ruleset's JSON (docs/rules.md). kInternal when it is not JSON: only
// rulesets that loaded are recorded, so that would be damage.
Result<Catalog> CatalogFromRuleset(std::string_view ruleset_json);

// {"version", "categories": [{"id", "name", "group", "initials"}], "offices": [{"id",
// "name"}], "villages": [{"id", "name"}]}, in the ruleset's order.
boost::json::object CatalogJson(const Catalog& catalog);

}  // namespace wangge::wire
