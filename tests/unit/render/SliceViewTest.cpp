#include "render/SliceView.h"

#include "render/SliceRenderer.h"

#include <gtest/gtest.h>

#include <cmath>

namespace precis::render {
namespace {

model::ImageGeometry cube(int n = 100, double spacing = 1.0) {
    model::ImageGeometry g;
    g.dims = {n, n, n};
    g.spacingMm = glm::dvec3(spacing);
    g.originMm = glm::dvec3(-0.5 * (n - 1) * spacing);
    return g;
}

// Radiological convention: patient right on screen left in axial and coronal views, anterior on
// the left in sagittal views, anterior up in axial, superior up otherwise.
TEST(SliceView, StandardViewsFollowTheRadiologicalConvention) {
    const auto g = cube();
    const EdgeLabels axial = edgeLabels(SliceView::standard(SliceOrientation::Axial, g));
    EXPECT_EQ(axial.left, "R");
    EXPECT_EQ(axial.right, "L");
    EXPECT_EQ(axial.top, "A");
    EXPECT_EQ(axial.bottom, "P");
    const EdgeLabels coronal = edgeLabels(SliceView::standard(SliceOrientation::Coronal, g));
    EXPECT_EQ(coronal.left, "R");
    EXPECT_EQ(coronal.right, "L");
    EXPECT_EQ(coronal.top, "S");
    EXPECT_EQ(coronal.bottom, "I");
    const EdgeLabels sagittal = edgeLabels(SliceView::standard(SliceOrientation::Sagittal, g));
    EXPECT_EQ(sagittal.left, "A");
    EXPECT_EQ(sagittal.right, "P");
    EXPECT_EQ(sagittal.top, "S");
    // The normal points at the viewer: axial views are seen from the feet.
    EXPECT_NEAR(SliceView::standard(SliceOrientation::Axial, g).normal().z, -1.0, 1e-12);
}

TEST(SliceView, StandardViewFitsTheVolume) {
    auto g = cube(100, 2.0); // 200 mm of voxels
    const SliceView v = SliceView::standard(SliceOrientation::Axial, g, 2.0);
    EXPECT_NEAR(glm::length(v.centerLps), 0.0, 1e-9);
    EXPECT_NEAR(v.heightMm, 1.04 * 200.0, 1e-9); // height limits on a wide viewport
    const SliceView tall = SliceView::standard(SliceOrientation::Axial, g, 0.5);
    EXPECT_NEAR(tall.heightMm, 1.04 * 400.0, 1e-9); // width limits on a tall one
}

TEST(SliceView, ViewportAndWorldAreInverse) {
    SliceView v = SliceView::oblique({10, 20, 30}, {1, 1, 0}, {0, 0, 1}, 120);
    EXPECT_NEAR(glm::length(v.normal() - glm::normalize(glm::dvec3(1, 1, 0))), 0.0, 1e-12);
    EXPECT_NEAR(glm::dot(v.upLps, glm::dvec3(0, 0, 1)), 1.0, 1e-12);
    for (auto [x, y] : {std::pair{0.0, 0.0}, {37.5, 81.25}, {200.0, 100.0}}) {
        const glm::dvec3 p = v.worldFromViewport(x, y, 200, 100);
        EXPECT_NEAR(v.distanceMm(p), 0.0, 1e-9);
        const glm::dvec2 back = v.viewportFromWorld(p, 200, 100);
        EXPECT_NEAR(back.x, x, 1e-9);
        EXPECT_NEAR(back.y, y, 1e-9);
    }
    // The viewport centre is the view centre; 100 px of height are 120 mm.
    EXPECT_NEAR(glm::length(v.worldFromViewport(100, 50, 200, 100) - v.centerLps), 0.0, 1e-9);
    EXPECT_NEAR(glm::length(v.worldFromViewport(100, 0, 200, 100) - v.centerLps), 60.0, 1e-9);
}

TEST(SliceView, PanZoomAndScroll) {
    SliceView v = SliceView::standard(SliceOrientation::Coronal, cube());
    const glm::dvec3 c = v.centerLps;
    const glm::dvec3 under = v.worldFromViewport(50, 50, 100, 100);
    v.pan(0.1, 0.0); // the image follows the mouse to the right
    const glm::dvec2 moved = v.viewportFromWorld(under, 100, 100);
    EXPECT_NEAR(moved.x, 60.0, 1e-9);
    EXPECT_NEAR(moved.y, 50.0, 1e-9);
    const double h = v.heightMm;
    v.zoom(2.0);
    EXPECT_NEAR(v.heightMm, h / 2, 1e-12);
    v.moveAlongNormal(3.0);
    EXPECT_NEAR(glm::dot(v.centerLps - c, glm::dvec3(0, -1, 0)), 3.0, 1e-9); // towards anterior
}

TEST(SliceView, SliceStepFollowsTheGrid) {
    model::ImageGeometry g = cube();
    g.spacingMm = {0.5, 0.8, 2.5};
    EXPECT_NEAR(sliceStepMm(g, {0, 0, 1}), 2.5, 1e-12);
    EXPECT_NEAR(sliceStepMm(g, {0, -1, 0}), 0.8, 1e-12);
    const double diag = sliceStepMm(g, {1, 0, 1});
    EXPECT_GT(diag, 0.5);
    EXPECT_LT(diag, 2.5);
    // A rotated grid: the normal along its slice axis steps by the slice spacing.
    const double a = 0.4;
    g.direction = glm::dmat3(glm::dvec3(std::cos(a), std::sin(a), 0), glm::dvec3(-std::sin(a), std::cos(a), 0),
                             glm::dvec3(0, 0, 1));
    EXPECT_NEAR(sliceStepMm(g, g.direction[2]), 2.5, 1e-12);
    EXPECT_NEAR(sliceStepMm(g, g.direction[0]), 0.5, 1e-12);
}

TEST(SliceView, PlaneRectCoversTheVolume) {
    const auto g = cube(100, 1.0);
    const SliceView v = SliceView::standard(SliceOrientation::Sagittal, g);
    const PlaneRect r = planeRectCovering(v, g);
    EXPECT_NEAR(r.minMm.x, -50.0, 1e-9);
    EXPECT_NEAR(r.maxMm.x, 50.0, 1e-9);
    EXPECT_NEAR(r.maxMm.y, 50.0, 1e-9);
}

TEST(SliceView, WindowPresets) {
    EXPECT_EQ(windowLevelPreset("bone")->widthHu, 2000);
    EXPECT_EQ(windowLevelPreset("bone")->centerHu, 400);
    EXPECT_EQ(windowLevelPreset("soft-tissue")->widthHu, 400);
    EXPECT_EQ(windowLevelPreset("lung")->centerHu, -600);
    EXPECT_FALSE(windowLevelPreset("brain"));
}

} // namespace
} // namespace precis::render
