#pragma once
// A plan: the trajectories a physician placed on one series. Coordinates are LPS mm. The plan
// names its series by SeriesInstanceUID (and the path it was opened from) so it can be checked
// against the images it is opened with; display state never enters it. File format: export/
// PlanFile.h (versioned JSON).
#include "model/Structure.h"

#include <glm/glm.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace precis::model {

/// The series a plan was made on.
struct SeriesReference {
    std::string seriesInstanceUid;
    std::string studyInstanceUid;
    std::string frameOfReferenceUid;
    std::string path; // folder it was opened from (informative; the UID decides)
    std::string patientName;
    std::string patientId;
};

/// A planned device path. Needles: straight from entry (on the skin) to target (the tip).
/// Leads: a curve entry → controlPointsLps... → target (the distal tip).
struct Trajectory {
    std::string name;      // "L4 left MBRFA"; unique within a plan
    std::string procedure; // template id: "mbrfa", "tfesi", "ilesi", "scs", "drg", or "manual"
    std::string level;     // "L4", "L4/L5", or empty
    std::string side;      // "left", "right", "midline", or empty
    std::string deviceId;  // catalogue id (model/Device.h)
    glm::dvec3 entryLps{0.0};
    glm::dvec3 targetLps{0.0};
    /// Depth of the tip along the path from the entry; 0 means "at the target" (the usual case).
    /// A value larger than the path length advances the tip past the target.
    double insertionDepthMm = 0.0;
    double bevelRotationDeg = 0.0; // bevel orientation about the shaft, 0 = bevel facing posterior
    /// Leads: intermediate control points between entry and target, in order.
    std::vector<glm::dvec3> controlPointsLps;
    /// Structures this device is meant to touch at its tip (by name: "L4", "nerve_root_L4_left",
    /// or by kind: "kind:bone"): contact with them at the tip is intended, not a collision.
    std::vector<std::string> intendedContact;
    /// Structures this procedure necessarily passes close to (the dura under an interlaminar
    /// epidural needle): nearness to them is not a warning, but touching them still is.
    std::vector<std::string> expectedNearby;
};

/// A named point (from the phantom's truth, or placed by the user).
struct PlanLandmark {
    std::string name;
    std::string kind;  // "medial_branch_target", "safe_triangle_target", "drg_center", ...
    std::string level; // "L4", "L4-L5", or empty
    std::string side;  // "left", "right", "midline", or empty
    glm::dvec3 lps{0.0};
};

/// A measurement the physician made on the images: a distance (two points) or an angle (three
/// points, the vertex second). Saved with the plan so that it reopens with it.
enum class MeasurementKind { Distance, Angle };
std::string_view toString(MeasurementKind kind); // "distance", "angle"
std::optional<MeasurementKind> measurementKindFromString(std::string_view name);
/// 2 for a distance, 3 for an angle.
std::size_t measurementPointCount(MeasurementKind kind);
/// The unit of measurementValue: "mm" for a distance, "deg" for an angle.
std::string_view measurementUnit(MeasurementKind kind);

struct PlanMeasurement {
    MeasurementKind kind = MeasurementKind::Distance;
    std::vector<glm::dvec3> pointsLps; // LPS mm
    std::string pane;                  // where it was placed: "axial", "coronal", "sagittal", "3d"
};

/// mm for a distance, degrees (0..180) at the vertex for an angle; 0 while incomplete or when
/// an arm of the angle has no length.
double measurementValue(const PlanMeasurement& measurement);

/// A role the physician gave a structure for this plan (must-avoid, caution, target, none),
/// replacing the role its kind gets by default. Roles decide what the safety checks avoid, so
/// they travel with the plan like its safety settings.
struct StructureRoleOverride {
    std::string structure; // the structure's name
    StructureRole role = StructureRole::None;
    bool operator==(const StructureRoleOverride&) const = default;
};

/// Gives `structures` the roles in `overrides` (by name). Returns the names no structure has.
std::vector<std::string> applyStructureRoles(const std::vector<StructureRoleOverride>& overrides,
                                             std::vector<Structure>& structures);

/// Safety settings that belong to the plan (they change verdicts, so they travel with it).
struct SafetySettings {
    double amberClearanceMm = 3.0;  // must-avoid closer than this (but not touched): amber
    double deviceConflictMm = 5.0;  // two devices closer than this: conflict warning
    double tipContactZoneMm = 3.0;  // contact within this of the tip can be intended contact
};

/// True when x, y and z are finite (no NaN or infinity).
bool isFinite(const glm::dvec3& lps);
/// True when entry, target and every control point are finite.
bool hasFiniteCoordinates(const Trajectory& trajectory);

/// Points of the device axis from entry to tip: entry, control points (leads), target; with
/// insertionDepthMm > 0 the tip sits at that depth along the path (cut short, or the last
/// segment extended past the target). LPS mm.
std::vector<glm::dvec3> devicePath(const Trajectory& trajectory);

struct Plan {
    static constexpr int kFormatVersion = 1;
    std::string name;
    SeriesReference series;
    std::vector<Trajectory> trajectories;
    std::vector<PlanLandmark> landmarks;
    SafetySettings safety;
    std::vector<StructureRoleOverride> structureRoles;
    std::vector<PlanMeasurement> measurements;
    std::string notes;

    /// nullptr when no trajectory has that name.
    [[nodiscard]] const Trajectory* find(const std::string& trajectoryName) const;
};

} // namespace precis::model
