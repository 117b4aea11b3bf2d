#pragma once
// The plan file: versioned JSON (schema in README "Plan file"), LPS mm. `export` is a C++ keyword,
// so this module's namespace is precis::exporting.
//
// {"format":"precis-plan","version":1,"frame":"LPS","units":"mm","name":...,
//  "series":{"seriesInstanceUid":...,"studyInstanceUid":...,"frameOfReferenceUid":...,"path":...,
//            "patientName":...,"patientId":...},
//  "safety":{"amberClearanceMm":3,"deviceConflictMm":5,"tipContactZoneMm":3},
//  "structureRoles":[{"structure":"paraspinal_left","role":"must-avoid"}],
//  "trajectories":[{"name":...,"procedure":...,"level":...,"side":...,"device":"rf-18g-10mm",
//                   "entryLps":[x,y,z],"targetLps":[x,y,z],"insertionDepthMm":0,
//                   "bevelRotationDeg":0,"controlPointsLps":[[x,y,z],...],
//                   "intendedContact":["L4"],"expectedNearby":["dural_sac"]}],
//  "landmarks":[{"name":...,"kind":...,"level":...,"side":...,"lps":[x,y,z]}],
//  "measurements":[{"kind":"distance"|"angle","pointsLps":[[x,y,z],...],"value":...,
//                   "unit":"mm"|"deg","pane":"axial"}],"notes":...}
// "structureRoles" and "measurements" are optional on reading (a measurement's value and unit are
// written for readers and recomputed).
#include "core/Error.h"
#include "model/Device.h"
#include "model/Plan.h"
#include "planning/Evaluation.h"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace precis::exporting {

/// Plan → JSON text (pretty, stable key order).
std::string planToJson(const model::Plan& plan);
/// JSON text → plan. Fails with ParseError naming `sourceName` and the problem (not JSON, wrong
/// format, a newer version, a missing or mistyped field, a non-finite coordinate).
Result<model::Plan> planFromJson(std::string_view json, const std::string& sourceName = "plan");

/// Atomic save (temporary file, fsync, rename): a failed or killed save leaves the last good file.
Result<void> savePlan(const model::Plan& plan, const std::filesystem::path& path);
Result<model::Plan> loadPlan(const std::filesystem::path& path);

/// Crash recovery: the autosave file beside a plan ("plan.json" -> "plan.json.autosave").
std::filesystem::path autosavePath(const std::filesystem::path& planPath);
/// Writes the autosave (atomically); the plan file itself is not touched.
Result<void> autosavePlan(const model::Plan& plan, const std::filesystem::path& planPath);
/// The autosave when it exists, parses, and is newer than the plan file (or the plan file is
/// missing): what a crashed session left unsaved. nullopt otherwise (a stale or unreadable
/// autosave is not an error: the plan file wins).
std::optional<model::Plan> recoverAutosave(const std::filesystem::path& planPath);
/// Removes the autosave after a successful save or when the user discards recovery.
void discardAutosave(const std::filesystem::path& planPath);

/// One trajectory's safety as a JSON object (the `precis plan evaluate` contract): name, device,
/// entryLps, targetLps, lengthMm, collisions [{structure, entryDepthMm, exitDepthMm, ...}],
/// clearances [{structure, minMm, pointLps, ...}], riskScore, verdict, warnings, and more
/// (reasons, intendedContacts, tipLps, usableLengthMm, angles). Text, pretty-printed.
std::string evaluationToJson(const planning::TrajectoryEvaluation& evaluation);
/// {"trajectories":[...], "conflicts":[{first, second, distanceMm, pointLps}]}
std::string evaluationToJson(const planning::PlanEvaluation& evaluation);

/// Device catalogue JSON (assets/devices.json) → catalogue; fails naming the source and problem.
Result<model::DeviceCatalog> deviceCatalogFromJson(std::string_view json,
                                                   const std::string& sourceName);
/// The catalogue shipped in assets/devices.json (embedded at build time).
const model::DeviceCatalog& builtinDeviceCatalog();

} // namespace precis::exporting
