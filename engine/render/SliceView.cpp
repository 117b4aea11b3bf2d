#include "render/SliceView.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace precis::render {

std::string_view toString(SliceOrientation orientation) {
    switch (orientation) {
    case SliceOrientation::Axial: return "axial";
    case SliceOrientation::Coronal: return "coronal";
    case SliceOrientation::Sagittal: return "sagittal";
    case SliceOrientation::Oblique: return "oblique";
    }
    return "oblique";
}

std::optional<WindowLevel> windowLevelPreset(std::string_view name) {
    if (name == "bone") return kBoneWindow;
    if (name == "soft-tissue" || name == "soft") return kSoftTissueWindow;
    if (name == "lung") return kLungWindow;
    return std::nullopt;
}

SliceView SliceView::standard(SliceOrientation orientation, const model::ImageGeometry& geometry,
                              double aspect) {
    SliceView v;
    v.orientation = orientation;
    switch (orientation) {
    case SliceOrientation::Axial: v.rightLps = {1, 0, 0}, v.upLps = {0, -1, 0}; break;
    case SliceOrientation::Coronal: v.rightLps = {1, 0, 0}, v.upLps = {0, 0, 1}; break;
    case SliceOrientation::Sagittal: v.rightLps = {0, 1, 0}, v.upLps = {0, 0, 1}; break;
    case SliceOrientation::Oblique: v.rightLps = {1, 0, 0}, v.upLps = {0, -1, 0}; break;
    }
    const model::Bounds b = geometry.worldBounds();
    v.centerLps = b.center();
    // Fit the projected bounds (half a voxel beyond the centres on each side) with 4 % air.
    const glm::dvec3 half = 0.5 * b.size() + 0.5 * geometry.spacingMm;
    const double w = 2 * std::abs(glm::dot(half, glm::abs(v.rightLps)));
    const double h = 2 * std::abs(glm::dot(half, glm::abs(v.upLps)));
    aspect = aspect > 0 ? aspect : 1.0;
    v.heightMm = std::max(1.0, 1.04 * std::max(h, w / aspect));
    return v;
}

SliceView SliceView::oblique(const glm::dvec3& centerLps, const glm::dvec3& normalLps,
                             const glm::dvec3& upHintLps, double heightMm) {
    SliceView v;
    v.orientation = SliceOrientation::Oblique;
    v.centerLps = centerLps;
    v.heightMm = heightMm > 0 ? heightMm : 300;
    glm::dvec3 n = glm::length(normalLps) > 0 ? glm::normalize(normalLps) : glm::dvec3(0, 0, -1);
    glm::dvec3 up = upHintLps - n * glm::dot(upHintLps, n);
    if (glm::length(up) < 1e-6) {
        const glm::dvec3 a = std::abs(n.z) < 0.9 ? glm::dvec3(0, 0, 1) : glm::dvec3(0, -1, 0);
        up = a - n * glm::dot(a, n);
    }
    v.upLps = glm::normalize(up);
    v.rightLps = glm::normalize(glm::cross(v.upLps, n)); // so that right x up = n
    return v;
}

glm::dvec3 SliceView::worldFromViewport(double x, double y, double width, double height) const {
    const double s = mmPerPixel(height);
    return centerLps + rightLps * ((x - 0.5 * width) * s) + upLps * ((0.5 * height - y) * s);
}

glm::dvec2 SliceView::viewportFromWorld(const glm::dvec3& lps, double width, double height) const {
    const double s = mmPerPixel(height);
    const glm::dvec3 d = lps - centerLps;
    return {0.5 * width + glm::dot(d, rightLps) / s, 0.5 * height - glm::dot(d, upLps) / s};
}

void SliceView::pan(double dxFraction, double dyFraction) {
    centerLps -= rightLps * (dxFraction * heightMm);
    centerLps += upLps * (dyFraction * heightMm);
}

void SliceView::zoom(double factor) {
    if (!(factor > 0)) return;
    heightMm = std::clamp(heightMm / factor, 1.0, 1e5);
}

double sliceStepMm(const model::ImageGeometry& g, const glm::dvec3& normalLps) {
    const double len = glm::length(normalLps);
    if (!(len > 0)) return std::min({g.spacingMm.x, g.spacingMm.y, g.spacingMm.z});
    const glm::dvec3 n = normalLps / len;
    // Steps of one voxel along every index axis projected on n, combined as a norm: equals the
    // axis spacing when n follows an axis.
    double sum = 0;
    for (int a = 0; a < 3; ++a) {
        const double c = glm::dot(n, glm::dvec3(g.direction[a])) / g.spacingMm[a];
        sum += c * c;
    }
    return sum > 0 ? 1.0 / std::sqrt(sum) : 1.0;
}

PlaneRect planeRectCovering(const SliceView& view, const model::ImageGeometry& g) {
    PlaneRect r{glm::dvec2(std::numeric_limits<double>::max()),
                glm::dvec2(std::numeric_limits<double>::lowest())};
    for (int c = 0; c < 8; ++c) {
        const glm::dvec3 ijk{(c & 1) ? g.dims[0] - 0.5 : -0.5, (c & 2) ? g.dims[1] - 0.5 : -0.5,
                             (c & 4) ? g.dims[2] - 0.5 : -0.5};
        const glm::dvec3 d = g.worldFromIndex(ijk) - view.centerLps;
        const glm::dvec2 p{glm::dot(d, view.rightLps), glm::dot(d, view.upLps)};
        r.minMm = glm::min(r.minMm, p);
        r.maxMm = glm::max(r.maxMm, p);
    }
    return r;
}

} // namespace precis::render
