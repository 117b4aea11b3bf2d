#pragma once
// Picking: what lies under a click or the mouse, as an LPS point (mm) and the structure there.
// On a slice the point is the slice plane's under the pixel and the structure is the label map's
// at that voxel; in 3D the camera ray through the pixel is cast against the visible structure
// surfaces (per-structure BVHs, built on a worker thread the first time a 3D pick needs them),
// nearest hit kept by the clipping wins.
#include "gui/BackgroundTask.h"
#include "gui/StructureMeshes.h"

#include "anatomy/MeshBvh.h"
#include "model/Volume.h"
#include "render/Camera.h"
#include "render/SliceView.h"
#include "render/ViewTypes.h"

#include <glm/glm.hpp>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace precis::gui {

/// One pick, for the status bar, measurements and GuiRunReport.
struct PickInfo {
    std::string pane;         // "3d", "axial", "coronal", "sagittal"
    glm::dvec3 lps{0.0};      // LPS mm
    int label = 0;            // the label map's at lps (0: none or no label map)
    std::string structure;    // the structure's name, empty when none
    std::optional<double> hu; // the volume's value at the nearest voxel; none outside the volume
};

/// "L 12.3 P 45.6 S -7.8 mm · L3 · 412 HU" (the structure and HU only when known). The values
/// are signed LPS coordinates: L = +x (patient left), P = +y (posterior), S = +z (superior).
std::string describePick(const PickInfo& pick);

/// The value at the voxel nearest to `lps`; std::nullopt outside the grid.
std::optional<std::int16_t> valueAt(const model::Volume& volume, const glm::dvec3& lps);
std::optional<std::uint8_t> valueAt(const model::LabelMap& labels, const glm::dvec3& lps);

/// A segment along the camera ray through a pixel, from the near plane to the far plane (LPS mm).
struct Ray {
    glm::dvec3 fromLps{0.0}, toLps{0.0};
};
/// The ray through the point at fractions (fx, fy) of a viewport (0,0 top-left) of width/height
/// `aspect` seen by `camera`.
Ray cameraRay(const render::Camera& camera, double fx, double fy, double aspect);

/// Per-structure BVHs over the meshes the 3D view draws, built in the background on first use.
class SurfacePicker {
public:
    /// Starts building over `meshes` (nothing when already building or built). The meshes must
    /// stay alive and unchanged until the build has finished or reset() was called.
    void prepare(std::span<const StructureMesh> meshes);
    /// Takes the finished build; call once a frame. A failed or cancelled build is forgotten.
    void poll();
    /// Cancels (and joins) a build and forgets the BVHs: call before the meshes change.
    void reset();
    [[nodiscard]] bool building() const { return task_ != nullptr; }
    [[nodiscard]] bool ready() const { return ready_; }

    struct Hit {
        std::size_t structure = 0; // index into the meshes given to prepare()
        glm::dvec3 lps{0.0};
        double depthMm = 0; // from ray.fromLps
    };
    /// The nearest crossing of `ray` with a surface whose `pickable[i]` is true and that `clip`
    /// keeps (the first kept crossing of each structure competes). std::nullopt: nothing hit, or
    /// not ready().
    [[nodiscard]] std::optional<Hit> cast(const Ray& ray, const std::vector<bool>& pickable,
                                          const render::ClipState& clip) const;

private:
    using Bvhs = std::vector<std::shared_ptr<const anatomy::MeshBvh>>;
    Bvhs bvhs_;
    bool ready_ = false;
    std::unique_ptr<BackgroundTask<Bvhs>> task_;
};

} // namespace precis::gui
