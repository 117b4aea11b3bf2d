#include "gui/SkinRiskMap.h"

#include "planning/Risk.h"
#include "planning/TrajectorySearch.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace precis::gui {

glm::vec4 riskColor(double t) {
    t = std::clamp(t, 0.0, 1.0);
    const glm::vec3 green(0.15f, 0.75f, 0.25f), yellow(0.95f, 0.85f, 0.15f), red(0.90f, 0.15f, 0.10f);
    const glm::vec3 c = t < 0.5 ? glm::mix(green, yellow, float(t * 2.0)) : glm::mix(yellow, red, float(t * 2.0 - 1.0));
    return {c, 1.0f};
}

Result<SkinRiskMap> computeSkinRiskMap(const planning::SafetyScene& scene, const glm::dvec3& targetLps,
                                       const model::Device& device, const model::SafetySettings& settings,
                                       const Progress& progress) {
    const auto t0 = std::chrono::steady_clock::now();
    planning::SearchRequest request;
    request.targetLps = targetLps;
    request.device = device;
    request.settings = settings;
    request.refine = 0; // the map needs the scores, not refined suggestions
    request.prototype.name = "risk map";
    request.prototype.deviceId = device.id;
    request.prototype.intendedContact = planning::intendedContactAt(scene, targetLps, device);
    auto search = planning::TrajectorySearch::run(scene, request, progress);
    if (!search) return std::unexpected(search.error());
    const std::vector<float> risk = search->riskMap(planning::RiskWeights{});
    const model::Mesh& skin = scene.skin();

    SkinRiskMap map;
    map.targetLps = targetLps;
    map.deviceId = device.id;
    map.candidates = search->timing().candidates;
    // The colour scale spans the 2nd to 98th percentile, so a few extreme paths do not wash out
    // the differences that matter.
    std::vector<float> finite;
    for (float r : risk)
        if (std::isfinite(r)) finite.push_back(r);
    if (finite.empty())
        return fail(ErrorCode::NotFound, "no point of the posterior skin reaches the target with " + device.id);
    std::sort(finite.begin(), finite.end());
    map.lowRisk = finite[finite.size() * 2 / 100];
    map.highRisk = finite[std::min(finite.size() - 1, finite.size() * 98 / 100)];
    const float span = std::max(map.highRisk - map.lowRisk, 1e-6f);

    std::vector<std::uint32_t> remap(skin.positions.size(), UINT32_MAX);
    auto vertex = [&](std::uint32_t v) {
        if (remap[v] == UINT32_MAX) {
            remap[v] = static_cast<std::uint32_t>(map.patch.positions.size());
            map.patch.positions.push_back(skin.positions[v]);
            if (skin.normals.size() == skin.positions.size()) map.patch.normals.push_back(skin.normals[v]);
            map.colors.push_back(riskColor((risk[v] - map.lowRisk) / span));
        }
        return remap[v];
    };
    for (std::size_t t = 0; t + 2 < skin.indices.size(); t += 3) {
        const std::uint32_t a = skin.indices[t], b = skin.indices[t + 1], c = skin.indices[t + 2];
        if (!std::isfinite(risk[a]) || !std::isfinite(risk[b]) || !std::isfinite(risk[c])) continue;
        map.patch.indices.insert(map.patch.indices.end(), {vertex(a), vertex(b), vertex(c)});
    }
    if (map.patch.normals.size() != map.patch.positions.size()) map.patch.computeNormals();
    map.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return map;
}

} // namespace precis::gui
