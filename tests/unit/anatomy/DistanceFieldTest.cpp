#include "anatomy/DistanceField.h"

#include "core/Parallel.h"

#include <gtest/gtest.h>

#include <glm/gtc/matrix_transform.hpp>

#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <random>

using namespace precis;
using anatomy::Mask;

namespace {

Mask randomMask(std::array<int, 3> dims, glm::dvec3 spacing, double density, unsigned seed) {
    model::ImageGeometry g;
    g.dims = dims;
    g.spacingMm = spacing;
    Mask m(g);
    std::mt19937 rng(seed);
    std::bernoulli_distribution on(density);
    for (auto& v : m.voxels)
        v = on(rng) ? 1 : 0;
    return m;
}

/// Brute force: squared mm distance from voxel a to the nearest voxel with `want(mask)`.
double bruteSq(const Mask& m, int i, int j, int k, bool wantInside) {
    const auto& g = m.geometry;
    double best = std::numeric_limits<double>::infinity();
    for (int z = 0; z < g.dims[2]; ++z)
        for (int y = 0; y < g.dims[1]; ++y)
            for (int x = 0; x < g.dims[0]; ++x) {
                if ((m.at(x, y, z) != 0) != wantInside) continue;
                const glm::dvec3 d = glm::dvec3(x - i, y - j, z - k) * g.spacingMm;
                best = std::min(best, glm::dot(d, d));
            }
    return best;
}

glm::dmat3 obliqueDirection() {
    return glm::dmat3(glm::rotate(glm::rotate(glm::dmat4(1.0), glm::radians(30.0), {0, 0, 1}),
                                  glm::radians(20.0), {1, 0, 0}));
}

} // namespace

TEST(DistanceField, SquaredTransformEqualsBruteForceOnRandomMasks) {
    const std::array<glm::dvec3, 3> spacings{glm::dvec3(1.0), glm::dvec3(0.7, 1.3, 2.1),
                                             glm::dvec3(3.0, 0.5, 0.9)};
    const std::array<double, 4> densities{0.002, 0.02, 0.2, 0.7};
    unsigned seed = 1;
    for (const auto& sp : spacings) {
        for (double density : densities) {
            Mask m = randomMask({13, 9, 11}, sp, density, seed++);
            const std::vector<float> d2 = anatomy::squaredDistanceToMaskMm2(m);
            ASSERT_EQ(d2.size(), m.voxels.size());
            for (int k = 0; k < 11; ++k)
                for (int j = 0; j < 9; ++j)
                    for (int i = 0; i < 13; ++i) {
                        const double want = bruteSq(m, i, j, k, true);
                        const double got = d2[m.geometry.linearIndex(i, j, k)];
                        if (std::isinf(want)) {
                            ASSERT_TRUE(std::isinf(got));
                        } else {
                            ASSERT_NEAR(got, want, 1e-5 * std::max(1.0, want))
                                << i << "," << j << "," << k << " density " << density;
                        }
                    }
        }
    }
}

TEST(DistanceField, SignedFieldEqualsBruteForceWithHalfVoxelCorrection) {
    const glm::dvec3 sp(0.8, 1.1, 2.5);
    const float half = 0.4f;
    for (unsigned seed = 10; seed < 16; ++seed) {
        // Blobby masks: threshold of random spheres so both states have thick regions.
        Mask m = randomMask({17, 12, 9}, sp, 0.0, seed);
        std::mt19937 rng(seed);
        std::uniform_real_distribution<double> u(0.0, 1.0);
        for (int s = 0; s < 4; ++s) {
            const glm::dvec3 c(u(rng) * 17, u(rng) * 12, u(rng) * 9);
            const double r = 1.5 + u(rng) * 4.0;
            for (int k = 0; k < 9; ++k)
                for (int j = 0; j < 12; ++j)
                    for (int i = 0; i < 17; ++i)
                        if (glm::length((glm::dvec3(i, j, k) - c) * sp) < r * 1.5)
                            m.at(i, j, k) = 1;
        }
        const anatomy::DistanceField f = anatomy::signedDistanceField(m);
        for (int k = 0; k < 9; ++k)
            for (int j = 0; j < 12; ++j)
                for (int i = 0; i < 17; ++i) {
                    const bool in = m.at(i, j, k) != 0;
                    const double want = std::sqrt(bruteSq(m, i, j, k, !in)) - half;
                    const double got = f.atVoxel(i, j, k);
                    if (std::isinf(want)) {
                        ASSERT_TRUE(std::isinf(got));
                        ASSERT_EQ(got < 0, in);
                    } else {
                        ASSERT_NEAR(got, in ? -want : want, 1e-5 * std::max(1.0, want));
                    }
                }
    }
}

TEST(DistanceField, EmptyAndFullMasksAreInfinite) {
    Mask empty = randomMask({5, 4, 3}, glm::dvec3(1.0), 0.0, 1);
    auto fe = anatomy::signedDistanceField(empty);
    for (float v : fe.valuesMm())
        EXPECT_EQ(v, std::numeric_limits<float>::infinity());
    Mask full = randomMask({5, 4, 3}, glm::dvec3(1.0), 1.0, 1);
    auto ff = anatomy::signedDistanceField(full);
    for (float v : ff.valuesMm())
        EXPECT_EQ(v, -std::numeric_limits<float>::infinity());
}

TEST(DistanceField, HalfSpaceOnAnisotropicGridIsExactAndCrossesZeroOnTheFace) {
    model::ImageGeometry g;
    g.dims = {20, 7, 6};
    g.spacingMm = {0.6, 1.7, 2.4};
    Mask m(g);
    for (int k = 0; k < 6; ++k)
        for (int j = 0; j < 7; ++j)
            for (int i = 0; i < 20; ++i)
                m.at(i, j, k) = i < 8 ? 1 : 0;
    auto f = anatomy::signedDistanceField(m);
    for (int i = 0; i < 20; ++i) {
        const double want = i < 8 ? -((8 - i) * 0.6 - 0.3) : (i - 7) * 0.6 - 0.3;
        EXPECT_NEAR(f.atVoxel(i, 3, 2), want, 1e-5) << i;
    }
    // The face between voxel 7 and 8 (index 7.5) is the zero crossing.
    EXPECT_NEAR(f.sampleMm(g.worldFromIndex({7.5, 3.3, 2.7})), 0.0, 1e-5);
    EXPECT_NEAR(f.sampleMm(g.worldFromIndex({9.5, 3.3, 2.7})), 1.2, 1e-5);
}

TEST(DistanceField, SphereOnObliqueAnisotropicGridWithinHalfAVoxel) {
    model::ImageGeometry g;
    const int n = 48;
    g.dims = {n, n + 4, n - 6};
    g.spacingMm = {0.9, 1.1, 1.3};
    g.direction = obliqueDirection();
    const glm::dvec3 c(12.0, -40.0, 300.0);
    g.originMm = c - g.direction * (glm::dvec3(g.dims[0] - 1, g.dims[1] - 1, g.dims[2] - 1) * 0.5 *
                                    g.spacingMm);
    const double r = 14.0;
    Mask m(g);
    for (int k = 0; k < g.dims[2]; ++k)
        for (int j = 0; j < g.dims[1]; ++j)
            for (int i = 0; i < g.dims[0]; ++i)
                m.at(i, j, k) = glm::length(g.worldFromIndex({i, j, k}) - c) < r ? 1 : 0;
    auto f = anatomy::signedDistanceField(m);
    // Half a voxel: half the voxel diagonal (the nearest centre of the other state can be off
    // the boundary along a diagonal).
    const double tol = 0.5 * std::sqrt(0.9 * 0.9 + 1.1 * 1.1 + 1.3 * 1.3);
    double worst = 0.0;
    for (int k = 0; k < g.dims[2]; ++k)
        for (int j = 0; j < g.dims[1]; ++j)
            for (int i = 0; i < g.dims[0]; ++i) {
                const double want = glm::length(g.worldFromIndex({i, j, k}) - c) - r;
                worst = std::max(worst, std::abs(f.atVoxel(i, j, k) - want));
            }
    RecordProperty("worstErrorMm", std::to_string(worst));
    std::cout << "[ sphere ] worst |sd - analytic| = " << worst << " mm (tol " << tol << ")\n";
    EXPECT_LE(worst, tol);
    // LPS look-up: trilinear between centres, and the voxel centre gives the voxel value.
    EXPECT_NEAR(f.sampleMm(g.worldFromIndex({10, 11, 12})), f.atVoxel(10, 11, 12), 1e-4);
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (int t = 0; t < 200; ++t) {
        const glm::dvec3 p = c + glm::dvec3(u(rng), u(rng), u(rng)) * 12.0;
        ASSERT_TRUE(f.contains(p));
        EXPECT_NEAR(f.sampleMm(p), glm::length(p - c) - r, tol);
    }
    EXPECT_FALSE(f.contains(c + glm::dvec3(200.0, 0.0, 0.0)));
}

TEST(DistanceField, LabelPredicateSelectsLabels) {
    model::ImageGeometry g;
    g.dims = {10, 3, 3};
    model::LabelMap l(g);
    l.at(2, 1, 1) = 4;
    l.at(7, 1, 1) = 9;
    auto f4 = anatomy::signedDistanceField(l, std::uint8_t{4});
    EXPECT_NEAR(f4.atVoxel(5, 1, 1), 2.5, 1e-6);
    auto f49 = anatomy::signedDistanceField(l, [](std::uint8_t v) { return v == 4 || v == 9; });
    EXPECT_NEAR(f49.atVoxel(5, 1, 1), 1.5, 1e-6);
    EXPECT_NEAR(f49.atVoxel(7, 1, 1), -0.5, 1e-6);
}

TEST(DistanceField, FullCtSizedVolumeTiming) {
    // 512 x 512 x 600 at 0.78 x 0.78 x 0.8 mm: a body-like elliptic cylinder with a spine-like
    // inner structure. The aim is < 1 s on 2 cores (reported, asserted loosely: shared CI).
    model::ImageGeometry g;
    g.dims = {512, 512, 600};
    g.spacingMm = {0.78, 0.78, 0.8};
    Mask m(g);
    parallelFor(0, 600, [&](std::size_t k0, std::size_t k1) {
        for (std::size_t k = k0; k < k1; ++k)
            for (int j = 0; j < 512; ++j)
                for (int i = 0; i < 512; ++i) {
                    const double x = (i - 256) / 200.0, y = (j - 256) / 150.0;
                    const double xs = (i - 256) / 20.0, ys = (j - 300) / 20.0;
                    const bool body = x * x + y * y < 1.0;
                    const bool hole = xs * xs + ys * ys < 1.0 && (k / 30) % 2 == 0;
                    m.at(i, j, static_cast<int>(k)) = body && !hole ? 1 : 0;
                }
    });
    const auto t0 = std::chrono::steady_clock::now();
    auto f = anatomy::signedDistanceField(m);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    RecordProperty("seconds", std::to_string(s));
    RecordProperty("workers", std::to_string(workerCount()));
    std::cout << "[ timing ] 512x512x600 signed EDT: " << s << " s on " << workerCount()
              << " workers\n";
    EXPECT_LT(s, 30.0);
    // Nearest outside voxel of (256,256,300): the hole's edge at j = 281.
    EXPECT_NEAR(f.atVoxel(256, 256, 300), -(25 * 0.78 - 0.39), 1e-3);
}

TEST(DistanceField, TallVolumeBeyond16BitSlicesIsExact) {
    // More slices than the transform's compact 16-bit z codes hold: the 32-bit path.
    model::ImageGeometry g;
    g.dims = {3, 2, 33000};
    g.spacingMm = {0.5, 0.7, 0.25};
    Mask m(g);
    const std::array<int, 3> insideK{5, 20000, 32990};
    for (int k : insideK)
        m.at(1, 1, k) = 1;
    const auto f = anatomy::signedDistanceField(m);
    const std::vector<float> d2 = anatomy::squaredDistanceToMaskMm2(m);
    for (int k = 0; k < g.dims[2]; k += 7)
        for (int j = 0; j < 2; ++j)
            for (int i = 0; i < 3; ++i) {
                double best = std::numeric_limits<double>::infinity();
                for (int c : insideK) {
                    const glm::dvec3 d = glm::dvec3(i - 1, j - 1, k - c) * g.spacingMm;
                    best = std::min(best, glm::dot(d, d));
                }
                ASSERT_NEAR(d2[g.linearIndex(i, j, k)], best, 1e-5 * std::max(1.0, best)) << k;
                if (m.at(i, j, k)) continue;
                ASSERT_NEAR(f.atVoxel(i, j, k), std::sqrt(best) - 0.125, 1e-4 * std::max(1.0, best))
                    << k;
            }
    // Inside voxels: the nearest outside voxel is a face neighbour along z (0.25 mm), minus h.
    EXPECT_NEAR(f.atVoxel(1, 1, 20000), -(0.25 - 0.125), 1e-6);
}

TEST(DistanceField, CancelledTransformIsEmpty) {
    Mask m = randomMask({40, 30, 20}, glm::dvec3(1.0), 0.1, 7);
    CancelToken cancel;
    cancel.cancel();
    const Progress progress([](double, std::string_view) {}, &cancel);
    EXPECT_TRUE(anatomy::signedDistanceField(m, progress).empty());
    EXPECT_TRUE(anatomy::squaredDistanceToMaskMm2(m, progress).empty());
}
