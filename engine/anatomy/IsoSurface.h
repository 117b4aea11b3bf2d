#pragma once
// Iso-surface extraction (marching cubes with face-consistent ambiguity resolution, so closed
// regions give watertight, consistently oriented meshes). Vertices in LPS mm, wound
// counter-clockwise seen from outside the region above the iso value.
#include "core/Progress.h"
#include "model/Mesh.h"
#include "model/Volume.h"

namespace precis::anatomy {

/// Iso value that gives the bone surface on CT: above cancellous bone (~250-270 HU), so the
/// cortical shell is drawn, and above enhanced vessels in most contrast scans.
inline constexpr double kBoneIsoHu = 300.0;

struct IsoSurfaceOptions {
    bool computeNormals = true;
    /// Treat everything outside the volume as "outside", so regions touching the border are
    /// closed by caps on the border voxel centres (watertight). Off: the surface stops open at
    /// the border, as VTK's extractors do (used to compare with them like for like).
    bool closeAtBorder = true;
};

/// Surface where the volume crosses `isoHu`; "inside" is value > isoHu.
model::Mesh extractIsoSurface(const model::Volume& volume, double isoHu,
                              const IsoSurfaceOptions& options = {}, const Progress& progress = {});

/// Surface of the voxels whose label equals `label` (inside = label, iso at 0.5).
model::Mesh extractLabelSurface(const model::LabelMap& labels, std::uint8_t label,
                                const IsoSurfaceOptions& options = {},
                                const Progress& progress = {});

} // namespace precis::anatomy
