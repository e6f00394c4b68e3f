// `wangge geo check|locate|activate`: a town's geography file (rules/geography.h, docs/place.md).
#include <iostream>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "core/time.h"
#include "engine/engine.h"
#include "rules/geography.h"
#include "rules/ruleset.h"

namespace wangge::cli {
namespace {

struct GeoArgs {
  std::string file;   // GeoJSON
  std::string rules;  // ruleset whose villages the grids must name; empty = built-in
  double tolerance_m2 = 100;
  double lat = 0, lon = 0;
  bool gcj02 = false;
  std::string data;             // activate: the data directory
  std::string actor = "admin";  // activate: the admin recorded
};

Result<std::shared_ptr<const rules::Geography>> LoadGeo(const GeoArgs& args) {
  std::shared_ptr<const rules::Ruleset> ruleset = rules::Ruleset::BuiltIn();
  if (!args.rules.empty()) {
    WANGGE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(args.rules));
    WANGGE_ASSIGN_OR_RETURN(ruleset, rules::Ruleset::Load(text, args.rules, ruleset->calendar()));
  }
  WANGGE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(args.file));
  rules::GeographyOptions options;
  options.overlap_tolerance_m2 = args.tolerance_m2;
  return rules::Geography::Load(text, args.file, ruleset.get(), options);
}

int GeoCheck(const GeoArgs& args) {
  auto geo = LoadGeo(args);
  if (!geo.ok()) return FailInput(geo.status());
  size_t villages = 0;
  std::set<std::string> seen;
  for (const auto& g : (*geo)->grids()) villages += seen.insert(g.village).second;
  std::cout << fmt::format("{}: OK, version {}, {} grids in {} villages\n", args.file,
                           (*geo)->version(), (*geo)->grids().size(), villages);
  return kExitOk;
}

int GeoLocate(const GeoArgs& args) {
  auto geo = LoadGeo(args);
  if (!geo.ok()) return FailInput(geo.status());
  if (Status s = rules::CheckPosition(args.lat, args.lon); !s.ok()) return FailInput(s);
  rules::LatLon p{args.lat, args.lon};
  if (args.gcj02) p = rules::Gcj02ToWgs84(args.lat, args.lon);
  const rules::Location at = (*geo)->Nearest(p.lat, p.lon);
  if (args.gcj02) std::cout << fmt::format("WGS 84: {:.7f}, {:.7f}\n", p.lat, p.lon);
  if (at.inside()) {
    std::cout << fmt::format("grid {} in village {}\n", at.grid->grid, at.grid->village);
  } else {
    std::cout << fmt::format("outside every grid; nearest grid {} (village {}) is {:.0f} m away\n",
                             at.grid->grid, at.grid->village, at.distance_m);
  }
  return kExitOk;
}

// Checks the file against the data directory's ruleset in force, then records its
// activation (a rules activation carrying the geography, engine/domain.h).
int GeoActivate(const GeoArgs& args) {
  auto text = ReadWholeFile(args.file);
  if (!text.ok()) return FailInput(text.status());
  SystemClock clock;
  auto engine = OpenForWriting(args.data, /*create=*/false, /*sync=*/true, clock);
  if (!engine.ok()) return FailInput(engine.status());
  // Checked here first, so that errors name the file rather than "geography".
  auto checked = rules::Geography::Load(*text, args.file, (*engine)->active_rules().get());
  if (!checked.ok()) {
    (*engine)->Stop();
    return FailInput(checked.status());
  }
  auto r = (*engine)->ActivateGeography(std::move(text).value(),
                                        engine::Actor{args.actor, engine::Role::kAdmin, ""});
  (*engine)->Stop();
  if (!r.ok()) return FailInput(r.status());
  std::cout << fmt::format("activated geography {} ({} grids) with ruleset {} at record {}\n",
                           (*checked)->version(), (*checked)->grids().size(),
                           r->state.ruleset_version, r->seq.value);
  return kExitOk;
}

}  // namespace

void AddGeoCommands(CLI::App& app, Command& chosen) {
  auto args = std::make_shared<GeoArgs>();
  auto* geo = app.add_subcommand("geo", "Check a town's grids (GeoJSON) and locate positions");
  geo->require_subcommand(1);
  auto* check = geo->add_subcommand(
      "check",
      "Validate a GeoJSON FeatureCollection of grid polygons: closed, valid rings, no two grids "
      "overlapping, every village declared in the ruleset; every problem with line and column");
  auto* locate = geo->add_subcommand(
      "locate", "The grid a position falls in, or the nearest grid and how far it is");
  for (auto* cmd : {check, locate}) {
    cmd->add_option("file", args->file, "Geography (GeoJSON FeatureCollection)")->required();
    cmd->add_option("--rules", args->rules,
                    "Ruleset whose village offices the grids' villages must be (default: the "
                    "built-in ruleset)");
    cmd->add_option("--overlap-m2", args->tolerance_m2,
                    "Square metres two grids may overlap by (drawing slack)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1e9));
  }
  locate->add_option("--lat", args->lat, "Latitude, degrees")->required();
  locate->add_option("--lon", args->lon, "Longitude, degrees")->required();
  locate->add_flag("--gcj02", args->gcj02,
                   "The position is GCJ-02 (Chinese map SDKs), not WGS 84: convert it first");
  auto* activate = geo->add_subcommand(
      "activate",
      "Check a geography against a data directory's ruleset and make it the active one (a "
      "logged record): reports without a grid are then located by their position");
  activate->add_option("file", args->file, "Geography (GeoJSON FeatureCollection)")->required();
  activate->add_option("--data", args->data, "Data directory")->required();
  activate->add_option("--actor", args->actor, "Admin recorded as the actor")
      ->capture_default_str();
  OnChosen(check, chosen, [args] { return GeoCheck(*args); });
  OnChosen(activate, chosen, [args] { return GeoActivate(*args); });
  OnChosen(locate, chosen, [args] { return GeoLocate(*args); });
}

}  // namespace wangge::cli
