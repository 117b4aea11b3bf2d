#pragma once
// 3D Slicer markups files (.mrk.json, markups-schema-v1.0.3): the plan's trajectories and
// landmarks in a form Slicer opens directly (drag and drop), and back.
//
// Written: one file, "coordinateSystem": "LPS", "coordinateUnits": "mm", holding
//  - per trajectory a "Line" markup named after it with control points labelled "Entry" and
//    "Target" (a lead with control points: a "Curve" through Entry, "Control 1".., Target), its
//    length in "measurements" (mm, along the points written), its colour in "display", and the
//    plan's other trajectory fields under a "precis" property (Slicer keeps unknown properties
//    out of its way): procedure, level, side, device, insertionDepthMm, bevelRotationDeg,
//    intendedContact;
//  - the landmarks as one "Fiducial" markup named "Landmarks" (label = name, description = kind,
//    level and side under the control point's "precis" property).
// Coordinates are written with full double precision: export then import gives identical values.
//
// Read: any markups file Slicer writes. Line and Curve markups become trajectories (Entry/Target
// labels when present, else first point = entry, last = target, with a warning), Fiducial points
// become landmarks, other types are skipped with a warning; RAS files and micrometres are
// converted to LPS mm. Failure: NotFound / IoError naming the file; ParseError naming the file
// and what is wrong (not JSON, no "markups" array, a position that is not three numbers, ...).
#include "core/Error.h"
#include "model/Plan.h"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace precis::exporting {

/// The URL written in "@schema" (the one 3D Slicer writes itself).
inline constexpr std::string_view kMarkupsSchemaUrl =
    "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/Resources/"
    "Schema/markups-schema-v1.0.3.json#";

struct SlicerMarkups {
    std::vector<model::Trajectory> trajectories; // LPS mm
    std::vector<model::PlanLandmark> landmarks;  // LPS mm
    std::vector<std::string> warnings;           // what was skipped or assumed on import
};

/// The plan's trajectories and landmarks as markups JSON (pretty printed).
std::string markupsToJson(const model::Plan& plan);
/// Atomic write of markupsToJson (temporary file, fsync, rename). IoError names the file.
Result<void> exportSlicerMarkups(const model::Plan& plan, const std::filesystem::path& file);

/// Parses markups JSON; `sourceName` (the file) is named in every error.
Result<SlicerMarkups> markupsFromJson(std::string_view json, const std::string& sourceName);
Result<SlicerMarkups> importSlicerMarkups(const std::filesystem::path& file);

} // namespace precis::exporting
