#pragma once
// Mesh smoothing over the vertex adjacency. Positions stay in LPS mm; connectivity is unchanged.
//
// smoothWindowedSinc is the volume-preserving low-pass filter of Taubin ("Optimal surface
// smoothing as filter design", 1996), as in VTK's vtkWindowedSincPolyDataFilter: a Chebyshev
// polynomial of the umbrella operator whose coefficients are a Hamming-windowed sinc, so low
// frequencies (the shape) pass unchanged and high frequencies (staircase, noise) are removed,
// without the shrinkage of plain Laplacian smoothing.
#include "core/Error.h"
#include "core/Progress.h"
#include "model/Mesh.h"

#include <cstdint>
#include <vector>

namespace precis::anatomy {

/// Vertex neighbours in compressed-row form, built once and reusable for many smoothing calls on
/// meshes with the same connectivity. Neighbours of vertex v: neighbors[offsets[v]..offsets[v+1]).
struct VertexAdjacency {
    std::vector<std::uint32_t> offsets;   // vertexCount + 1
    std::vector<std::uint32_t> neighbors; // unique, ascending per vertex
    /// Per vertex: 0 interior (every incident edge has exactly two triangles), 1 on an open
    /// border (an edge with one triangle), 2 on a non-manifold edge (three or more triangles).
    std::vector<std::uint8_t> boundary;
    [[nodiscard]] std::size_t vertexCount() const { return boundary.size(); }
};

/// Builds the adjacency of `mesh` (multithreaded). Triangle indices out of range are a contract
/// violation.
VertexAdjacency buildVertexAdjacency(const model::Mesh& mesh);

struct SmoothingOptions {
    int iterations = 20;    // polynomial degree (passes over the mesh), >= 1
    double passBand = 0.1;  // in (0, 2): lower is smoother (VTK's PassBand)
    /// Border vertices (on open edges) are fixed when false; when true they are smoothed along
    /// the border only (their two border neighbours). Vertices on non-manifold edges and border
    /// corners are always fixed.
    bool smoothBoundary = false;
    /// Filter in coordinates centred on the bounding box and scaled to unit size (VTK's
    /// NormalizeCoordinates): keeps float precision for meshes far from the origin.
    bool normalizeCoordinates = true;
    bool recomputeNormals = true; // when the mesh had normals, recompute them afterwards
};

/// Windowed-sinc smoothing in place. InvalidArgument for iterations < 1 or passBand outside
/// (0, 2); Cancelled when `progress` is cancelled (the mesh is then left unchanged).
/// Multithreaded with core/Parallel.h; no allocation per pass.
[[nodiscard]] Result<void> smoothWindowedSinc(model::Mesh& mesh, const SmoothingOptions& options = {},
                                              const Progress& progress = {});
/// Same, with an adjacency built by buildVertexAdjacency for this mesh's connectivity.
[[nodiscard]] Result<void> smoothWindowedSinc(model::Mesh& mesh, const VertexAdjacency& adjacency,
                                              const SmoothingOptions& options = {},
                                              const Progress& progress = {});

/// Plain Laplacian (umbrella) smoothing: x ← x + lambda (mean of neighbours − x), `iterations`
/// times, with the same boundary rules. Shrinks closed surfaces; kept for comparison and for
/// callers that want it. InvalidArgument for iterations < 0 or lambda outside (0, 1].
[[nodiscard]] Result<void> smoothLaplacian(model::Mesh& mesh, int iterations, double lambda,
                                           bool smoothBoundary = false);

} // namespace precis::anatomy
