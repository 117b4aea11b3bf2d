// `precis export PLAN.json ...`: hands a plan to the tools around Precis — a navigation system over
// OpenIGTLink (as client or server), 3D Slicer (markups), any DICOM system (an RT Structure Set in
// the planning CT's study and frame) and the patient's chart (a PDF report). Several targets may
// be given at once: the files are written first, then the network delivery, which may wait.
// The plan file is only read.
#include "Commands.h"
#include "PlanCase.h"

#include "core/AtomicFile.h"
#include "dicom/PlanDicomWriter.h"
#include "export/IgtlSender.h"
#include "export/PlanFile.h"
#include "export/PlanReport.h"
#include "export/SlicerMarkups.h"
#include "planning/Evaluation.h"
#include "render/Camera.h"
#include "render/Context.h"
#include "render/Image.h"
#include "render/PlanOverlay.h"
#include "render/SceneRenderer.h"

#include <fmt/core.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <unistd.h>
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

/// The report's pictures: a posterior overview of the spine with every trajectory, and one view
/// down each needle (from behind the entry, towards the target). PNGs in `dir`.
Result<std::vector<exporting::ReportImage>> renderReportViews(const planning::SafetyScene& scene,
                                                              const model::Plan& plan,
                                                              const model::DeviceCatalog& catalog,
                                                              const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    render::ContextOptions copts;
    copts.validation = validationRequested();
    auto ctx = render::Context::create(copts);
    if (!ctx) return std::unexpected(ctx.error());
    std::vector<render::MeshItem> items;
    for (const auto& s : scene.structures()) {
        const auto kind = s.structure.kind;
        if (kind != model::StructureKind::Bone && kind != model::StructureKind::Nerve &&
            kind != model::StructureKind::Vessel && kind != model::StructureKind::Canal &&
            kind != model::StructureKind::Disc) {
            continue;
        }
        items.push_back({&s.mesh, glm::vec4(s.structure.defaultColor, 1.0f)});
    }
    const auto overlay = render::planOverlayMeshes(plan, catalog, "");
    model::Bounds bounds{glm::dvec3(1e30), glm::dvec3(-1e30)};
    for (const auto& o : overlay) {
        items.push_back({&o.mesh, o.colorRgba});
        const auto b = o.mesh.bounds();
        bounds.minMm = glm::min(bounds.minMm, b.minMm);
        bounds.maxMm = glm::max(bounds.maxMm, b.maxMm);
    }
    if (overlay.empty()) bounds = scene.geometry().worldBounds();
    std::vector<exporting::ReportImage> images;
    auto shoot = [&](const render::Camera& camera, const std::string& name,
                     const std::string& caption) -> Result<void> {
        auto image = render::renderMeshesOffscreen(**ctx, items, camera, 960, 720);
        if (!image) return std::unexpected(image.error());
        const fs::path png = dir / name;
        if (auto w = render::writePng(*image, png); !w) return w;
        images.push_back({png, caption});
        return {};
    };
    auto overview = render::Camera::fit(bounds, render::ViewPreset::Posterior, 960.0 / 720.0);
    overview.zoom(0.7); // the spine around the devices, not only the devices
    if (auto r = shoot(overview, "overview.png", "3D overview (posterior view, LPS)"); !r) {
        return std::unexpected(r.error());
    }
    for (std::size_t i = 0; i < plan.trajectories.size(); ++i) {
        const auto& t = plan.trajectories[i];
        const glm::dvec3 axis = t.targetLps - t.entryLps;
        if (glm::length(axis) <= 0) continue;
        render::Camera c;
        c.targetLps = t.targetLps;
        c.eyeLps = t.entryLps - glm::normalize(axis) * 60.0;
        c.upLps = std::abs(glm::normalize(axis).z) > 0.9 ? glm::dvec3(0, 1, 0) : glm::dvec3(0, 0, 1);
        c.sceneRadiusMm = glm::length(axis) + 120.0;
        if (auto r = shoot(c, fmt::format("needle-{}.png", i), "Down the needle: " + t.name); !r) {
            return std::unexpected(r.error());
        }
    }
    return images;
}

int exportReport(const Args& a, const model::Plan& plan, const model::DeviceCatalog& catalog,
                 const fs::path& out) {
    exporting::ReportOptions options;
    options.deidentify = hasFlag(a, "--deidentify");
    options.generator = "Precis";
    // Evaluate the plan on its case and draw the views the report shows. A case that cannot be
    // opened or a renderer that cannot start leaves the report without them (said in it).
    std::optional<planning::PlanEvaluation> evaluated;
    const fs::path imageDir = fs::temp_directory_path() / fmt::format("precis-report-{}", ::getpid());
    if (auto series = seriesFolder(a, plan); series) {
        auto c = loadPlanCase(*series, optionValue(a, "--labels"), terminalProgress());
        if (c) {
            auto scene = buildScene(*c, terminalProgress());
            if (scene) {
                evaluated = planning::evaluatePlan(*scene, plan, catalog);
                auto images = renderReportViews(*scene, plan, catalog, imageDir);
                if (images) {
                    options.images = std::move(*images);
                } else {
                    std::fprintf(stderr, "precis: warning: report without images: %s\n",
                                 images.error().message.c_str());
                }
            } else {
                std::fprintf(stderr, "precis: warning: plan not evaluated: %s\n",
                             scene.error().message.c_str());
            }
        } else {
            std::fprintf(stderr, "precis: warning: plan not evaluated: %s\n",
                         c.error().message.c_str());
        }
    }
    const planning::PlanEvaluation* evaluation = evaluated ? &*evaluated : nullptr;
    auto r = exporting::writePlanReport(plan, catalog, evaluation, options, out);
    if (!r) return reportError(r.error());
    std::error_code ec;
    fs::remove_all(imageDir, ec);
    printWarnings(r->warnings);
    std::printf("wrote plan report %s: %d page%s%s%s\n", out.c_str(), r->pages,
                r->pages == 1 ? "" : "s", options.deidentify ? ", de-identified" : "",
                evaluation ? "" : ", not evaluated");
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
