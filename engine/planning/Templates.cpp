#include "planning/Templates.h"

#include "planning/TrajectorySearch.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace precis::planning {
namespace {

constexpr glm::dvec3 kPosterior{0, 1, 0}, kLeft{1, 0, 0}, kSuperior{0, 0, 1};

double tanDeg(double deg) { return std::tan(deg * std::numbers::pi / 180.0); }

const model::PlanLandmark* findLandmark(const std::vector<model::PlanLandmark>& landmarks,
                                        std::string_view kind, std::string_view level,
                                        std::string_view side) {
    for (const auto& l : landmarks) {
        if (l.kind == kind && l.level == level && l.side == side) return &l;
    }
    return nullptr;
}

/// Interlaminar levels present ("L2-L3", ...), cranial first.
std::vector<std::string> interlaminarLevels(const std::vector<model::PlanLandmark>& landmarks,
                                            std::string_view side) {
    std::vector<std::pair<double, std::string>> found;
    for (const auto& l : landmarks) {
        if (l.kind == "interlaminar_target" && l.side == side) found.emplace_back(-l.lps.z, l.level);
    }
    std::ranges::sort(found);
    std::vector<std::string> out;
    for (auto& [z, level] : found) out.push_back(level);
    return out;
}

std::string nextLevel(std::string_view level) {
    static const std::vector<std::string_view> order{"T12", "L1", "L2", "L3", "L4", "L5", "S1"};
    auto it = std::ranges::find(order, level);
    if (it == order.end() || it + 1 == order.end()) return {};
    return std::string(*(it + 1));
}

/// "L4" -> "L4-L5"; "L4/L5" -> "L4-L5"; "L4-L5" unchanged.
std::string interlaminarLevel(std::string level) {
    std::ranges::replace(level, '/', '-');
    if (level.find('-') == std::string::npos) {
        const std::string next = nextLevel(level);
        if (!next.empty()) level += "-" + next;
    }
    return level;
}

/// Best entry within the cone around `direction` for a straight needle to `target`.
Result<Suggestion> searchCone(const SafetyScene& scene, const glm::dvec3& target,
                              const glm::dvec3& direction, double coneDeg, int side,
                              const model::Device& device, const model::Trajectory& prototype,
                              const model::SafetySettings& settings) {
    SearchRequest req;
    req.targetLps = target;
    req.device = device;
    req.prototype = prototype;
    req.settings = settings;
    req.region.coneAxis = direction;
    req.region.coneMaxDeg = coneDeg;
    req.region.minFacing = 0.0;
    req.region.side = side;
    req.minCandidates = 2000;
    req.refine = 8;
    // Widen the cone in steps when nothing safe lies near the textbook angle (say so).
    for (double cone = coneDeg; cone <= coneDeg + 20.0; cone += 10.0) {
        req.region.coneMaxDeg = cone;
        auto search = TrajectorySearch::run(scene, req);
        if (!search) return std::unexpected(search.error());
        auto best = search->rank(RiskWeights{}, 1);
        if (!best.empty()) {
            if (cone > coneDeg) {
                best.front().evaluation.warnings.push_back(fmt::format(
                    "no safe entry within {:.0f} deg of the textbook approach; this one is "
                    "within {:.0f} deg",
                    coneDeg, cone));
            }
            return best.front();
        }
    }
    return fail(ErrorCode::NotFound,
                fmt::format("no collision-free entry within {:.0f} deg of the textbook approach "
                            "for {}",
                            coneDeg + 20.0, prototype.name));
}

} // namespace

const std::vector<std::string_view>& templateNames() {
    static const std::vector<std::string_view> names{"mbrfa", "tfesi", "ilesi", "scs", "drg"};
    return names;
}

Result<TemplateResult> proposeFromTemplate(const SafetyScene& scene,
                                           const std::vector<model::PlanLandmark>& landmarks,
                                           const TemplateRequest& request,
                                           const model::DeviceCatalog& catalog,
                                           const model::SafetySettings& settings) {
    const std::string& proc = request.procedure;
    if (std::ranges::find(templateNames(), proc) == templateNames().end()) {
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("unknown template \"{}\": use mbrfa, tfesi, ilesi, scs or drg", proc));
    }
    if (request.side != "left" && request.side != "right") {
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("side \"{}\": use left or right", request.side));
    }
    const double sx = request.side == "left" ? 1.0 : -1.0; // +x is patient left (LPS)
    const int side = request.side == "left" ? 1 : -1;
    const bool isLeadProc = proc == "scs" || proc == "drg";
    std::string level = request.level;
    if (level.empty()) level = proc == "ilesi" ? "L4-L5" : proc == "scs" ? "" : "L4";

    struct Spec {
        std::string landmarkKind, landmarkLevel, defaultDevice, needleDevice;
        glm::dvec3 direction{0.0};
        std::vector<std::string> intended, nearby;
    } spec;
    if (proc == "mbrfa") {
        spec.landmarkKind = "medial_branch_target";
        spec.landmarkLevel = level;
        spec.defaultDevice = "rf-18g-10mm";
        const double lateral = level == "L5" ? 0.0 : 20.0; // no oblique at L5 (CLINICAL 6a)
        spec.direction = kPosterior + sx * tanDeg(lateral) * kLeft - tanDeg(40.0) * kSuperior;
        spec.intended = {level, nextLevel(level), fmt::format("{}_{}_medial_branch", level, request.side)};
    } else if (proc == "tfesi") {
        spec.landmarkKind = "safe_triangle_target";
        spec.landmarkLevel = level;
        spec.defaultDevice = "spinal-22g";
        spec.direction = kPosterior + sx * tanDeg(25.0) * kLeft;
        const std::string root = fmt::format("{}_{}_nerve_root", level, request.side);
        const std::string drg = fmt::format("{}_{}_drg", level, request.side);
        spec.intended = {root, drg, level, "epidural_fat"};
        spec.nearby = {root, drg, "dural_sac"};
    } else if (proc == "ilesi") {
        spec.landmarkKind = "interlaminar_target";
        spec.landmarkLevel = interlaminarLevel(level);
        spec.defaultDevice = "tuohy-18g";
        spec.direction = kPosterior + sx * tanDeg(10.0) * kLeft - tanDeg(15.0) * kSuperior;
        spec.intended = {"epidural_fat"};
        spec.nearby = {"dural_sac"};
    } else if (proc == "scs") {
        const auto levels = interlaminarLevels(landmarks, request.side);
        if (levels.size() < 2) {
            return fail(ErrorCode::NotFound,
                        "the scs template needs two interlaminar landmarks (tip and entry level)");
        }
        spec.landmarkKind = "interlaminar_target";
        spec.landmarkLevel = level.empty() ? levels.front() : interlaminarLevel(level);
        spec.defaultDevice = "scs-8c";
        spec.needleDevice = "tuohy-14g";
        spec.direction = kPosterior + sx * tanDeg(10.0) * kLeft - tanDeg(30.0) * kSuperior;
        spec.intended = {"epidural_fat"};
        spec.nearby = {"dural_sac", "kind:bone"};
    } else { // drg
        spec.landmarkKind = "drg_center";
        spec.landmarkLevel = level;
        spec.defaultDevice = "drg-4c";
        spec.needleDevice = "tuohy-14g";
        spec.direction = kPosterior + sx * tanDeg(10.0) * kLeft - tanDeg(30.0) * kSuperior;
        const std::string root = fmt::format("{}_{}_nerve_root", level, request.side);
        const std::string drg = fmt::format("{}_{}_drg", level, request.side);
        spec.intended = {drg, root, "epidural_fat", level};
        spec.nearby = {"dural_sac", "kind:bone", "kind:nerve"};
    }
    const model::PlanLandmark* target =
        findLandmark(landmarks, spec.landmarkKind, spec.landmarkLevel, request.side);
    if (target == nullptr) {
        return fail(ErrorCode::NotFound,
                    fmt::format("no {} landmark at {} {} in this case", spec.landmarkKind,
                                spec.landmarkLevel, request.side));
    }
    const std::string deviceId = request.deviceId.empty() ? spec.defaultDevice : request.deviceId;
    const model::Device* device = catalog.find(deviceId);
    if (device == nullptr) {
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("device \"{}\" is not in the catalogue", deviceId));
    }
    if (model::isLead(device->type) != isLeadProc) {
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("device \"{}\" is a {}; the {} template needs a {}", deviceId,
                                model::toString(device->type), proc,
                                isLeadProc ? "lead" : "needle"));
    }

    TemplateResult result;
    result.target = *target;
    result.textbookDirection = glm::normalize(spec.direction);
    model::Trajectory proto;
    proto.procedure = proc;
    proto.level = spec.landmarkLevel;
    proto.side = request.side;
    proto.name = fmt::format("{} {} {}", spec.landmarkLevel, request.side, proc);
    std::erase_if(spec.intended, [](const std::string& s) { return s.empty(); });
    proto.intendedContact = spec.intended;
    proto.expectedNearby = spec.nearby;

    if (!isLeadProc) {
        auto best = searchCone(scene, target->lps, result.textbookDirection, request.coneDeg, side,
                               *device, proto, settings);
        if (!best) return std::unexpected(best.error());
        result.trajectory = best->trajectory;
        result.evaluation = evaluateTrajectory(scene, result.trajectory, *device, settings);
        return result;
    }

    // Leads: an introducer needle into the interlaminar space below, then the lead's curve.
    std::vector<glm::dvec3> route;
    std::string accessLevel;
    if (proc == "scs") {
        const auto levels = interlaminarLevels(landmarks, request.side);
        auto it = std::ranges::find(levels, spec.landmarkLevel);
        if (it == levels.end() || it + 1 == levels.end()) {
            return fail(ErrorCode::NotFound,
                        fmt::format("no interlaminar level below {} for the introducer",
                                    spec.landmarkLevel));
        }
        accessLevel = *(it + 1);
    } else {
        accessLevel = interlaminarLevel(nextLevel(level));
        // Up the epidural space to the interlaminar space of the level, then out the foramen.
        if (const auto* via = findLandmark(landmarks, "interlaminar_target",
                                           interlaminarLevel(level), request.side)) {
            route.push_back(via->lps);
        }
    }
    const model::PlanLandmark* access =
        findLandmark(landmarks, "interlaminar_target", accessLevel, request.side);
    if (access == nullptr) {
        return fail(ErrorCode::NotFound,
                    fmt::format("no interlaminar landmark at {} {} for the introducer",
                                accessLevel, request.side));
    }
    const model::Device* needle = catalog.find(spec.needleDevice);
    if (needle == nullptr) {
        return fail(ErrorCode::Internal, fmt::format("catalogue lacks {}", spec.needleDevice));
    }
    model::Trajectory needleProto = proto;
    needleProto.intendedContact = {"epidural_fat"};
    needleProto.expectedNearby = {"dural_sac"};
    auto best = searchCone(scene, access->lps, result.textbookDirection, request.coneDeg, side,
                           *needle, needleProto, settings);
    if (!best) return std::unexpected(best.error());
    model::Trajectory t = proto;
    t.deviceId = deviceId;
    t.entryLps = best->trajectory.entryLps;
    t.controlPointsLps.push_back(access->lps);
    for (const glm::dvec3& p : route) t.controlPointsLps.push_back(p);
    t.targetLps = target->lps;
    result.trajectory = t;
    result.notes.push_back(fmt::format("introducer {} from the skin to the {} interlaminar space",
                                       needle->id, accessLevel));
    result.evaluation = evaluateTrajectory(scene, t, *device, settings);
    return result;
}

void addToPlan(model::Plan& plan, const TemplateResult& result) {
    std::erase_if(plan.trajectories, [&](const model::Trajectory& t) {
        return t.name == result.trajectory.name;
    });
    plan.trajectories.push_back(result.trajectory);
    const bool haveLandmark = std::ranges::any_of(
        plan.landmarks, [&](const auto& l) { return l.name == result.target.name; });
    if (!haveLandmark) plan.landmarks.push_back(result.target);
}

} // namespace precis::planning
