#include "render/Camera.h"

#include <gtest/gtest.h>

#include <cmath>

namespace precis::render {
namespace {

glm::dvec3 ndc(const Camera& cam, const glm::dvec3& lps, double aspect = 1.0) {
    const glm::dvec4 c = cam.clipFromWorld(aspect) * glm::dvec4(lps, 1.0);
    return glm::dvec3(c) / c.w;
}

model::Bounds box() { return {{-100, -80, -150}, {120, 60, 170}}; }

TEST(Camera, ParsesPresetNames) {
    EXPECT_EQ(viewPresetFromString("anterior"), ViewPreset::Anterior);
    EXPECT_EQ(viewPresetFromString("Posterior"), ViewPreset::Posterior);
    EXPECT_EQ(viewPresetFromString("left"), ViewPreset::Left);
    EXPECT_EQ(viewPresetFromString("right"), ViewPreset::Right);
    EXPECT_EQ(viewPresetFromString("superior"), ViewPreset::Superior);
    EXPECT_EQ(viewPresetFromString("inferior"), ViewPreset::Inferior);
    EXPECT_EQ(viewPresetFromString("OBLIQUE"), ViewPreset::Oblique);
    EXPECT_FALSE(viewPresetFromString("lateral"));
    EXPECT_FALSE(viewPresetFromString(""));
    for (auto p : {ViewPreset::Anterior, ViewPreset::Posterior, ViewPreset::Left, ViewPreset::Right,
                   ViewPreset::Superior, ViewPreset::Inferior, ViewPreset::Oblique})
        EXPECT_EQ(viewPresetFromString(toString(p)), p);
}

// The anatomical convention: anterior view shows the patient's right (-x) on the image left.
TEST(Camera, AnteriorPutsPatientLeftOnImageRight) {
    const Camera cam = Camera::fit(box(), ViewPreset::Anterior);
    EXPECT_LT(cam.eyeLps.y, cam.targetLps.y); // in front of the patient (anterior = -y)
    const glm::dvec3 t = cam.targetLps;
    EXPECT_GT(ndc(cam, t + glm::dvec3(50, 0, 0)).x, 0.1);  // patient left -> image right
    EXPECT_LT(ndc(cam, t + glm::dvec3(-50, 0, 0)).x, -0.1); // patient right -> image left
    EXPECT_LT(ndc(cam, t + glm::dvec3(0, 0, 50)).y, -0.1);  // superior -> image top (Vulkan y down)
}

TEST(Camera, PosteriorPutsPatientLeftOnImageLeft) {
    const Camera cam = Camera::fit(box(), ViewPreset::Posterior);
    EXPECT_GT(cam.eyeLps.y, cam.targetLps.y);
    const glm::dvec3 t = cam.targetLps;
    EXPECT_LT(ndc(cam, t + glm::dvec3(50, 0, 0)).x, -0.1);
    EXPECT_LT(ndc(cam, t + glm::dvec3(0, 0, 50)).y, -0.1);
}

TEST(Camera, LateralAndAxialPresets) {
    const glm::dvec3 anterior(0, -50, 0);
    Camera left = Camera::fit(box(), ViewPreset::Left);
    EXPECT_GT(left.eyeLps.x, left.targetLps.x);
    EXPECT_LT(ndc(left, left.targetLps + anterior).x, -0.1); // from the left, anterior is image left
    Camera right = Camera::fit(box(), ViewPreset::Right);
    EXPECT_LT(right.eyeLps.x, right.targetLps.x);
    EXPECT_GT(ndc(right, right.targetLps + anterior).x, 0.1);
    Camera inf = Camera::fit(box(), ViewPreset::Inferior); // like an axial CT slice
    EXPECT_LT(inf.eyeLps.z, inf.targetLps.z);
    EXPECT_LT(ndc(inf, inf.targetLps + anterior).y, -0.1);                     // anterior up
    EXPECT_GT(ndc(inf, inf.targetLps + glm::dvec3(50, 0, 0)).x, 0.1);          // left on right
    Camera sup = Camera::fit(box(), ViewPreset::Superior);
    EXPECT_GT(sup.eyeLps.z, sup.targetLps.z);
    EXPECT_LT(ndc(sup, sup.targetLps + anterior).y, -0.1);
    EXPECT_LT(ndc(sup, sup.targetLps + glm::dvec3(50, 0, 0)).x, -0.1);
}

TEST(Camera, ObliqueIsPosteriorLeftAndAbove) {
    const glm::dvec3 d = Camera::presetDirection(ViewPreset::Oblique);
    EXPECT_NEAR(glm::length(d), 1.0, 1e-12);
    EXPECT_GT(d.y, 0.7); // mostly posterior
    EXPECT_GT(d.x, 0.4); // towards the patient's left
    EXPECT_NEAR(std::asin(d.z) * 180 / 3.14159265358979, 20.0, 1e-9);
    EXPECT_NEAR(std::atan2(d.x, d.y) * 180 / 3.14159265358979, 35.0, 1e-9);
}

TEST(Camera, FitKeepsEveryCornerInsideTheFrustumWithMargin) {
    const model::Bounds b = box();
    for (double aspect : {0.5, 1.0, 16.0 / 9.0}) {
        for (auto p : {ViewPreset::Anterior, ViewPreset::Posterior, ViewPreset::Left, ViewPreset::Right,
                       ViewPreset::Superior, ViewPreset::Inferior, ViewPreset::Oblique}) {
            const Camera cam = Camera::fit(b, p, aspect);
            double maxExtent = 0;
            for (int i = 0; i < 8; ++i) {
                const glm::dvec3 c{(i & 1) ? b.maxMm.x : b.minMm.x, (i & 2) ? b.maxMm.y : b.minMm.y,
                                   (i & 4) ? b.maxMm.z : b.minMm.z};
                const glm::dvec3 n = ndc(cam, c, aspect);
                EXPECT_LT(std::abs(n.x), 0.97) << toString(p) << " aspect " << aspect;
                EXPECT_LT(std::abs(n.y), 0.97) << toString(p);
                EXPECT_GT(n.z, 0.0);
                EXPECT_LT(n.z, 1.0);
                maxExtent = std::max({maxExtent, std::abs(n.x), std::abs(n.y)});
            }
            EXPECT_GT(maxExtent, 0.75) << toString(p) << ": framed too loosely";
        }
    }
}

TEST(Camera, DegenerateBoundsStillGiveAUsableCamera) {
    const Camera cam = Camera::fit(model::Bounds{{5, 5, 5}, {5, 5, 5}}, ViewPreset::Anterior);
    EXPECT_GT(cam.distanceMm(), 10);
    EXPECT_TRUE(std::isfinite(cam.eyeLps.x));
}

TEST(Camera, OrbitKeepsDistanceAndPanMovesTarget) {
    Camera cam = Camera::fit(box(), ViewPreset::Posterior);
    const double d = cam.distanceMm();
    const glm::dvec3 target = cam.targetLps;
    cam.orbit(0.4, -0.3);
    EXPECT_NEAR(cam.distanceMm(), d, 1e-6);
    EXPECT_NEAR(glm::length(cam.targetLps - target), 0.0, 1e-9);
    EXPECT_NEAR(glm::dot(cam.up(), cam.forward()), 0.0, 1e-9);
    cam.pan(0.1, 0.0);
    EXPECT_GT(glm::length(cam.targetLps - target), 1.0);
    EXPECT_NEAR(cam.distanceMm(), d, 1e-6);
    cam.zoom(2.0);
    EXPECT_NEAR(cam.distanceMm(), d / 2, 1e-6);
}

} // namespace
} // namespace precis::render
