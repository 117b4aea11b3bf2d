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
    /// Label surfaces only (ignored for extractIsoSurface). The surface through the midpoints
    /// between voxel centres cuts every convex voxel corner and fills every notch; on smooth
    /// bodies a few voxels thick the two cancel (within 2 %), but on structures 1-3 voxels thick
    /// (nerve roots, medial branches) it loses 3-25 % of the label's volume. On: each connected
    /// component is then moved along its vertex normals by one distance (three Newton passes) so
    /// that it encloses the volume of its voxels (to about 0.1 %); border caps stay at the border
    /// voxel centres and count half of those voxels. The topology (closed, oriented) is
    /// unchanged, and vertices move by small fractions of a voxel (about 0.2 voxel on a chain of
    /// single voxels, hundredths on bulky bones), so the surface stays within a voxel of the
    /// label's true boundary. On by default: segmentation meshes, the planner's structure
    /// surfaces and the safety scene report the label's volume. Off: the plain marching-cubes
    /// surface (box faces exactly on the voxel faces).
    bool preserveLabelVolume = true;
};

/// Surface where the volume crosses `isoHu`; "inside" is value > isoHu.
model::Mesh extractIsoSurface(const model::Volume& volume, double isoHu,
                              const IsoSurfaceOptions& options = {}, const Progress& progress = {});

/// Surface of the voxels whose label equals `label` (inside = label, iso at 0.5).
model::Mesh extractLabelSurface(const model::LabelMap& labels, std::uint8_t label,
                                const IsoSurfaceOptions& options = {},
                                const Progress& progress = {});

} // namespace precis::anatomy
