#include "render/PlanOverlay.h"

#include <algorithm>
#include <cmath>

namespace precis::render {

namespace {

constexpr double kPi = 3.14159265358979323846;

void append(model::Mesh& to, const model::Mesh& from) {
    const auto base = static_cast<std::uint32_t>(to.positions.size());
    to.positions.insert(to.positions.end(), from.positions.begin(), from.positions.end());
    to.normals.insert(to.normals.end(), from.normals.begin(), from.normals.end());
    for (auto i : from.indices) to.indices.push_back(base + i);
}

model::Mesh cylinder(const glm::dvec3& a, const glm::dvec3& b, double r, int sides) {
    model::Mesh m;
    const glm::dvec3 axis = b - a;
    const double len = glm::length(axis);
    if (!(len > 1e-9) || !(r > 0)) return m;
    const glm::dvec3 w = axis / len;
    const glm::dvec3 helper = std::abs(w.z) < 0.9 ? glm::dvec3(0, 0, 1) : glm::dvec3(1, 0, 0);
    const glm::dvec3 u = glm::normalize(glm::cross(helper, w));
    const glm::dvec3 v = glm::cross(w, u); // (u, v, w) right-handed
    // Side: separate vertices from the caps so normals stay sharp at the rims.
    for (int i = 0; i <= sides; ++i) {
        const double t = 2 * kPi * i / sides;
        const glm::dvec3 n = std::cos(t) * u + std::sin(t) * v;
        m.positions.push_back(glm::vec3(a + r * n));
        m.normals.push_back(glm::vec3(n));
        m.positions.push_back(glm::vec3(b + r * n));
        m.normals.push_back(glm::vec3(n));
    }
    for (int i = 0; i < sides; ++i) {
        const auto p0 = std::uint32_t(2 * i), p1 = p0 + 1, q0 = p0 + 2, q1 = p0 + 3;
        // Going round counter-clockwise about +w, (a_i, a_i+1, b_i+1) faces outwards.
        m.indices.insert(m.indices.end(), {p0, q0, q1, p0, q1, p1});
    }
    for (int cap = 0; cap < 2; ++cap) {
        const glm::dvec3 c = cap == 0 ? a : b;
        const glm::dvec3 n = cap == 0 ? -w : w;
        const auto centre = static_cast<std::uint32_t>(m.positions.size());
        m.positions.push_back(glm::vec3(c));
        m.normals.push_back(glm::vec3(n));
        for (int i = 0; i <= sides; ++i) {
            const double t = 2 * kPi * i / sides;
            m.positions.push_back(glm::vec3(c + r * (std::cos(t) * u + std::sin(t) * v)));
            m.normals.push_back(glm::vec3(n));
        }
        for (int i = 0; i < sides; ++i) {
            const std::uint32_t x = centre + 1 + std::uint32_t(i), y = x + 1;
            if (cap == 0) m.indices.insert(m.indices.end(), {centre, y, x}); // faces -w
            else m.indices.insert(m.indices.end(), {centre, x, y});          // faces +w
        }
    }
    return m;
}

/// The part of a polyline between arc lengths s0 < s1 measured from its end (the tip).
std::vector<glm::dvec3> subPathFromTip(const std::vector<glm::dvec3>& path, double s0, double s1) {
    std::vector<glm::dvec3> out;
    double walked = 0;
    for (std::size_t i = path.size() - 1; i > 0; --i) {
        const glm::dvec3 a = path[i], b = path[i - 1]; // walking from the tip backwards
        const double len = glm::length(b - a);
        const double from = std::max(s0, walked), to = std::min(s1, walked + len);
        if (to > from && len > 0) {
            const glm::dvec3 p = a + (b - a) * ((from - walked) / len);
            const glm::dvec3 q = a + (b - a) * ((to - walked) / len);
            if (out.empty()) out.push_back(p);
            out.push_back(q);
        }
        walked += len;
        if (walked >= s1) break;
    }
    return out;
}

double pathLength(const std::vector<glm::dvec3>& path) {
    double l = 0;
    for (std::size_t i = 1; i < path.size(); ++i) l += glm::length(path[i] - path[i - 1]);
    return l;
}

} // namespace

model::Mesh tubeMesh(const std::vector<glm::dvec3>& path, double radiusMm, int sides) {
    model::Mesh m;
    sides = std::max(3, sides);
    for (std::size_t i = 1; i < path.size(); ++i) append(m, cylinder(path[i - 1], path[i], radiusMm, sides));
    return m;
}

model::Mesh sphereMesh(const glm::dvec3& c, double r, int slices) {
    model::Mesh m;
    slices = std::max(6, slices);
    const int stacks = slices / 2;
    for (int i = 0; i <= stacks; ++i) {
        const double theta = kPi * i / stacks;
        for (int j = 0; j <= slices; ++j) {
            const double phi = 2 * kPi * j / slices;
            const glm::dvec3 n(std::sin(theta) * std::cos(phi), std::sin(theta) * std::sin(phi),
                               std::cos(theta));
            m.positions.push_back(glm::vec3(c + r * n));
            m.normals.push_back(glm::vec3(n));
        }
    }
    auto at = [&](int i, int j) { return static_cast<std::uint32_t>(i * (slices + 1) + j); };
    for (int i = 0; i < stacks; ++i)
        for (int j = 0; j < slices; ++j) {
            const std::uint32_t a = at(i, j), b = at(i + 1, j), cc = at(i + 1, j + 1), d = at(i, j + 1);
            if (i != stacks - 1) m.indices.insert(m.indices.end(), {a, b, cc});
            if (i != 0) m.indices.insert(m.indices.end(), {a, cc, d});
        }
    return m;
}

std::vector<OverlayMesh> planOverlayMeshes(const model::Plan& plan, const model::DeviceCatalog& catalog,
                                           std::string_view activeTrajectory, const OverlayStyle& style) {
    std::vector<OverlayMesh> out;
    for (const auto& t : plan.trajectories) {
        const model::Device* device = catalog.find(t.deviceId);
        const double r = device && device->outerDiameterMm > 0 ? device->radiusMm()
                                                               : style.unknownDeviceRadiusMm;
        const bool active = !activeTrajectory.empty() && t.name == activeTrajectory;
        const auto path = model::devicePath(t);
        const double length = pathLength(path);

        // Active parts measured from the tip: lead contacts, or the RF cannula's bare tip.
        std::vector<std::pair<double, double>> activeSpans;
        if (device) {
            for (const auto& c : device->contacts)
                if (c.lengthMm > 0) activeSpans.emplace_back(c.offsetMm, c.offsetMm + c.lengthMm);
            if (activeSpans.empty() && device->activeTipMm > 0)
                activeSpans.emplace_back(0.0, device->activeTipMm);
        }
        std::sort(activeSpans.begin(), activeSpans.end());
        // Shaft pieces between the active spans, so the highlight is not hidden inside the shaft.
        model::Mesh shaft, tip;
        double from = 0; // arc length from the tip
        for (auto [s0, s1] : activeSpans) {
            s0 = std::clamp(s0, 0.0, length);
            s1 = std::clamp(s1, 0.0, length);
            if (s0 > from) append(shaft, tubeMesh(subPathFromTip(path, from, s0), r, style.sides));
            if (s1 > s0) append(tip, tubeMesh(subPathFromTip(path, s0, s1), r * 1.02, style.sides));
            from = std::max(from, s1);
        }
        if (length > from) append(shaft, tubeMesh(subPathFromTip(path, from, length), r, style.sides));
        if (!shaft.empty())
            out.push_back({t.name, OverlayMesh::Part::Shaft, std::move(shaft),
                           active ? style.activeShaft : style.shaft});
        if (!tip.empty())
            out.push_back({t.name, OverlayMesh::Part::ActiveTip, std::move(tip), style.activeTip});
        const double hr = style.handleRadiusMm * (active ? 1.5 : 1.0);
        out.push_back({t.name, OverlayMesh::Part::EntryHandle, sphereMesh(t.entryLps, hr), style.entryHandle});
        out.push_back({t.name, OverlayMesh::Part::TargetHandle, sphereMesh(t.targetLps, hr),
                       style.targetHandle});
    }
    return out;
}

} // namespace precis::render
