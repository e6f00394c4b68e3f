// A city's published polygons (neighbourhoods, districts) as a wangge geography, for
// `wangge import-311 --geography` (docs/import-311.md).
#include <set>

#include <boost/json.hpp>
#include <simdjson.h>

#include "io/import_311.h"
#include "wire/json_writer.h"

namespace wangge::io {
namespace {

namespace json = boost::json;

// A property's value as text: a string as it is, a number as written; empty otherwise.
std::string PropertyText(simdjson::dom::element v) {
  std::string_view s;
  if (!v.get_string().get(s)) return std::string(s);
  if (v.is_int64() || v.is_uint64() || v.is_double()) return simdjson::minify(v);
  return {};
}

// At most `max` bytes of UTF-8 `text`, cut before a character, never inside one.
std::string Prefix(const std::string& text, size_t max) {
  if (text.size() <= max) return text;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace

Result<CityGeography> GeographyFromPolygons(std::string_view geojson, const std::string& source,
                                            const std::string& name_property,
                                            const std::string& version) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto error = parser.parse(geojson.data(), geojson.size()).get(doc)) {
    return InvalidArgument(source + ": not JSON: " + simdjson::error_message(error));
  }
  simdjson::dom::array features;
  if (doc["features"].get_array().get(features)) {
    return InvalidArgument(source + ": not a GeoJSON FeatureCollection (no features array)");
  }
  CityGeography out;
  json::array converted;
  std::set<std::string> seen, villages;
  size_t i = 0;
  for (simdjson::dom::element f : features) {
    const std::string where = source + ": features[" + std::to_string(i++) + "]";
    simdjson::dom::element name, geometry;
    if (f["properties"][name_property].get(name) || f["geometry"].get(geometry)) {
      return InvalidArgument(where + ": no properties." + name_property + " or no geometry");
    }
    const std::string area = Prefix(PropertyText(name), 100);
    if (area.empty()) return InvalidArgument(where + ": properties." + name_property + " is empty");
    // A name given to several features is one area of several polygons: a grid may be
    // named only once, so the later ones are numbered.
    std::string grid = area;
    for (int n = 2; !seen.insert(grid).second; ++n) grid = area + " #" + std::to_string(n);
    if (villages.insert(area).second) out.areas.push_back(area);
    converted.push_back(
        json::object{{"type", "Feature"},
                     {"properties", json::object{{"grid", grid}, {"village", area}}},
                     {"geometry", json::parse(simdjson::minify(geometry))}});
  }
  out.geojson = wire::WriteJson(json::object{
      {"type", "FeatureCollection"}, {"version", version}, {"features", std::move(converted)}});
  return out;
}

}  // namespace wangge::io
