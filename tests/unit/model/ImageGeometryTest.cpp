#include "model/ImageGeometry.h"

#include <gtest/gtest.h>

#include <glm/gtc/matrix_transform.hpp>

using namespace precis::model;

TEST(ImageGeometry, WorldFromIndexFollowsDicomConvention) {
    // Prone axial: rows run toward patient right (-x), columns toward anterior (-y).
    ImageGeometry g;
    g.dims = {4, 3, 2};
    g.spacingMm = {0.5, 0.7, 2.0};
    g.originMm = {10, 20, -30};
    g.direction = glm::dmat3(glm::dvec3(-1, 0, 0), glm::dvec3(0, -1, 0), glm::dvec3(0, 0, 1));
    glm::dvec3 p = g.worldFromIndex({2, 1, 1});
    EXPECT_DOUBLE_EQ(p.x, 10 - 2 * 0.5);
    EXPECT_DOUBLE_EQ(p.y, 20 - 1 * 0.7);
    EXPECT_DOUBLE_EQ(p.z, -30 + 2.0);
    EXPECT_TRUE(g.hasOrthonormalDirection());
}

TEST(ImageGeometry, IndexFromWorldInvertsOblique) {
    ImageGeometry g;
    g.dims = {10, 10, 10};
    g.spacingMm = {0.8, 0.6, 1.5};
    g.originMm = {-5, 3, 7};
    glm::dmat4 r = glm::rotate(glm::rotate(glm::dmat4(1.0), glm::radians(30.0), {0, 0, 1}),
                               glm::radians(20.0), {1, 0, 0});
    g.direction = glm::dmat3(r);
    ASSERT_TRUE(g.hasOrthonormalDirection());
    glm::dvec3 ijk(3.25, 7.5, 1.75);
    glm::dvec3 back = g.indexFromWorld(g.worldFromIndex(ijk));
    EXPECT_NEAR(back.x, ijk.x, 1e-12);
    EXPECT_NEAR(back.y, ijk.y, 1e-12);
    EXPECT_NEAR(back.z, ijk.z, 1e-12);
    glm::dvec4 viaMatrix = g.worldFromIndexMatrix() * glm::dvec4(ijk, 1.0);
    glm::dvec3 direct = g.worldFromIndex(ijk);
    EXPECT_NEAR(viaMatrix.x, direct.x, 1e-12);
    EXPECT_NEAR(viaMatrix.y, direct.y, 1e-12);
    EXPECT_NEAR(viaMatrix.z, direct.z, 1e-12);
}

TEST(ImageGeometry, RejectsNonOrthonormalOrLeftHanded) {
    ImageGeometry g;
    g.direction = glm::dmat3(glm::dvec3(1, 0, 0), glm::dvec3(0, 1, 0), glm::dvec3(0, 0, -1));
    EXPECT_FALSE(g.hasOrthonormalDirection());
    g.direction = glm::dmat3(glm::dvec3(1, 0, 0), glm::dvec3(0.1, 1, 0), glm::dvec3(0, 0, 1));
    EXPECT_FALSE(g.hasOrthonormalDirection());
}
