#include "wire/catalog.h"

#include <boost/json.hpp>

#include "wire/pinyin.h"

namespace wangge::wire {

namespace json = boost::json;

const Catalog::Category* Catalog::FindCategory(std::string_view code) const {
  for (const auto& s : categories) {
    if (s.code == code) return &s;
  }
  return nullptr;
}

std::string Catalog::OfficeName(std::string_view id) const {
  for (const auto& [office, name] : offices) {
    if (office == id) return name;
  }
  return std::string(id);
}

Result<Catalog> CatalogFromRuleset(std::string_view ruleset_json) {
  boost::system::error_code ec;
  json::value v = json::parse(ruleset_json, ec);
  if (ec || !v.is_object()) return Internal("the active ruleset is not JSON");
  Catalog c;
  const json::object& o = v.as_object();
  if (const auto* version = o.if_contains("version"); version && version->is_string()) {
    c.version = std::string(version->as_string());
  }
  const auto str = [](const json::object& x, const char* key) {
    const auto* f = x.if_contains(key);
    return f && f->is_string() ? std::string(f->as_string()) : std::string();
  };
  if (const auto* list = o.if_contains("categories"); list && list->is_array()) {
    for (const auto& item : list->as_array()) {
      if (!item.is_object()) continue;
      Catalog::Category s{str(item.as_object(), "id"), str(item.as_object(), "name"), "", ""};
      if (s.name.empty()) s.name = s.code;
      // "矛盾纠纷·邻里纠纷": the group is the part before the dot; else the id's first part.
      const size_t sep = s.name.find("·");
      s.group =
          sep != std::string::npos ? s.name.substr(0, sep) : s.code.substr(0, s.code.find('.'));
      s.initials = PinyinInitials(s.name);
      c.categories.push_back(std::move(s));
    }
  }
  if (const auto* list = o.if_contains("offices"); list && list->is_array()) {
    for (const auto& item : list->as_array()) {
      if (!item.is_object()) continue;
      const auto& office = item.as_object();
      c.offices.emplace_back(str(office, "id"), str(office, "name"));
      if (!str(office, "village").empty()) {
        c.villages.emplace_back(str(office, "village"), str(office, "name"));
      }
    }
  }
  return c;
}

json::object CatalogJson(const Catalog& catalog) {
  json::array categories;
  for (const auto& c : catalog.categories) {
    categories.push_back(json::object{
        {"id", c.code}, {"name", c.name}, {"group", c.group}, {"initials", c.initials}});
  }
  json::array offices;
  for (const auto& [id, name] : catalog.offices)
    offices.push_back(json::object{{"id", id}, {"name", name}});
  json::array villages;
  for (const auto& [id, name] : catalog.villages) {
    villages.push_back(json::object{{"id", id}, {"name", name}});
  }
  return json::object{{"version", catalog.version},
                      {"categories", std::move(categories)},
                      {"offices", std::move(offices)},
                      {"villages", std::move(villages)}};
}

}  // namespace wangge::wire
