#include "render/PlanOverlay.h"

#include <gtest/gtest.h>

#include <cmath>

namespace precis::render {
namespace {

model::DeviceCatalog catalog() {
    model::DeviceCatalog c;
    model::Device rf;
    rf.id = "rf-18g-10mm";
    rf.type = model::DeviceType::RfCannula;
    rf.outerDiameterMm = 1.27;
    rf.activeTipMm = 10;
    rf.contacts = {{0.0, 10.0}};
    c.devices.push_back(rf);
    model::Device lead;
    lead.id = "scs-4c";
    lead.type = model::DeviceType::ScsLead;
    lead.outerDiameterMm = 1.3;
    lead.contacts = {{1, 3}, {7, 3}, {13, 3}, {19, 3}};
    c.devices.push_back(lead);
    return c;
}

model::Trajectory needle(std::string name, std::string device) {
    model::Trajectory t;
    t.name = std::move(name);
    t.deviceId = std::move(device);
    t.entryLps = {40, 90, 20};
    t.targetLps = {10, 30, 0};
    return t;
}

const OverlayMesh* find(const std::vector<OverlayMesh>& v, const std::string& name, OverlayMesh::Part part) {
    for (const auto& m : v)
        if (m.trajectory == name && m.part == part) return &m;
    return nullptr;
}

TEST(PlanOverlay, NeedleIsATubeOfTheDeviceRadiusWithItsActiveTip) {
    model::Plan plan;
    plan.trajectories = {needle("a", "rf-18g-10mm")};
    const auto meshes = planOverlayMeshes(plan, catalog(), "a");
    const auto* shaft = find(meshes, "a", OverlayMesh::Part::Shaft);
    const auto* tip = find(meshes, "a", OverlayMesh::Part::ActiveTip);
    ASSERT_TRUE(shaft && tip);
    ASSERT_TRUE(find(meshes, "a", OverlayMesh::Part::EntryHandle));
    ASSERT_TRUE(find(meshes, "a", OverlayMesh::Part::TargetHandle));
    const double length = glm::length(plan.trajectories[0].targetLps - plan.trajectories[0].entryLps);
    const double r = 1.27 / 2;
    // Closed and outward (caps have their own vertices for sharp normals, so the check is the
    // divergence-theorem volume, not index topology): volumes of the polygonal tubes (24 sides) are within 1.2 % of pi r^2 L.
    const double polygonFactor = 24 * std::sin(2 * M_PI / 24) / (2 * M_PI);
    EXPECT_NEAR(shaft->mesh.signedVolumeMm3(), M_PI * r * r * (length - 10) * polygonFactor, 0.5);
    EXPECT_NEAR(tip->mesh.signedVolumeMm3(), M_PI * (1.02 * r) * (1.02 * r) * 10 * polygonFactor, 0.1);
    // Every shaft vertex lies at the radius from the axis.
    const glm::dvec3 a = plan.trajectories[0].entryLps, b = plan.trajectories[0].targetLps;
    const glm::dvec3 w = glm::normalize(b - a);
    for (const auto& p : shaft->mesh.positions) {
        const glm::dvec3 d = glm::dvec3(p) - a;
        const double radial = glm::length(d - w * glm::dot(d, w));
        EXPECT_TRUE(radial < 1e-3 || std::abs(radial - r) < 1e-3) << radial;
    }
    // The active tip ends at the target, the shaft at the entry.
    const auto tb = tip->mesh.bounds();
    EXPECT_NEAR(std::min(tb.minMm.z, tb.maxMm.z), 0.0, 1.0);
    EXPECT_EQ(shaft->colorRgba, OverlayStyle{}.activeShaft);
}

TEST(PlanOverlay, InsertionDepthLeadsAndUnknownDevices) {
    model::Trajectory t = needle("deep", "rf-18g-10mm");
    t.insertionDepthMm = 20;
    const auto path = model::devicePath(t);
    ASSERT_EQ(path.size(), 2u);
    EXPECT_NEAR(glm::length(path[1] - path[0]), 20.0, 1e-9);

    model::Trajectory lead = needle("lead", "scs-4c");
    lead.controlPointsLps = {{30, 60, 15}};
    model::Trajectory unknown = needle("x", "no-such-device");
    model::Plan plan;
    plan.trajectories = {lead, unknown};
    const auto meshes = planOverlayMeshes(plan, catalog(), "");
    const auto* contacts = find(meshes, "lead", OverlayMesh::Part::ActiveTip);
    ASSERT_TRUE(contacts);
    EXPECT_NEAR(contacts->mesh.signedVolumeMm3(), 4 * M_PI * std::pow(0.65 * 1.02, 2) * 3, 1.0);
    const auto* x = find(meshes, "x", OverlayMesh::Part::Shaft);
    ASSERT_TRUE(x);
    EXPECT_FALSE(find(meshes, "x", OverlayMesh::Part::ActiveTip));
    EXPECT_GT(x->mesh.signedVolumeMm3(), 0);
    EXPECT_EQ(x->colorRgba, OverlayStyle{}.shaft);
}

} // namespace
} // namespace precis::render
