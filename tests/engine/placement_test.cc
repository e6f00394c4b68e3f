// Reports placed against the geography in force: located when they name no grid, flagged
// when their position is far from the grid they name, and the geography activated through
// the log with the ruleset (engine/placement.h).
#include "engine/placement.h"

#include <cmath>
#include <map>

#include <gtest/gtest.h>

#include "audit/replay.h"
#include "engine/codec.h"
#include "engine/engine.h"
#include "engine/media.h"
#include "engine/stats.h"
#include "rules/geography.h"
#include "tests/testing/builders.h"
#include "tests/testing/engine_fixture.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/town_geography.h"

namespace wangge::engine {
namespace {

const Actor kAdmin{"admin", Role::kAdmin, ""};

class PlacementTest : public testing::EngineFixture {
 protected:
  // 8 rows of villages V01-V08, 4 grids each (V07-G3 is cell (6, 2)).
  void ActivateTown(const std::string& version = "town-1") {
    auto r = engine_->ActivateGeography(testing::GeoBlock(8, 4, version), kAdmin);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->geography_version, version);
  }

  Result<Outcome> Report(const std::string& id, double lat, double lon, bool named,
                         const std::string& worker = "W017") {
    Command c = testing::ReportCommand(id, worker);
    auto& rep = std::get<engine::Report>(c.body);
    rep.lat = lat;
    rep.lon = lon;
    if (!named) rep.village.clear(), rep.grid.clear();
    return engine_->sequencer().Submit(std::move(c)).get();
  }

  Record RecordAt(Seq seq) {
    std::optional<Record> out;
    EXPECT_TRUE(engine_->log()
                    .Scan(seq, seq,
                          [&](Seq s, std::string_view p) {
                            out = *DecodeRecord(s, p);
                            return false;
                          })
                    .ok());
    return out.value_or(Record{});
  }
};

TEST_F(PlacementTest, AReportWithoutAGridIsLocatedAndTheRecordKeepsTheDecision) {
  ActivateTown();
  auto r = Report("here", testing::GeoCellLat(6), testing::GeoCellLon(2), false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state.report.grid, "V07-G3");
  EXPECT_EQ(r->state.report.village, "V07");
  // Routed as a report naming V07: the village office of the built-in ruleset.
  auto named = Report("named", testing::GeoCellLat(6), testing::GeoCellLon(2), true);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(r->state.office, named->state.office);
  EXPECT_EQ(r->state.evidence, 0);
  const Record rec = RecordAt(r->seq);
  EXPECT_EQ(rec.place.how, PlaceHow::kLocated);
  EXPECT_EQ(rec.place.geography_version, "town-1");
  // A blind retry of the same report is the same case.
  auto again = Report("here", testing::GeoCellLat(6), testing::GeoCellLon(2), false);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->kind, Outcome::Kind::kDuplicate);
}

TEST_F(PlacementTest, APositionOutsideEveryGridWithoutAGridIsRefusedNamingTheNearest) {
  ActivateTown();
  const uint64_t head = engine_->head().seq.value;
  // 0.005° south of the block's first row: about 556 m from V01-G1.
  auto r = Report("south", testing::kGeoLat0 - 0.005, testing::GeoCellLon(0), false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(r.status().message().find("nearest, V01-G1, is 556 m away"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(engine_->head().seq.value, head);
}

TEST_F(PlacementTest, WithoutAGeographyAReportMustNameItsGrid) {
  auto r = Report("nowhere", testing::GeoCellLat(0), testing::GeoCellLon(0), false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(r.status().field(), "grid");
  // Named, it is recorded as before: nothing placed.
  auto named = Report("named", testing::GeoCellLat(0), testing::GeoCellLon(0), true);
  ASSERT_TRUE(named.ok());
  EXPECT_TRUE(RecordAt(named->seq).place.geography_version.empty());
}

TEST_F(PlacementTest, ZeroOrOutOfRangePositionsWithoutAGridAreInvalid) {
  engine::Report rep = testing::MakeReport("x");
  rep.village.clear();
  rep.grid.clear();
  rep.lat = 0;
  rep.lon = 0;
  EXPECT_EQ(ValidateReport(rep).field(), "grid");
  rep.lat = 91;
  rep.lon = 120;
  EXPECT_EQ(ValidateReport(rep).field(), "lat");
  rep.lat = std::nan("");
  EXPECT_EQ(ValidateReport(rep).field(), "lat");
  rep.lat = 29.9;
  EXPECT_TRUE(ValidateReport(rep).ok());
  rep.grid = "V07-G3";  // a grid without its village
  EXPECT_EQ(ValidateReport(rep).field(), "village");
}

TEST_F(PlacementTest, AFarPositionFlagsTheNamedGridAndIsCountedPerWorker) {
  ActivateTown();
  // Inside V07-G3, then 150 m outside it (inside its neighbour), then 2 km away.
  const double lat = testing::GeoCellLat(6), east = testing::kGeoLon0 + 3 * testing::kGeoSide;
  auto inside = Report("in", lat, testing::GeoCellLon(2), true, "W017");
  auto near = Report("near", lat, east + 0.0015, true, "W017");
  auto far = Report("far", lat, east + 0.02, true, "W099");
  ASSERT_TRUE(inside.ok() && near.ok() && far.ok());
  EXPECT_EQ(inside->state.evidence, 0);
  EXPECT_EQ(near->state.evidence, 0);
  EXPECT_EQ(far->state.evidence, evidence::kLocationMismatch);
  EXPECT_EQ(far->state.report.grid, "V07-G3");  // kept
  // Metres east along the parallel: degrees × 111,195 m × cos(latitude).
  const double metres_per_degree = 6'371'008.8 * M_PI / 180 * std::cos(lat * M_PI / 180);
  EXPECT_EQ(RecordAt(near->seq).place.distance_m, std::lround(0.0015 * metres_per_degree));
  EXPECT_EQ(RecordAt(far->seq).place.distance_m, std::lround(0.02 * metres_per_degree));
  // Outside every grid yet within 200 m of the named one: flagged all the same.
  auto edge = Report("edge", testing::kGeoLat0 + 8 * testing::kGeoSide + 0.0005,
                     testing::GeoCellLon(2), true, "W099");
  ASSERT_TRUE(edge.ok());
  EXPECT_EQ(edge->state.evidence, evidence::kLocationMismatch);

  StatsQuery q;
  q.group_by = Dim::kWorker;
  q.as_of = clock_.Now();
  auto stats = engine_->Stats(q);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  std::map<std::string, int64_t> mismatches;
  for (const auto& row : stats->rows) mismatches[row.key] = row.Get(slot::kLocationMismatch);
  EXPECT_EQ(mismatches["W017"], 0);
  EXPECT_EQ(mismatches["W099"], 2);
}

TEST_F(PlacementTest, TheGeographyIsActivatedThroughTheLogAndSurvivesARulesetChange) {
  // Only admins; a geography naming a village the ruleset lacks changes nothing.
  EXPECT_EQ(
      engine_->ActivateGeography(testing::GeoBlock(2, 2), testing::Supervisor()).status().code(),
      StatusCode::kPermissionDenied);
  auto stray = engine_->ActivateGeography(
      testing::GeoCollection({testing::GeoSquare(0, 0, "X-G1", "V99")}), kAdmin);
  ASSERT_FALSE(stray.ok());
  EXPECT_NE(stray.status().message().find("V99"), std::string::npos) << stray.status().message();
  EXPECT_EQ(engine_->active_rules()->geography(), nullptr);

  ActivateTown("town-1");
  // A new ruleset keeps the geography in force.
  auto rules = engine_->ActivateRules(testing::BuiltInRulesetAs("v2"), "", kAdmin);
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  EXPECT_EQ(rules->geography_version, "town-1");
  Open();
  ASSERT_NE(engine_->active_rules()->geography(), nullptr);
  EXPECT_EQ(engine_->active_rules()->geography()->version(), "town-1");
  EXPECT_EQ(engine_->active_rules()->version(), "v2");
  auto r = Report("after-reopen", testing::GeoCellLat(1), testing::GeoCellLon(3), false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state.report.grid, "V02-G4");
}

TEST_F(PlacementTest, AReplayAfterAGeographyChangeEqualsTheLiveState) {
  ActivateTown("town-1");
  ASSERT_TRUE(Report("a", testing::GeoCellLat(0), testing::GeoCellLon(0), false).ok());
  // The second geography moves the first row to village V02's grids.
  std::vector<std::string> moved;
  for (int c = 0; c < 4; ++c) {
    moved.push_back(testing::GeoSquare(0, c, "V02-G" + std::to_string(c + 5), "V02"));
  }
  auto r2 = engine_->ActivateGeography(testing::GeoCollection(moved, "town-2"), kAdmin);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  auto b = Report("b", testing::GeoCellLat(0), testing::GeoCellLon(0), false);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->state.report.grid, "V02-G5");
  EXPECT_EQ((*engine_->GetCase("a"))->report.grid, "V01-G1");

  auto problems = audit::CheckDerivedState(engine_->store(), engine_->log());
  ASSERT_TRUE(problems.ok()) << problems.status().ToString();
  EXPECT_TRUE(problems->empty()) << (*problems)[0];
}

TEST(PlaceReportTest, AGridTheGeographyLacksIsKeptAndMeasuredOnlyForBeingOutsideAll) {
  auto geo = rules::Geography::Load(testing::GeoBlock(2, 2), "town", nullptr);
  ASSERT_TRUE(geo.ok());
  engine::Report rep = testing::MakeReport("x");
  rep.lat = testing::GeoCellLat(0);
  rep.lon = testing::GeoCellLon(0);
  auto placed = PlaceReport(rep, geo->get());
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(placed->place.how, PlaceHow::kGridUnmapped);
  EXPECT_EQ(placed->flags, 0);
  rep.lat = 10;
  placed = PlaceReport(rep, geo->get());
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(placed->flags, evidence::kLocationMismatch);
  EXPECT_EQ(rep.grid, "V07-G3");
  // A photo 600 m outside its grid is flagged, 400 m is not; an unknown position never.
  const double south = testing::kGeoLat0;
  EXPECT_EQ(PhotoPlaceFlags(south - 0.0054, testing::GeoCellLon(0), "V01-G1", geo->get()),
            evidence::kPhotoOutsideGrid);
  EXPECT_EQ(PhotoPlaceFlags(south - 0.0036, testing::GeoCellLon(0), "V01-G1", geo->get()), 0);
  EXPECT_EQ(PhotoPlaceFlags(std::nullopt, 120.0, "V01-G1", geo->get()), 0);
}

}  // namespace
}  // namespace wangge::engine
