#pragma once
// Small value types shared by the renderers and the app's view state.
#include <glm/glm.hpp>

namespace precis::render {

/// Pixels of the target, origin top-left.
struct ViewportRect {
    float x = 0, y = 0, width = 0, height = 0;
};

/// What the 3D view cuts away (LPS mm): a clipping plane keeps the half-space
/// dot(planeNormal, p - planePointMm) >= 0, and a clipping box keeps the points inside
/// [boxMinMm, boxMaxMm]. Surfaces, slice planes in 3D and picking all honour it; planning
/// overlays (needles, leads) are never clipped.
struct ClipState {
    bool planeEnabled = false;
    glm::dvec3 planePointMm{0.0};
    glm::dvec3 planeNormal{0.0, 0.0, 1.0}; // unit; the kept side
    bool boxEnabled = false;
    glm::dvec3 boxMinMm{0.0}, boxMaxMm{0.0};

    [[nodiscard]] bool active() const { return planeEnabled || boxEnabled; }
    /// True when `p` is kept (not cut away).
    [[nodiscard]] bool keeps(const glm::dvec3& p) const {
        if (planeEnabled && glm::dot(planeNormal, p - planePointMm) < 0.0) return false;
        if (boxEnabled && (glm::any(glm::lessThan(p, boxMinMm)) || glm::any(glm::greaterThan(p, boxMaxMm))))
            return false;
        return true;
    }
};

} // namespace precis::render
