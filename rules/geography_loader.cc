// Geography::Load: reads a GeoJSON FeatureCollection of grid polygons through the rules'
// JSON tree, checks every feature and collects each problem with its place, then checks
// the grids against each other (overlaps) with the R-tree.
#include <algorithm>
#include <cmath>
#include <set>

#include "rules/geography.h"
#include "rules/internal/geo_shapes.h"
#include "rules/internal/json_tree.h"
#include "rules/ruleset.h"

namespace wangge::rules {

using internal::JsonNode;
using internal::Problems;
using Type = JsonNode::Type;

namespace {

// Bounds that keep a hostile file from costing more than a town's real one ever could.
constexpr size_t kMaxFeatures = 100'000;
constexpr size_t kMaxPositions = 5'000'000;

class GeoLoader {
 public:
  GeoLoader(std::string_view text, std::string_view source) : p_(text, source) {}
  Problems& problems() { return p_; }

  // A string property of 1-128 bytes; "" when absent and optional.
  std::string Text(const JsonNode& props, std::string_view name, const std::string& path,
                   bool required) {
    const JsonNode* n = props.Find(name);
    if (!n || n->type == Type::kNull) {
      if (required) p_.Add(props, path + "." + std::string(name), "is required");
      return {};
    }
    if (n->type != Type::kString || n->string.empty() || n->string.size() > 128) {
      p_.Add(*n, path + "." + std::string(name), "must be a string of 1-128 bytes");
      return {};
    }
    return n->string;
  }

  // A ring: at least four positions, the last equal to the first.
  bool Ring(const JsonNode& n, const std::string& path, GeoPolygon::ring_type& ring) {
    if (n.type != Type::kArray || n.items.size() < 4) {
      p_.Add(n, path, "must be a ring of at least 4 positions");
      return false;
    }
    for (size_t i = 0; i < n.items.size(); ++i) {
      const JsonNode& pos = n.items[i];
      const std::string at = path + "[" + std::to_string(i) + "]";
      if (pos.type != Type::kArray || pos.items.size() < 2 || pos.items.size() > 3 ||
          !std::all_of(pos.items.begin(), pos.items.end(),
                       [](const JsonNode& x) { return x.is_number(); })) {
        p_.Add(pos, at, "must be a position [longitude, latitude]");
        return false;
      }
      const double lon = pos.items[0].as_double(), lat = pos.items[1].as_double();
      if (!CheckPosition(lat, lon).ok()) {
        p_.Add(pos, at, "is out of range: longitude -180 to 180, latitude -90 to 90");
        return false;
      }
      if (++positions_ > kMaxPositions) {
        p_.Add(pos, at, "is past the limit of " + std::to_string(kMaxPositions) + " positions");
        return false;
      }
      ring.push_back(GeoPoint(lon, lat));
    }
    if (!bg::equals(ring.front(), ring.back())) {
      p_.Add(n, path, "is not closed: its last position must equal its first");
      return false;
    }
    return true;
  }

  // Polygon coordinates: an outer ring, then holes.
  bool Polygon(const JsonNode& n, const std::string& path, GeoPolygon& polygon) {
    if (n.type != Type::kArray || n.items.empty()) {
      p_.Add(n, path, "must be an array of rings, the outer one first");
      return false;
    }
    if (!Ring(n.items[0], path + "[0]", polygon.outer())) return false;
    for (size_t i = 1; i < n.items.size(); ++i) {
      polygon.inners().emplace_back();
      if (!Ring(n.items[i], path + "[" + std::to_string(i) + "]", polygon.inners().back()))
        return false;
    }
    return true;
  }

  bool Shape(const JsonNode& geometry, const std::string& path, GeoShape& shape) {
    if (geometry.type != Type::kObject) {
      p_.Add(geometry, path, "must be a Polygon or MultiPolygon geometry");
      return false;
    }
    const JsonNode* type = geometry.Find("type");
    const JsonNode* coords = geometry.Find("coordinates");
    const bool multi = type && type->type == Type::kString && type->string == "MultiPolygon";
    if (!type || type->type != Type::kString || (type->string != "Polygon" && !multi)) {
      p_.Add(type ? *type : geometry, path + ".type", "must be \"Polygon\" or \"MultiPolygon\"");
      return false;
    }
    if (!coords) {
      p_.Add(geometry, path + ".coordinates", "is required");
      return false;
    }
    if (!multi) {
      shape.emplace_back();
      return Polygon(*coords, path + ".coordinates", shape.back());
    }
    if (coords->type != Type::kArray || coords->items.empty()) {
      p_.Add(*coords, path + ".coordinates", "must be an array of polygons");
      return false;
    }
    for (size_t i = 0; i < coords->items.size(); ++i) {
      shape.emplace_back();
      if (!Polygon(coords->items[i], path + ".coordinates[" + std::to_string(i) + "]",
                   shape.back()))
        return false;
    }
    return true;
  }

  // The feature's grid and shape; false after a problem.
  bool Feature(const JsonNode& f, const std::string& path, GridArea& area, GeoShape& shape) {
    const JsonNode* type = f.Find("type");
    if (f.type != Type::kObject || !type || type->type != Type::kString ||
        type->string != "Feature") {
      p_.Add(f, path, "must be a GeoJSON Feature");
      return false;
    }
    const JsonNode* props = f.Find("properties");
    if (!props || props->type != Type::kObject) {
      p_.Add(props ? *props : f, path + ".properties", "must be an object with grid and village");
      return false;
    }
    area.grid = Text(*props, "grid", path + ".properties", true);
    area.village = Text(*props, "village", path + ".properties", true);
    area.name = Text(*props, "name", path + ".properties", false);
    area.worker = Text(*props, "worker", path + ".properties", false);
    const JsonNode* geometry = f.Find("geometry");
    if (!geometry || geometry->type == Type::kNull) {
      p_.Add(f, path + ".geometry", "is required");
      return false;
    }
    if (!Shape(*geometry, path + ".geometry", shape)) return false;
    bg::correct(shape);  // RFC 7946 asks readers to accept either winding
    std::string why;
    if (!bg::is_valid(shape, why)) {
      p_.Add(*geometry, path + ".geometry", "is not a valid polygon: " + why);
      return false;
    }
    return !area.grid.empty() && !area.village.empty();
  }

 private:
  Problems p_;
  size_t positions_ = 0;
};

std::string FeaturePath(size_t i, const std::string& grid) {
  return "features[" + std::to_string(i) + "]" + (grid.empty() ? "" : " (grid " + grid + ")");
}

}  // namespace

Result<std::shared_ptr<const Geography>> Geography::Load(std::string_view json,
                                                         std::string_view source,
                                                         const Ruleset* rules,
                                                         const GeographyOptions& options) {
  WANGGE_ASSIGN_OR_RETURN(JsonNode root, internal::ParseJsonTree(json, source));
  GeoLoader load(json, source);
  Problems& p = load.problems();
  const JsonNode* type = root.type == Type::kObject ? root.Find("type") : nullptr;
  if (!type || type->type != Type::kString || type->string != "FeatureCollection") {
    p.Add(type ? *type : root, "type", "must be \"FeatureCollection\"");
    return p.ToStatus("geography");
  }
  const JsonNode* version = root.Find("version");
  if (!version || version->type != Type::kString || version->string.empty() ||
      version->string.size() > 128) {
    p.Add(version ? *version : root, "version",
          "must be a string of 1-128 bytes naming this geography");
  }
  const JsonNode* features = root.Find("features");
  if (!features || features->type != Type::kArray || features->items.empty() ||
      features->items.size() > kMaxFeatures) {
    p.Add(features ? *features : root, "features",
          "must be an array of 1-" + std::to_string(kMaxFeatures) + " grid features");
    return p.ToStatus("geography");
  }

  auto geo = std::shared_ptr<Geography>(new Geography());
  if (version && version->type == Type::kString) geo->version_ = version->string;
  Index& index = *geo->index_;
  std::vector<const JsonNode*> nodes;
  for (size_t i = 0; i < features->items.size(); ++i) {
    const JsonNode& f = features->items[i];
    GridArea area;
    GeoShape shape;
    if (!load.Feature(f, "features[" + std::to_string(i) + "]", area, shape)) continue;
    const std::string path = FeaturePath(i, area.grid);
    if (index.by_grid.contains(area.grid)) {
      p.Add(f, path, "repeats grid " + area.grid + "; each grid is one feature");
      continue;
    }
    if (rules && !rules->DeclaresVillage(area.village)) {
      p.Add(f, path + ".properties.village",
            "village " + area.village + " has no village office in ruleset " + rules->version());
    }
    index.by_grid.emplace(area.grid, geo->grids_.size());
    index.tree.insert({bg::return_envelope<GeoBox>(shape), geo->grids_.size()});
    geo->grids_.push_back(std::move(area));
    index.shapes.push_back(std::move(shape));
    nodes.push_back(&f);
  }

  // Overlaps: each pair of grids whose boxes meet, once.
  for (size_t i = 0; i < geo->grids_.size(); ++i) {
    const GeoShape& a = index.shapes[i];
    const GeoBox box = bg::return_envelope<GeoBox>(a);
    for (auto it = index.tree.qbegin(bgi::intersects(box)); it != index.tree.qend(); ++it) {
      const size_t j = it->second;
      if (j <= i) continue;
      GeoShape common;
      bg::intersection(a, index.shapes[j], common);
      const double m2 =
          internal::AreaSquareMetres(common, (box.min_corner().y() + box.max_corner().y()) / 2);
      if (m2 <= options.overlap_tolerance_m2) continue;
      p.Add(*nodes[j], FeaturePath(j, geo->grids_[j].grid),
            "overlaps grid " + geo->grids_[i].grid + " by " + std::to_string(std::llround(m2)) +
                " m² (at most " + std::to_string(std::llround(options.overlap_tolerance_m2)) +
                " m² allowed)");
    }
  }
  WANGGE_RETURN_IF_ERROR(p.ToStatus("geography"));
  return std::shared_ptr<const Geography>(std::move(geo));
}

}  // namespace wangge::rules
