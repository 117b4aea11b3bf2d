#pragma once
// The plan report for the patient's chart: a PDF (cairo, private to this module), A4 portrait,
// as many pages as it takes, "page i of n" on each. Contents, in order:
//   patient and series (name, ID, UIDs, folder, report date);
//   a summary table (trajectory, device, length, verdict), any device conflicts, the plan's notes;
//   per trajectory: procedure, level, side, device (name, id, outer diameter, usable length),
//   entry, target (and tip) in LPS mm, path length, angles to the axial and sagittal planes (and
//   to the C-arm beam when evaluated), the verdict with its reasons and warnings, and the
//   collision, intended-contact and clearance tables;
//   the plan's landmarks (name, kind, level and side, LPS);
//   the images the caller passes (PNG: 3D overview, down-the-needle views), each scaled to the
//   page width with its caption.
// Without an evaluation (nullptr) the tables say "not evaluated" and angles and lengths are
// computed from the coordinates alone. Simulated coverage and the simulated fluoroscopy view are
// not in this version; the report says so rather than leaving them out silently.
// De-identified variant (teaching): patient name and ID, the report date, the UIDs, the series
// folder and the free-text notes (which may name the patient or dates) are left out, the PDF's
// own creation date too, and every page is marked "De-identified".
//
// Failure modes: NotFound / ParseError naming an image that is missing or not a PNG, IoError
// naming the output file (written atomically), Internal for a cairo failure.
#include "core/Error.h"
#include "model/Device.h"
#include "model/Plan.h"
#include "planning/Evaluation.h"

#include <filesystem>
#include <string>
#include <vector>

namespace precis::exporting {

struct ReportImage {
    std::filesystem::path png;
    std::string caption; // "3D overview", "Down the needle: L4 left MBRFA", ...
};

struct ReportOptions {
    bool deidentify = false;
    std::vector<ReportImage> images;
    std::string generator = "Precis"; // shown in the footer, e.g. "Precis 0.1.0"
    /// Report date as printed; empty = today (local time). Never printed when de-identified.
    std::string date;
};

struct ReportSummary {
    int pages = 0;
    std::vector<std::string> warnings; // what the report could not show
};

/// Writes the report for `plan` to `pdf`. `evaluation` (may be nullptr) comes from the caller
/// (planning::evaluatePlan); its trajectories are matched to the plan's by name.
Result<ReportSummary> writePlanReport(const model::Plan& plan, const model::DeviceCatalog& catalog,
                                      const planning::PlanEvaluation* evaluation,
                                      const ReportOptions& options,
                                      const std::filesystem::path& pdf);

} // namespace precis::exporting
