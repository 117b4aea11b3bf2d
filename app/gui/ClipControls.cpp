#include "gui/ClipControls.h"

#include <imgui.h>

#include <algorithm>
#include <sstream>

namespace precis::gui {

namespace {

/// Unit normal of the kept side before `flip`, and the axis the position is measured along.
glm::dvec3 keptNormal(ClipControls::Plane p, const render::Camera& camera) {
    switch (p) {
    case ClipControls::Plane::Axial: return {0, 0, -1};   // keep inferior
    case ClipControls::Plane::Coronal: return {0, 1, 0};  // keep posterior
    case ClipControls::Plane::Sagittal: return {1, 0, 0}; // keep the patient's left
    case ClipControls::Plane::View: break;
    }
    const glm::dvec3 d = camera.targetLps - camera.eyeLps;
    const double len = glm::length(d);
    return len > 0 ? d / len : glm::dvec3(0, 1, 0);
}

int axisOf(ClipControls::Plane p) {
    return p == ClipControls::Plane::Axial ? 2 : p == ClipControls::Plane::Coronal ? 1 : 0;
}

constexpr const char* kPlaneNames[] = {"Axial", "Coronal", "Sagittal", "Facing the camera"};

} // namespace

render::ClipState ClipControls::state(const render::Camera& camera) const {
    render::ClipState c;
    if (planeOn) {
        const glm::dvec3 n = keptNormal(orientation, camera);
        glm::dvec3 point{0.0};
        if (orientation == Plane::View) {
            point = camera.targetLps + n * positionMm;
        } else {
            point[axisOf(orientation)] = positionMm;
        }
        c.planeEnabled = true;
        c.planePointMm = point;
        c.planeNormal = flip ? -n : n;
    }
    if (boxOn) {
        c.boxEnabled = true;
        c.boxMinMm = glm::min(boxMinMm, boxMaxMm);
        c.boxMaxMm = glm::max(boxMinMm, boxMaxMm);
    }
    return c;
}

void ClipControls::draw(const model::Bounds& bounds, const std::array<render::SliceView, 3>& slices) {
    const glm::dvec3 lo = bounds.minMm, hi = bounds.maxMm;
    ImGui::Checkbox("Clipping plane", &planeOn);
    ImGui::BeginDisabled(!planeOn);
    int o = int(orientation);
    ImGui::SetNextItemWidth(150);
    if (ImGui::Combo("##clipPlane", &o, kPlaneNames, IM_ARRAYSIZE(kPlaneNames))) {
        orientation = Plane(o);
        positionMm = orientation == Plane::View ? 0.0 : 0.5 * (lo[axisOf(orientation)] + hi[axisOf(orientation)]);
    }
    ImGui::SameLine();
    ImGui::Checkbox("Flip", &flip);
    float pos = float(positionMm);
    const char* unit = orientation == Plane::Axial      ? "S %.1f mm"
                       : orientation == Plane::Coronal  ? "P %.1f mm"
                       : orientation == Plane::Sagittal ? "L %.1f mm"
                                                        : "%+.1f mm from the target";
    float a = 0, b = 0;
    if (orientation == Plane::View) {
        const double r = 0.5 * glm::length(hi - lo);
        a = float(-r), b = float(r);
    } else {
        a = float(lo[axisOf(orientation)]), b = float(hi[axisOf(orientation)]);
    }
    ImGui::SetNextItemWidth(-1);
    if (ImGui::SliderFloat("##clipPos", &pos, std::min(a, pos), std::max(b, pos), unit)) positionMm = pos;
    if (orientation != Plane::View && ImGui::SmallButton("At the slice")) {
        // Axial slice for the axial plane, and so on.
        const int slice = orientation == Plane::Axial ? 0 : orientation == Plane::Coronal ? 1 : 2;
        positionMm = slices[std::size_t(slice)].centerLps[axisOf(orientation)];
    }
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Move the plane to the matching slice's position");
    ImGui::EndDisabled();

    if (ImGui::Checkbox("Clipping box", &boxOn) && boxOn && boxMinMm == boxMaxMm) {
        boxMinMm = lo;
        boxMaxMm = hi;
    }
    ImGui::BeginDisabled(!boxOn);
    const char* axes[3] = {"L##box", "P##box", "S##box"};
    for (int i = 0; i < 3; ++i) {
        float v0 = float(boxMinMm[i]), v1 = float(boxMaxMm[i]);
        ImGui::SetNextItemWidth(-30);
        if (ImGui::DragFloatRange2(axes[i], &v0, &v1, 0.5f, float(lo[i]), float(hi[i]), "%.0f", "%.0f mm")) {
            boxMinMm[i] = v0;
            boxMaxMm[i] = v1;
        }
    }
    if (ImGui::SmallButton("Reset box")) {
        boxMinMm = lo;
        boxMaxMm = hi;
    }
    ImGui::EndDisabled();
    ImGui::TextDisabled("Surfaces are cut; needles, leads and\nslice planes are not. Picking ignores\n"
                        "what is cut away.");
}

std::optional<std::string> ClipControls::apply(const std::string& words) {
    std::istringstream in(words);
    std::string what, arg;
    in >> what >> arg;
    if (what == "plane") {
        if (arg == "off") {
            planeOn = false;
            return std::nullopt;
        }
        static constexpr std::pair<const char*, Plane> kNames[] = {
            {"axial", Plane::Axial}, {"coronal", Plane::Coronal}, {"sagittal", Plane::Sagittal}, {"view", Plane::View}};
        const auto* it = std::find_if(std::begin(kNames), std::end(kNames),
                                      [&](const auto& n) { return arg == n.first; });
        double pos = 0;
        if (it == std::end(kNames) || !(in >> pos)) return "clip-plane axial|coronal|sagittal|view POS [flip] | off";
        std::string rest;
        in >> rest;
        if (!rest.empty() && rest != "flip") return "clip-plane: unknown word '" + rest + "'";
        planeOn = true;
        orientation = it->second;
        positionMm = pos;
        flip = rest == "flip";
        return std::nullopt;
    }
    if (what == "box") {
        if (arg == "off") {
            boxOn = false;
            return std::nullopt;
        }
        std::istringstream nums(words.substr(words.find("box") + 3));
        double v[6];
        for (double& x : v)
            if (!(nums >> x)) return "clip-box L0 L1 P0 P1 S0 S1 | off";
        boxOn = true;
        boxMinMm = {v[0], v[2], v[4]};
        boxMaxMm = {v[1], v[3], v[5]};
        return std::nullopt;
    }
    return "clip: plane or box";
}

} // namespace precis::gui
