#pragma once
// What `precis plan` (and export) plan against: a series, its labels and structures, and the
// landmarks templates aim at. Sources, in order:
//   1. DIR/labels.nrrd + DIR/truth.json (a phantom written by `precis phantom`): exact truth;
//   2. --labels SEGDIR (labels.nrrd + structures.json written by `precis segment`);
//   3. automatic segmentation of the CT (anatomy::segmentCt), which has no landmarks yet.
#include "CliSupport.h"

#include "model/Plan.h"
#include "model/Structure.h"
#include "model/Volume.h"
#include "phantom/LumbarPhantom.h"
#include "planning/SafetyScene.h"

#include <filesystem>
#include <string>
#include <vector>

namespace precis::app {

struct PlanCase {
    model::SeriesIdentity identity;
    model::ImageGeometry geometry;
    std::filesystem::path seriesDir;
    model::LabelMap labels;
    std::vector<model::Structure> structures;
    std::vector<model::PlanLandmark> landmarks;
    std::string source; // "phantom truth", "labels from ...", "automatic segmentation"
    std::vector<std::string> notes;
};

/// Loads the series and its structures. `labelsDir` may be empty.
Result<PlanCase> loadPlanCase(const std::filesystem::path& seriesDir,
                              const std::filesystem::path& labelsDir, const Progress& progress);

/// A case from an in-memory phantom (benchmarks, tests): its truth labels and landmarks.
PlanCase planCaseFromPhantom(const phantom::Phantom& p);

/// Gives the case's structures the roles the plan sets (model::Plan::structureRoles), before the
/// scene is built. Returns a warning per role whose structure this case does not have.
std::vector<std::string> applyPlanRoles(PlanCase& c, const model::Plan& plan);

/// The safety scene of a case (surfaces, BVHs, distance fields).
Result<planning::SafetyScene> buildScene(const PlanCase& c, const Progress& progress);

/// The plan's reference to this case's series.
model::SeriesReference seriesReference(const PlanCase& c);

} // namespace precis::app
