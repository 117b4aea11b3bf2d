#include "planning/SafetyScene.h"

#include "anatomy/IsoSurface.h"
#include "anatomy/MeshSmoothing.h"
#include "core/Parallel.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <chrono>
#include <mutex>

namespace precis::planning {
namespace {

struct LabelBox {
    std::array<int, 3> lo{INT32_MAX, INT32_MAX, INT32_MAX};
    std::array<int, 3> hi{-1, -1, -1};
    std::size_t voxels = 0;
};

/// Bounding box and voxel count of every label value, in one pass over the map.
std::array<LabelBox, 256> labelBoxes(const model::LabelMap& labels) {
    const auto& d = labels.geometry.dims;
    std::mutex mutex;
    std::array<LabelBox, 256> boxes{};
    parallelFor(0, static_cast<std::size_t>(d[2]), [&](std::size_t k0, std::size_t k1) {
        std::array<LabelBox, 256> local{};
        for (int k = static_cast<int>(k0); k < static_cast<int>(k1); ++k) {
            for (int j = 0; j < d[1]; ++j) {
                const std::uint8_t* row = &labels.voxels[labels.geometry.linearIndex(0, j, k)];
                for (int i = 0; i < d[0]; ++i) {
                    LabelBox& b = local[row[i]];
                    ++b.voxels;
                    b.lo = {std::min(b.lo[0], i), std::min(b.lo[1], j), std::min(b.lo[2], k)};
                    b.hi = {std::max(b.hi[0], i), std::max(b.hi[1], j), std::max(b.hi[2], k)};
                }
            }
        }
        std::lock_guard lock(mutex);
        for (std::size_t v = 0; v < 256; ++v) {
            LabelBox& b = boxes[v];
            const LabelBox& l = local[v];
            if (l.voxels == 0) continue;
            b.voxels += l.voxels;
            for (int a = 0; a < 3; ++a) {
                b.lo[a] = std::min(b.lo[a], l.lo[a]);
                b.hi[a] = std::max(b.hi[a], l.hi[a]);
            }
        }
    });
    return boxes;
}

/// The label's voxels cropped to its box plus one voxel of background (so the surface closes
/// inside the crop exactly as it would on the full grid), as a 0/1 map on the cropped grid.
model::LabelMap cropBinary(const model::LabelMap& labels, const LabelBox& box,
                           const std::function<bool(std::uint8_t)>& inside) {
    const auto& g = labels.geometry;
    std::array<int, 3> lo{}, hi{};
    for (int a = 0; a < 3; ++a) {
        lo[a] = std::max(0, box.lo[a] - 1);
        hi[a] = std::min(g.dims[a] - 1, box.hi[a] + 1);
    }
    model::ImageGeometry cg = g;
    cg.dims = {hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1};
    cg.originMm = g.worldFromIndex(glm::dvec3(lo[0], lo[1], lo[2]));
    model::LabelMap out(cg, 0);
    for (int k = 0; k < cg.dims[2]; ++k) {
        for (int j = 0; j < cg.dims[1]; ++j) {
            const std::uint8_t* src = &labels.voxels[g.linearIndex(lo[0], lo[1] + j, lo[2] + k)];
            std::uint8_t* dst = &out.voxels[cg.linearIndex(0, j, k)];
            for (int i = 0; i < cg.dims[0]; ++i) dst[i] = inside(src[i]) ? 1 : 0;
        }
    }
    return out;
}

model::Mesh smoothSurface(const model::LabelMap& binary, int iterations) {
    model::Mesh mesh = anatomy::extractLabelSurface(binary, 1);
    if (iterations > 0 && !mesh.empty()) {
        anatomy::SmoothingOptions so;
        so.iterations = iterations;
        (void)anatomy::smoothWindowedSinc(mesh, so);
    }
    return mesh;
}

/// Label map reduced by `factor` per axis; a coarse voxel is inside when any fine voxel is
/// (conservative: clearances from it are never larger than on the full grid).
anatomy::Mask downsampleAny(const model::LabelMap& labels,
                            const std::function<bool(std::uint8_t)>& inside, int factor) {
    const auto& g = labels.geometry;
    model::ImageGeometry cg = g;
    for (int a = 0; a < 3; ++a) cg.dims[a] = (g.dims[a] + factor - 1) / factor;
    cg.spacingMm = g.spacingMm * static_cast<double>(factor);
    // Coarse voxel centre = centre of its fine block.
    cg.originMm = g.worldFromIndex(glm::dvec3((factor - 1) / 2.0));
    anatomy::Mask mask(cg, 0);
    parallelFor(0, static_cast<std::size_t>(g.dims[2]), [&](std::size_t k0, std::size_t k1) {
        // Each worker owns whole coarse slices: round its range to slice blocks.
        for (int kc = static_cast<int>(k0); kc < static_cast<int>(k1); ++kc) {
            if (kc % factor != 0) continue;
            for (int k = kc; k < std::min(kc + factor, g.dims[2]); ++k) {
                for (int j = 0; j < g.dims[1]; ++j) {
                    const std::uint8_t* row = &labels.voxels[g.linearIndex(0, j, k)];
                    std::uint8_t* dst = &mask.voxels[cg.linearIndex(0, j / factor, kc / factor)];
                    for (int i = 0; i < g.dims[0]; ++i) {
                        if (inside(row[i])) dst[i / factor] = 1;
                    }
                }
            }
        }
    }, static_cast<std::size_t>((g.dims[2] + factor - 1) / factor));
    return mask;
}

} // namespace

Result<SafetyScene> SafetyScene::build(const model::LabelMap& labels,
                                       const std::vector<model::Structure>& structures,
                                       const SceneOptions& options, const Progress& progress) {
    const auto start = std::chrono::steady_clock::now();
    if (labels.voxels.empty() || labels.voxels.size() != labels.geometry.voxelCount()) {
        return fail(ErrorCode::InvalidArgument, "the label map is empty: nothing to plan against");
    }
    SafetyScene scene;
    scene.geometry_ = labels.geometry;
    progress.report(0.0, "Scanning labels");
    const auto boxes = labelBoxes(labels);
    const double voxelMl = labels.geometry.spacingMm.x * labels.geometry.spacingMm.y *
                           labels.geometry.spacingMm.z / 1000.0;

    // Surfaces: one per structure present, each on its own cropped grid (work ~ its size).
    std::vector<const model::Structure*> present;
    for (const model::Structure& s : structures) {
        if (s.label == 0) continue;
        if (boxes[s.label].voxels == 0) {
            scene.notes_.push_back(fmt::format("{}: label {} is not in the label map", s.name,
                                               static_cast<int>(s.label)));
            continue;
        }
        present.push_back(&s);
    }
    scene.structures_.resize(present.size());
    std::atomic<std::size_t> done{0};
    parallelFor(0, present.size(), [&](std::size_t b, std::size_t e) {
        for (std::size_t n = b; n < e; ++n) {
            if (progress.cancelled()) return;
            const model::Structure& s = *present[n];
            const std::uint8_t value = s.label;
            SceneStructure& out = scene.structures_[n];
            out.structure = s;
            out.volumeMl = static_cast<double>(boxes[value].voxels) * voxelMl;
            out.mesh = smoothSurface(
                cropBinary(labels, boxes[value], [value](std::uint8_t v) { return v == value; }),
                options.smoothingIterations);
            out.bvh = anatomy::MeshBvh(out.mesh);
            out.bounds = out.mesh.bounds();
            progress.report(0.6 * static_cast<double>(++done) / static_cast<double>(present.size()),
                            "Structure surfaces");
        }
    }, present.size());
    if (progress.cancelled()) return fail(ErrorCode::Cancelled, "building the safety scene was cancelled");

    // The skin: outer surface of the body (every labelled voxel), holes included.
    LabelBox body;
    for (std::size_t v = 1; v < 256; ++v) {
        const LabelBox& b = boxes[v];
        if (b.voxels == 0) continue;
        body.voxels += b.voxels;
        for (int a = 0; a < 3; ++a) {
            body.lo[a] = std::min(body.lo[a], b.lo[a]);
            body.hi[a] = std::max(body.hi[a], b.hi[a]);
        }
    }
    if (body.voxels == 0) {
        return fail(ErrorCode::InvalidArgument, "the label map has no labelled voxels");
    }
    progress.report(0.65, "Skin surface");
    scene.skin_ = smoothSurface(
        cropBinary(labels, body, [](std::uint8_t v) { return v != 0; }), options.smoothingIterations);
    if (scene.skin_.normals.size() != scene.skin_.positions.size()) scene.skin_.computeNormals();
    scene.skinBvh_ = anatomy::MeshBvh(scene.skin_);

    if (options.distanceFields) {
        std::array<bool, 256> mustAvoid{}, caution{}, bone{};
        for (const model::Structure& s : structures) {
            mustAvoid[s.label] = s.role == model::StructureRole::MustAvoid;
            caution[s.label] = s.role == model::StructureRole::Caution;
            bone[s.label] = s.kind == model::StructureKind::Bone;
        }
        mustAvoid[0] = caution[0] = bone[0] = false;
        const int f = std::max(1, options.fieldDownsample);
        progress.report(0.7, "Distance fields");
        scene.mustAvoid_ = anatomy::signedDistanceField(
            downsampleAny(labels, [&](std::uint8_t v) { return mustAvoid[v]; }, f));
        progress.report(0.8, "Distance fields");
        scene.caution_ = anatomy::signedDistanceField(
            downsampleAny(labels, [&](std::uint8_t v) { return caution[v]; }, f));
        progress.report(0.9, "Distance fields");
        scene.bone_ = anatomy::signedDistanceField(
            downsampleAny(labels, [&](std::uint8_t v) { return bone[v]; }, f));
    }
    if (progress.cancelled()) return fail(ErrorCode::Cancelled, "building the safety scene was cancelled");
    scene.buildSeconds_ =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.report(1.0, "Safety scene ready");
    return scene;
}

const SceneStructure* SafetyScene::find(std::string_view name) const {
    for (const SceneStructure& s : structures_) {
        if (s.structure.name == name) return &s;
    }
    return nullptr;
}

} // namespace precis::planning
