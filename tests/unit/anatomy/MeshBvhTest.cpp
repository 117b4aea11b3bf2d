#include "anatomy/MeshBvh.h"

#include "MeshShapes.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>

using namespace precis;
using anatomy::MeshBvh;

namespace {

const glm::dvec3 kCenter(12.0, -40.0, 300.0); // far from the origin, like real LPS coordinates

model::Mesh unitBoxAt(glm::dvec3 lo, glm::dvec3 hi) { return test::box(lo, hi); }

} // namespace

TEST(MeshBvh, BoxClosestPointAndSignedDistance) {
    const glm::dvec3 lo = kCenter - glm::dvec3(10, 20, 5), hi = kCenter + glm::dvec3(10, 20, 5);
    const model::Mesh mesh = unitBoxAt(lo, hi);
    ASSERT_GT(mesh.signedVolumeMm3(), 0);
    const MeshBvh bvh(mesh);
    ASSERT_TRUE(bvh.closed());
    // Outside a face.
    auto c = bvh.closestPoint(kCenter + glm::dvec3(13, 1, 2));
    EXPECT_NEAR(c.distanceMm, 3.0, 1e-12);
    EXPECT_NEAR(glm::length(c.pointLps - (kCenter + glm::dvec3(10, 1, 2))), 0.0, 1e-12);
    EXPECT_NE(c.triangle, anatomy::kNoTriangle);
    // Outside a corner: closest feature is the vertex.
    EXPECT_NEAR(bvh.signedDistanceMm(hi + glm::dvec3(1, 2, 2)), 3.0, 1e-12);
    // Outside an edge.
    EXPECT_NEAR(bvh.signedDistanceMm(glm::dvec3(hi.x + 3, kCenter.y, hi.z + 4)), 5.0, 1e-12);
    // Inside: nearest face is z (5 mm half-size), 1 mm from the centre → 4 mm deep.
    EXPECT_NEAR(bvh.signedDistanceMm(kCenter + glm::dvec3(0, 0, 1)), -4.0, 1e-12);
    // Inside near a corner, equidistant to three faces (sign must still be negative).
    EXPECT_NEAR(bvh.signedDistanceMm(hi - glm::dvec3(1, 1, 1)), -1.0, 1e-12);
    // Outside a diagonal of a face quad (the closest point lies on a shared edge).
    EXPECT_NEAR(bvh.signedDistanceMm(kCenter + glm::dvec3(0, 0, 7)), 2.0, 1e-12);
    // maxDistance prunes everything.
    EXPECT_EQ(bvh.closestPoint(kCenter + glm::dvec3(0, 0, 100), 10.0).triangle,
              anatomy::kNoTriangle);
}

TEST(MeshBvh, SphereSignedDistance) {
    const double r = 20.0;
    const model::Mesh mesh = test::icoSphere(kCenter, r, 5);
    const MeshBvh bvh(mesh);
    ASSERT_TRUE(bvh.closed());
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> u(-1, 1);
    for (int i = 0; i < 500; ++i) {
        glm::dvec3 dir(u(rng), u(rng), u(rng));
        if (glm::length(dir) < 1e-3) continue;
        dir = glm::normalize(dir);
        const double rho = 40.0 * (u(rng) + 1) / 2; // 0..40 mm from the centre
        const double d = bvh.signedDistanceMm(kCenter + rho * dir);
        // The polyhedron lies inside the sphere by at most the sagitta (~0.03 mm at level 5).
        EXPECT_NEAR(d, rho - r, 0.05) << "rho " << rho;
        if (std::abs(rho - r) > 0.05) {
            EXPECT_EQ(d < 0, rho < r) << "rho " << rho;
        }
    }
}

TEST(MeshBvh, SegmentCrossesBoxAtKnownDepths) {
    const glm::dvec3 lo = kCenter - glm::dvec3(10, 20, 5), hi = kCenter + glm::dvec3(10, 20, 5);
    const MeshBvh bvh(unitBoxAt(lo, hi));
    // Along x through the face centres: the face quads split along their diagonal, so the segment
    // meets two triangles at once on each face; each crossing must be reported once.
    const glm::dvec3 a = kCenter - glm::dvec3(30, 0, 0), b = kCenter + glm::dvec3(30, 0, 0);
    auto crossings = bvh.segmentCrossings(a, b);
    ASSERT_EQ(crossings.size(), 2u);
    EXPECT_NEAR(crossings[0].depthMm, 20.0, 1e-9);
    EXPECT_TRUE(crossings[0].entering);
    EXPECT_NEAR(crossings[1].depthMm, 40.0, 1e-9);
    EXPECT_FALSE(crossings[1].entering);
    // Oblique needle from outside ending inside: one entering crossing.
    const glm::dvec3 c = kCenter + glm::dvec3(0, 0, 25), d = kCenter + glm::dvec3(0, 3, 1);
    crossings = bvh.segmentCrossings(c, d);
    ASSERT_EQ(crossings.size(), 1u);
    EXPECT_TRUE(crossings[0].entering);
    const double depth = glm::length(d - c) * (20.0 / 24.0); // crosses z = +5 at 20/24 of the way
    EXPECT_NEAR(crossings[0].depthMm, depth, 1e-9);
    EXPECT_NEAR(crossings[0].pointLps.z, hi.z, 1e-9);
    // A segment that stops short crosses nothing.
    EXPECT_TRUE(bvh.segmentCrossings(a, a + glm::dvec3(19.9, 0, 0)).empty());
    // The closest approach of a crossing segment is 0 at the first crossing.
    const auto closest = bvh.closestToSegment(a, b);
    EXPECT_EQ(closest.distanceMm, 0.0);
    EXPECT_NEAR(closest.depthMm, 20.0, 1e-9);
}

TEST(MeshBvh, SphereCrossingsAtKnownDepths) {
    const double r = 20.0;
    const MeshBvh bvh(test::icoSphere(kCenter, r, 6));
    const glm::dvec3 dir = glm::normalize(glm::dvec3(0.3, -0.5, 0.8));
    const glm::dvec3 a = kCenter - 50.0 * dir, b = kCenter + 50.0 * dir;
    const auto hits = bvh.capsuleQuery(a, b, 0.5);
    ASSERT_EQ(hits.crossings.size(), 2u);
    EXPECT_NEAR(hits.crossings[0].depthMm, 30.0, 0.02);
    EXPECT_NEAR(hits.crossings[1].depthMm, 70.0, 0.02);
    EXPECT_TRUE(hits.crossings[0].entering);
    EXPECT_FALSE(hits.crossings[1].entering);
    EXPECT_FALSE(hits.triangles.empty());
    // A chord at 12 mm from the centre: crossings at 50 -/+ sqrt(r^2 - 12^2) = 50 -/+ 16.
    const glm::dvec3 off = glm::normalize(glm::cross(dir, glm::dvec3(1, 0, 0))) * 12.0;
    const auto chord = bvh.segmentCrossings(a + off, b + off);
    ASSERT_EQ(chord.size(), 2u);
    EXPECT_NEAR(chord[0].depthMm, 34.0, 0.05);
    EXPECT_NEAR(chord[1].depthMm, 66.0, 0.05);
}

TEST(MeshBvh, GrazingNeedleAtKnownClearance) {
    const glm::dvec3 lo = kCenter - glm::dvec3(10, 20, 5), hi = kCenter + glm::dvec3(10, 20, 5);
    const MeshBvh bvh(unitBoxAt(lo, hi));
    // Needle parallel to the +z face, 2 mm above it, running across the whole box in x.
    const glm::dvec3 a(lo.x - 15, kCenter.y + 3, hi.z + 2), b(hi.x + 15, kCenter.y + 3, hi.z + 2);
    const auto closest = bvh.closestToSegment(a, b);
    EXPECT_NEAR(closest.distanceMm, 2.0, 1e-12);
    EXPECT_NEAR(closest.onMeshLps.z, hi.z, 1e-12);
    EXPECT_NEAR(closest.onSegmentLps.z, hi.z + 2, 1e-12);
    EXPECT_TRUE(bvh.segmentCrossings(a, b).empty());
    EXPECT_TRUE(bvh.trianglesInCapsule(a, b, 1.99).empty());
    const auto touched = bvh.trianglesInCapsule(a, b, 2.01);
    // The two +z triangles, plus the side faces' triangles that share the top edges (the top
    // edges at x = lo.x and hi.x are 2 mm away too).
    EXPECT_GE(touched.size(), 2u);
    for (std::uint32_t t : touched) EXPECT_LT(t, 12u);
    // Sphere: a tangent line 3 mm outside.
    const double r = 20.0;
    const MeshBvh sphere(test::icoSphere(kCenter, r, 6));
    const glm::dvec3 p = kCenter + glm::dvec3(0, r + 3, 0);
    const auto s = sphere.closestToSegment(p - glm::dvec3(40, 0, 0), p + glm::dvec3(40, 0, 0));
    EXPECT_NEAR(s.distanceMm, 3.0, 0.02);
    EXPECT_NEAR(s.depthMm, 40.0, 0.5);
}

TEST(MeshBvh, MatchesBruteForceOnRandomQueries) {
    std::mt19937 rng(1234);
    std::uniform_real_distribution<double> u(0, 50), small(-4, 4);
    model::Mesh soup;
    for (int t = 0; t < 400; ++t) {
        const glm::dvec3 p(u(rng), u(rng), u(rng));
        for (int k = 0; k < 3; ++k) {
            soup.positions.emplace_back(p + glm::dvec3(small(rng), small(rng), small(rng)));
            soup.indices.push_back(static_cast<std::uint32_t>(soup.positions.size() - 1));
        }
    }
    const MeshBvh bvh(soup);
    std::vector<MeshBvh> single;
    for (std::size_t t = 0; t < soup.triangleCount(); ++t) {
        model::Mesh one;
        for (int k = 0; k < 3; ++k) one.positions.push_back(soup.positions[soup.indices[3 * t + k]]);
        one.indices = {0, 1, 2};
        single.emplace_back(one);
    }
    std::uniform_real_distribution<double> q(-10, 60);
    for (int i = 0; i < 200; ++i) {
        const glm::dvec3 p(q(rng), q(rng), q(rng));
        double best = INFINITY;
        for (const auto& s : single) best = std::min(best, s.closestPoint(p).distanceMm);
        const auto c = bvh.closestPoint(p);
        ASSERT_NEAR(c.distanceMm, best, 1e-9);
        ASSERT_NEAR(glm::length(c.pointLps - p), c.distanceMm, 1e-9);

        const glm::dvec3 a(q(rng), q(rng), q(rng)), b(q(rng), q(rng), q(rng));
        const double radius = 1.5;
        double bestSeg = INFINITY;
        std::vector<std::uint32_t> touched;
        std::size_t crossings = 0;
        for (std::uint32_t t = 0; t < single.size(); ++t) {
            const double d = single[t].closestToSegment(a, b).distanceMm;
            bestSeg = std::min(bestSeg, d);
            if (d <= radius) touched.push_back(t);
            crossings += single[t].segmentCrossings(a, b).size();
        }
        const auto seg = bvh.closestToSegment(a, b);
        ASSERT_NEAR(seg.distanceMm, bestSeg, 1e-9);
        ASSERT_NEAR(glm::length(seg.onMeshLps - seg.onSegmentLps), seg.distanceMm, 1e-9);
        ASSERT_EQ(bvh.trianglesInCapsule(a, b, radius), touched);
        ASSERT_EQ(bvh.segmentCrossings(a, b).size(), crossings);
    }
}

TEST(MeshBvh, EmptyMeshFindsNothing) {
    const MeshBvh bvh{model::Mesh{}};
    EXPECT_EQ(bvh.closestPoint({0, 0, 0}).triangle, anatomy::kNoTriangle);
    EXPECT_TRUE(bvh.segmentCrossings({0, 0, 0}, {1, 1, 1}).empty());
    EXPECT_TRUE(bvh.trianglesInCapsule({0, 0, 0}, {1, 1, 1}, 5).empty());
    EXPECT_FALSE(bvh.closed());
}

TEST(MeshBvh, TimingPrintout) {
    const model::Mesh mesh = test::uvSphere(kCenter, 40.0, 708, 708); // ~1 M triangles
    auto t0 = std::chrono::steady_clock::now();
    const MeshBvh bvh(mesh);
    auto t1 = std::chrono::steady_clock::now();
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> u(-60, 60), shell(30, 60), angle(-1, 1);
    double sum = 0;
    const int queries = 20000;
    // Points 10 mm inside to 20 mm outside the surface (near the centre of a sphere every
    // triangle is almost equally near, which no BVH prunes: not a planning case).
    for (int i = 0; i < queries; ++i) {
        glm::dvec3 dir(angle(rng), angle(rng), angle(rng));
        if (glm::length(dir) < 1e-6) continue;
        sum += bvh.closestPoint(kCenter + shell(rng) * glm::normalize(dir)).distanceMm;
    }
    auto t2 = std::chrono::steady_clock::now();
    for (int i = 0; i < 1000; ++i) {
        const glm::dvec3 a = kCenter + glm::dvec3(u(rng), u(rng), 70);
        sum += static_cast<double>(
            bvh.capsuleQuery(a, a - glm::dvec3(0, 0, 80), 1.0).triangles.size());
    }
    auto t3 = std::chrono::steady_clock::now();
    const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    std::printf("[timing] BVH over %zu triangles: build %.1f ms, %d closest-point queries %.1f ms, "
                "1000 capsule queries (80 mm from outside, r 1 mm) %.1f ms (checksum %.1f)\n",
                mesh.triangleCount(), ms(t1 - t0), queries, ms(t2 - t1), ms(t3 - t2), sum);
    EXPECT_GT(bvh.nodeCount(), 0u);
}
