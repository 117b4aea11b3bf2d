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
    /// max over input vertices v of the exact distance from v to the output surface (the output's
    /// vertices are input vertices, at 0). Every input vertex is within it of the result; points
    /// inside an input triangle are not sampled. It is computed exactly, not estimated: most
    /// vertices are cleared by finding any output triangle within the running maximum (grid,
    /// then BVH), and only the rest get an exact closest-point search. The first attempt asks
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
    /// See DecimationOptions::measureError; -1 when not measured. When measured and over
    /// maxErrorMm, the simplification is redone with a tighter target (up to 5 attempts); when
    /// none gets under the bound the input is returned (welded, error 0, reachedTarget false).
    double measuredErrorMm = -1;
    int attempts = 0;
    std::size_t foldsRemoved = 0; // coincident opposite triangles left by collapses, removed
    bool closedBefore = false, closedAfter = false; // model::Mesh::isClosedManifold
};

struct DecimatedMesh {
    model::Mesh mesh; // compact: only the vertices still used, in their original order
    DecimationReport report;
};

/// Decimates `mesh`. InvalidArgument for a ratio outside (0, 1], maxErrorMm <= 0 or a mesh
/// without triangles. Exactly coincident vertices are welded first so seams do not block
/// collapses. A mesh already at or under the target is returned unchanged (reachedTarget true).
[[nodiscard]] Result<DecimatedMesh> decimateMesh(const model::Mesh& mesh,
                                                 const DecimationOptions& options = {});

} // namespace precis::anatomy
