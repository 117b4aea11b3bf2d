#pragma once
// Scan-converts planar contours (RTSTRUCT ROIs, LPS mm) into masks on an image grid. Each closed
// contour is filled on the slice whose plane it lies in (within half the slice spacing), with
// even-odd rule inside an ROI so inner contours cut holes. Contours that lie on no slice of the
// grid (e.g. the image they were drawn on is missing) are reported, never silently dropped.
#include "model/ContourSet.h"
#include "model/Structure.h"
#include "model/Volume.h"

#include <string>
#include <vector>

namespace precis::anatomy {

struct OffGridContour {
    std::string roi;
    double normalPositionMm = 0; // contour plane position along the grid's slice normal
    std::vector<std::string> referencedSopInstanceUids;
};

struct RasterizedRoi {
    model::LabelMap mask; // 1 inside, 0 outside, on the target grid
    std::size_t voxels = 0;
    std::size_t contoursUsed = 0;
    std::vector<OffGridContour> offGrid; // closed contours that lie on no slice of the grid
    std::size_t nonPlanarSkipped = 0;    // POINT / OPEN contours: nothing to fill
};

/// Fills one ROI's closed planar contours on `grid`.
RasterizedRoi rasterizeRoi(const model::ContourRoi& roi, const model::ImageGeometry& grid);

/// The structure kind an RTSTRUCT ROI most likely is, from its interpreted type and name.
model::StructureKind guessStructureKind(const model::ContourRoi& roi);

} // namespace precis::anatomy
