#include "render/Camera.h"

#include <glm/gtc/matrix_transform.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <string>

namespace precis::render {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDeg = kPi / 180.0;

struct PresetName {
    ViewPreset preset;
    std::string_view name;
};
constexpr std::array<PresetName, 7> kPresetNames{{
    {ViewPreset::Anterior, "anterior"},
    {ViewPreset::Posterior, "posterior"},
    {ViewPreset::Left, "left"},
    {ViewPreset::Right, "right"},
    {ViewPreset::Superior, "superior"},
    {ViewPreset::Inferior, "inferior"},
    {ViewPreset::Oblique, "oblique"},
}};

glm::dvec3 anyPerpendicular(const glm::dvec3& v) {
    const glm::dvec3 a = std::abs(v.z) < 0.9 ? glm::dvec3(0, 0, 1) : glm::dvec3(0, -1, 0);
    return glm::normalize(a - v * glm::dot(a, v));
}

} // namespace

std::optional<ViewPreset> viewPresetFromString(std::string_view name) {
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const auto& p : kPresetNames)
        if (p.name == lower) return p.preset;
    return std::nullopt;
}

std::string_view toString(ViewPreset preset) {
    for (const auto& p : kPresetNames)
        if (p.preset == preset) return p.name;
    return "unknown";
}

glm::dvec3 Camera::presetDirection(ViewPreset preset) {
    switch (preset) {
    case ViewPreset::Anterior: return {0, -1, 0};
    case ViewPreset::Posterior: return {0, 1, 0};
    case ViewPreset::Left: return {1, 0, 0};
    case ViewPreset::Right: return {-1, 0, 0};
    case ViewPreset::Superior: return {0, 0, 1};
    case ViewPreset::Inferior: return {0, 0, -1};
    case ViewPreset::Oblique: {
        const double az = 35 * kDeg, el = 20 * kDeg; // from posterior towards left, then up
        return {std::cos(el) * std::sin(az), std::cos(el) * std::cos(az), std::sin(el)};
    }
    }
    return {0, -1, 0};
}

glm::dvec3 Camera::presetUp(ViewPreset preset) {
    switch (preset) {
    case ViewPreset::Superior:
    case ViewPreset::Inferior: return {0, -1, 0}; // anterior at the image top
    default: return {0, 0, 1};
    }
}

Camera Camera::fit(const model::Bounds& boundsIn, ViewPreset preset, double aspect) {
    model::Bounds bounds = boundsIn;
    const glm::dvec3 size = bounds.size();
    if (!(size.x >= 0 && size.y >= 0 && size.z >= 0) || glm::length(size) < 1e-6 ||
        !std::isfinite(glm::length(size))) {
        glm::dvec3 c = std::isfinite(glm::length(bounds.center())) ? bounds.center() : glm::dvec3(0);
        bounds = {c - glm::dvec3(50), c + glm::dvec3(50)};
    }
    Camera cam;
    cam.targetLps = bounds.center();
    cam.upLps = presetUp(preset);
    const glm::dvec3 dir = presetDirection(preset);
    cam.sceneRadiusMm = 0.5 * glm::length(bounds.size());
    aspect = aspect > 0 ? aspect : 1.0;

    // Camera basis (eye at target + dir * d); corners projected into it give the exact distance
    // at which every corner is inside the frustum.
    const glm::dvec3 back = dir;
    const glm::dvec3 right = glm::normalize(glm::cross(-dir, cam.upLps));
    const glm::dvec3 up = glm::cross(right, -dir);
    const double tanY = std::tan(0.5 * cam.fovYDeg * kDeg);
    const double tanX = tanY * aspect;
    constexpr double kMargin = 1.08; // a little air around the content
    double distance = 0;
    for (int i = 0; i < 8; ++i) {
        const glm::dvec3 corner{(i & 1) ? bounds.maxMm.x : bounds.minMm.x,
                                (i & 2) ? bounds.maxMm.y : bounds.minMm.y,
                                (i & 4) ? bounds.maxMm.z : bounds.minMm.z};
        const glm::dvec3 rel = corner - cam.targetLps;
        const double x = std::abs(glm::dot(rel, right)) * kMargin;
        const double y = std::abs(glm::dot(rel, up)) * kMargin;
        const double towardsEye = glm::dot(rel, back);
        distance = std::max({distance, towardsEye + x / tanX, towardsEye + y / tanY});
    }
    distance = std::max(distance, cam.sceneRadiusMm * 1.05);
    cam.eyeLps = cam.targetLps + dir * distance;
    return cam;
}

glm::dvec3 Camera::forward() const { return glm::normalize(targetLps - eyeLps); }

glm::dvec3 Camera::right() const {
    const glm::dvec3 f = forward();
    glm::dvec3 r = glm::cross(f, upLps);
    if (glm::length(r) < 1e-9) r = glm::cross(f, anyPerpendicular(f));
    return glm::normalize(r);
}

glm::dvec3 Camera::up() const { return glm::cross(right(), forward()); }

double Camera::distanceMm() const { return glm::length(targetLps - eyeLps); }

glm::dmat4 Camera::viewFromWorld() const {
    return glm::lookAtRH(eyeLps, targetLps, up());
}

double Camera::nearMm() const {
    const double d = distanceMm();
    return std::max(d - 1.5 * sceneRadiusMm, std::max(0.01 * d, 0.1));
}

double Camera::farMm() const { return distanceMm() + 1.5 * sceneRadiusMm + 1.0; }

glm::dmat4 Camera::clipFromView(double aspect) const {
    glm::dmat4 p = glm::perspectiveRH_ZO(fovYDeg * kDeg, aspect > 0 ? aspect : 1.0, nearMm(), farMm());
    p[1][1] *= -1.0; // Vulkan framebuffer y points down; keep image up = camera up
    return p;
}

void Camera::orbit(double yawRad, double pitchRad) {
    const glm::dvec3 u = up(), r = right();
    glm::dvec3 offset = eyeLps - targetLps;
    // Yaw about image up, then pitch about the (rotated) image right; up follows the pitch.
    const glm::dmat4 yaw = glm::rotate(glm::dmat4(1.0), -yawRad, u);
    offset = glm::dvec3(yaw * glm::dvec4(offset, 0.0));
    const glm::dvec3 r2 = glm::dvec3(yaw * glm::dvec4(r, 0.0));
    const glm::dmat4 pitch = glm::rotate(glm::dmat4(1.0), -pitchRad, r2);
    offset = glm::dvec3(pitch * glm::dvec4(offset, 0.0));
    upLps = glm::dvec3(pitch * glm::dvec4(u, 0.0));
    eyeLps = targetLps + offset;
}

void Camera::pan(double dxFraction, double dyFraction) {
    const double visibleHeight = 2.0 * distanceMm() * std::tan(0.5 * fovYDeg * kDeg);
    const glm::dvec3 shift = (-dxFraction * right() + dyFraction * up()) * visibleHeight;
    eyeLps += shift;
    targetLps += shift;
}

void Camera::zoom(double factor) {
    if (!(factor > 0)) return;
    const double d = std::clamp(distanceMm() / factor, 1.0, 1e6);
    eyeLps = targetLps - forward() * d;
}

} // namespace precis::render
