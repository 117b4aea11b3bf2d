#include "anatomy/IsoSurface.h"

#include <gtest/gtest.h>

#include <glm/gtc/matrix_transform.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <numbers>

using namespace precis;

namespace {

/// A volume holding 100 * (radius - distance to centre), i.e. the sphere's signed distance in
/// hundredths of a millimetre, on an oblique grid: inside > 0.
model::Volume sphereVolume(double radiusMm, glm::dvec3 centerLps, const glm::dmat3& direction,
                           glm::dvec3 spacing, int n) {
    model::ImageGeometry g;
    g.dims = {n, n, n};
    g.spacingMm = spacing;
    g.direction = direction;
    // Put the grid centre on the sphere centre.
    g.originMm = centerLps - direction * (glm::dvec3((n - 1) / 2.0) * spacing);
    model::Volume v(g);
    for (int k = 0; k < n; ++k)
        for (int j = 0; j < n; ++j)
            for (int i = 0; i < n; ++i) {
                double d = glm::length(g.worldFromIndex({i, j, k}) - centerLps);
                v.at(i, j, k) = static_cast<std::int16_t>(std::lround(100.0 * (radiusMm - d)));
            }
    return v;
}

glm::dmat3 obliqueDirection() {
    return glm::dmat3(glm::rotate(glm::rotate(glm::dmat4(1.0), glm::radians(30.0), {0, 0, 1}),
                                  glm::radians(20.0), {1, 0, 0}));
}

} // namespace

TEST(IsoSurface, SphereOnObliqueAnisotropicGridIsWatertightAndExact) {
    const double r = 20.0;
    const glm::dvec3 c(12.0, -40.0, 300.0); // far from the origin: vertices must be in LPS
    auto vol = sphereVolume(r, c, obliqueDirection(), {0.9, 1.1, 1.3}, 56);
    model::Mesh mesh = anatomy::extractIsoSurface(vol, 0.0);
    ASSERT_FALSE(mesh.empty());
    EXPECT_TRUE(mesh.isClosedManifold());
    const double area = mesh.areaMm2(), volume = mesh.signedVolumeMm3();
    const double areaTrue = 4 * std::numbers::pi * r * r;
    const double volumeTrue = 4.0 / 3.0 * std::numbers::pi * r * r * r;
    RecordProperty("areaRelErr", std::to_string(area / areaTrue - 1));
    RecordProperty("volumeRelErr", std::to_string(volume / volumeTrue - 1));
    EXPECT_NEAR(volume / volumeTrue, 1.0, 0.01) << "volume " << volume << " vs " << volumeTrue;
    EXPECT_NEAR(area / areaTrue, 1.0, 0.01) << "area " << area << " vs " << areaTrue;
    // Every vertex lies on the sphere in world LPS (within the sampling error of the field).
    double worst = 0;
    for (const auto& p : mesh.positions) worst = std::max(worst, std::abs(glm::length(glm::dvec3(p) - c) - r));
    EXPECT_LT(worst, 0.1);
    // Normals point outward.
    mesh.computeNormals();
    int outward = 0;
    for (std::size_t i = 0; i < mesh.positions.size(); ++i)
        outward += glm::dot(glm::dvec3(mesh.normals[i]), glm::dvec3(mesh.positions[i]) - c) > 0;
    EXPECT_EQ(outward, static_cast<int>(mesh.positions.size()));
}

TEST(IsoSurface, CappedCylinderOnObliqueGridHasItsAreaAndVolume) {
    // Signed distance (x 100) of a capped cylinder of radius r and length h whose axis is tilted
    // 35 degrees, sampled on an oblique anisotropic grid.
    const double r = 15.0, h = 50.0;
    const glm::dvec3 c(-30.0, 80.0, -120.0);
    const glm::dvec3 axis = glm::normalize(glm::dvec3(std::sin(glm::radians(35.0)), 0.3, std::cos(glm::radians(35.0))));
    model::ImageGeometry g;
    const int n = 80;
    g.dims = {n, n, n};
    g.spacingMm = {0.9, 1.0, 1.1};
    g.direction = obliqueDirection();
    g.originMm = c - g.direction * (glm::dvec3((n - 1) / 2.0) * g.spacingMm);
    model::Volume v(g);
    for (int k = 0; k < n; ++k)
        for (int j = 0; j < n; ++j)
            for (int i = 0; i < n; ++i) {
                glm::dvec3 p = g.worldFromIndex({i, j, k}) - c;
                double along = glm::dot(p, axis);
                double radial = glm::length(p - along * axis);
                glm::dvec2 d(radial - r, std::abs(along) - h / 2);
                double sdf = std::min(std::max(d.x, d.y), 0.0) + glm::length(glm::max(d, 0.0));
                v.at(i, j, k) = static_cast<std::int16_t>(std::lround(-100.0 * sdf));
            }
    model::Mesh mesh = anatomy::extractIsoSurface(v, 0.0);
    EXPECT_TRUE(mesh.isClosedManifold());
    const double areaTrue = 2 * std::numbers::pi * r * h + 2 * std::numbers::pi * r * r;
    const double volumeTrue = std::numbers::pi * r * r * h;
    EXPECT_NEAR(mesh.areaMm2() / areaTrue, 1.0, 0.01) << mesh.areaMm2() << " vs " << areaTrue;
    EXPECT_NEAR(mesh.signedVolumeMm3() / volumeTrue, 1.0, 0.01)
        << mesh.signedVolumeMm3() << " vs " << volumeTrue;
    RecordProperty("areaRelErr", std::to_string(mesh.areaMm2() / areaTrue - 1));
    RecordProperty("volumeRelErr", std::to_string(mesh.signedVolumeMm3() / volumeTrue - 1));
}

TEST(IsoSurface, RegionTouchingTheBorderIsClosed) {
    model::ImageGeometry g;
    g.dims = {8, 9, 10};
    model::Volume v(g, 0);
    for (int k = 0; k < 10; ++k)
        for (int j = 0; j < 9; ++j)
            for (int i = 0; i < 8; ++i) v.at(i, j, k) = (i < 4) ? 500 : -500;
    model::Mesh mesh = anatomy::extractIsoSurface(v, 0.0);
    EXPECT_TRUE(mesh.isClosedManifold());
    // Box from voxel centre 0 to the crossing at 3.5 along x, 0..8 in y, 0..9 in z.
    EXPECT_NEAR(mesh.signedVolumeMm3(), 3.5 * 8 * 9, 1e-3);
}

TEST(IsoSurface, ManyDisconnectedBlobsAcrossChunkBoundaries) {
    // Random-ish field that exercises every case and the stitching between thread chunks.
    model::ImageGeometry g;
    g.dims = {23, 19, 41};
    model::Volume v(g, 0);
    std::uint32_t s = 12345;
    for (auto& x : v.voxels) {
        s = s * 1664525u + 1013904223u;
        x = static_cast<std::int16_t>(int(s >> 22) - 512);
    }
    model::Mesh mesh = anatomy::extractIsoSurface(v, 0.5);
    EXPECT_TRUE(mesh.isClosedManifold());
    EXPECT_GT(mesh.signedVolumeMm3(), 0.0);
}

TEST(IsoSurface, LabelSurfaceOfABoxHasTheBoxVolume) {
    model::ImageGeometry g;
    g.dims = {20, 20, 20};
    g.spacingMm = {0.5, 0.5, 2.0};
    model::LabelMap labels(g, 0);
    for (int k = 5; k < 15; ++k)
        for (int j = 4; j < 12; ++j)
            for (int i = 2; i < 18; ++i) labels.at(i, j, k) = 7;
    model::Mesh mesh = anatomy::extractLabelSurface(labels, 7, {.preserveLabelVolume = false});
    EXPECT_TRUE(mesh.isClosedManifold());
    // The 0.5 crossings sit halfway between voxel centres, so faces lie on the voxelised box
    // (16 x 8 x 10 voxels = 8 x 4 x 20 mm); linear interpolation chamfers each of the 12 edges by a
    // right triangle with legs of half a voxel: 4 edges along each axis, length = box side.
    const double sx = 0.5, sy = 0.5, sz = 2.0, lx = 8, ly = 4, lz = 20;
    const double chamfer = 4 * lx * (sy * sz / 8) + 4 * ly * (sx * sz / 8) + 4 * lz * (sx * sy / 8);
    EXPECT_NEAR(mesh.signedVolumeMm3(), lx * ly * lz - chamfer, 0.5);
    EXPECT_TRUE(anatomy::extractLabelSurface(labels, 3).empty());

    // By default the surface is moved out to enclose the label's volume, still closed, and by a
    // small fraction of a voxel (at most the chamfer's depth, half a voxel's diagonal).
    model::Mesh preserved = anatomy::extractLabelSurface(labels, 7);
    EXPECT_TRUE(preserved.isClosedManifold());
    EXPECT_NEAR(preserved.signedVolumeMm3(), lx * ly * lz, 1e-3 * lx * ly * lz);
    ASSERT_EQ(preserved.positions.size(), mesh.positions.size());
    double moved = 0;
    for (std::size_t v = 0; v < mesh.positions.size(); ++v)
        moved = std::max(moved, double(glm::length(preserved.positions[v] - mesh.positions[v])));
    EXPECT_LT(moved, 0.5 * std::sqrt(sy * sy + sz * sz));
}

TEST(IsoSurface, LabelVolumeIsPreservedOnThinChainsCavitiesAndBorderCaps) {
    model::ImageGeometry g;
    g.dims = {24, 20, 16};
    g.spacingMm = {0.8, 0.7, 1.2};
    g.direction = glm::dmat3(glm::rotate(glm::dmat4(1.0), 0.4, glm::dvec3(1, 2, 3)));
    model::LabelMap labels(g, 0);
    std::size_t voxels = 0;
    auto set = [&](int i, int j, int k) {
        if (labels.at(i, j, k) != 5) ++voxels;
        labels.at(i, j, k) = 5;
    };
    for (int i = 2; i < 20; ++i) set(i, 3 + i / 4, 4 + i / 6); // a staircase chain of single voxels
    for (int k = 8; k < 14; ++k) // a hollow box (outer and inner surface)
        for (int j = 8; j < 16; ++j)
            for (int i = 6; i < 14; ++i)
                if (k == 8 || k == 13 || j == 8 || j == 15 || i == 6 || i == 13) set(i, j, k);
    for (int k = 0; k < 4; ++k) // a block on the grid's corner (capped on three sides)
        for (int j = 0; j < 5; ++j)
            for (int i = 18; i < 24; ++i) set(i, j, k);
    const double voxelMm3 = 0.8 * 0.7 * 1.2;
    const model::Mesh plain = anatomy::extractLabelSurface(labels, 5, {.preserveLabelVolume = false});
    const model::Mesh mesh = anatomy::extractLabelSurface(labels, 5);
    EXPECT_TRUE(mesh.isClosedManifold());
    // The corner block's caps sit on its border voxel centres: half a voxel less on each of its
    // three capped sides (6 x 5, 6 x 4 and 5 x 4 faces), less the overlaps at the edges.
    const double capped = (0.5 * (30 + 24 + 20) - 0.25 * (6 + 5 + 4) + 0.125) * voxelMm3;
    const double want = double(voxels) * voxelMm3 - capped;
    std::cout << "[ volume ] label " << want << " mm3, plain " << plain.signedVolumeMm3()
              << " mm3, preserved " << mesh.signedVolumeMm3() << " mm3\n";
    EXPECT_LT(plain.signedVolumeMm3(), 0.97 * want); // the chain loses half its volume
    EXPECT_NEAR(mesh.signedVolumeMm3(), want, 0.01 * want);
}

TEST(IsoSurface, OpenBorderModeStopsAtTheBorderLikeOtherExtractors) {
    model::ImageGeometry g;
    g.dims = {8, 9, 10};
    model::Volume v(g, 0);
    for (int k = 0; k < 10; ++k)
        for (int j = 0; j < 9; ++j)
            for (int i = 0; i < 8; ++i) v.at(i, j, k) = (i < 4) ? 500 : -500;
    anatomy::IsoSurfaceOptions open;
    open.closeAtBorder = false;
    model::Mesh mesh = anatomy::extractIsoSurface(v, 0.0, open);
    EXPECT_FALSE(mesh.isClosedManifold());
    // Only the plane x = 3.5 voxels: a 9 x 10 grid of vertices, 8 x 9 quads.
    EXPECT_EQ(mesh.positions.size(), 90u);
    EXPECT_EQ(mesh.triangleCount(), 2u * 8 * 9);
    for (const auto& p : mesh.positions) EXPECT_FLOAT_EQ(p.x, 3.5f);
    // A region away from the border gives the same surface either way.
    model::Volume ball(g, -500);
    for (int k = 3; k < 7; ++k)
        for (int j = 3; j < 6; ++j)
            for (int i = 2; i < 6; ++i) ball.at(i, j, k) = 500;
    EXPECT_EQ(anatomy::extractIsoSurface(ball, 0.0, open).indices,
              anatomy::extractIsoSurface(ball, 0.0).indices);
}
