#pragma once
// Safety of a placed device: what its shaft (a capsule of the device's true radius) touches,
// how close it passes to every must-avoid and caution structure, whether it is long enough, its
// angles, a risk score and a traffic-light verdict with reasons. Exact (mesh BVH), in LPS mm;
// one trajectory evaluates in well under a millisecond on the phantom.
#include "model/Device.h"
#include "model/Plan.h"
#include "planning/SafetyScene.h"

#include <glm/glm.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace precis::planning {

enum class Verdict { Green, Amber, Red };
std::string_view toString(Verdict v); // "green", "amber", "red"

/// A structure the shaft passes through (or touches), as an interval of depth along the path
/// measured from the entry, mm. `intended` marks planned contact at the tip (e.g. an RF cannula
/// resting on bone at its target), which is reported apart from collisions.
struct Collision {
    std::string structure;
    model::StructureKind kind = model::StructureKind::Custom;
    model::StructureRole role = model::StructureRole::None;
    double entryDepthMm = 0.0;
    double exitDepthMm = 0.0;
    bool intended = false;
};

/// Closest approach of the shaft's surface to a structure (mm; 0 when touching or crossing).
struct Clearance {
    std::string structure;
    model::StructureKind kind = model::StructureKind::Custom;
    model::StructureRole role = model::StructureRole::None;
    double minMm = 0.0;
    glm::dvec3 pointLps{0.0};     // closest point on the structure
    glm::dvec3 onPathLps{0.0};    // closest point on the device axis
    double depthMm = 0.0;         // of onPathLps from the entry
};

struct TrajectoryEvaluation {
    std::string name;
    std::string deviceId;
    glm::dvec3 entryLps{0.0};
    glm::dvec3 targetLps{0.0};
    glm::dvec3 tipLps{0.0};
    double lengthMm = 0.0;        // along the path, entry to tip
    double usableLengthMm = 0.0;  // of the device
    double angleToAxialDeg = 0.0; // between the path and the axial plane
    double angleToSagittalDeg = 0.0;
    std::optional<double> angleToViewDeg; // between the path and the C-arm beam, when given
    std::vector<Collision> collisions;      // unintended, by entry depth
    std::vector<Collision> intendedContacts;
    std::vector<Clearance> clearances;      // must-avoid and caution structures, nearest first
    double riskScore = 0.0;                 // 0 = no critical structure near the path; higher worse
    Verdict verdict = Verdict::Green;
    std::vector<std::string> reasons;  // why the verdict (one line each)
    std::vector<std::string> warnings; // anything else the user must know
};

/// Two devices whose shafts come closer than SafetySettings::deviceConflictMm.
struct DeviceConflict {
    std::string first, second;
    double distanceMm = 0.0;
    glm::dvec3 pointLps{0.0};
};

struct PlanEvaluation {
    std::vector<TrajectoryEvaluation> trajectories;
    std::vector<DeviceConflict> conflicts;
};

struct EvaluateOptions {
    /// C-arm beam direction (LPS, unit), for angleToViewDeg.
    std::optional<glm::dvec3> viewDirection;
    /// Structures farther than this from the path are not listed in clearances.
    double clearanceReportMm = 20.0;
};

/// Length at the tip where contact can be intended: the RF active tip, a lead's contact array,
/// or SafetySettings::tipContactZoneMm, whichever is longest.
double tipZoneMm(const model::Device& device, const model::SafetySettings& settings);

TrajectoryEvaluation evaluateTrajectory(const SafetyScene& scene,
                                        const model::Trajectory& trajectory,
                                        const model::Device& device,
                                        const model::SafetySettings& settings = {},
                                        const EvaluateOptions& options = {});

/// Every trajectory of the plan (a device id missing from the catalogue gives a red verdict with
/// the reason, not a failure) plus conflicts between devices.
PlanEvaluation evaluatePlan(const SafetyScene& scene, const model::Plan& plan,
                            const model::DeviceCatalog& catalog,
                            const EvaluateOptions& options = {});

} // namespace precis::planning
