#include "planning/Risk.h"

#include <algorithm>
#include <cmath>

namespace precis::planning {

RiskTerms riskTerms(const SafetyScene& scene, std::span<const glm::dvec3> path, double radiusMm,
                    double tipZoneMm, double lambdaMm, double stepMm) {
    RiskTerms t;
    if (path.size() < 2) return t;
    double total = 0.0;
    for (std::size_t i = 1; i < path.size(); ++i) total += glm::length(path[i] - path[i - 1]);
    t.lengthMm = total;
    const auto& fa = scene.mustAvoidField();
    const auto& fc = scene.cautionField();
    const auto& fb = scene.boneField();
    const double inv = 1.0 / lambdaMm;
    double depth = 0.0;
    for (std::size_t i = 1; i < path.size(); ++i) {
        const glm::dvec3 a = path[i - 1];
        const glm::dvec3 b = path[i];
        const double len = glm::length(b - a);
        if (len <= 0.0) continue;
        const int n = std::max(1, static_cast<int>(std::ceil(len / stepMm)));
        const double ds = len / n;
        // Midpoint rule: sample the centre of each piece.
        for (int s = 0; s < n; ++s) {
            const double u = (s + 0.5) / n;
            const glm::dvec3 p = a + (b - a) * u;
            const double d = depth + u * len;
            if (!fa.empty()) {
                const double da = fa.sampleMm(p) - radiusMm;
                if (d < total - tipZoneMm) t.minMustAvoidShaftMm = std::min(t.minMustAvoidShaftMm, da);
                t.mustAvoidIntegral += ds * std::exp(-std::max(da, 0.0) * inv);
            }
            if (!fc.empty()) {
                const double dc = fc.sampleMm(p) - radiusMm;
                t.cautionIntegral += ds * std::exp(-std::max(dc, 0.0) * inv);
            }
            if (!fb.empty() && d < total - tipZoneMm) {
                t.minBoneShaftMm = std::min(t.minBoneShaftMm, fb.sampleMm(p) - radiusMm);
            }
        }
        depth += len;
    }
    return t;
}

} // namespace precis::planning
