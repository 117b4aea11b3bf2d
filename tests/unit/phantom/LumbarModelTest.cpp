#include "phantom/LumbarModel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

namespace precis::phantom {
namespace {

const LumbarModel& model() {
    static const LumbarModel m;
    return m;
}

double distanceToPolyline(const glm::dvec3& p, const std::vector<glm::dvec3>& line) {
    double best = INFINITY;
    for (std::size_t i = 0; i + 1 < line.size(); ++i) {
        const glm::dvec3 ab = line[i + 1] - line[i];
        const double t = std::clamp(glm::dot(p - line[i], ab) / glm::dot(ab, ab), 0.0, 1.0);
        best = std::min(best, glm::length(p - (line[i] + ab * t)));
    }
    return best;
}

const Polyline* findPolyline(const std::string& name) {
    for (const auto& p : model().polylines())
        if (p.name == name) return &p;
    return nullptr;
}

TEST(LumbarModel, StructureTableIsConsistent) {
    const auto& s = model().structures();
    std::set<int> labels;
    std::set<std::string> names;
    for (const auto& st : s) {
        EXPECT_NE(st.label, 0) << st.name;
        EXPECT_TRUE(labels.insert(st.label).second) << "duplicate label " << int(st.label);
        EXPECT_TRUE(names.insert(st.name).second) << "duplicate name " << st.name;
        EXPECT_EQ(st.role, model::defaultRole(st.kind)) << st.name;
        EXPECT_EQ(model().structure(st.label), model().structure(st.name));
    }
    ASSERT_NE(model().structure("L4"), nullptr);
    EXPECT_EQ(model().structure("L4")->label, 4);
    EXPECT_EQ(model().structure("L4")->kind, model::StructureKind::Bone);
    EXPECT_EQ(model().structure(label::kL2)->name, "L2");
    EXPECT_EQ(model().structure(label::kS1)->name, "S1");
    EXPECT_EQ(model().structure(label::kAorta)->kind, model::StructureKind::Vessel);
    EXPECT_EQ(model().structure(label::drg(2, 0))->name, "L4_left_drg");
    EXPECT_EQ(model().structure(label::nerveRoot(3, 1))->name, "L5_right_nerve_root");
    EXPECT_EQ(model().structure(label::medialBranch(2, 0))->name, "L4_left_medial_branch");
    EXPECT_EQ(model().structure(std::uint8_t{200}), nullptr);
}

TEST(LumbarModel, VertebraeStackCraniallyWithLordosis) {
    const auto& v = model().vertebrae();
    ASSERT_EQ(v.size(), 5u);
    for (std::size_t i = 0; i + 1 < v.size(); ++i) {
        EXPECT_GT(v[i].originLps.z, v[i + 1].originLps.z + 30.0) << v[i].name;
        EXPECT_NEAR(v[i].originLps.x, 0.0, 1e-9);
        // Lordosis: the superior axis tilts forward (toward -y) going caudally.
        EXPECT_GT(v[i].superior.y, v[i + 1].superior.y) << v[i].name;
    }
    EXPECT_NEAR(v[1].originLps.y, 0.0, 1e-9); // L3 body centre defines y = 0
}

TEST(LumbarModel, LabelsAtKnownPoints) {
    const auto& v = model().vertebrae();
    for (int i = 0; i < kLevelCount; ++i) {
        const auto& f = v[static_cast<std::size_t>(i)];
        EXPECT_EQ(model().labelAt(f.originLps), label::vertebra(i)) << f.name;
        EXPECT_DOUBLE_EQ(model().designHuAt(f.originLps), LumbarModel::kCancellousHu);
        // 0.5 mm inside the anterior surface of the body: cortical shell.
        const glm::dvec3 shell = f.originLps - f.posterior * (f.bodyDepthMm / 2.0 - 0.5);
        EXPECT_EQ(model().labelAt(shell), label::vertebra(i));
        EXPECT_DOUBLE_EQ(model().designHuAt(shell), LumbarModel::kCorticalHu);
    }
    // Disc between L3 and L4 at the midpoint of the bodies.
    EXPECT_EQ(model().labelAt((v[1].originLps + v[2].originLps) * 0.5), label::kDiscL3L4);
    // Dural sac on the canal centreline at L3.
    const Polyline* canal = findPolyline("canal_centerline");
    ASSERT_NE(canal, nullptr);
    for (const auto& p : canal->lps) {
        if (p.z > 80.0 || p.z < -70.0) continue; // only inside the field of view
        EXPECT_EQ(model().labelAt(p), label::kDuralSac) << p.z;
    }
    EXPECT_EQ(model().labelAt({0.0, 300.0, 0.0}), label::kAir);
    EXPECT_EQ(model().labelAt({0.0, -22.0 + 110.0 - 1.0, 0.0}), label::kSkin);
}

TEST(LumbarModel, SignedDistanceIsABoundAndHasTheRightSign) {
    const glm::dvec3 o = model().vertebrae()[2].originLps;
    EXPECT_LT(model().signedDistanceMm(label::kL4, o), -5.0);
    EXPECT_GT(model().signedDistanceMm(label::kL2, o), 20.0);
    EXPECT_TRUE(std::isinf(model().signedDistanceMm(std::uint8_t{200}, o)));
    // Walk away from the aorta's centreline: distance grows ~1 mm per mm outside the 9 mm radius.
    const Polyline* ao = findPolyline("aorta_centerline");
    ASSERT_NE(ao, nullptr);
    const glm::dvec3 c = (ao->lps[2] + ao->lps[3]) * 0.5;
    EXPECT_NEAR(model().signedDistanceMm(label::kAorta, c), -9.0, 0.3);
    EXPECT_NEAR(model().signedDistanceMm(label::kAorta, c + glm::dvec3(-19.0, 0.0, 0.0)), 10.0,
                1.0);
}

TEST(LumbarModel, AnatomicalRelations) {
    const auto& v = model().vertebrae();
    const Polyline* ao = findPolyline("aorta_centerline");
    const Polyline* ivc = findPolyline("ivc_centerline");
    ASSERT_TRUE(ao && ivc);
    for (const auto& p : ao->lps) EXPECT_GT(p.x, 5.0);   // aorta left of midline
    for (const auto& p : ivc->lps) EXPECT_LT(p.x, -5.0); // IVC right of midline
    for (const auto& f : v) {
        // Spinous process: bone far posterior of the body, on the midline.
        bool found = false;
        for (double t = 45.0; t < 70.0; t += 0.5) {
            const glm::dvec3 p = f.originLps + f.posterior * t - f.superior * 5.0;
            if (model().labelAt(p) == model().structure(f.name)->label) found = true;
        }
        EXPECT_TRUE(found || f.name == "S1") << f.name << " has no spinous process";
        // Aorta and IVC anterior to the body.
        EXPECT_LT(ao->lps[1].y, v[0].originLps.y);
    }
}

TEST(LumbarModel, LandmarksSitInTheirStructures) {
    const auto& lms = model().landmarks();
    int mb = 0, drg = 0, st = 0, il = 0;
    for (const auto& lm : lms) {
        SCOPED_TRACE(lm.name);
        EXPECT_TRUE(lm.side == "left" || lm.side == "right" || lm.side == "midline");
        if (lm.kind == "medial_branch_target") {
            ++mb;
            const Polyline* pl = findPolyline(lm.level + "_" + lm.side + "_medial_branch");
            ASSERT_NE(pl, nullptr);
            EXPECT_LT(distanceToPolyline(lm.lps, pl->lps), 1e-6);
            const double bone = model().boneDistanceMm(lm.lps);
            EXPECT_GT(bone, 0.9);
            EXPECT_LT(bone, 2.0);
            const int level = lm.level[1] - '2';
            const int side = lm.side == "left" ? 0 : 1;
            EXPECT_EQ(model().labelAt(lm.lps), label::medialBranch(level, side));
            // It lies at the vertebra below: its bone neighbour is level+1.
            const auto below = label::vertebra(level + 1);
            EXPECT_LT(model().signedDistanceMm(below, lm.lps), 2.0);
            EXPECT_EQ((lm.lps.x > 0.0), side == 0);
        } else if (lm.kind == "drg_center") {
            ++drg;
            const int level = lm.level == "S1" ? 4 : lm.level[1] - '2';
            const int side = lm.side == "left" ? 0 : 1;
            EXPECT_EQ(model().labelAt(lm.lps), label::drg(level, side));
            EXPECT_GT(model().boneDistanceMm(lm.lps), 0.5);
        } else if (lm.kind == "safe_triangle_target") {
            ++st;
            const int level = lm.level[1] - '2';
            const int side = lm.side == "left" ? 0 : 1;
            EXPECT_EQ(model().labelAt(lm.lps), label::kEpiduralFat);
            EXPECT_GT(model().signedDistanceMm(label::nerveRoot(level, side), lm.lps), 1.0);
            EXPECT_GT(model().signedDistanceMm(label::drg(level, side), lm.lps), 1.0);
            // Just below its own pedicle.
            EXPECT_LT(model().signedDistanceMm(label::vertebra(level), lm.lps), 3.0);
            EXPECT_GT(model().boneDistanceMm(lm.lps), 0.5);
        } else if (lm.kind == "interlaminar_target") {
            ++il;
            EXPECT_EQ(model().labelAt(lm.lps), label::kEpiduralFat);
            EXPECT_GT(model().signedDistanceMm(label::kDuralSac, lm.lps), 0.5);
            EXPECT_LT(std::abs(lm.lps.x), 5.0);
        }
    }
    EXPECT_EQ(mb, 8);
    EXPECT_EQ(drg, 10);
    EXPECT_EQ(st, 8);
    EXPECT_EQ(il, 8);
}

TEST(LumbarModel, NervesRunClearOfBone) {
    for (const auto& pl : model().polylines()) {
        if (pl.kind != "nerve_root" && pl.kind != "medial_branch") continue;
        SCOPED_TRACE(pl.name);
        // Sample the centreline; every point keeps clear of bone: medial branches by more than
        // their radius (0.75 mm), roots by 0.5 mm (they may touch the lateral recess wall).
        for (std::size_t i = 0; i + 1 < pl.lps.size(); ++i) {
            for (int k = 0; k <= 10; ++k) {
                const glm::dvec3 p = pl.lps[i] + (pl.lps[i + 1] - pl.lps[i]) * (k / 10.0);
                EXPECT_GT(model().boneDistanceMm(p), pl.kind == "medial_branch" ? 0.9 : 0.5)
                    << "segment " << i << " t=" << k / 10.0;
            }
        }
    }
}

} // namespace
} // namespace precis::phantom
