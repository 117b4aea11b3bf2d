#include "anatomy/MeshDecimation.h"

#include "anatomy/IsoSurface.h"
#include "anatomy/MeshBvh.h"

#include "MeshShapes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

using namespace precis;

namespace {
const glm::dvec3 kCenter(12.0, -40.0, 300.0);

/// An icosphere with bumps, so that a result deviates from many input vertices by different
/// amounts.
model::Mesh bumpySphere(int level) {
    model::Mesh bumpy = test::icoSphere(kCenter, 30.0, level);
    for (auto& p : bumpy.positions) {
        const glm::dvec3 d = glm::dvec3(p) - kCenter;
        const double bump = 0.6 * std::sin(0.9 * d.x) * std::cos(0.7 * d.y) * std::sin(0.5 * d.z);
        p = glm::vec3(kCenter + d * (1.0 + bump / glm::length(d)));
    }
    return bumpy;
}

/// The largest distance from a vertex of `input` to `output`'s surface, by brute force.
double vertexHausdorffMm(const model::Mesh& input, const model::Mesh& output) {
    const anatomy::MeshBvh bvh(output);
    double worst = 0;
    for (const auto& p : input.positions)
        worst = std::max(worst, bvh.closestPoint(glm::dvec3(p)).distanceMm);
    return worst;
}
} // namespace

TEST(MeshDecimation, SphereTenTimesFewerTrianglesWithinTheStatedError) {
    const double r = 30.0, maxErrorMm = 0.25;
    const model::Mesh sphere = test::icoSphere(kCenter, r, 6); // 81,920 triangles
    auto result = anatomy::decimateMesh(sphere, {.targetRatio = 0.1, .maxErrorMm = maxErrorMm});
    ASSERT_TRUE(result.has_value()) << result.error().message;
    const auto& report = result->report;
    const model::Mesh& mesh = result->mesh;
    std::printf("[decimation] %zu -> %zu triangles, estimated %.4f mm, measured %.4f mm\n",
                report.trianglesBefore, report.trianglesAfter, report.estimatedErrorMm,
                report.measuredErrorMm);
    EXPECT_TRUE(report.reachedTarget);
    EXPECT_LE(mesh.triangleCount(), sphere.triangleCount() / 10);
    EXPECT_GT(mesh.triangleCount(), sphere.triangleCount() / 12);
    EXPECT_TRUE(report.closedBefore);
    EXPECT_TRUE(report.closedAfter);
    EXPECT_TRUE(mesh.isClosedManifold());
    EXPECT_EQ(mesh.normals.size(), mesh.positions.size());
    EXPECT_NEAR(mesh.signedVolumeMm3() / sphere.signedVolumeMm3(), 1.0, 0.02);
    EXPECT_LE(report.measuredErrorMm, maxErrorMm);
    EXPECT_LE(report.estimatedErrorMm, maxErrorMm);
    // Distance to the true sphere, over points spread on every output triangle, and from points
    // on the true sphere to the output surface.
    double worst = 0;
    for (std::size_t t = 0; t < mesh.triangleCount(); ++t) {
        const glm::dvec3 a = mesh.positions[mesh.indices[3 * t]],
                         b = mesh.positions[mesh.indices[3 * t + 1]],
                         c = mesh.positions[mesh.indices[3 * t + 2]];
        for (double u = 0; u <= 1.0; u += 0.125)
            for (double v = 0; u + v <= 1.0; v += 0.125) {
                const glm::dvec3 p = a + u * (b - a) + v * (c - a);
                worst = std::max(worst, std::abs(glm::length(p - kCenter) - r));
            }
    }
    const anatomy::MeshBvh bvh(mesh);
    for (const auto& p : sphere.positions)
        worst = std::max(worst, bvh.closestPoint(glm::dvec3(p)).distanceMm);
    std::printf("[decimation] max distance to the sphere %.4f mm (bound %.2f)\n", worst,
                maxErrorMm);
    EXPECT_LE(worst, maxErrorMm);
}

TEST(MeshDecimation, ErrorBoundStopsBeforeTheTarget) {
    const model::Mesh sphere = test::icoSphere(kCenter, 30.0, 5);
    auto result = anatomy::decimateMesh(sphere, {.targetRatio = 0.01, .maxErrorMm = 0.02});
    ASSERT_TRUE(result.has_value());
    std::printf("[decimation] bound 0.02 mm: %zu -> %zu triangles in %d attempts, estimated "
                "%.4f mm, measured %.4f mm\n",
                result->report.trianglesBefore, result->report.trianglesAfter,
                result->report.attempts, result->report.estimatedErrorMm,
                result->report.measuredErrorMm);
    EXPECT_FALSE(result->report.reachedTarget);
    EXPECT_GT(result->mesh.triangleCount(), result->report.targetTriangles);
    EXPECT_LE(result->report.measuredErrorMm, 0.02);
    EXPECT_TRUE(result->mesh.isClosedManifold());
}

TEST(MeshDecimation, SplitSeamsAreWeldedFirst) {
    // Every triangle with its own three vertices (as STL gives them).
    const model::Mesh sphere = test::icoSphere(kCenter, 30.0, 4);
    model::Mesh split;
    for (std::uint32_t i : sphere.indices) {
        split.positions.push_back(sphere.positions[i]);
        split.indices.push_back(static_cast<std::uint32_t>(split.positions.size() - 1));
    }
    auto result = anatomy::decimateMesh(split, {.targetRatio = 0.25, .maxErrorMm = 1.0});
    ASSERT_TRUE(result.has_value());
    EXPECT_TRUE(result->report.reachedTarget);
    EXPECT_TRUE(result->mesh.isClosedManifold());
    EXPECT_EQ(result->report.verticesBefore, split.positions.size());
}

TEST(MeshDecimation, RejectsBadArguments) {
    const model::Mesh sphere = test::icoSphere(kCenter, 30.0, 2);
    for (const auto& options : {anatomy::DecimationOptions{.targetRatio = 0.0},
                                anatomy::DecimationOptions{.targetRatio = 1.5},
                                anatomy::DecimationOptions{.maxErrorMm = 0.0}}) {
        auto r = anatomy::decimateMesh(sphere, options);
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
        EXPECT_FALSE(r.error().message.empty());
    }
    EXPECT_FALSE(anatomy::decimateMesh(model::Mesh{}).has_value());
}

TEST(MeshDecimation, TimingPrintout) {
    const model::Mesh mesh = test::uvSphere(kCenter, 40.0, 1000, 1000); // 1,998,000 triangles
    const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    auto t0 = std::chrono::steady_clock::now();
    auto fast = anatomy::decimateMesh(
        mesh, {.targetTriangleCount = 200000, .maxErrorMm = 0.5, .measureError = false});
    auto t1 = std::chrono::steady_clock::now();
    auto measured = anatomy::decimateMesh(mesh, {.targetTriangleCount = 200000, .maxErrorMm = 0.5});
    auto t2 = std::chrono::steady_clock::now();
    ASSERT_TRUE(fast.has_value());
    ASSERT_TRUE(measured.has_value());
    // 2 M triangles take the split path (pieces simplified in parallel, seams kept): the target
    // is met, the measured error is within the bound, and the result is closed (the pieces at the
    // poles pinch and are redone, see PinchedPiecesAreRedoneAndTheResultStaysClosed).
    EXPECT_TRUE(fast->report.reachedTarget);
    EXPECT_TRUE(fast->report.closedAfter);
    EXPECT_TRUE(measured->report.closedAfter);
    EXPECT_LE(measured->report.measuredErrorMm, 0.5);
    std::printf("[timing] decimation %zu -> %zu triangles: %.0f ms (%.0f ms with the measured "
                "error %.4f mm, of which measuring %.0f ms; estimate %.4f mm)\n",
                mesh.triangleCount(), fast->mesh.triangleCount(), ms(t1 - t0), ms(t2 - t1),
                measured->report.measuredErrorMm, 1e3 * measured->report.measureSeconds,
                measured->report.estimatedErrorMm);
}

TEST(MeshDecimation, MeasuredErrorIsTheExactVertexHausdorffDistance) {
    const model::Mesh bumpy = bumpySphere(5);
    for (double maxErrorMm : {0.1, 0.3, 1.0}) {
        auto result = anatomy::decimateMesh(bumpy, {.targetRatio = 0.05, .maxErrorMm = maxErrorMm});
        ASSERT_TRUE(result.has_value());
        const double worst = vertexHausdorffMm(bumpy, result->mesh);
        std::printf("[decimation] bumpy, bound %.1f mm: %zu -> %zu triangles in %d attempts, "
                    "measured %.4f mm, brute force %.4f mm\n",
                    maxErrorMm, result->report.trianglesBefore, result->report.trianglesAfter,
                    result->report.attempts, result->report.measuredErrorMm, worst);
        EXPECT_NEAR(result->report.measuredErrorMm, worst, 1e-6);
        EXPECT_LE(result->report.measuredErrorMm, maxErrorMm);
    }
}

TEST(MeshDecimation, PiecesMeasuredErrorNeverUnderReports) {
    // 327,680 triangles: simplified in 8 pieces, each measured against its own result and the
    // seam triangles around it. That is part of the output, so the error can only come out
    // larger than the brute-force distance to the whole output, never smaller.
    const model::Mesh bumpy = bumpySphere(7);
    for (double maxErrorMm : {0.1, 0.3}) {
        auto result = anatomy::decimateMesh(bumpy, {.targetRatio = 0.05, .maxErrorMm = maxErrorMm});
        ASSERT_TRUE(result.has_value());
        const auto& report = result->report;
        const double worst = vertexHausdorffMm(bumpy, result->mesh);
        std::printf("[decimation] bumpy in pieces, bound %.1f mm: %zu -> %zu triangles, at most "
                    "%d attempts, measured %.4f mm (%.0f ms), brute force %.4f mm\n",
                    maxErrorMm, report.trianglesBefore, report.trianglesAfter, report.attempts,
                    report.measuredErrorMm, 1e3 * report.measureSeconds, worst);
        EXPECT_GE(report.measuredErrorMm, worst - 1e-9);
        EXPECT_LE(report.measuredErrorMm, maxErrorMm);
        EXPECT_LE(worst, maxErrorMm);
        EXPECT_GT(report.measureSeconds, 0.0);
        EXPECT_TRUE(report.closedAfter);
        EXPECT_TRUE(result->mesh.isClosedManifold());
    }
}

TEST(MeshDecimation, PinchedPiecesAreRedoneAndTheResultStaysClosed) {
    // meshoptimizer does not check the link condition: at a UV sphere's poles it pinches the
    // thin fans into edges shared by four triangles. Such a piece is redone with that place
    // locked, so the result stays a closed manifold and still meets the target.
    const model::Mesh mesh = test::uvSphere(kCenter, 40.0, 400, 400); // 319,200 triangles
    auto result =
        anatomy::decimateMesh(mesh, {.targetRatio = 0.1, .maxErrorMm = 0.5, .measureError = false});
    ASSERT_TRUE(result.has_value());
    const auto& report = result->report;
    std::printf("[decimation] UV sphere: %zu -> %zu triangles, at most %d attempts per piece\n",
                report.trianglesBefore, report.trianglesAfter, report.attempts);
    EXPECT_TRUE(report.closedBefore);
    EXPECT_TRUE(report.closedAfter);
    EXPECT_TRUE(result->mesh.isClosedManifold());
    EXPECT_TRUE(report.reachedTarget);
    EXPECT_GT(result->mesh.triangleCount(), report.targetTriangles * 9 / 10);
}

TEST(MeshDecimation, ClosednessIsJudgedAsTheMeshDoes) {
    // Large enough for the multithreaded half-edge build; closedBefore must agree with
    // model::Mesh::isClosedManifold for an intact sphere and for each kind of defect.
    const model::Mesh sphere = test::icoSphere(kCenter, 30.0, 7);
    std::vector<model::Mesh> meshes(4, sphere);
    meshes[1].indices.resize(meshes[1].indices.size() - 3);          // a hole
    std::swap(meshes[2].indices[300001], meshes[2].indices[300002]); // a flipped triangle
    meshes[3].indices.insert(meshes[3].indices.end(), sphere.indices.begin() + 600000,
                             sphere.indices.begin() + 600003); // a duplicate
    for (const model::Mesh& m : meshes) {
        auto result = anatomy::decimateMesh(m, {.targetRatio = 1.0, .measureError = false});
        ASSERT_TRUE(result.has_value());
        EXPECT_EQ(result->report.closedBefore, m.isClosedManifold());
    }
    EXPECT_TRUE(sphere.isClosedManifold());
}

TEST(MeshDecimation, ZeroLengthEdgesOfMarchingCubesAreCollapsedFirst) {
    // A sphere in integer voxel values (tenths of a millimetre of signed distance), as CT is in
    // HU: voxels exactly at the iso value give marching-cubes vertices that coincide, joined by
    // zero-length edges. meshoptimizer would take them for texture seams and barely simplify
    // around them; they are collapsed first, and the mesh stays closed.
    model::ImageGeometry g;
    g.dims = {64, 64, 64};
    g.spacingMm = {1.0, 1.0, 1.0};
    g.originMm = kCenter - glm::dvec3(31.5);
    model::Volume volume(g);
    for (int k = 0; k < 64; ++k)
        for (int j = 0; j < 64; ++j)
            for (int i = 0; i < 64; ++i)
                volume.at(i, j, k) = static_cast<std::int16_t>(std::lround(
                    10.0 * (25.0 - glm::length(g.worldFromIndex({i, j, k}) - kCenter))));
    const model::Mesh surface = anatomy::extractIsoSurface(volume, 0.0, {.computeNormals = false});
    std::size_t zeroEdges = 0;
    for (std::size_t i = 0; i < surface.indices.size(); ++i) {
        const std::uint32_t u = surface.indices[i],
                            v = surface.indices[i - i % 3 + (i % 3 + 1) % 3];
        zeroEdges += u != v && surface.positions[u] == surface.positions[v] ? 1 : 0;
    }
    ASSERT_GT(zeroEdges, 0u);
    ASSERT_TRUE(surface.isClosedManifold());
    auto result = anatomy::decimateMesh(surface, {.targetRatio = 0.1, .maxErrorMm = 0.5});
    ASSERT_TRUE(result.has_value());
    const auto& report = result->report;
    std::printf("[decimation] integer-valued sphere, %zu zero-length edges: %zu -> %zu triangles, "
                "measured %.4f mm\n",
                zeroEdges, report.trianglesBefore, report.trianglesAfter, report.measuredErrorMm);
    EXPECT_TRUE(report.reachedTarget);
    EXPECT_TRUE(report.closedAfter);
    EXPECT_TRUE(result->mesh.isClosedManifold());
    EXPECT_LE(report.measuredErrorMm, 0.5);
    EXPECT_NEAR(report.measuredErrorMm, vertexHausdorffMm(surface, result->mesh), 1e-6);
}
