#include "anatomy/MeshSmoothing.h"

#include "MeshShapes.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>

using namespace precis;

namespace {

const glm::dvec3 kCenter(12.0, -40.0, 300.0);
constexpr double kRadius = 20.0;

double rmsRadialError(const model::Mesh& m, glm::dvec3 c, double r) {
    double s = 0;
    for (const auto& p : m.positions) {
        const double e = glm::length(glm::dvec3(p) - c) - r;
        s += e * e;
    }
    return std::sqrt(s / static_cast<double>(m.positions.size()));
}

model::Mesh noisySphere(std::uint32_t seed) {
    model::Mesh m = test::icoSphere(kCenter, kRadius, 5);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> noise(-0.5, 0.5);
    for (auto& p : m.positions) {
        const glm::dvec3 d = glm::dvec3(p) - kCenter;
        p = glm::vec3(kCenter + d * (1.0 + noise(rng) / kRadius));
    }
    return m;
}

} // namespace

TEST(MeshSmoothing, AdjacencyOfClosedAndOpenMeshes) {
    const model::Mesh box = test::box({0, 0, 0}, {1, 1, 1});
    const auto adj = anatomy::buildVertexAdjacency(box);
    ASSERT_EQ(adj.vertexCount(), 8u);
    for (std::size_t v = 0; v < 8; ++v) {
        EXPECT_EQ(adj.boundary[v], 0);
        const auto degree = adj.offsets[v + 1] - adj.offsets[v];
        EXPECT_TRUE(degree == 4 || degree == 5 || degree == 6) << degree;
    }
    model::Mesh open = box;
    open.indices.resize(open.indices.size() - 6); // drop the +z face: its 4 corners are border
    const auto openAdj = anatomy::buildVertexAdjacency(open);
    int border = 0;
    for (auto b : openAdj.boundary) border += b == 1;
    EXPECT_EQ(border, 4);
}

TEST(MeshSmoothing, NoisySphereGetsCloserToTheSphereAndKeepsItsVolume) {
    model::Mesh mesh = noisySphere(11);
    const double trueVolume = 4.0 / 3.0 * std::numbers::pi * std::pow(kRadius, 3);
    const double before = rmsRadialError(mesh, kCenter, kRadius);
    const double volumeBefore = mesh.signedVolumeMm3();
    mesh.computeNormals();
    ASSERT_TRUE(anatomy::smoothWindowedSinc(mesh, {.iterations = 20, .passBand = 0.1}).has_value());
    const double after = rmsRadialError(mesh, kCenter, kRadius);
    const double volumeAfter = mesh.signedVolumeMm3();
    std::printf("[smoothing] rms radial error %.4f -> %.4f mm; volume %.1f -> %.1f mm^3 (true "
                "%.1f)\n",
                before, after, volumeBefore, volumeAfter, trueVolume);
    EXPECT_LT(after, before / 4);
    EXPECT_NEAR(volumeAfter / trueVolume, 1.0, 0.01);
    EXPECT_NEAR(volumeAfter / volumeBefore, 1.0, 0.01);
    EXPECT_TRUE(mesh.isClosedManifold());
    EXPECT_EQ(mesh.normals.size(), mesh.positions.size());
}

TEST(MeshSmoothing, WindowedSincDoesNotShrinkWherePlainLaplacianDoes) {
    model::Mesh sinc = noisySphere(5), laplace = sinc;
    const double volume = sinc.signedVolumeMm3();
    ASSERT_TRUE(anatomy::smoothWindowedSinc(sinc, {.iterations = 30, .passBand = 0.05}).has_value());
    ASSERT_TRUE(anatomy::smoothLaplacian(laplace, 30, 0.5).has_value());
    const double sincLoss = 1.0 - sinc.signedVolumeMm3() / volume;
    const double laplaceLoss = 1.0 - laplace.signedVolumeMm3() / volume;
    std::printf("[smoothing] volume loss: windowed sinc %.3f%%, Laplacian %.3f%%\n",
                100 * sincLoss, 100 * laplaceLoss);
    EXPECT_LT(std::abs(sincLoss), 0.01);
    EXPECT_GT(laplaceLoss, 5 * std::abs(sincLoss));
    EXPECT_GT(laplaceLoss, 0.01);
    // Both smooth; the Laplacian result sits inside the sphere, the sinc result on it.
    double meanSinc = 0, meanLaplace = 0;
    for (const auto& p : sinc.positions) meanSinc += glm::length(glm::dvec3(p) - kCenter);
    for (const auto& p : laplace.positions) meanLaplace += glm::length(glm::dvec3(p) - kCenter);
    meanSinc /= static_cast<double>(sinc.positions.size());
    meanLaplace /= static_cast<double>(laplace.positions.size());
    EXPECT_NEAR(meanSinc, kRadius, 0.1);
    EXPECT_LT(meanLaplace, kRadius - 0.1);
}

TEST(MeshSmoothing, BorderVerticesStayUnlessAsked) {
    // Open hemisphere-ish cap: drop every triangle whose centroid is below the centre.
    const model::Mesh sphere = noisySphere(3);
    model::Mesh cap;
    cap.positions = sphere.positions;
    for (std::size_t t = 0; t < sphere.triangleCount(); ++t) {
        glm::dvec3 c(0.0);
        for (int k = 0; k < 3; ++k) c += glm::dvec3(sphere.positions[sphere.indices[3 * t + k]]);
        if (c.z / 3 > kCenter.z)
            cap.indices.insert(cap.indices.end(), sphere.indices.begin() + 3 * t,
                               sphere.indices.begin() + 3 * t + 3);
    }
    const auto adj = anatomy::buildVertexAdjacency(cap);
    model::Mesh fixed = cap, moving = cap;
    ASSERT_TRUE(anatomy::smoothWindowedSinc(fixed, adj, {}).has_value());
    ASSERT_TRUE(anatomy::smoothWindowedSinc(moving, adj, {.smoothBoundary = true}).has_value());
    int borders = 0, borderMoved = 0, interiorMoved = 0;
    for (std::size_t v = 0; v < cap.positions.size(); ++v) {
        if (adj.offsets[v + 1] == adj.offsets[v]) continue; // unused vertex
        if (adj.boundary[v] == 1) {
            ++borders;
            EXPECT_EQ(fixed.positions[v], cap.positions[v]);
            borderMoved += moving.positions[v] != cap.positions[v];
        } else {
            interiorMoved += fixed.positions[v] != cap.positions[v];
        }
    }
    EXPECT_GT(borders, 20);
    EXPECT_GT(borderMoved, borders / 2);
    EXPECT_GT(interiorMoved, 100);
}

TEST(MeshSmoothing, RejectsBadOptionsAndHonoursCancel) {
    model::Mesh mesh = noisySphere(1);
    const model::Mesh original = mesh;
    auto r = anatomy::smoothWindowedSinc(mesh, {.iterations = 0});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    EXPECT_FALSE(r.error().message.empty());
    r = anatomy::smoothWindowedSinc(mesh, {.passBand = 2.5});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    CancelToken cancel;
    cancel.cancel();
    r = anatomy::smoothWindowedSinc(mesh, {}, Progress({}, &cancel));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::Cancelled);
    EXPECT_EQ(mesh.positions, original.positions);
}

TEST(MeshSmoothing, TimingPrintout) {
    model::Mesh mesh = test::uvSphere(kCenter, 40.0, 1001, 1000); // 1,000,002 vertices
    auto t0 = std::chrono::steady_clock::now();
    const auto adj = anatomy::buildVertexAdjacency(mesh);
    auto t1 = std::chrono::steady_clock::now();
    ASSERT_TRUE(anatomy::smoothWindowedSinc(mesh, adj, {.iterations = 20, .recomputeNormals = false})
                    .has_value());
    auto t2 = std::chrono::steady_clock::now();
    const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    std::printf("[timing] windowed sinc on %zu vertices: adjacency %.1f ms, 20 passes %.1f ms\n",
                mesh.positions.size(), ms(t1 - t0), ms(t2 - t1));
}
