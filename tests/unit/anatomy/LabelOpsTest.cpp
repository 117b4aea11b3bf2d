#include "anatomy/LabelOps.h"

#include <gtest/gtest.h>

#include <glm/gtc/matrix_transform.hpp>

#include <cmath>
#include <numbers>

using namespace precis;
using anatomy::Connectivity;
using anatomy::Mask;

namespace {

model::ImageGeometry grid(std::array<int, 3> dims, glm::dvec3 spacing = glm::dvec3(1.0)) {
    model::ImageGeometry g;
    g.dims = dims;
    g.spacingMm = spacing;
    return g;
}

Mask box(const model::ImageGeometry& g, std::array<int, 3> lo, std::array<int, 3> hi) {
    Mask m(g);
    for (int k = lo[2]; k < hi[2]; ++k)
        for (int j = lo[1]; j < hi[1]; ++j)
            for (int i = lo[0]; i < hi[0]; ++i)
                m.at(i, j, k) = 1;
    return m;
}

std::size_t bruteBall(const model::ImageGeometry& g, glm::dvec3 c, double r) {
    std::size_t n = 0;
    for (int k = 0; k < g.dims[2]; ++k)
        for (int j = 0; j < g.dims[1]; ++j)
            for (int i = 0; i < g.dims[0]; ++i)
                n += glm::length(g.worldFromIndex({i, j, k}) - c) <= r;
    return n;
}

} // namespace

TEST(LabelOps, PaintAndEraseSphereOnObliqueGrid) {
    auto g = grid({30, 28, 20}, {0.8, 0.9, 1.5});
    g.direction = glm::dmat3(glm::rotate(glm::dmat4(1.0), glm::radians(25.0), {0, 1, 1}));
    g.originMm = {-10, 5, 100};
    model::LabelMap l(g);
    const glm::dvec3 c = g.worldFromIndex({14.3, 13.1, 9.6});
    const std::size_t n = anatomy::paintSphere(l, c, 6.0, 7);
    EXPECT_EQ(n, bruteBall(g, c, 6.0));
    EXPECT_EQ(anatomy::countInside(anatomy::maskOfLabel(l, 7)), n);
    // Painting another label only over label 7 leaves background alone.
    const std::size_t m = anatomy::paintSphere(l, c + glm::dvec3(4, 0, 0), 6.0, 9, 7);
    EXPECT_GT(m, 0u);
    EXPECT_LT(m, n);
    EXPECT_EQ(anatomy::countInside(anatomy::maskOf(l, [](std::uint8_t v) { return v != 0; })), n);
    // Erase only label 9.
    EXPECT_EQ(anatomy::eraseSphere(l, c, 100.0, 9), m);
    EXPECT_EQ(anatomy::countInside(anatomy::maskOfLabel(l, 7)), n - m);
    EXPECT_EQ(anatomy::paintSphere(l, c + glm::dvec3(1000, 0, 0), 5.0, 3), 0u);
}

TEST(LabelOps, ThresholdIntoLabelInBoxAndMask) {
    auto g = grid({10, 10, 10});
    model::Volume ct(g, 0);
    for (int k = 0; k < 10; ++k)
        for (int j = 0; j < 10; ++j)
            for (int i = 0; i < 10; ++i)
                ct.at(i, j, k) = static_cast<std::int16_t>(i * 100);
    model::LabelMap l(g);
    anatomy::VoxelBox b{{0, 0, 0}, {10, 5, 2}};
    // HU 300..600 -> i = 3..6: 4 * 5 * 2 voxels.
    EXPECT_EQ(anatomy::thresholdIntoLabel(ct, l, 300, 600, 4, b), 40u);
    l.at(5, 0, 0) = 8;
    EXPECT_EQ(anatomy::thresholdIntoLabel(ct, l, 300, 600, 4, b, false), 0u);
    EXPECT_EQ(l.at(5, 0, 0), 8);
    Mask region = box(g, {0, 0, 5}, {10, 10, 6});
    // HU >= 850 -> i = 9 only: 1 x 10 x 1 voxels.
    EXPECT_EQ(anatomy::thresholdIntoLabel(ct, l, 850, 2000, 2, region), 10u);
}

TEST(LabelOps, ConnectedComponentsFaceVersusFull) {
    auto g = grid({12, 11, 13});
    Mask m(g);
    // Two voxels touching only at a corner, a 3x3x3 cube, and a long bar across many slabs.
    m.at(1, 1, 1) = 1;
    m.at(2, 2, 2) = 1;
    for (int k = 5; k < 8; ++k)
        for (int j = 5; j < 8; ++j)
            for (int i = 5; i < 8; ++i)
                m.at(i, j, k) = 1;
    for (int k = 0; k < 13; ++k)
        m.at(10, 9, k) = 1;
    auto face = anatomy::connectedComponents(m, Connectivity::Face);
    EXPECT_EQ(face.count(), 4);
    auto full = anatomy::connectedComponents(m, Connectivity::Full);
    EXPECT_EQ(full.count(), 3);
    EXPECT_EQ(full.sizes[static_cast<std::size_t>(full.largest())], 27u);
    EXPECT_EQ(anatomy::countInside(anatomy::keepLargestComponent(m, Connectivity::Face)), 27u);
    EXPECT_EQ(
        anatomy::countInside(anatomy::keepComponentContaining(m, {10, 9, 4}, Connectivity::Face)),
        13u);
    EXPECT_EQ(
        anatomy::countInside(anatomy::keepComponentContaining(m, {0, 0, 0}, Connectivity::Face)),
        0u);
    EXPECT_EQ(anatomy::countInside(anatomy::removeSmallComponents(m, 2, Connectivity::Face)), 40u);
    EXPECT_EQ(anatomy::countInside(anatomy::removeSmallComponents(m, 2, Connectivity::Full)), 42u);
}

TEST(LabelOps, ComponentsOfASpiralAcrossSlabsAreOne) {
    // A helix crossing every slab seam many times, plus noise-free gaps: one component.
    auto g = grid({40, 40, 64});
    Mask m(g);
    for (int k = 0; k < 64; ++k) {
        const double a = k * 0.1; // 1.2 voxel steps: consecutive squares overlap
        const int i = 20 + static_cast<int>(std::lround(12 * std::cos(a)));
        const int j = 20 + static_cast<int>(std::lround(12 * std::sin(a)));
        for (int di = -2; di <= 2; ++di)
            for (int dj = -2; dj <= 2; ++dj)
                m.at(i + di, j + dj, k) = 1;
    }
    EXPECT_EQ(anatomy::connectedComponents(m, Connectivity::Face).count(), 1);
}

TEST(LabelOps, FillHoles3dAndPerSlice) {
    auto g = grid({12, 12, 12});
    // A hollow cube (closed shell): 3D fill fills its 4x4x4 cavity.
    Mask shell = box(g, {2, 2, 2}, {8, 8, 8});
    for (int k = 3; k < 7; ++k)
        for (int j = 3; j < 7; ++j)
            for (int i = 3; i < 7; ++i)
                shell.at(i, j, k) = 0;
    EXPECT_EQ(anatomy::countInside(anatomy::fillHoles(shell)), 216u);
    // A tube along z (open ends): no 3D hole, but every slice has a 4x4 hole.
    Mask tube = box(g, {2, 2, 0}, {8, 8, 12});
    for (int k = 0; k < 12; ++k)
        for (int j = 3; j < 7; ++j)
            for (int i = 3; i < 7; ++i)
                tube.at(i, j, k) = 0;
    EXPECT_EQ(anatomy::countInside(anatomy::fillHoles(tube)), anatomy::countInside(tube));
    EXPECT_EQ(anatomy::countInside(anatomy::fillHolesPerSlice(tube)), 36u * 12u);
}

TEST(LabelOps, DilateAndErodeAreExactBallsOnAnisotropicGrids) {
    auto g = grid({41, 37, 23}, {0.7, 0.9, 1.6});
    Mask dot(g);
    dot.at(20, 18, 11) = 1;
    const double r = 5.05; // no voxel centre at exactly r (float vs double ties)
    Mask d = anatomy::dilateMm(dot, r);
    EXPECT_EQ(anatomy::countInside(d), bruteBall(g, g.worldFromIndex({20, 18, 11}), r));
    // Eroding the ball by r leaves only voxels with every background voxel farther than r.
    Mask big = anatomy::dilateMm(dot, 10.0);
    Mask e = anatomy::erodeMm(big, 10.0 - 0.01);
    EXPECT_GE(anatomy::countInside(e), 1u);
    EXPECT_TRUE(e.at(20, 18, 11));
    // The volume of a dilated ball approaches the analytic one.
    const double vol = anatomy::volumeMl(big) * 1000.0;
    EXPECT_NEAR(vol / (4.0 / 3.0 * std::numbers::pi * 1000.0), 1.0, 0.03);
    // Closing fills a 2-voxel gap between two boxes; opening removes a 1-voxel-thin fin.
    auto g2 = grid({30, 10, 10});
    Mask two = box(g2, {2, 2, 2}, {12, 8, 8});
    Mask b2 = box(g2, {14, 2, 2}, {26, 8, 8});
    for (std::size_t v = 0; v < two.voxels.size(); ++v)
        two.voxels[v] |= b2.voxels[v];
    Mask closed = anatomy::closeMm(two, 1.5);
    EXPECT_TRUE(closed.at(12, 5, 5));
    EXPECT_TRUE(closed.at(13, 5, 5));
    EXPECT_FALSE(closed.at(0, 5, 5));
    Mask fin = box(g2, {2, 2, 2}, {12, 8, 8});
    for (int i = 12; i < 20; ++i)
        fin.at(i, 5, 5) = 1;
    Mask opened = anatomy::openMm(fin, 1.0);
    EXPECT_FALSE(opened.at(16, 5, 5));
    EXPECT_TRUE(opened.at(6, 5, 5));
    // Erosion does not eat from the scan border.
    Mask all = box(g2, {0, 0, 0}, {30, 10, 10});
    EXPECT_EQ(anatomy::countInside(anatomy::erodeMm(all, 3.0)), all.voxels.size());
}

TEST(LabelOps, ApplyMaskRespectsOverwrite) {
    auto g = grid({4, 4, 4});
    model::LabelMap l(g);
    l.at(0, 0, 0) = 5;
    Mask m = box(g, {0, 0, 0}, {2, 1, 1});
    EXPECT_EQ(anatomy::applyMask(l, m, 3, false), 1u);
    EXPECT_EQ(l.at(0, 0, 0), 5);
    EXPECT_EQ(anatomy::applyMask(l, m, 3, true), 1u);
    EXPECT_EQ(l.at(0, 0, 0), 3);
}
