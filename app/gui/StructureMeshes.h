#pragma once
// Per-structure surface meshes of a label map (one label surface per structure, for the 3D view
// and `precis bench render`) and their levels of detail:
// - display: the label surface simplified under kDisplayErrorMm, drawn for the still frame. A
//   label surface is a voxel staircase whose flat runs are tiled by many coplanar triangles;
//   merging them at an eighth of a voxel keeps every step (about 7x fewer triangles on the
//   phantom) and is invisible at any zoom a pane allows before voxels are several pixels wide.
// - lod: a coarser copy so the whole scene stays within a triangle budget while the camera moves.
// Both are in draw order (anatomy::optimizeDrawOrder). Picking, measuring and the safety scene
// use the exact label surface (`full`). LPS mm.
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
    model::Mesh full;    // the label surface (marching cubes on the label, closed at the border)
    model::Mesh display; // `full` under kDisplayErrorMm; empty when that saves under 10 %
    model::Mesh lod;     // decimated for interaction; empty when the display mesh is small
};

/// Bound on the display meshes' deviation from the label surface, mm (meshoptimizer's estimate,
/// which runs about 2x under the exact vertex deviation: `precis bench render` measures it).
inline constexpr double kDisplayErrorMm = 0.1;

/// The mesh the still frame draws: display when present, else full.
inline const model::Mesh& stillMesh(const StructureMesh& m) { return m.display.empty() ? m.full : m.display; }

/// Surfaces of every structure whose label occurs in `labels`, in the order of `structures`
/// (absent labels are skipped). Each label is extracted on its bounding box (plus a voxel), in
/// parallel. Stops early (returns what it has) when `progress` is cancelled.
std::vector<StructureMesh> extractStructureMeshes(const model::LabelMap& labels,
                                                  std::span<const model::Structure> structures,
                                                  const Progress& progress = {});

struct LodReport {
    std::size_t fullTriangles = 0, displayTriangles = 0, lodTriangles = 0;
    double maxEstimatedErrorMm = 0; // largest lod decimation error (meshoptimizer estimate)
};

/// Fills StructureMesh::display (see kDisplayErrorMm), then StructureMesh::lod so that the sum
/// over all structures of the triangles drawn while interacting (lod where present, else the
/// still mesh) is <= `triangleBudget` where the error bound allows: each mesh keeps a share of
/// the budget proportional to its size, decimated from its still mesh under `maxErrorMm`. Meshes
/// under their share keep no lod copy.
LodReport buildLevelOfDetail(std::vector<StructureMesh>& meshes, std::size_t triangleBudget,
                             double maxErrorMm = 1.0);

/// Triangles drawn while interacting (lod, else the still mesh) or for the still frame.
std::size_t triangleCount(std::span<const StructureMesh> meshes, bool interactive);

} // namespace precis::gui
