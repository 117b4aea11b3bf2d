// Label-surface meshes of the lumbar phantom against its exact truth: enclosed volumes against
// the label volumes, and a vertebra's mesh against the analytic surface it was sampled from
// (symmetric Hausdorff distance).
#include "anatomy/IsoSurface.h"
#include "anatomy/MeshBvh.h"
#include "core/Assert.h"
#include "core/Parallel.h"
#include "phantom/LumbarModel.h"
#include "phantom/LumbarPhantom.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <iostream>
#include <random>
#include <string>
#include <vector>

using namespace precis;

namespace {

const phantom::Phantom& defaultPhantom() {
    static const phantom::Phantom p = [] {
        auto r = phantom::makeLumbarPhantom({});
        PRECIS_ASSERT(r.has_value(), "phantom generation failed");
        return std::move(*r);
    }();
    return p;
}

/// Tolerance on |mesh volume / label volume - 1|, every structure (the 2 %).
///
/// The plain surface through the midpoints between voxel centres cuts every convex voxel corner:
/// on nerve roots and ganglia (2-3 voxels across) it loses 2-5 % of the label's volume, on medial
/// branches (chains of single voxels) about 25 %. Label surfaces are extracted with
/// IsoSurfaceOptions::preserveLabelVolume (the default), which moves each component along its
/// normals to enclose its voxels' volume; the plain figure is printed beside it.
constexpr double kVolumeTolerance = 0.02;

struct Box {
    std::array<int, 3> lo{INT_MAX, INT_MAX, INT_MAX}, hi{-1, -1, -1};
};

/// Index box of every label value, in one pass.
std::array<Box, 256> labelBoxes(const model::LabelMap& labels) {
    const auto& g = labels.geometry;
    std::array<Box, 256> boxes{};
    for (int k = 0; k < g.dims[2]; ++k)
        for (int j = 0; j < g.dims[1]; ++j)
            for (int i = 0; i < g.dims[0]; ++i) {
                Box& b = boxes[labels.at(i, j, k)];
                b.lo = {std::min(b.lo[0], i), std::min(b.lo[1], j), std::min(b.lo[2], k)};
                b.hi = {std::max(b.hi[0], i), std::max(b.hi[1], j), std::max(b.hi[2], k)};
            }
    return boxes;
}

/// The label map cut to `box` plus one voxel (clamped to the grid), so extraction only visits
/// that box. The surface is the same: the margin is outside the label, and where the label
/// touches the grid border the cut is the grid border.
model::LabelMap crop(const model::LabelMap& labels, Box box) {
    const auto& g = labels.geometry;
    model::ImageGeometry c = g;
    for (int a = 0; a < 3; ++a) {
        box.lo[a] = std::max(0, box.lo[a] - 1);
        box.hi[a] = std::min(g.dims[a] - 1, box.hi[a] + 1);
        c.dims[a] = box.hi[a] - box.lo[a] + 1;
    }
    c.originMm = g.worldFromIndex(glm::dvec3(box.lo[0], box.lo[1], box.lo[2]));
    model::LabelMap out(c);
    for (int k = 0; k < c.dims[2]; ++k)
        for (int j = 0; j < c.dims[1]; ++j)
            for (int i = 0; i < c.dims[0]; ++i)
                out.at(i, j, k) = labels.at(box.lo[0] + i, box.lo[1] + j, box.lo[2] + k);
    return out;
}

} // namespace

TEST(PhantomMeshAccuracy, LabelSurfaceVolumesMatchLabelVolumes) {
    const auto& ph = defaultPhantom();
    const auto& g = ph.labels.geometry;
    const double voxelMm3 = g.spacingMm.x * g.spacingMm.y * g.spacingMm.z;
    std::array<std::size_t, 256> counts{};
    for (std::uint8_t l : ph.labels.voxels) ++counts[l];
    const auto boxes = labelBoxes(ph.labels);
    int checked = 0, within2 = 0;
    for (const auto& s : ph.truth.structures) {
        const std::size_t n = counts[s.label];
        if (n == 0) continue;
        const model::LabelMap cropped = crop(ph.labels, boxes[s.label]);
        model::Mesh mesh =
            anatomy::extractLabelSurface(cropped, s.label, {.computeNormals = false});
        const double plainMm3 =
            anatomy::extractLabelSurface(cropped, s.label,
                                         {.computeNormals = false, .preserveLabelVolume = false})
                .signedVolumeMm3();
        ASSERT_FALSE(mesh.empty()) << s.name;
        EXPECT_TRUE(mesh.isClosedManifold()) << s.name;
        const double labelMm3 = static_cast<double>(n) * voxelMm3;
        const double meshMm3 = mesh.signedVolumeMm3();
        const double rel = meshMm3 / labelMm3 - 1.0;
        // Mean thickness in voxels: 2 V / A for a slab, in units of the mean spacing.
        const double meanSpacing = (g.spacingMm.x + g.spacingMm.y + g.spacingMm.z) / 3.0;
        const double thickness = 2.0 * labelMm3 / mesh.areaMm2() / meanSpacing;
        std::cout << "[ volume ] " << s.name << ": label " << labelMm3 / 1000.0 << " ml, mesh "
                  << meshMm3 / 1000.0 << " ml, " << 100.0 * rel << " % (plain surface "
                  << 100.0 * (plainMm3 / labelMm3 - 1.0) << " %), thickness " << thickness
                  << " voxels\n";
        EXPECT_LT(std::abs(rel), kVolumeTolerance)
            << s.name << " thickness " << thickness << " voxels";
        ++checked;
        within2 += std::abs(rel) < 0.02;
    }
    std::cout << "[ volume ] " << within2 << " of " << checked << " structures within 2 %\n";
    EXPECT_GE(checked, 40);
}

TEST(PhantomMeshAccuracy, VertebraMeshWithinOneVoxelOfAnalyticSurface) {
    const auto& ph = defaultPhantom();
    const phantom::LumbarModel model;
    const auto& g = ph.labels.geometry;
    const double bound =
        std::max({g.spacingMm.x, g.spacingMm.y, g.spacingMm.z}); // one voxel: 1.0 mm
    for (std::uint8_t level : {phantom::label::kL3, phantom::label::kL4}) {
        model::Mesh mesh = anatomy::extractLabelSurface(ph.labels, level, {.computeNormals = false});
        ASSERT_FALSE(mesh.empty());
        ASSERT_TRUE(mesh.isClosedManifold());

        // Where a vertebra of higher label priority (the one above) overlaps this one's shape,
        // the voxels are its: the label surface there follows the other vertebra, by design of
        // the phantom. Points within 1.5 mm of a higher-priority vertebra are left out (counted).
        auto inContact = [&](const glm::dvec3& p) {
            for (std::uint8_t other = phantom::label::kL2; other < level; ++other)
                if (model.signedDistanceMm(other, p) < 1.5) return true;
            return false;
        };
        // Mesh → analytic: every vertex's distance to the analytic surface.
        double meshToTruth = 0.0;
        std::size_t verticesInContact = 0;
        glm::dvec3 worst(0.0);
        for (const glm::vec3& p : mesh.positions) {
            if (inContact(p)) {
                ++verticesInContact;
                continue;
            }
            const double d = std::abs(model.signedDistanceMm(level, p));
            if (d > meshToTruth) {
                meshToTruth = d;
                worst = p;
            }
        }

        // Analytic → mesh: points projected onto the zero level set (Newton steps along the
        // numerical gradient), then the exact closest point on the mesh.
        const auto b = mesh.bounds();
        std::mt19937_64 rng(42);
        std::uniform_real_distribution<double> ux(b.minMm.x - 2, b.maxMm.x + 2),
            uy(b.minMm.y - 2, b.maxMm.y + 2), uz(b.minMm.z - 2, b.maxMm.z + 2);
        auto sdf = [&](const glm::dvec3& p) { return model.signedDistanceMm(level, p); };
        std::vector<glm::dvec3> samples;
        for (int tries = 0; tries < 400000 && samples.size() < 20000; ++tries) {
            glm::dvec3 p(ux(rng), uy(rng), uz(rng));
            double d = sdf(p);
            if (std::abs(d) > 3.0) continue;
            for (int it = 0; it < 8 && std::abs(d) > 1e-4; ++it) {
                constexpr double h = 1e-3;
                glm::dvec3 grad(sdf(p + glm::dvec3(h, 0, 0)) - sdf(p - glm::dvec3(h, 0, 0)),
                                sdf(p + glm::dvec3(0, h, 0)) - sdf(p - glm::dvec3(0, h, 0)),
                                sdf(p + glm::dvec3(0, 0, h)) - sdf(p - glm::dvec3(0, 0, h)));
                grad /= 2 * h;
                const double g2 = glm::dot(grad, grad);
                if (g2 < 1e-12) break;
                p -= d * grad / g2;
                d = sdf(p);
            }
            // On the surface and inside the scan (the grid cuts nothing of L3/L4, but be sure).
            if (std::abs(d) < 1e-3 && !inContact(p)) samples.push_back(p);
        }
        ASSERT_GT(samples.size(), 5000u);
        const anatomy::MeshBvh bvh(mesh);
        std::vector<double> dist(samples.size());
        parallelFor(0, samples.size(), [&](std::size_t lo, std::size_t hi) {
            for (std::size_t i = lo; i < hi; ++i) dist[i] = bvh.closestPoint(samples[i]).distanceMm;
        });
        const double truthToMesh = *std::max_element(dist.begin(), dist.end());
        const std::string name(phantom::levelName(level - phantom::label::kL2));
        std::cout << "[ hausdorff ] " << name << ": " << mesh.positions.size()
                  << " vertices (" << verticesInContact << " in contact with the vertebra above"
                  << "), max |sdf| at vertices " << meshToTruth << " mm at (" << worst.x << ", "
                  << worst.y << ", " << worst.z << "), label there "
                  << int(model.labelAt(worst)) << "; "
                  << samples.size() << " analytic surface samples, max distance to mesh "
                  << truthToMesh << " mm (bound " << bound << " mm)\n";
        EXPECT_LT(meshToTruth, bound) << name;
        EXPECT_LT(truthToMesh, bound) << name;
    }
}
