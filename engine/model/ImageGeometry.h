#pragma once
// Geometry of a voxel grid in DICOM patient LPS millimetres.
//
// Conventions (the same as `precis info`):
//   dims      = [columns, rows, slices]; index (i, j, k) = (column, row, slice)
//   spacingMm = [along a row (PixelSpacing[1]), along a column (PixelSpacing[0]), between slices]
//   originMm  = LPS centre of voxel (0,0,0), i.e. the first slice's Image Position (Patient)
//   direction = 3x3 matrix whose COLUMNS are the row direction (i), the column direction (j) and
//               the slice normal n = row x column (k), each a unit vector in LPS
//   world(i,j,k) = originMm + direction * (i*sx, j*sy, k*sz)
#include <glm/glm.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

namespace precis::model {

struct Bounds {
    glm::dvec3 minMm{0.0};
    glm::dvec3 maxMm{0.0};
    [[nodiscard]] glm::dvec3 center() const { return (minMm + maxMm) * 0.5; }
    [[nodiscard]] glm::dvec3 size() const { return maxMm - minMm; }
};

struct ImageGeometry {
    std::array<int, 3> dims{0, 0, 0};
    glm::dvec3 spacingMm{1.0};
    glm::dvec3 originMm{0.0};
    glm::dmat3 direction{1.0}; // columns: row dir, column dir, normal

    [[nodiscard]] std::size_t voxelCount() const {
        return static_cast<std::size_t>(dims[0]) * dims[1] * dims[2];
    }
    [[nodiscard]] std::size_t linearIndex(int i, int j, int k) const {
        return (static_cast<std::size_t>(k) * dims[1] + j) * dims[0] + i;
    }
    [[nodiscard]] bool contains(int i, int j, int k) const {
        return i >= 0 && j >= 0 && k >= 0 && i < dims[0] && j < dims[1] && k < dims[2];
    }
    /// LPS mm of a (continuous) voxel index.
    [[nodiscard]] glm::dvec3 worldFromIndex(const glm::dvec3& ijk) const {
        return originMm + direction * (ijk * spacingMm);
    }
    /// Continuous voxel index of an LPS point (inverse of worldFromIndex).
    [[nodiscard]] glm::dvec3 indexFromWorld(const glm::dvec3& lps) const {
        return (glm::transpose(direction) * (lps - originMm)) / spacingMm;
    }
    /// 4x4 affine mapping homogeneous voxel index to LPS mm.
    [[nodiscard]] glm::dmat4 worldFromIndexMatrix() const;
    /// Axis-aligned LPS bounds of the voxel centres.
    [[nodiscard]] Bounds worldBounds() const;
    /// True when the direction matrix is orthonormal (within tol) and right-handed.
    [[nodiscard]] bool hasOrthonormalDirection(double tol = 1e-4) const;
    /// Same dims, and origin/spacing/direction equal within tol (mm, unitless).
    [[nodiscard]] bool sameGridAs(const ImageGeometry& other, double tol = 1e-4) const;
};

} // namespace precis::model
