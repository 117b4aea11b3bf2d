#include "model/Plan.h"

#include <cmath>

namespace precis::model {

bool isFinite(const glm::dvec3& v) {
    return std::isfinite(v.x) && std::isfinite(v.y) && std::isfinite(v.z);
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
