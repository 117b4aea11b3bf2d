#pragma once
// Per-structure surface meshes of a label map (one label surface per structure, for the 3D view
// and `precis bench render`) and their level of detail: a decimated copy of each so the whole
// scene stays within a triangle budget while the camera moves; the full meshes draw the still
// frame. LPS mm.
#include "core/Progress.h"
#include "model/Mesh.h"
#include "model/Structure.h"
#include "model/Volume.h"

#include <cstddef>
#include <span>
#include <vector>

namespace precis::gui {

struct StructureMesh {
    model::Structure info;
    model::Mesh full; // the label surface (marching cubes on the label, closed at the border)
    model::Mesh lod;  // decimated for interaction; empty when `full` is already small
};

/// Surfaces of every structure whose label occurs in `labels`, in the order of `structures`
/// (absent labels are skipped). Each label is extracted on its bounding box (plus a voxel), in
/// parallel. Stops early (returns what it has) when `progress` is cancelled.
std::vector<StructureMesh> extractStructureMeshes(const model::LabelMap& labels,
                                                  std::span<const model::Structure> structures,
                                                  const Progress& progress = {});

struct LodReport {
    std::size_t fullTriangles = 0, lodTriangles = 0;
    double maxEstimatedErrorMm = 0; // largest decimation error (meshoptimizer estimate)
};

/// Fills StructureMesh::lod so that the sum over all structures of the triangles drawn while
/// interacting (lod where present, else full) is <= `triangleBudget` where the error bound
/// allows: each mesh keeps a share of the budget proportional to its size, decimated under
/// `maxErrorMm`. Meshes under their share keep no lod copy.
LodReport buildLevelOfDetail(std::vector<StructureMesh>& meshes, std::size_t triangleBudget,
                             double maxErrorMm = 1.0);

/// Triangles drawn with (interactive) or without level of detail.
std::size_t triangleCount(std::span<const StructureMesh> meshes, bool interactive);

} // namespace precis::gui
