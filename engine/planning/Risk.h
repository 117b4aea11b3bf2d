#pragma once
// The risk model shared by evaluation and the trajectory search, so a suggested path and a
// placed one are scored by the same function (and can be compared).
//
//   riskScore = mustAvoid * I_A + caution * I_C + lengthPer100Mm * lengthMm / 100
//   I_X = integral over the path (ds in mm) of exp(-max(d_X(s) - r, 0) / lambdaMm)
//
// d_X is the signed distance from the device axis to the union of must-avoid (A) or caution (C)
// structures (SafetyScene's combined fields), r the device radius. I_X reads as "millimetres of
// path spent against structure X": a path that runs 4 mm along a nerve root at contact scores
// about 4, one that stays 3 lambda away scores about 0.05 per mm. Lower is safer.
#include "planning/SafetyScene.h"

#include <glm/glm.hpp>

#include <span>

namespace precis::planning {

struct RiskWeights {
    double mustAvoid = 1.0;
    double caution = 0.2;
    double lengthPer100Mm = 0.5;
    double lambdaMm = 3.0;
};

/// The weight-independent terms of one path (the search keeps these to re-rank quickly).
struct RiskTerms {
    double mustAvoidIntegral = 0.0; // I_A, mm (with the lambda used to compute it)
    double cautionIntegral = 0.0;   // I_C, mm
    double lengthMm = 0.0;
    // Smallest d - r along the shaft before the tip zone (field estimates, conservative): the
    // search uses them to drop paths that are blocked or pierce a must-avoid structure.
    double minMustAvoidShaftMm = 1e30;
    double minBoneShaftMm = 1e30;
};

/// Samples the combined fields every stepMm along the polyline (entry first). `tipZoneMm` is
/// the length at the tip where contact may be intended (not counted in the
/// min*ShaftMm terms).
/// Requires a scene built with distance fields.
RiskTerms riskTerms(const SafetyScene& scene, std::span<const glm::dvec3> path, double radiusMm,
                    double tipZoneMm, double lambdaMm = RiskWeights{}.lambdaMm,
                    double stepMm = 1.0);

[[nodiscard]] inline double riskScore(const RiskTerms& t, const RiskWeights& w) {
    return w.mustAvoid * t.mustAvoidIntegral + w.caution * t.cautionIntegral +
           w.lengthPer100Mm * t.lengthMm / 100.0;
}

} // namespace precis::planning
