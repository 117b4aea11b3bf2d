#include "gui/StructureMeshes.h"

#include "anatomy/IsoSurface.h"
#include "anatomy/MeshDecimation.h"
#include "anatomy/MeshDrawOrder.h"
#include "core/Parallel.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>

namespace precis::gui {

namespace {

struct Box {
    std::array<int, 3> lo{INT_MAX, INT_MAX, INT_MAX}, hi{INT_MIN, INT_MIN, INT_MIN};
    [[nodiscard]] bool empty() const { return lo[0] > hi[0]; }
};

/// Index bounding box of every label value, in one pass.
std::array<Box, 256> labelBoxes(const model::LabelMap& labels) {
    std::array<Box, 256> boxes{};
    const auto& d = labels.geometry.dims;
    std::size_t n = 0;
    for (int k = 0; k < d[2]; ++k)
        for (int j = 0; j < d[1]; ++j)
            for (int i = 0; i < d[0]; ++i, ++n) {
                Box& b = boxes[labels.voxels[n]];
                b.lo = {std::min(b.lo[0], i), std::min(b.lo[1], j), std::min(b.lo[2], k)};
                b.hi = {std::max(b.hi[0], i), std::max(b.hi[1], j), std::max(b.hi[2], k)};
            }
    return boxes;
}

/// The label map cropped to `box` grown by one voxel (clamped), with the matching origin, so the
/// surface is the same as on the whole grid.
model::LabelMap crop(const model::LabelMap& labels, Box box) {
    const auto& g = labels.geometry;
    for (int a = 0; a < 3; ++a) {
        box.lo[a] = std::max(0, box.lo[a] - 1);
        box.hi[a] = std::min(g.dims[a] - 1, box.hi[a] + 1);
    }
    model::ImageGeometry c = g;
    c.dims = {box.hi[0] - box.lo[0] + 1, box.hi[1] - box.lo[1] + 1, box.hi[2] - box.lo[2] + 1};
    c.originMm = g.worldFromIndex({double(box.lo[0]), double(box.lo[1]), double(box.lo[2])});
    model::LabelMap out(c, 0);
    for (int k = 0; k < c.dims[2]; ++k)
        for (int j = 0; j < c.dims[1]; ++j) {
            const std::size_t src = g.linearIndex(box.lo[0], box.lo[1] + j, box.lo[2] + k);
            const std::size_t dst = c.linearIndex(0, j, k);
            std::copy_n(labels.voxels.begin() + std::ptrdiff_t(src), c.dims[0],
                        out.voxels.begin() + std::ptrdiff_t(dst));
        }
    return out;
}

} // namespace

std::vector<StructureMesh> extractStructureMeshes(const model::LabelMap& labels,
                                                  std::span<const model::Structure> structures,
                                                  const Progress& progress) {
    const auto boxes = labelBoxes(labels);
    std::vector<StructureMesh> out;
    for (const auto& s : structures)
        if (s.label != 0 && !boxes[s.label].empty()) out.push_back({s, {}, {}});
    std::atomic<std::size_t> done{0};
    // One structure per chunk: sizes differ a lot, so fine-grained chunks balance the workers.
    parallelFor(0, out.size(), [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
            if (progress.cancelled()) return;
            const auto sub = crop(labels, boxes[out[i].info.label]);
            out[i].full = anatomy::extractLabelSurface(sub, out[i].info.label);
            anatomy::optimizeDrawOrder(out[i].full);
            progress.report(double(++done) / double(std::max<std::size_t>(1, out.size())),
                            "Building structure surfaces");
        }
    }, out.size());
    if (progress.cancelled()) return {};
    return out;
}

LodReport buildLevelOfDetail(std::vector<StructureMesh>& meshes, std::size_t triangleBudget,
                             double maxErrorMm) {
    LodReport report;
    for (const auto& m : meshes) report.fullTriangles += m.full.triangleCount();
    auto decimate = [](const model::Mesh& in, std::size_t target, double errorMm,
                       double* estimateMm = nullptr) -> model::Mesh {
        anatomy::DecimationOptions o;
        o.targetTriangleCount = std::max<std::size_t>(target, 16);
        o.maxErrorMm = errorMm;
        // meshoptimizer's own estimate steers the bound: measuring it exactly costs more than
        // the decimation itself (`precis bench render` measures the display level's).
        o.measureError = false;
        auto d = anatomy::decimateMesh(in, o);
        if (!d) return {};
        if (estimateMm) *estimateMm = d->report.estimatedErrorMm;
        model::Mesh out = std::move(d->mesh);
        anatomy::optimizeDrawOrder(out);
        return out;
    };
    // One structure per chunk: sizes differ a lot, so fine-grained chunks balance the workers.
    parallelFor(0, meshes.size(), [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
            auto& m = meshes[i];
            m.display = {};
            const std::size_t n = m.full.triangleCount();
            if (n < 64) continue;
            model::Mesh d = decimate(m.full, 16, kDisplayErrorMm);
            if (!d.empty() && d.triangleCount() < n * 9 / 10) m.display = std::move(d);
        }
    }, meshes.size());
    report.displayTriangles = triangleCount(meshes, false);
    if (report.displayTriangles <= triangleBudget || report.displayTriangles == 0) {
        for (auto& m : meshes) m.lod = {};
        report.lodTriangles = report.displayTriangles;
        return report;
    }
    const double keep = double(triangleBudget) / double(report.displayTriangles);
    std::vector<double> errors(meshes.size(), 0.0);
    parallelFor(0, meshes.size(), [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
            auto& m = meshes[i];
            m.lod = {};
            const model::Mesh& still = stillMesh(m);
            const std::size_t n = still.triangleCount();
            const auto target = static_cast<std::size_t>(double(n) * keep);
            if (n < 64 || target >= n) continue; // tiny: not worth a copy
            model::Mesh d = decimate(still, target, maxErrorMm, &errors[i]);
            if (!d.empty() && d.triangleCount() < n) m.lod = std::move(d);
        }
    }, meshes.size());
    report.lodTriangles = triangleCount(meshes, true);
    report.maxEstimatedErrorMm = *std::max_element(errors.begin(), errors.end());
    return report;
}

std::size_t triangleCount(std::span<const StructureMesh> meshes, bool interactive) {
    std::size_t n = 0;
    for (const auto& m : meshes)
        n += interactive && !m.lod.empty() ? m.lod.triangleCount() : stillMesh(m).triangleCount();
    return n;
}

} // namespace precis::gui
