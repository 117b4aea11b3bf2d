#include "planning/Templates.h"

#include "PlanningFixture.h"

#include <gtest/gtest.h>

namespace precis::planning {
namespace {

using test::planningWorld;

struct Case {
    const char* procedure;
    const char* level;
    const char* side;
    const char* landmark; // the truth landmark the target must sit on
};

class TemplateOnPhantom : public ::testing::TestWithParam<Case> {};

TEST_P(TemplateOnPhantom, TargetsTheTruthLandmarkWithAGreenVerdict) {
    const auto& w = planningWorld();
    const Case c = GetParam();
    TemplateRequest req;
    req.procedure = c.procedure;
    req.level = c.level;
    req.side = c.side;
    auto r = proposeFromTemplate(w.scene, w.landmarks, req, test::testCatalog());
    ASSERT_TRUE(r.has_value()) << r.error().message;
    const model::PlanLandmark* truth = nullptr;
    for (const auto& l : w.landmarks) {
        if (l.name == c.landmark) truth = &l;
    }
    ASSERT_NE(truth, nullptr);
    EXPECT_LE(glm::length(r->trajectory.targetLps - truth->lps), 2.0);
    EXPECT_EQ(r->evaluation.verdict, Verdict::Green)
        << (r->evaluation.reasons.empty() ? "" : r->evaluation.reasons.front());
    EXPECT_TRUE(r->evaluation.collisions.empty());
    EXPECT_EQ(r->trajectory.procedure, c.procedure);
    // The entry lies on the skin.
    EXPECT_LT(w.scene.skinBvh().closestPoint(r->trajectory.entryLps).distanceMm, 0.5);
}

INSTANTIATE_TEST_SUITE_P(
    Lumbar, TemplateOnPhantom,
    ::testing::Values(Case{"mbrfa", "L4", "left", "L4_left_medial_branch_target"},
                      Case{"mbrfa", "L3", "right", "L3_right_medial_branch_target"},
                      Case{"tfesi", "L4", "left", "L4_left_safe_triangle_target"},
                      Case{"tfesi", "L5", "right", "L5_right_safe_triangle_target"},
                      Case{"ilesi", "L4-L5", "left", "L4-L5_left_interlaminar_target"},
                      Case{"scs", "", "left", "L2-L3_left_interlaminar_target"},
                      Case{"drg", "L4", "left", "L4_left_drg_center"}),
    [](const ::testing::TestParamInfo<Case>& param) {
        return std::string(param.param.procedure) + "_" + param.param.side + "_" +
               std::to_string(param.index);
    });

TEST(Templates, UnknownNamesLevelsAndDevicesAreClearErrors) {
    const auto& w = planningWorld();
    TemplateRequest req;
    req.procedure = "vertebroplasty";
    auto r = proposeFromTemplate(w.scene, w.landmarks, req, test::testCatalog());
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    req.procedure = "mbrfa";
    req.level = "T4";
    r = proposeFromTemplate(w.scene, w.landmarks, req, test::testCatalog());
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::NotFound);
    req.level = "L4";
    req.deviceId = "scs-8c"; // a lead for a needle procedure
    r = proposeFromTemplate(w.scene, w.landmarks, req, test::testCatalog());
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
}

} // namespace
} // namespace precis::planning
