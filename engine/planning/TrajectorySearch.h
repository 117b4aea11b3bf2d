#pragma once
// Safer-path suggestions: for a target and an allowed skin region, score many candidate entries
// with the shared risk model on the combined distance fields (planning/Risk.h, O(1) look-ups),
// refine the best ones locally on the skin, then evaluate them exactly (planning/Evaluation.h)
// and return the best N that collide with nothing. Re-ranking with other weights reuses the
// stored terms (no new field look-ups) and only re-evaluates the new top candidates.
#include "core/Error.h"
#include "core/Progress.h"
#include "model/Device.h"
#include "model/Plan.h"
#include "planning/Evaluation.h"
#include "planning/Risk.h"
#include "planning/SafetyScene.h"

#include <glm/glm.hpp>

#include <optional>
#include <string>
#include <vector>

namespace precis::planning {

/// Where entries may lie. All conditions given must hold.
struct SkinRegion {
    /// Only skin whose outward normal has at least this component along `facing` (LPS, unit).
    glm::dvec3 facing{0.0, 1.0, 0.0}; // posterior: the patient lies prone
    double minFacing = 0.2;
    std::optional<glm::dvec3> boxMinLps, boxMaxLps; // axis-aligned box
    std::optional<glm::dvec3> sphereCenterLps;      // within sphereRadiusMm of a point
    double sphereRadiusMm = 0.0;
    /// Cone around an axis from the target: the path direction (target→entry) within
    /// coneMaxDeg of coneAxis (used by templates to stay near the textbook angle).
    std::optional<glm::dvec3> coneAxis;
    double coneMaxDeg = 0.0;
    /// Entries on one side of the patient only: +1 left (x > 0 side of the target), -1 right.
    int side = 0;
};

/// Parses the CLI form: "posterior" (default), "left", "right", "box:x0,y0,z0,x1,y1,z1",
/// "sphere:x,y,z,r", or several joined with '+'. InvalidArgument names what is wrong.
Result<SkinRegion> parseSkinRegion(const std::string& text);

struct SearchRequest {
    glm::dvec3 targetLps{0.0};
    model::Device device;
    /// Name, procedure, intended contact ... copied into each suggested trajectory.
    model::Trajectory prototype;
    SkinRegion region;
    model::SafetySettings settings;
    std::size_t minCandidates = 10000; // skin vertices, topped up with points on the triangles
    std::size_t refine = 24;           // best candidates refined locally on the skin
};

struct Suggestion {
    model::Trajectory trajectory;
    TrajectoryEvaluation evaluation; // exact; riskScore from the shared model
    RiskTerms terms;
};

struct SearchTiming {
    std::size_t candidates = 0;       // scored with the fields
    std::size_t feasible = 0;         // long enough, not blocked by bone on the fields
    std::size_t exactEvaluations = 0; // candidates checked exactly while ranking
    double scoreSeconds = 0.0;        // field scoring of every candidate
    double refineSeconds = 0.0;
    double rankSeconds = 0.0;         // last rank(): ordering + exact evaluation
};

/// The structures a device tip placed at `targetLps` rests on or in: within 1 mm of the shaft
/// surface (bone within 3 mm: a cannula is laid onto the bone beside the nerve it targets).
/// Used as the intended contact of a trajectory the user aims at a point.
std::vector<std::string> intendedContactAt(const SafetyScene& scene, const glm::dvec3& targetLps,
                                           const model::Device& device);

class TrajectorySearch {
public:
    /// Scores every candidate. Fails when the scene has no distance fields or skin, when no skin
    /// lies in the region, or on cancel.
    static Result<TrajectorySearch> run(const SafetyScene& scene, const SearchRequest& request,
                                        const Progress& progress = {});

    /// Best `topN` suggestions under `weights`, each exactly evaluated and free of collisions
    /// (verdict green or amber). Fewer when fewer exist. Fast to call again with new weights.
    std::vector<Suggestion> rank(const RiskWeights& weights, std::size_t topN);

    /// Risk per skin vertex under `weights` (the score of the path from that vertex; NaN where
    /// the vertex is outside the region, unreachable or blocked).
    [[nodiscard]] std::vector<float> riskMap(const RiskWeights& weights) const;

    [[nodiscard]] const SearchTiming& timing() const { return timing_; }

private:
    struct Candidate {
        glm::dvec3 entryLps{0.0};
        std::int64_t skinVertex = -1; // -1: a point sampled on a triangle or refined
        RiskTerms terms;
        bool feasible = false;
    };
    TrajectorySearch(const SafetyScene& scene, SearchRequest request)
        : scene_(&scene), request_(std::move(request)) {}
    void score(Candidate& c) const;
    [[nodiscard]] model::Trajectory trajectoryFor(const glm::dvec3& entry) const;

    const SafetyScene* scene_;
    SearchRequest request_;
    std::vector<Candidate> candidates_;
    double tipZoneMm_ = 0.0;
    SearchTiming timing_;
};

} // namespace precis::planning
