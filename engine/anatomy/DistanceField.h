#pragma once
// Exact Euclidean distance transforms on anisotropic voxel grids, and a signed distance field with
// trilinear look-up at LPS points for clearance queries. Separable: along z the mask is binary, so
// the distance to the nearest voxel of the other state is two scans; along x and y each line is
// Felzenszwalb & Huttenlocher's lower envelope of parabolas (spacing in every pass). The x and y
// passes and the final square root run slice by slice while the slice is in cache.
//
// Distances are measured in millimetres between VOXEL CENTRES (the direction matrix is a
// rotation, so index-space distances scaled per axis by spacingMm equal LPS distances).
//
// Signed convention (half-voxel corrected):
//   outside voxel v:  sd(v) = +( |v - nearest inside centre|  - h )
//   inside voxel v:   sd(v) = -( |v - nearest outside centre| - h )
//   with h = min(spacingMm) / 2.
// So |sd| >= h everywhere, and between two face-adjacent voxels of opposite state the
// trilinear field crosses zero exactly half-way, i.e. on the shared voxel face. Versus the true
// distance to the boundary of the voxelised region the error is at most about half the largest
// spacing. An empty mask (or a full one) has no boundary: every value is +inf (or -inf).
#include "core/Progress.h"
#include "model/Volume.h"

#include <glm/glm.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

namespace precis::anatomy {

/// Binary mask on a grid: voxels != 0 are "inside". Same layout as model::LabelMap.
using Mask = model::VoxelGrid<std::uint8_t>;

/// Squared distance (mm^2) from every voxel centre to the nearest centre of a voxel with
/// mask != 0 (0 on those voxels; +inf everywhere when the mask is empty). Exact up to float
/// rounding. Multithreaded over lines (core/Parallel.h).
std::vector<float> squaredDistanceToMaskMm2(const Mask& mask, const Progress& progress = {});

/// A signed distance field (mm, negative inside) on a voxel grid, see the convention above.
class DistanceField {
public:
    DistanceField() = default;
    DistanceField(const model::ImageGeometry& geometry, std::vector<float> valuesMm);

    [[nodiscard]] const model::ImageGeometry& geometry() const { return geometry_; }
    [[nodiscard]] std::span<const float> valuesMm() const { return {values_.get(), size_}; }
    [[nodiscard]] bool empty() const { return size_ == 0; }
    [[nodiscard]] float atVoxel(int i, int j, int k) const {
        return values_[geometry_.linearIndex(i, j, k)];
    }
    /// Trilinear value at an LPS point (mm). Points outside the grid's voxel centres are clamped
    /// to the nearest border voxel (the field does not know what lies beyond the scan); use
    /// contains() when that matters. O(1).
    [[nodiscard]] double sampleMm(const glm::dvec3& lps) const;
    /// True when the LPS point lies within the box spanned by the voxel centres.
    [[nodiscard]] bool contains(const glm::dvec3& lps) const;

private:
    friend DistanceField signedDistanceField(const Mask& mask, const Progress& progress);
    DistanceField(const model::ImageGeometry& geometry, std::shared_ptr<float[]> values);

    model::ImageGeometry geometry_;
    // Immutable once built, so copies share it. Allocated without a (serial) zero fill: the
    // transform writes every value from its worker threads.
    std::shared_ptr<float[]> values_;
    std::size_t size_ = 0;
};

/// Signed distance field of `mask != 0` (negative inside). Cancellable: returns an empty field
/// when progress.cancelled().
DistanceField signedDistanceField(const Mask& mask, const Progress& progress = {});

/// Signed distance field of the voxels whose label satisfies `inside` (e.g. one label, a set).
DistanceField signedDistanceField(const model::LabelMap& labels,
                                  const std::function<bool(std::uint8_t)>& inside,
                                  const Progress& progress = {});

/// Signed distance field of one label.
DistanceField signedDistanceField(const model::LabelMap& labels, std::uint8_t label,
                                  const Progress& progress = {});

} // namespace precis::anatomy
