#pragma once
// The skin risk map of the Plan tab: for a target and a device, every point of the posterior skin
// coloured by the risk score of the straight path from it to the target (planning's
// TrajectorySearch::riskMap: clearance to must-avoid and caution structures along the path, and
// its length), so the physician sees at a glance where a safe entry lies. LPS mm.
#include "core/Error.h"
#include "core/Progress.h"
#include "model/Device.h"
#include "model/Mesh.h"
#include "model/Plan.h"
#include "planning/SafetyScene.h"

#include <glm/glm.hpp>

#include <string>
#include <vector>

namespace precis::gui {

struct SkinRiskMap {
    glm::dvec3 targetLps{0.0};
    std::string deviceId;
    /// The skin triangles whose three vertices have a risk (in the region, in reach, not blocked
    /// by bone), and a colour per vertex: green (lowest risk) through yellow to red (highest).
    model::Mesh patch;
    std::vector<glm::vec4> colors;
    float lowRisk = 0, highRisk = 0; // the scores green and red stand for
    std::size_t candidates = 0;      // skin points scored
    double seconds = 0;
};

/// Green (0) -> yellow (0.5) -> red (1), sRGB-encoded, opaque.
glm::vec4 riskColor(double t);

/// The map for `targetLps` reached with `device` from the posterior skin (the patient prone),
/// with the plan's safety settings. NotFound when no skin point reaches the target.
Result<SkinRiskMap> computeSkinRiskMap(const planning::SafetyScene& scene, const glm::dvec3& targetLps,
                                       const model::Device& device, const model::SafetySettings& settings,
                                       const Progress& progress = {});

} // namespace precis::gui
