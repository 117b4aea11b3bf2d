#pragma once
// The 3D view's clipping controls (Case tab > Clipping): a plane across one of the patient axes
// or facing the camera, and an axis-aligned box, both in LPS mm. They produce the
// render::ClipState the renderer and picking honour.
#include "model/Mesh.h"
#include "render/Camera.h"
#include "render/SliceView.h"
#include "render/ViewTypes.h"

#include <array>
#include <optional>
#include <string>

namespace precis::gui {

struct ClipControls {
    /// Axial keeps the inferior side of the plane, coronal the posterior, sagittal the patient's
    /// left, view the side beyond the plane as the camera looks (it follows the camera); `flip`
    /// keeps the other side.
    enum class Plane { Axial, Coronal, Sagittal, View };
    bool planeOn = false;
    Plane orientation = Plane::Coronal;
    /// Axial: S, coronal: P, sagittal: L of the plane (mm); view: distance from the camera
    /// target along the view direction (mm, positive: farther).
    double positionMm = 0;
    bool flip = false;
    bool boxOn = false;
    glm::dvec3 boxMinMm{0.0}, boxMaxMm{0.0};

    /// What these settings cut away, for `camera` (the view plane follows it).
    [[nodiscard]] render::ClipState state(const render::Camera& camera) const;

    /// The Clipping section of the side panel. `bounds` gives the slider ranges (and the box
    /// when it is first switched on); `slices` the axial, coronal, sagittal views ("At slice").
    void draw(const model::Bounds& bounds, const std::array<render::SliceView, 3>& slices);

    /// A scripted action's arguments: "plane axial|coronal|sagittal|view POS [flip]",
    /// "plane off", "box L0 L1 P0 P1 S0 S1" (LPS mm), "box off". The reason when malformed.
    std::optional<std::string> apply(const std::string& words);
};

} // namespace precis::gui
