#include "planning/TrajectorySearch.h"

#include "PlanningFixture.h"
#include "planning/Templates.h"

#include <gtest/gtest.h>

#include <cmath>

#include <fmt/format.h>

namespace precis::planning {
namespace {

using test::planningWorld;

const model::PlanLandmark& landmark(const std::string& name) {
    for (const auto& l : planningWorld().landmarks) {
        if (l.name == name) return l;
    }
    ADD_FAILURE() << "no landmark " << name;
    static model::PlanLandmark none;
    return none;
}

SearchRequest mbrfaRequest() {
    SearchRequest req;
    req.targetLps = landmark("L4_left_medial_branch_target").lps;
    req.device = *test::testCatalog().find("rf-18g-10mm");
    req.prototype.name = "search";
    req.prototype.intendedContact = {"L4", "L5", "L4_left_medial_branch"};
    return req;
}

TEST(TrajectorySearch, SuggestionsNeverCollideAndBeatTheTemplate) {
    const auto& w = planningWorld();
    auto search = TrajectorySearch::run(w.scene, mbrfaRequest());
    ASSERT_TRUE(search.has_value()) << search.error().message;
    EXPECT_GE(search->timing().candidates, 10000u);
    const auto top = search->rank(RiskWeights{}, 5);
    ASSERT_EQ(top.size(), 5u);
    for (std::size_t i = 0; i < top.size(); ++i) {
        const auto& s = top[i];
        EXPECT_TRUE(s.evaluation.collisions.empty()) << "suggestion " << i;
        EXPECT_NE(s.evaluation.verdict, Verdict::Red) << "suggestion " << i;
        // The exact evaluation of the same path gives the same (default-weight) score.
        const auto again = evaluateTrajectory(w.scene, s.trajectory, mbrfaRequest().device);
        EXPECT_NEAR(again.riskScore, s.evaluation.riskScore, 1e-9);
        EXPECT_TRUE(again.collisions.empty());
        if (i > 0) {
            EXPECT_LE(top[i - 1].evaluation.riskScore, s.evaluation.riskScore);
        }
    }
    TemplateRequest tr;
    tr.procedure = "mbrfa";
    tr.level = "L4";
    tr.side = "left";
    auto tpl = proposeFromTemplate(w.scene, w.landmarks, tr, test::testCatalog());
    ASSERT_TRUE(tpl.has_value()) << tpl.error().message;
    EXPECT_LE(top.front().evaluation.riskScore, tpl->evaluation.riskScore + 1e-9);
}

TEST(TrajectorySearch, ReRankingUsesTheNewWeightsWithoutNewLookUps) {
    const auto& w = planningWorld();
    auto search = TrajectorySearch::run(w.scene, mbrfaRequest());
    ASSERT_TRUE(search.has_value());
    const auto a = search->rank(RiskWeights{}, 3);
    RiskWeights lengthy;
    lengthy.lengthPer100Mm = 50.0; // now the shortest safe path wins
    const auto b = search->rank(lengthy, 3);
    ASSERT_FALSE(a.empty());
    ASSERT_FALSE(b.empty());
    EXPECT_LE(b.front().evaluation.lengthMm, a.front().evaluation.lengthMm + 1e-9);
    const auto map = search->riskMap(RiskWeights{});
    EXPECT_EQ(map.size(), w.scene.skin().positions.size());
    std::size_t finite = 0;
    for (float v : map) finite += std::isfinite(v) ? 1 : 0;
    EXPECT_GT(finite, 1000u);
}

TEST(TrajectorySearch, RegionsRestrictEntries) {
    const auto& w = planningWorld();
    SearchRequest req = mbrfaRequest();
    auto region = parseSkinRegion("right");
    ASSERT_TRUE(region.has_value());
    req.region = *region;
    auto search = TrajectorySearch::run(w.scene, req);
    ASSERT_TRUE(search.has_value());
    for (const auto& s : search->rank(RiskWeights{}, 3)) {
        EXPECT_LE(s.trajectory.entryLps.x, req.targetLps.x);
    }
    const glm::dvec3 t = req.targetLps;
    region = parseSkinRegion(
        fmt::format("sphere:{},{},{},{}", t.x + 30, t.y + 60, t.z - 40, 25.0));
    ASSERT_TRUE(region.has_value()) << region.error().message;
    req.region = *region;
    search = TrajectorySearch::run(w.scene, req);
    ASSERT_TRUE(search.has_value()) << search.error().message;
    for (const auto& s : search->rank(RiskWeights{}, 3)) {
        EXPECT_LE(glm::length(s.trajectory.entryLps - glm::dvec3(t.x + 30, t.y + 60, t.z - 40)),
                  25.0 + 1e-6);
    }
}

TEST(TrajectorySearch, BadRegionsAreRejectedWithAMessage) {
    for (const char* bad : {"sphere:1,2,3", "box:1,2,3,4,5,x", "up", "sphere:0,0,0,-1"}) {
        auto r = parseSkinRegion(bad);
        ASSERT_FALSE(r.has_value()) << bad;
        EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
        EXPECT_FALSE(r.error().message.empty());
    }
    // A region with no skin in reach fails cleanly.
    SearchRequest req = mbrfaRequest();
    req.region = *parseSkinRegion("box:500,500,500,600,600,600");
    auto search = TrajectorySearch::run(planningWorld().scene, req);
    ASSERT_FALSE(search.has_value());
    EXPECT_EQ(search.error().code, ErrorCode::NotFound);
}

} // namespace
} // namespace precis::planning
