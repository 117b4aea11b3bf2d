#include "model/Plan.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace precis::model {

bool isFinite(const glm::dvec3& v) {
    return std::isfinite(v.x) && std::isfinite(v.y) && std::isfinite(v.z);
}

std::string_view toString(MeasurementKind kind) {
    return kind == MeasurementKind::Angle ? "angle" : "distance";
}

std::optional<MeasurementKind> measurementKindFromString(std::string_view name) {
    for (MeasurementKind k : {MeasurementKind::Distance, MeasurementKind::Angle})
        if (name == toString(k)) return k;
    return std::nullopt;
}

std::size_t measurementPointCount(MeasurementKind kind) {
    return kind == MeasurementKind::Angle ? 3 : 2;
}

std::string_view measurementUnit(MeasurementKind kind) {
    return kind == MeasurementKind::Angle ? "deg" : "mm";
}

double measurementValue(const PlanMeasurement& m) {
    if (m.pointsLps.size() != measurementPointCount(m.kind)) return 0;
    const auto& p = m.pointsLps;
    if (m.kind == MeasurementKind::Distance) return glm::length(p[1] - p[0]);
    const glm::dvec3 u = p[0] - p[1], v = p[2] - p[1];
    const double lu = glm::length(u), lv = glm::length(v);
    if (lu < 1e-9 || lv < 1e-9) return 0;
    return std::acos(std::clamp(glm::dot(u, v) / (lu * lv), -1.0, 1.0)) * 180.0 / std::numbers::pi;
}

std::vector<std::string> applyStructureRoles(const std::vector<StructureRoleOverride>& overrides,
                                             std::vector<Structure>& structures) {
    std::vector<std::string> missing;
    for (const StructureRoleOverride& o : overrides) {
        bool found = false;
        for (Structure& s : structures) {
            if (s.name != o.structure) continue;
            s.role = o.role;
            found = true;
        }
        if (!found) missing.push_back(o.structure);
    }
    return missing;
}

bool hasFiniteCoordinates(const Trajectory& t) {
    if (!isFinite(t.entryLps) || !isFinite(t.targetLps)) return false;
    for (const glm::dvec3& c : t.controlPointsLps) {
        if (!isFinite(c)) return false;
    }
    return true;
}

std::vector<glm::dvec3> devicePath(const Trajectory& t) {
    std::vector<glm::dvec3> pts;
    pts.push_back(t.entryLps);
    for (const glm::dvec3& c : t.controlPointsLps) pts.push_back(c);
    pts.push_back(t.targetLps);
    if (t.insertionDepthMm <= 0.0) return pts;
    std::vector<glm::dvec3> out{pts.front()};
    double depth = 0.0;
    for (std::size_t i = 1; i < pts.size(); ++i) {
        const double len = glm::length(pts[i] - pts[i - 1]);
        if (depth + len >= t.insertionDepthMm || i + 1 == pts.size()) {
            const glm::dvec3 dir = len > 0 ? (pts[i] - pts[i - 1]) / len : glm::dvec3(0.0);
            out.push_back(pts[i - 1] + dir * (t.insertionDepthMm - depth));
            return out;
        }
        out.push_back(pts[i]);
        depth += len;
    }
    return out;
}

const Trajectory* Plan::find(const std::string& trajectoryName) const {
    for (const Trajectory& t : trajectories) {
        if (t.name == trajectoryName) return &t;
    }
    return nullptr;
}

} // namespace precis::model
