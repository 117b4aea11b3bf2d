#pragma once
// Voxel grids in LPS mm. `Volume` holds calibrated values (HU for CT, stored values for MR) as
// int16; `LabelMap` holds one uint8 label per voxel (0 = background).
#include "model/ImageGeometry.h"

#include <cstdint>
#include <string>
#include <vector>

namespace precis::model {

template <class T>
struct VoxelGrid {
    ImageGeometry geometry;
    std::vector<T> voxels; // x fastest, then y, then z (geometry.linearIndex)

    VoxelGrid() = default;
    explicit VoxelGrid(const ImageGeometry& g, T fill = T{})
        : geometry(g), voxels(g.voxelCount(), fill) {}

    [[nodiscard]] T at(int i, int j, int k) const { return voxels[geometry.linearIndex(i, j, k)]; }
    T& at(int i, int j, int k) { return voxels[geometry.linearIndex(i, j, k)]; }
    [[nodiscard]] std::size_t byteSize() const { return voxels.size() * sizeof(T); }
};

/// Identity of the series a volume came from (empty when synthetic and not yet written).
struct SeriesIdentity {
    std::string patientName;
    std::string patientId;
    std::string studyInstanceUid;
    std::string seriesInstanceUid;
    std::string frameOfReferenceUid;
    std::string modality; // "CT", "MR", ...
    std::string seriesDescription;
    std::string patientPosition; // "HFP", "HFS", ...
};

struct Volume : VoxelGrid<std::int16_t> {
    using VoxelGrid::VoxelGrid;
    SeriesIdentity identity;
    double windowCenter = 40.0; // suggested display window (HU), from the series when present
    double windowWidth = 400.0;
};

using LabelMap = VoxelGrid<std::uint8_t>;

} // namespace precis::model
