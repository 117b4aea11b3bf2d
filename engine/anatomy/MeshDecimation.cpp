#include "anatomy/MeshDecimation.h"

#include "anatomy/MeshBvh.h"
#include "anatomy/detail/HalfEdges.h"
#include "core/Parallel.h"

#include <meshoptimizer.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <mutex>
#include <unordered_map>

namespace precis::anatomy {
namespace {

/// Welds exactly coincident positions (meshopt_generateVertexRemap over positions only).
model::Mesh weld(const model::Mesh& mesh) {
    model::Mesh out;
    std::vector<unsigned int> remap(mesh.positions.size());
    const std::size_t unique = meshopt_generateVertexRemap(
        remap.data(), mesh.indices.data(), mesh.indices.size(), mesh.positions.data(),
        mesh.positions.size(), sizeof(glm::vec3));
    out.positions.resize(unique);
    meshopt_remapVertexBuffer(out.positions.data(), mesh.positions.data(), mesh.positions.size(),
                              sizeof(glm::vec3), remap.data());
    out.indices.resize(mesh.indices.size());
    meshopt_remapIndexBuffer(out.indices.data(), mesh.indices.data(), mesh.indices.size(),
                             remap.data());
    return out;
}

/// meshoptimizer can leave a pair of coincident triangles of opposite orientation (a zero-volume
/// fold) where a thin region collapsed. Removing both keeps every remaining edge paired. An exact
/// duplicate with the same orientation keeps one copy. Returns the triangles removed.
std::size_t removeFolds(std::vector<std::uint32_t>& indices) {
    struct Key {
        std::array<std::uint32_t, 3> v;
        bool operator==(const Key&) const = default;
    };
    struct Hash {
        std::size_t operator()(const Key& k) const {
            return (std::size_t(k.v[0]) * 73856093u) ^ (std::size_t(k.v[1]) * 19349663u) ^
                   (std::size_t(k.v[2]) * 83492791u);
        }
    };
    const std::size_t n = indices.size() / 3;
    std::unordered_map<Key, std::size_t, Hash> seen;
    seen.reserve(n);
    std::vector<bool> drop(n, false);
    std::size_t removed = 0;
    for (std::size_t t = 0; t < n; ++t) {
        Key k{{indices[3 * t], indices[3 * t + 1], indices[3 * t + 2]}};
        std::sort(k.v.begin(), k.v.end());
        const auto [it, inserted] = seen.emplace(k, t);
        if (inserted) continue;
        const std::size_t other = it->second;
        if (drop[other]) { // already folded away: this one starts a new entry
            it->second = t;
            continue;
        }
        // Same orientation when triangle t is a rotation of the other one.
        const std::uint32_t* a = &indices[3 * other];
        const std::uint32_t* b = &indices[3 * t];
        bool same = false;
        for (int r = 0; r < 3; ++r)
            same = same || (a[0] == b[r] && a[1] == b[(r + 1) % 3] && a[2] == b[(r + 2) % 3]);
        drop[t] = true;
        ++removed;
        if (!same) {
            drop[other] = true;
            ++removed;
        }
    }
    if (removed == 0) return 0;
    std::size_t w = 0;
    for (std::size_t t = 0; t < n; ++t)
        if (!drop[t])
            for (int k = 0; k < 3; ++k) indices[w++] = indices[3 * t + k];
    indices.resize(w);
    return removed;
}

/// Output mesh with only the used vertices, in their original order (stable, so callers can
/// relate them to the input).
void compact(const model::Mesh& welded, const std::vector<std::uint32_t>& indices,
             model::Mesh& out) {
    std::vector<std::uint32_t> remap(welded.positions.size(), kNoTriangle);
    for (std::uint32_t i : indices) remap[i] = 0;
    out.positions.clear();
    out.normals.clear();
    for (std::size_t v = 0; v < welded.positions.size(); ++v)
        if (remap[v] == 0) {
            remap[v] = static_cast<std::uint32_t>(out.positions.size());
            out.positions.push_back(welded.positions[v]);
        }
    out.indices.resize(indices.size());
    for (std::size_t i = 0; i < indices.size(); ++i) out.indices[i] = remap[indices[i]];
}

/// Largest distance from an input vertex to the output surface (the output's vertices are input
/// vertices, so this is the one-sided Hausdorff distance sampled at the input vertices). Vertices
/// the output keeps (`outputIndices`, into the input) are at distance 0 and skipped; the others
/// are searched within `boundMm` first (tight pruning) and exactly only when farther.
double measureError(const model::Mesh& input, const std::vector<std::uint32_t>& outputIndices,
                    const model::Mesh& output, double boundMm) {
    if (output.empty()) return std::numeric_limits<double>::infinity();
    std::vector<std::uint8_t> kept(input.positions.size(), 0);
    for (std::uint32_t i : outputIndices) kept[i] = 1;
    const MeshBvh bvh(output);
    std::mutex mutex;
    double worst = 0;
    parallelFor(0, input.positions.size(), [&](std::size_t begin, std::size_t end) {
        double local = 0;
        for (std::size_t v = begin; v < end; ++v) {
            if (kept[v]) continue;
            const glm::dvec3 p(input.positions[v]);
            MeshClosestPoint c = bvh.closestPoint(p, boundMm);
            if (c.triangle == kNoTriangle) c = bvh.closestPoint(p);
            local = std::max(local, c.distanceMm);
        }
        const std::lock_guard lock(mutex);
        worst = std::max(worst, local);
    });
    return worst;
}

} // namespace

Result<DecimatedMesh> decimateMesh(const model::Mesh& mesh, const DecimationOptions& options) {
    if (mesh.empty())
        return fail(ErrorCode::InvalidArgument, "There is no surface to decimate (no triangles).");
    if (options.targetTriangleCount == 0 && !(options.targetRatio > 0 && options.targetRatio <= 1))
        return fail(ErrorCode::InvalidArgument,
                    "Decimation ratio must be greater than 0 and at most 1.",
                    "targetRatio=" + std::to_string(options.targetRatio));
    if (!(options.maxErrorMm > 0))
        return fail(ErrorCode::InvalidArgument, "Decimation needs a maximum error above 0 mm.",
                    "maxErrorMm=" + std::to_string(options.maxErrorMm));
    for (std::uint32_t i : mesh.indices)
        if (i >= mesh.positions.size())
            return fail(ErrorCode::InvalidArgument,
                        "The surface is corrupt (a triangle refers to a missing vertex).",
                        "index " + std::to_string(i) + " of " +
                            std::to_string(mesh.positions.size()));

    DecimatedMesh result;
    DecimationReport& report = result.report;
    report.trianglesBefore = mesh.triangleCount();
    report.verticesBefore = mesh.positions.size();
    report.targetTriangles =
        options.targetTriangleCount
            ? options.targetTriangleCount
            : static_cast<std::size_t>(std::llround(options.targetRatio * mesh.triangleCount()));
    report.closedBefore = detail::isClosedOrientedManifold(mesh.indices, mesh.positions.size());

    const model::Mesh welded = weld(mesh);
    const float scale = meshopt_simplifyScale(&welded.positions[0].x, welded.positions.size(),
                                              sizeof(glm::vec3));
    // meshoptimizer's error is a quadric estimate, not a bound: when the measured error exceeds
    // the limit, simplify again from the input with a proportionally tighter target.
    double targetRelative = scale > 0 ? options.maxErrorMm / scale : 0.0;
    std::vector<std::uint32_t> indices(welded.indices.size());
    model::Mesh& out = result.mesh;
    for (int attempt = 0;; ++attempt) {
        float relativeError = 0;
        std::size_t count = welded.indices.size();
        if (report.targetTriangles < welded.triangleCount() && scale > 0) {
            indices.resize(welded.indices.size());
            count = meshopt_simplify(indices.data(), welded.indices.data(), welded.indices.size(),
                                     &welded.positions[0].x, welded.positions.size(),
                                     sizeof(glm::vec3), 3 * report.targetTriangles,
                                     static_cast<float>(targetRelative),
                                     options.lockBorder ? meshopt_SimplifyLockBorder : 0,
                                     &relativeError);
            indices.resize(count);
        } else {
            indices = welded.indices;
        }
        report.estimatedErrorMm = double(relativeError) * scale;
        report.foldsRemoved = removeFolds(indices);
        compact(welded, indices, out);
        report.attempts = attempt + 1;
        if (!options.measureError) break;
        report.measuredErrorMm = measureError(welded, indices, out, options.maxErrorMm);
        if (report.measuredErrorMm <= options.maxErrorMm || indices.size() == welded.indices.size())
            break;
        if (attempt == 4) { // still over the bound: give back the (welded) input, error 0
            indices = welded.indices;
            report.foldsRemoved = 0;
            compact(welded, indices, out);
            report.measuredErrorMm = 0;
            report.estimatedErrorMm = 0;
            break;
        }
        // Tighten from the error this attempt reached: when the triangle target stopped the
        // simplifier before the error limit did, tightening the limit alone changes nothing.
        if (relativeError > 0) targetRelative = std::min(targetRelative, double(relativeError));
        targetRelative *= std::min(0.7, 0.9 * options.maxErrorMm / report.measuredErrorMm);
    }
    report.trianglesAfter = out.triangleCount();
    report.verticesAfter = out.positions.size();
    report.reachedTarget = report.trianglesAfter <= report.targetTriangles;
    report.closedAfter = detail::isClosedOrientedManifold(out.indices, out.positions.size());
    if (options.computeNormals) out.computeNormals();
    return result;
}

} // namespace precis::anatomy
