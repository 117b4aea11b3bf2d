#include "model/Mesh.h"

#include <gtest/gtest.h>

using namespace precis::model;

namespace {
// Unit cube [0,a]^3 as 12 outward-wound triangles.
Mesh cube(float a) {
    Mesh m;
    for (int c = 0; c < 8; ++c) m.positions.push_back({(c & 1) * a, ((c >> 1) & 1) * a, ((c >> 2) & 1) * a});
    m.indices = {0, 2, 3, 0, 3, 1, 4, 5, 7, 4, 7, 6, 0, 1, 5, 0, 5, 4,
                 2, 6, 7, 2, 7, 3, 0, 4, 6, 0, 6, 2, 1, 3, 7, 1, 7, 5};
    return m;
}
} // namespace

TEST(Mesh, CubeAreaVolumeAndClosure) {
    Mesh m = cube(2.0f);
    EXPECT_NEAR(m.areaMm2(), 24.0, 1e-9);
    EXPECT_NEAR(m.signedVolumeMm3(), 8.0, 1e-9);
    EXPECT_TRUE(m.isClosedManifold());
    m.computeNormals();
    // Corner normals point away from the centre.
    for (std::size_t i = 0; i < m.positions.size(); ++i)
        EXPECT_GT(glm::dot(m.normals[i], m.positions[i] - glm::vec3(1.0f)), 0.0f);
}

TEST(Mesh, OpenMeshIsNotClosed) {
    Mesh m = cube(1.0f);
    m.indices.resize(m.indices.size() - 3);
    EXPECT_FALSE(m.isClosedManifold());
}

TEST(Mesh, FlippedTriangleIsNotConsistentlyOriented) {
    Mesh m = cube(1.0f);
    std::swap(m.indices[1], m.indices[2]);
    EXPECT_FALSE(m.isClosedManifold());
}
