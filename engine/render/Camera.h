#pragma once
// Perspective camera in patient LPS millimetres (+x patient left, +y posterior, +z superior).
//
// Presets follow the radiological/anatomical convention: the Anterior view looks at the patient's
// front (camera at -y looking +y, up +z), so the patient's RIGHT appears on the image LEFT; the
// Posterior view (camera at +y) shows the patient's left on the image left. Left/Right put the
// camera on the patient's left (+x) / right (-x) side with up +z. Superior/Inferior look down /
// up the z axis with anterior at the image top. Oblique is the prone-procedure view: 35 degrees
// from posterior towards the patient's left, 20 degrees from above.
#include "model/ImageGeometry.h"

#include <glm/glm.hpp>

#include <optional>
#include <string_view>

namespace precis::render {

enum class ViewPreset { Anterior, Posterior, Left, Right, Superior, Inferior, Oblique };

/// "anterior", "posterior", "left", "right", "superior", "inferior", "oblique" (case-insensitive).
std::optional<ViewPreset> viewPresetFromString(std::string_view name);
std::string_view toString(ViewPreset preset);

struct Camera {
    glm::dvec3 eyeLps{0.0, -500.0, 0.0};
    glm::dvec3 targetLps{0.0};
    glm::dvec3 upLps{0.0, 0.0, 1.0}; // need not be orthogonal to the view direction
    double fovYDeg = 30;
    double sceneRadiusMm = 250; // radius of the framed content; sets the near/far planes

    /// Frames `bounds` from the preset's direction with a small margin, for a viewport of the
    /// given width/height ratio. Degenerate (empty) bounds frame a 100 mm cube at their centre.
    static Camera fit(const model::Bounds& bounds, ViewPreset preset, double aspect = 1.0);
    /// Unit vector from the target to the eye for a preset.
    static glm::dvec3 presetDirection(ViewPreset preset);
    static glm::dvec3 presetUp(ViewPreset preset);

    /// Right-handed view frame: camera looks down -z, +y is image up, +x image right (mm).
    [[nodiscard]] glm::dmat4 viewFromWorld() const;
    /// Vulkan clip space (y down, depth 0..1), for a viewport of width/height `aspect`.
    [[nodiscard]] glm::dmat4 clipFromView(double aspect) const;
    [[nodiscard]] glm::dmat4 clipFromWorld(double aspect) const {
        return clipFromView(aspect) * viewFromWorld();
    }
    [[nodiscard]] double nearMm() const;
    [[nodiscard]] double farMm() const;

    [[nodiscard]] glm::dvec3 forward() const; // unit, eye -> target
    [[nodiscard]] glm::dvec3 right() const;   // unit, image right in LPS
    [[nodiscard]] glm::dvec3 up() const;      // unit, image up in LPS (orthogonalised upLps)
    [[nodiscard]] double distanceMm() const;

    // Interaction (GUI): angles in radians, fractions of the viewport height.
    /// Turns the eye around the target: `yaw` about the image up axis, `pitch` about image right.
    void orbit(double yawRad, double pitchRad);
    /// Moves eye and target in the image plane by fractions of the visible height at the target.
    void pan(double dxFraction, double dyFraction);
    /// Moves the eye towards the target by `factor` (> 1 closer, < 1 farther).
    void zoom(double factor);
};

} // namespace precis::render
