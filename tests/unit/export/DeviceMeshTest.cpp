#include "export/DeviceMesh.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

using namespace precis;

TEST(DeviceMesh, StraightShaftIsAClosedPrismOfTheRadius) {
    const glm::dvec3 a(10.0, -20.0, 5.0), b(40.0, 25.0, -15.0);
    const glm::dvec3 axis[] = {a, b};
    const double r = 0.635;
    const int sides = 24;
    const model::Mesh m = exporting::deviceShaftMesh(axis, r, sides);
    ASSERT_FALSE(m.empty());
    EXPECT_TRUE(m.isClosedManifold());
    const double length = glm::length(b - a);
    // A regular 24-gon prism: area of the polygon times the length (exact, not π r²).
    const double expected = 0.5 * sides * r * r * std::sin(2 * std::numbers::pi / sides) * length;
    EXPECT_NEAR(m.signedVolumeMm3(), expected, expected * 1e-4) << "outward winding, right size";
    const glm::dvec3 dir = glm::normalize(b - a);
    for (const glm::vec3& p : m.positions) {
        const glm::dvec3 v = glm::dvec3(p) - a;
        const double along = glm::dot(v, dir);
        const double radial = glm::length(v - along * dir);
        EXPECT_TRUE(std::abs(radial - r) < 1e-5 || radial < 1e-5) << radial;
        EXPECT_GT(along, -1e-4);
        EXPECT_LT(along, length + 1e-4);
    }
}

TEST(DeviceMesh, LeadCurveIsClosedAndFollowsTheAxis) {
    const glm::dvec3 axis[] = {
        {0, 60, -80}, {1, 35, -60}, {1, 35, -60}, {0.5, 28, -30}, {0, 27, 10}};
    const model::Mesh m = exporting::deviceShaftMesh(axis, 0.65, 16);
    EXPECT_TRUE(m.isClosedManifold()) << "a repeated point is skipped, not a pinch";
    EXPECT_GT(m.signedVolumeMm3(), 0.0);
    EXPECT_EQ(m.positions.size(), 4u * 16u + 2u);
}

TEST(DeviceMesh, DegenerateInputGivesAnEmptyMesh) {
    const glm::dvec3 same[] = {{1, 2, 3}, {1, 2, 3}};
    EXPECT_TRUE(exporting::deviceShaftMesh(same, 1.0).empty());
    const glm::dvec3 ok[] = {{0, 0, 0}, {0, 0, 10}};
    EXPECT_TRUE(exporting::deviceShaftMesh(ok, 0.0).empty());
    EXPECT_TRUE(exporting::deviceShaftMesh(std::span<const glm::dvec3>(), 1.0).empty());
}
