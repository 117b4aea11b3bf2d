#pragma once
// Label-map operations for automatic segmentation and manual correction: painting, thresholding,
// connected components, hole filling and metric (mm) morphology. Positions are LPS mm, radii mm;
// masks and label maps must share the grid they are combined with (PRECIS_ASSERT otherwise).
// Morphology uses the exact Euclidean distance transform (DistanceField.h), so a radius gives a
// true ball on anisotropic grids: the structuring element is every voxel centre within radiusMm.
// Voxels beyond the grid are treated as background for dilation and as "unknown" for erosion:
// erosion does not eat in from the border of the scan.
#include "anatomy/DistanceField.h"
#include "model/Volume.h"

#include <glm/glm.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace precis::anatomy {

enum class Connectivity {
    Face, // 6 neighbours in 3D (4 in a slice)
    Full, // 26 neighbours in 3D (8 in a slice)
};

/// Index box [min, max) in voxel indices (clipped to the grid by the operations).
struct VoxelBox {
    std::array<int, 3> min{0, 0, 0};
    std::array<int, 3> max{0, 0, 0};
};

// ---- masks and labels ----

/// mask = (labels == label).
Mask maskOfLabel(const model::LabelMap& labels, std::uint8_t label);
/// mask = inside(label) per voxel.
Mask maskOf(const model::LabelMap& labels, const std::function<bool(std::uint8_t)>& inside);
/// Writes `label` into every voxel of the mask; with overwrite == false only into background
/// (label 0) voxels. Returns the number of voxels changed.
std::size_t applyMask(model::LabelMap& labels, const Mask& mask, std::uint8_t label,
                      bool overwrite = true);
[[nodiscard]] std::size_t countInside(const Mask& mask);

// ---- manual correction ----

/// Sets every voxel whose centre lies within radiusMm of centerLps to `label` (label 0 = erase).
/// With onlyLabel set, only voxels currently holding that label are changed (e.g. erase bone
/// without touching the canal). Returns the number of voxels changed.
std::size_t paintSphere(model::LabelMap& labels, const glm::dvec3& centerLps, double radiusMm,
                        std::uint8_t label, int onlyLabel = -1);
/// Erase = paint label 0 over voxels holding `labelToErase` (any label when -1).
std::size_t eraseSphere(model::LabelMap& labels, const glm::dvec3& centerLps, double radiusMm,
                        int labelToErase = -1);

/// Voxels in `region` with loHu <= HU <= hiHu get `label` (overwrite == false: only background
/// voxels). Returns the number changed. ct and labels share the grid.
std::size_t thresholdIntoLabel(const model::Volume& ct, model::LabelMap& labels, double loHu,
                               double hiHu, std::uint8_t label, const VoxelBox& region,
                               bool overwrite = true);
std::size_t thresholdIntoLabel(const model::Volume& ct, model::LabelMap& labels, double loHu,
                               double hiHu, std::uint8_t label, const Mask& region,
                               bool overwrite = true);

// ---- connected components ----

struct Components {
    std::vector<std::int32_t> ids;  // per voxel: 0 = background, 1..count = component
    std::vector<std::size_t> sizes; // voxels per id; sizes[0] = background voxels
    [[nodiscard]] int count() const { return static_cast<int>(sizes.size()) - 1; }
    /// Id of the largest component (0 when there is none).
    [[nodiscard]] int largest() const;
};

/// 3D connected components of mask != 0 (union-find over z-slabs in parallel). Ids are ordered
/// by the first voxel of each component in memory order.
Components connectedComponents(const Mask& mask, Connectivity connectivity);
/// The largest component (empty mask stays empty).
Mask keepLargestComponent(const Mask& mask, Connectivity connectivity);
/// The component containing the seed voxel (empty when the seed is outside the mask or grid).
Mask keepComponentContaining(const Mask& mask, const std::array<int, 3>& seedIjk,
                             Connectivity connectivity);
/// Drops components smaller than minVoxels.
Mask removeSmallComponents(const Mask& mask, std::size_t minVoxels, Connectivity connectivity);

// ---- holes ----

/// 3D: background voxels not face-connected to the grid border become inside.
Mask fillHoles(const Mask& mask);
/// Per axial slice (index k): background not 4-connected to the slice border becomes inside.
Mask fillHolesPerSlice(const Mask& mask);

// ---- metric morphology ----

/// Voxels whose centre is within radiusMm of a mask voxel centre.
Mask dilateMm(const Mask& mask, double radiusMm);
/// Mask voxels whose centre is farther than radiusMm from every background voxel centre.
Mask erodeMm(const Mask& mask, double radiusMm);
/// erode then dilate (removes parts thinner than 2 r).
Mask openMm(const Mask& mask, double radiusMm);
/// dilate then erode (closes gaps narrower than 2 r).
Mask closeMm(const Mask& mask, double radiusMm);

/// Mask voxel count times the voxel volume, in millilitres.
[[nodiscard]] double volumeMl(const Mask& mask);

} // namespace precis::anatomy
