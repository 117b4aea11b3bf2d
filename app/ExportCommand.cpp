// `precis export PLAN.json ...`: hands a plan to the tools around Precis — a navigation system over
// OpenIGTLink (as client or server), 3D Slicer (markups), any DICOM system (an RT Structure Set in
// the planning CT's study and frame) and the patient's chart (a PDF report). Several targets may
// be given at once: the files are written first, then the network delivery, which may wait.
// The plan file is only read.
#include "Commands.h"
#include "CliSupport.h"
#include "ReportViews.h"

#include "dicom/PlanDicomWriter.h"
#include "export/IgtlSender.h"
#include "export/PlanFile.h"
#include "export/SlicerMarkups.h"

#include <fmt/core.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace precis::app {
namespace {

namespace fs = std::filesystem;

constexpr const char* kExportUsage =
    "usage: precis export PLAN.json [--igtl HOST[:PORT]] [--igtl-serve PORT [--wait S] "
    "[--peers N]] [--frame LPS|RAS] [--timeout S] [--attempts N] [--slicer OUT.mrk.json] "
    "[--dicom OUTDIR] [--report OUT.pdf [--deidentify]] [--series DIR] [--labels SEGDIR] "
    "[--catalog FILE]";

Error usage(std::string what) {
    return {ErrorCode::InvalidArgument, std::move(what), {}};
}

void printWarnings(const std::vector<std::string>& warnings) {
    for (const auto& w : warnings)
        std::fprintf(stderr, "precis: warning: %s\n", w.c_str());
}


/// Options that only make sense next to another one.
Result<void> checkCombinations(const Args& a) {
    const bool igtl = a.options.contains("--igtl"), serve = a.options.contains("--igtl-serve");
    auto needs = [&](const char* opt, bool present, const char* what) -> Result<void> {
        if ((a.options.contains(opt) || hasFlag(a, opt)) && !present)
            return std::unexpected(usage(fmt::format("{} only applies with {}", opt, what)));
        return {};
    };
    for (auto r : {needs("--frame", igtl || serve, "--igtl or --igtl-serve"),
                   needs("--timeout", igtl || serve, "--igtl or --igtl-serve"),
                   needs("--attempts", igtl, "--igtl"), needs("--wait", serve, "--igtl-serve"),
                   needs("--peers", serve, "--igtl-serve"),
                   needs("--deidentify", a.options.contains("--report"), "--report")})
        if (!r) return r;
    return {};
}

Result<exporting::Frame> frameOption(const Args& a) {
    const std::string f = optionValue(a, "--frame");
    if (f.empty()) return exporting::Frame::Lps;
    if (auto frame = exporting::frameFromString(f)) return *frame;
    return std::unexpected(usage(fmt::format("--frame must be LPS or RAS (got '{}')", f)));
}

/// The series folder: --series, else the folder the plan was made from.
Result<fs::path> seriesFolder(const Args& a, const model::Plan& plan) {
    if (const std::string s = optionValue(a, "--series"); !s.empty()) return fs::path(s);
    if (!plan.series.path.empty()) return fs::path(plan.series.path);
    return std::unexpected(
        usage("the plan names no series folder: give the planning CT with --series DIR"));
}

int exportSlicer(const model::Plan& plan, const fs::path& out) {
    if (auto r = exporting::exportSlicerMarkups(plan, out); !r) return reportError(r.error());
    std::printf("wrote 3D Slicer markups %s: %zu trajectories, %zu landmarks (LPS mm)\n",
                out.c_str(), plan.trajectories.size(), plan.landmarks.size());
    return 0;
}

int exportDicom(const Args& a, const model::Plan& plan, const fs::path& outDir) {
    auto series = seriesFolder(a, plan);
    if (!series) return reportError(series.error());
    auto r = dicom::writePlanRtStruct(plan, *series, outDir);
    if (!r) return reportError(r.error());
    printWarnings(r->warnings);
    std::printf("wrote DICOM RT Structure Set %s: %d ROIs referencing %d images of series %s "
                "(study %s, frame of reference %s)\n",
                r->file.c_str(), r->rois, r->referencedImages,
                plan.series.seriesInstanceUid.c_str(), r->studyInstanceUid.c_str(),
                r->frameOfReferenceUid.c_str());
    return 0;
}

int exportReport(const Args& a, const model::Plan& plan, const model::DeviceCatalog& catalog,
                 const fs::path& out) {
    // Evaluate the plan on its case and draw the views the report shows. A case that cannot be
    // opened or a renderer that cannot start leaves the report without them (said in it).
    EvaluatedReportOptions options;
    options.deidentify = hasFlag(a, "--deidentify");
    options.generator = "Precis";
    options.validation = validationRequested();
    options.labelsDir = optionValue(a, "--labels");
    if (auto series = seriesFolder(a, plan); series) options.seriesDir = *series;
    auto r = writeEvaluatedPlanReport(plan, catalog, options, out, terminalProgress());
    if (!r) return reportError(r.error());
    printWarnings(r->warnings);
    std::printf("wrote plan report %s: %d page%s%s%s\n", out.c_str(), r->summary.pages,
                r->summary.pages == 1 ? "" : "s", options.deidentify ? ", de-identified" : "",
                r->evaluated ? "" : ", not evaluated");
    return 0;
}

std::string messageSummary(const exporting::IgtlSendReport& r) {
    return fmt::format("{} messages, {} bytes, frame {}", r.messages.size(), r.bytesPerDelivery,
                       exporting::toString(r.frame));
}

int exportIgtl(const Args& a, const model::Plan& plan, const model::DeviceCatalog& catalog,
               exporting::Frame frame) {
    auto target = exporting::parseHostPort(optionValue(a, "--igtl"));
    if (!target) return reportError(target.error());
    exporting::IgtlClientOptions o;
    o.messages.frame = frame;
    auto timeout = intOption(a, "--timeout", 5, 1, 3600);
    if (!timeout) return reportError(timeout.error());
    auto attempts = intOption(a, "--attempts", 3, 1, 100);
    if (!attempts) return reportError(attempts.error());
    o.connectTimeoutMs = o.sendTimeoutMs = static_cast<int>(*timeout * 1000);
    o.attempts = static_cast<int>(*attempts);
    auto r = exporting::sendPlanIgtl(plan, catalog, target->first, target->second, o,
                                     terminalProgress());
    if (!r) return reportError(r.error());
    printWarnings(r->warnings);
    for (const auto& e : r->attemptErrors)
        std::fprintf(stderr, "precis: retried: %s\n", e.c_str());
    std::printf("sent the plan over OpenIGTLink to %s: %s, attempt %d of %d (%.1f s)\n",
                r->peer.c_str(), messageSummary(*r).c_str(), r->attempts, o.attempts, r->seconds);
    return 0;
}

int exportIgtlServe(const Args& a, const model::Plan& plan, const model::DeviceCatalog& catalog,
                    exporting::Frame frame) {
    auto port = intOption(a, "--igtl-serve", exporting::kIgtlDefaultPort, 1, 65535);
    if (!port) return reportError(port.error());
    exporting::IgtlServeOptions o;
    o.messages.frame = frame;
    auto wait = intOption(a, "--wait", 60, 1, 86400);
    if (!wait) return reportError(wait.error());
    auto peers = intOption(a, "--peers", 1, 1, 1000);
    if (!peers) return reportError(peers.error());
    auto timeout = intOption(a, "--timeout", 5, 1, 3600);
    if (!timeout) return reportError(timeout.error());
    o.waitMs = static_cast<int>(*wait * 1000);
    o.peers = static_cast<int>(*peers);
    o.sendTimeoutMs = static_cast<int>(*timeout * 1000);
    o.onListening = [&](int bound) {
        std::fprintf(stderr,
                     "precis: serving the plan over OpenIGTLink on port %d: waiting up to %ld s "
                     "for %ld peer%s\n",
                     bound, *wait, *peers, *peers == 1 ? "" : "s");
        std::fflush(stderr);
    };
    auto r =
        exporting::servePlanIgtl(plan, catalog, static_cast<int>(*port), o, terminalProgress());
    if (!r) return reportError(r.error());
    printWarnings(r->warnings);
    for (const auto& e : r->attemptErrors)
        std::fprintf(stderr, "precis: a peer failed: %s\n", e.c_str());
    std::printf("served the plan over OpenIGTLink on %s: %s, to %d peer%s (%.1f s)\n",
                r->peer.c_str(), messageSummary(*r).c_str(), r->delivered,
                r->delivered == 1 ? "" : "s", r->seconds);
    return 0;
}

} // namespace

int cmdExport(const Args& a) {
    if (auto ok = allowOnly(a, {"--igtl", "--igtl-serve", "--frame", "--wait", "--peers",
                                "--timeout", "--attempts", "--slicer", "--dicom", "--report",
                                "--deidentify", "--series", "--catalog", "--labels"});
        !ok)
        return reportError(ok.error());
    if (a.positional.size() != 1) return reportError(usage(kExportUsage));
    const bool any = a.options.contains("--igtl") || a.options.contains("--igtl-serve") ||
                     a.options.contains("--slicer") || a.options.contains("--dicom") ||
                     a.options.contains("--report");
    if (!any)
        return reportError(usage(std::string("nothing to export: give --igtl, --igtl-serve, "
                                             "--slicer, --dicom or --report\n") +
                                 kExportUsage));
    if (auto ok = checkCombinations(a); !ok) return reportError(ok.error());
    auto frame = frameOption(a);
    if (!frame) return reportError(frame.error());
    if (a.options.contains("--igtl"))
        if (auto t = exporting::parseHostPort(optionValue(a, "--igtl")); !t)
            return reportError(t.error());

    auto plan = exporting::loadPlan(a.positional[0]);
    if (!plan) return reportError(plan.error());
    auto catalog = deviceCatalog(a);
    if (!catalog) return reportError(catalog.error());

    if (a.options.contains("--slicer"))
        if (int rc = exportSlicer(*plan, optionValue(a, "--slicer")); rc != 0) return rc;
    if (a.options.contains("--dicom"))
        if (int rc = exportDicom(a, *plan, optionValue(a, "--dicom")); rc != 0) return rc;
    if (a.options.contains("--report"))
        if (int rc = exportReport(a, *plan, *catalog, optionValue(a, "--report")); rc != 0) return rc;
    if (a.options.contains("--igtl"))
        if (int rc = exportIgtl(a, *plan, *catalog, *frame); rc != 0) return rc;
    if (a.options.contains("--igtl-serve"))
        if (int rc = exportIgtlServe(a, *plan, *catalog, *frame); rc != 0) return rc;
    return 0;
}

} // namespace precis::app
