#include "anatomy/MeshSmoothing.h"

#include "core/Assert.h"
#include "core/Parallel.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace precis::anatomy {
namespace {

/// Neighbour rows the filter actually averages over: interior vertices use all neighbours,
/// smoothed border vertices their two border neighbours, fixed vertices none.
struct Rows {
    const std::uint32_t* offsets = nullptr;
    const std::uint32_t* neighbors = nullptr;
    std::vector<std::uint32_t> ownOffsets, ownNeighbors; // used when rows differ from adjacency
};

Rows effectiveRows(const VertexAdjacency& adj, const std::vector<std::uint8_t>& edgeTriangles,
                   bool smoothBoundary) {
    Rows rows;
    const bool anyBoundary =
        std::any_of(adj.boundary.begin(), adj.boundary.end(), [](std::uint8_t b) { return b; });
    if (!anyBoundary) {
        rows.offsets = adj.offsets.data();
        rows.neighbors = adj.neighbors.data();
        return rows;
    }
    const std::size_t nv = adj.vertexCount();
    rows.ownOffsets.resize(nv + 1);
    rows.ownNeighbors.reserve(adj.neighbors.size());
    for (std::size_t v = 0; v < nv; ++v) {
        rows.ownOffsets[v] = static_cast<std::uint32_t>(rows.ownNeighbors.size());
        const std::uint32_t b = adj.offsets[v], e = adj.offsets[v + 1];
        if (adj.boundary[v] == 0) {
            rows.ownNeighbors.insert(rows.ownNeighbors.end(), adj.neighbors.begin() + b,
                                     adj.neighbors.begin() + e);
        } else if (adj.boundary[v] == 1 && smoothBoundary) {
            std::uint32_t border[2], count = 0;
            for (std::uint32_t k = b; k < e; ++k)
                if (edgeTriangles[k] == 1 && count++ < 2) border[count - 1] = adj.neighbors[k];
            if (count == 2) rows.ownNeighbors.insert(rows.ownNeighbors.end(), border, border + 2);
        }
    }
    rows.ownOffsets[nv] = static_cast<std::uint32_t>(rows.ownNeighbors.size());
    rows.offsets = rows.ownOffsets.data();
    rows.neighbors = rows.ownNeighbors.data();
    return rows;
}

/// Triangles on each adjacency edge (parallel to adj.neighbors), recomputed from the mesh; only
/// needed when the mesh has a border.
std::vector<std::uint8_t> edgeTriangleCounts(const model::Mesh& mesh, const VertexAdjacency& adj) {
    std::vector<std::uint8_t> counts(adj.neighbors.size(), 0);
    auto bump = [&](std::uint32_t a, std::uint32_t b) {
        const auto begin = adj.neighbors.begin() + adj.offsets[a];
        const auto end = adj.neighbors.begin() + adj.offsets[a + 1];
        const auto it = std::lower_bound(begin, end, b);
        if (it != end && *it == b) {
            auto& c = counts[static_cast<std::size_t>(it - adj.neighbors.begin())];
            if (c < 255) ++c;
        }
    };
    for (std::size_t t = 0; t + 2 < mesh.indices.size(); t += 3)
        for (int k = 0; k < 3; ++k) {
            const std::uint32_t a = mesh.indices[t + k], b = mesh.indices[t + (k + 1) % 3];
            bump(a, b);
            bump(b, a);
        }
    return counts;
}

} // namespace

VertexAdjacency buildVertexAdjacency(const model::Mesh& mesh) {
    VertexAdjacency adj;
    const std::size_t nv = mesh.positions.size();
    const std::size_t nt = mesh.triangleCount();
    // Raw rows: each triangle adds its two other corners to each corner's row, so an interior
    // edge appears twice in each of its end rows, a border edge once.
    std::vector<std::uint32_t> rawOffsets(nv + 1, 0);
    for (std::size_t i = 0; i < 3 * nt; ++i) {
        PRECIS_ASSERT(mesh.indices[i] < nv, "triangle index out of range");
        rawOffsets[mesh.indices[i] + 1] += 2;
    }
    for (std::size_t v = 0; v < nv; ++v) rawOffsets[v + 1] += rawOffsets[v];
    std::vector<std::uint32_t> raw(rawOffsets[nv]);
    {
        std::vector<std::uint32_t> cursor(rawOffsets.begin(), rawOffsets.end() - 1);
        for (std::size_t t = 0; t < nt; ++t) {
            const std::uint32_t* c = &mesh.indices[3 * t];
            for (int k = 0; k < 3; ++k) {
                raw[cursor[c[k]]++] = c[(k + 1) % 3];
                raw[cursor[c[k]]++] = c[(k + 2) % 3];
            }
        }
    }
    adj.boundary.assign(nv, 0);
    std::vector<std::uint32_t> uniqueCount(nv, 0);
    parallelFor(0, nv, [&](std::size_t begin, std::size_t end) {
        for (std::size_t v = begin; v < end; ++v) {
            std::uint32_t* row = raw.data() + rawOffsets[v];
            const std::uint32_t n = rawOffsets[v + 1] - rawOffsets[v];
            std::sort(row, row + n);
            std::uint32_t out = 0;
            std::uint8_t flag = 0;
            for (std::uint32_t i = 0; i < n;) {
                std::uint32_t j = i;
                while (j < n && row[j] == row[i]) ++j;
                const std::uint32_t multiplicity = j - i;
                if (row[i] == v) { // degenerate triangle: not a neighbour
                    i = j;
                    continue;
                }
                if (multiplicity == 1) flag = std::max<std::uint8_t>(flag, 1);
                if (multiplicity > 2) flag = 2;
                row[out++] = row[i];
                i = j;
            }
            uniqueCount[v] = out;
            adj.boundary[v] = flag;
        }
    });
    adj.offsets.resize(nv + 1);
    adj.offsets[0] = 0;
    for (std::size_t v = 0; v < nv; ++v) adj.offsets[v + 1] = adj.offsets[v] + uniqueCount[v];
    adj.neighbors.resize(adj.offsets[nv]);
    parallelFor(0, nv, [&](std::size_t begin, std::size_t end) {
        for (std::size_t v = begin; v < end; ++v)
            std::copy_n(raw.begin() + rawOffsets[v], uniqueCount[v],
                        adj.neighbors.begin() + adj.offsets[v]);
    });
    return adj;
}

Result<void> smoothWindowedSinc(model::Mesh& mesh, const SmoothingOptions& options,
                                const Progress& progress) {
    const VertexAdjacency adjacency = buildVertexAdjacency(mesh);
    return smoothWindowedSinc(mesh, adjacency, options, progress);
}

Result<void> smoothWindowedSinc(model::Mesh& mesh, const VertexAdjacency& adjacency,
                                const SmoothingOptions& options, const Progress& progress) {
    if (options.iterations < 1)
        return fail(ErrorCode::InvalidArgument, "Smoothing needs at least one iteration.",
                    "iterations=" + std::to_string(options.iterations));
    if (!(options.passBand > 0 && options.passBand < 2))
        return fail(ErrorCode::InvalidArgument, "Smoothing pass band must be between 0 and 2.",
                    "passBand=" + std::to_string(options.passBand));
    PRECIS_ASSERT(adjacency.vertexCount() == mesh.positions.size(),
                  "adjacency was built for another mesh");
    const std::size_t nv = mesh.positions.size();
    if (nv == 0) return {};

    // Filter coefficients: Chebyshev expansion in the operator H = (I + W) / 2 (W = mean of the
    // neighbours), whose eigenvalues cos(theta) lie in [0, 1]; ideal low-pass up to the pass band
    // k_pb of K = I - W, i.e. theta_pb = acos(1 - k_pb / 2), Hamming-windowed. Normalised so
    // f(theta = 0) = 1 exactly: translations (and the mean) are preserved.
    const int n = options.iterations;
    const double thetaPb = std::acos(1.0 - 0.5 * options.passBand);
    std::vector<double> coef(static_cast<std::size_t>(n) + 1);
    double sum = 0;
    for (int i = 0; i <= n; ++i) {
        const double window = 0.54 + 0.46 * std::cos(i * std::numbers::pi / (n + 1));
        const double sinc = i == 0 ? thetaPb / std::numbers::pi
                                   : 2.0 * std::sin(i * thetaPb) / (i * std::numbers::pi);
        coef[i] = window * sinc;
        sum += coef[i];
    }
    for (double& c : coef) c /= sum;

    const model::Bounds bounds = mesh.bounds();
    glm::dvec3 center(0.0);
    double scale = 1.0;
    if (options.normalizeCoordinates) {
        center = bounds.center();
        const glm::dvec3 size = bounds.size();
        const double extent = std::max({size.x, size.y, size.z});
        if (extent > 0) scale = 2.0 / extent;
    }

    std::vector<std::uint8_t> edgeTriangles;
    if (std::any_of(adjacency.boundary.begin(), adjacency.boundary.end(),
                    [](std::uint8_t b) { return b == 1; }) &&
        options.smoothBoundary)
        edgeTriangles = edgeTriangleCounts(mesh, adjacency);
    const Rows rows = effectiveRows(adjacency, edgeTriangles, options.smoothBoundary);

    // Three float4 buffers (one 16-byte load per neighbour): T_{k-1} (overwritten in place by
    // T_{k+1}), T_k and the running filtered sum. No allocation inside the passes.
    std::vector<glm::vec4> older(nv), current(nv), acc(nv);
    const float c0 = static_cast<float>(coef[0]);
    parallelFor(0, nv, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) {
            const glm::vec3 p((glm::dvec3(mesh.positions[i]) - center) * scale);
            current[i] = glm::vec4(p, 0.0f);
            acc[i] = current[i] * c0;
        }
    });
    const std::uint32_t* offsets = rows.offsets;
    const std::uint32_t* neighbors = rows.neighbors;
    for (int k = 0; k < n; ++k) {
        if (progress.cancelled()) return fail(ErrorCode::Cancelled, "Smoothing was cancelled.");
        const float ck = static_cast<float>(coef[static_cast<std::size_t>(k) + 1]);
        const bool first = k == 0;
        parallelFor(0, nv, [&](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i) {
                const std::uint32_t b = offsets[i], e = offsets[i + 1];
                const glm::vec4 x = current[i];
                glm::vec4 h = x;
                if (e > b) {
                    glm::vec4 s(0.0f);
                    for (std::uint32_t j = b; j < e; ++j) s += current[neighbors[j]];
                    h = 0.5f * x + (0.5f / static_cast<float>(e - b)) * s;
                }
                const glm::vec4 next = first ? h : 2.0f * h - older[i];
                older[i] = next;
                acc[i] += ck * next;
            }
        });
        std::swap(older, current);
        progress.report(double(k + 1) / n, "Smoothing mesh");
    }
    parallelFor(0, nv, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i)
            if (offsets[i + 1] > offsets[i]) // fixed vertices keep their exact input position
                mesh.positions[i] = glm::vec3(glm::dvec3(glm::vec3(acc[i])) / scale + center);
    });
    if (options.recomputeNormals && !mesh.normals.empty()) mesh.computeNormals();
    return {};
}

Result<void> smoothLaplacian(model::Mesh& mesh, int iterations, double lambda,
                             bool smoothBoundary) {
    if (iterations < 0)
        return fail(ErrorCode::InvalidArgument, "Smoothing iterations must not be negative.");
    if (!(lambda > 0 && lambda <= 1))
        return fail(ErrorCode::InvalidArgument, "Laplacian smoothing factor must be in (0, 1].");
    const VertexAdjacency adj = buildVertexAdjacency(mesh);
    std::vector<std::uint8_t> edgeTriangles;
    if (smoothBoundary) edgeTriangles = edgeTriangleCounts(mesh, adj);
    const Rows rows = effectiveRows(adj, edgeTriangles, smoothBoundary);
    const std::size_t nv = mesh.positions.size();
    std::vector<glm::vec3> next(nv);
    const auto l = static_cast<float>(lambda);
    for (int k = 0; k < iterations; ++k) {
        parallelFor(0, nv, [&](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i) {
                const std::uint32_t b = rows.offsets[i], e = rows.offsets[i + 1];
                next[i] = mesh.positions[i];
                if (e == b) continue;
                glm::vec3 s(0.0f);
                for (std::uint32_t j = b; j < e; ++j) s += mesh.positions[rows.neighbors[j]];
                next[i] += l * (s / static_cast<float>(e - b) - mesh.positions[i]);
            }
        });
        std::swap(next, mesh.positions);
    }
    if (!mesh.normals.empty()) mesh.computeNormals();
    return {};
}

} // namespace precis::anatomy
