#pragma once
// Mesh decimation (edge collapse with quadric error, meshoptimizer's simplifier) to a target
// triangle count under a maximum geometric error in mm. LPS mm in and out.
//
// The simplifier keeps topology: a closed 2-manifold stays closed unless the input had
// non-manifold parts (reported). It stops early rather than exceed the error bound, so the
// result may keep more triangles than asked for (report.reachedTarget == false).
#include "core/Error.h"
#include "model/Mesh.h"

#include <cstddef>

namespace precis::anatomy {

struct DecimationOptions {
    /// Triangles to keep. 0: use targetRatio instead.
    std::size_t targetTriangleCount = 0;
    /// Fraction of the triangles to keep, in (0, 1], when targetTriangleCount is 0.
    double targetRatio = 0.1;
    /// Largest allowed geometric deviation, mm (> 0). Converted to meshoptimizer's relative error
    /// with meshopt_simplifyScale (the mesh's largest extent).
    double maxErrorMm = 0.5;
    /// Keep vertices on open borders in place (for pieces of a larger surface). No effect on
    /// closed meshes.
    bool lockBorder = false;
    /// Measure the achieved error and enforce maxErrorMm with it. The measured error is the
    /// one-sided Hausdorff distance from the input to the output taken at every input vertex:
    /// max over the vertices v of the input's triangles of the exact distance from v to the
    /// output surface (the output's vertices are input vertices, at 0). Every input vertex is
    /// within it of the result; points inside an input triangle are not sampled. It is computed
    /// exactly, not estimated: most vertices are cleared by finding any output triangle within the
    /// running maximum (grid, then BVH), and only the rest get an exact closest-point search.
    /// Large meshes are simplified in pieces (see decimateMesh), and there each piece's vertices
    /// are measured against that piece's result and the unchanged seam triangles around it: part
    /// of the output surface, so the distance can only come out larger than to the whole output,
    /// never smaller (the bound holds; a piece over it is redone alone). The first attempt asks
    /// meshoptimizer for half of maxErrorMm (its quadric estimate runs about 2x under the measured
    /// error). Without the measurement, maxErrorMm only steers meshoptimizer's estimate, which can
    /// be exceeded (seen: 2x on CT bone surfaces, 2-3x on spheres at tight bounds).
    bool measureError = true;
    bool computeNormals = true;
};

struct DecimationReport {
    std::size_t trianglesBefore = 0, trianglesAfter = 0;
    std::size_t verticesBefore = 0, verticesAfter = 0;
    std::size_t targetTriangles = 0;
    bool reachedTarget = false;  // trianglesAfter <= targetTriangles
    double estimatedErrorMm = 0; // meshoptimizer's own (quadric) error estimate, in mm
    /// See DecimationOptions::measureError; -1 when not measured. Exact for a mesh simplified
    /// whole; for one simplified in pieces, the largest of the pieces' errors, each at least the
    /// exact error of its vertices. When measured and over maxErrorMm, the simplification (of the
    /// whole, or of that piece) is redone with a tighter target (up to 5 attempts); when none gets
    /// under the bound the input (or the piece) is kept as it was (error 0).
    double measuredErrorMm = -1;
    int attempts = 0; // simplifications of the whole mesh, or the most of any piece
    /// Time spent measuring the error, s: part of the call's time (for pieces measured in
    /// parallel, the threads' summed time over their number). 0 when not measured.
    double measureSeconds = 0;
    std::size_t foldsRemoved = 0; // coincident opposite triangles left by collapses, removed
    bool closedBefore = false, closedAfter = false; // model::Mesh::isClosedManifold
};

struct DecimatedMesh {
    model::Mesh mesh; // compact: only the vertices still used, in their original order
    DecimationReport report;
};

/// Decimates `mesh`. InvalidArgument for a ratio outside (0, 1], maxErrorMm <= 0 or a mesh
/// without triangles. A mesh that is not a closed oriented manifold has its exactly coincident
/// vertices welded first so seams do not block collapses. A closed one has no seam; its
/// zero-length edges (marching cubes makes them where a voxel equals the iso value) are collapsed
/// first when it stays closed, since meshoptimizer takes their ends for a texture seam. A mesh
/// already at or under the target is returned unchanged (reachedTarget true).
///
/// Meshes over 80 k triangles are cut into up to 32 pieces simplified in parallel, with the
/// triangles along the cuts kept as they are. A closed oriented manifold stays one: each piece's
/// result is checked to fit its unchanged border (meshoptimizer can pinch a thin part into an
/// edge shared by four triangles; the piece is then redone with that place locked), and the
/// whole result is checked again, falling back to simplifying the mesh whole.
[[nodiscard]] Result<DecimatedMesh> decimateMesh(const model::Mesh& mesh,
                                                 const DecimationOptions& options = {});

} // namespace precis::anatomy
