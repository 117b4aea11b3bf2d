#pragma once
// The plan report as `precis export --report` and the GUI's Export panel make it: the plan
// evaluated on its case (PlanCase: phantom truth, --labels or automatic segmentation) and the
// report's pictures drawn offscreen (render::Context of its own, so any thread may call this).
// A case that cannot be opened or a renderer that cannot start leaves the report without the
// evaluation or the images; the report says so and so do the returned warnings.
#include "core/Error.h"
#include "core/Progress.h"
#include "export/PlanReport.h"
#include "model/Device.h"
#include "model/Plan.h"
#include "planning/SafetyScene.h"

#include <filesystem>
#include <string>
#include <vector>

namespace precis::app {

/// The report's pictures: a posterior overview of the spine with every trajectory, and one view
/// down each needle (from behind the entry, towards the target). PNGs written into `dir`.
/// Failure: DeviceError (no Vulkan device), IoError naming a PNG.
Result<std::vector<exporting::ReportImage>> renderReportViews(const planning::SafetyScene& scene,
                                                              const model::Plan& plan,
                                                              const model::DeviceCatalog& catalog,
                                                              const std::filesystem::path& dir,
                                                              bool validation);

struct EvaluatedReportOptions {
    bool deidentify = false;
    /// The planning CT; empty: the report is written without evaluation and images.
    std::filesystem::path seriesDir;
    std::filesystem::path labelsDir; // optional: labels written by `precis segment`
    /// A scene already built for this case (the GUI's): used instead of loading seriesDir.
    const planning::SafetyScene* scene = nullptr;
    bool validation = false; // Vulkan validation layers for the offscreen views
    std::string generator = "Precis";
};

struct EvaluatedReport {
    exporting::ReportSummary summary;
    bool evaluated = false;
    int images = 0;
    std::vector<std::string> warnings; // what was left out and why, then the report's own
};

/// Evaluates the plan, draws its views and writes the PDF (atomically). Fails as
/// exporting::writePlanReport does, or Cancelled; never for a case or renderer that is missing.
Result<EvaluatedReport> writeEvaluatedPlanReport(const model::Plan& plan,
                                                 const model::DeviceCatalog& catalog,
                                                 const EvaluatedReportOptions& options,
                                                 const std::filesystem::path& pdf,
                                                 const Progress& progress = {});

} // namespace precis::app
