#include "gui/Picking.h"

#include "gui/Measurements.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace precis::gui {
namespace {

/// An axis-aligned cube of half-size `h` around `c`, outward-wound (LPS mm).
StructureMesh cube(const std::string& name, glm::dvec3 c, double h) {
    StructureMesh m;
    m.info.name = name;
    for (int i = 0; i < 8; ++i)
        m.full.positions.emplace_back(
            c + h * glm::dvec3(i & 1 ? 1 : -1, i & 2 ? 1 : -1, i & 4 ? 1 : -1));
    m.full.indices = {0, 2, 1, 1, 2, 3, 4, 5, 6, 5, 7, 6, 0, 1, 4, 1, 5, 4,
                      2, 6, 3, 3, 6, 7, 0, 4, 2, 2, 4, 6, 1, 3, 5, 3, 7, 5};
    return m;
}

/// Waits (at most 10 s) for the background build.
void waitReady(SurfacePicker& picker) {
    for (int i = 0; i < 1000 && !picker.ready(); ++i) {
        picker.poll();
        if (!picker.ready()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

TEST(SurfacePicker, NearestVisibleSurfaceKeptByTheClippingWins) {
    // Seen from behind (+y): a cube at y = 50 in front of one at y = 0.
    const std::vector<StructureMesh> meshes{cube("back", {0, 0, 0}, 10),
                                            cube("front", {0, 50, 0}, 10)};
    SurfacePicker picker;
    EXPECT_FALSE(picker.ready());
    picker.prepare(meshes);
    waitReady(picker);
    ASSERT_TRUE(picker.ready());
    const Ray ray{{1, 200, 2}, {1, -200, 2}};
    render::ClipState none;
    auto hit = picker.cast(ray, {true, true}, none);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->structure, 1u);
    EXPECT_NEAR(hit->lps.y, 60.0, 1e-6);
    EXPECT_NEAR(hit->lps.x, 1.0, 1e-6);
    EXPECT_NEAR(hit->depthMm, 140.0, 1e-6);
    // Hidden structures are not picked.
    hit = picker.cast(ray, {true, false}, none);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->structure, 0u);
    EXPECT_NEAR(hit->lps.y, 10.0, 1e-6);
    // A clipping plane keeping y <= 55 cuts away the front cube's near face (y = 60): the ray
    // meets its far face (y = 40) first, as the clipped view shows it.
    render::ClipState plane;
    plane.planeEnabled = true;
    plane.planePointMm = {0, 55, 0};
    plane.planeNormal = {0, -1, 0};
    hit = picker.cast(ray, {true, true}, plane);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->structure, 1u);
    EXPECT_NEAR(hit->lps.y, 40.0, 1e-6);
    // A clipping box around the back cube only: the front cube is cut away entirely.
    render::ClipState box;
    box.boxEnabled = true;
    box.boxMinMm = {-20, -20, -20};
    box.boxMaxMm = {20, 20, 20};
    hit = picker.cast(ray, {true, true}, box);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->structure, 0u);
    EXPECT_NEAR(hit->lps.y, 10.0, 1e-6);
    // Beside both cubes: nothing.
    EXPECT_FALSE(picker.cast({{30, 200, 0}, {30, -200, 0}}, {true, true}, none));
    picker.reset();
    EXPECT_FALSE(picker.ready());
    EXPECT_FALSE(picker.cast(ray, {true, true}, none));
}

TEST(SurfacePicker, CameraRayThroughThePaneCentreHitsTheTarget) {
    render::Camera cam =
        render::Camera::fit({{-50, -50, -50}, {50, 50, 50}}, render::ViewPreset::Posterior, 1.5);
    const Ray r = cameraRay(cam, 0.5, 0.5, 1.5);
    const glm::dvec3 d = glm::normalize(r.toLps - r.fromLps);
    EXPECT_NEAR(glm::dot(d, cam.forward()), 1.0, 1e-9);
    // The target lies on the segment.
    const glm::dvec3 toTarget = cam.targetLps - r.fromLps;
    EXPECT_LT(glm::length(toTarget - d * glm::dot(toTarget, d)), 1e-6);
    // A point right of centre in the image lies to the camera's right.
    const Ray right = cameraRay(cam, 0.75, 0.5, 1.5);
    EXPECT_GT(glm::dot(right.toLps - right.fromLps, cam.right()), 0.0);
    const Ray low = cameraRay(cam, 0.5, 0.9, 1.5); // y grows downwards in the pane
    EXPECT_LT(glm::dot(low.toLps - low.fromLps, cam.up()), 0.0);
}

TEST(Picking, DescribeAndVoxelLookUp) {
    PickInfo p;
    p.lps = {12.34, -45.66, 7.8};
    EXPECT_EQ(describePick(p), "L 12.3 P -45.7 S 7.8 mm");
    p.structure = "L3";
    p.hu = 412.4;
    EXPECT_EQ(describePick(p), "L 12.3 P -45.7 S 7.8 mm \xc2\xb7 L3 \xc2\xb7 412 HU");

    model::ImageGeometry g;
    g.dims = {4, 4, 4};
    g.spacingMm = {2, 2, 3};
    g.originMm = {-3, -3, -4.5};
    model::Volume v(g, -1000);
    v.at(3, 0, 2) = 700;
    EXPECT_EQ(valueAt(v, g.worldFromIndex({3, 0, 2}) + glm::dvec3(0.9, -0.9, 1.4)),
              std::optional<std::int16_t>(700));
    EXPECT_EQ(valueAt(v, g.worldFromIndex({3, 0, 2}) + glm::dvec3(1.1, 0, 0)),
              std::nullopt); // outside
}

TEST(MeasurementTool, DistanceAndAngleFromClickedPoints) {
    MeasurementTool tool;
    EXPECT_FALSE(tool.addPoint({0, 0, 0}, "axial")); // no tool chosen: ignored
    EXPECT_FALSE(tool.inProgress());
    tool.setMode(MeasureKind::Distance);
    EXPECT_FALSE(tool.addPoint({0, 0, 0}, "axial"));
    EXPECT_TRUE(tool.inProgress());
    const auto distance = tool.addPoint({3, 4, 12}, "axial");
    ASSERT_TRUE(distance);
    EXPECT_FALSE(tool.inProgress()); // the next click starts another
    EXPECT_EQ(distance->kind, model::MeasurementKind::Distance);
    EXPECT_EQ(distance->pane, "axial");
    EXPECT_DOUBLE_EQ(model::measurementValue(*distance), 13.0);
    EXPECT_EQ(measurementText(*distance), "13.0 mm");
    EXPECT_STREQ(measurementTitle(*distance), "Distance");

    tool.setMode(MeasureKind::Angle);
    tool.addPoint({10, 0, 0}, "3d");
    EXPECT_TRUE(tool.cancel()); // Esc drops the points placed so far
    EXPECT_FALSE(tool.cancel());
    EXPECT_FALSE(tool.addPoint({10, 0, 0}, "3d"));
    EXPECT_FALSE(tool.addPoint({0, 0, 0}, "3d")); // the vertex
    const auto angle = tool.addPoint({0, 0, -7}, "3d");
    ASSERT_TRUE(angle);
    EXPECT_EQ(angle->kind, model::MeasurementKind::Angle);
    ASSERT_EQ(angle->pointsLps.size(), 3u);
    EXPECT_NEAR(model::measurementValue(*angle), 90.0, 1e-12);
    EXPECT_EQ(measurementText(*angle), "90.0\xc2\xb0");
    EXPECT_EQ(angle->pane, "3d");
    // Degenerate and incomplete measurements measure 0.
    EXPECT_EQ(model::measurementValue({model::MeasurementKind::Angle, {{1, 0, 0}, {1, 0, 0}, {0, 1, 0}}, ""}), 0.0);
    EXPECT_EQ(model::measurementValue({model::MeasurementKind::Distance, {{1, 0, 0}}, ""}), 0.0);
    EXPECT_EQ(measureKindFromString("angle"), MeasureKind::Angle);
    EXPECT_EQ(measureKindFromString("area"), std::nullopt);
    EXPECT_EQ(model::measurementKindFromString("angle"), model::MeasurementKind::Angle);
    EXPECT_EQ(model::measurementKindFromString("none"), std::nullopt);
}

} // namespace
} // namespace precis::gui
