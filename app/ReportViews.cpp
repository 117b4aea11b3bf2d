#include "ReportViews.h"

#include "PlanCase.h"

#include "planning/Evaluation.h"
#include "render/Camera.h"
#include "render/Context.h"
#include "render/Image.h"
#include "render/PlanOverlay.h"
#include "render/SceneRenderer.h"

#include <fmt/core.h>

#include <atomic>
#include <cmath>
#include <optional>
#include <unistd.h>

namespace precis::app {

namespace fs = std::filesystem;

Result<std::vector<exporting::ReportImage>> renderReportViews(const planning::SafetyScene& scene,
                                                              const model::Plan& plan,
                                                              const model::DeviceCatalog& catalog,
                                                              const fs::path& dir,
                                                              bool validation) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    render::ContextOptions copts;
    copts.validation = validation;
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

namespace {

/// A folder for one report's PNGs, removed when done (several reports may be made at once).
class ScratchDir {
public:
    ScratchDir() {
        static std::atomic<int> counter{0};
        path_ = fs::temp_directory_path() /
                fmt::format("precis-report-{}-{}", ::getpid(), counter.fetch_add(1));
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    [[nodiscard]] const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

} // namespace

Result<EvaluatedReport> writeEvaluatedPlanReport(const model::Plan& plan,
                                                 const model::DeviceCatalog& catalog,
                                                 const EvaluatedReportOptions& options,
                                                 const fs::path& pdf, const Progress& progress) {
    EvaluatedReport out;
    exporting::ReportOptions ro;
    ro.deidentify = options.deidentify;
    ro.generator = options.generator;
    ScratchDir imageDir;
    std::optional<planning::PlanEvaluation> evaluated;

    std::optional<planning::SafetyScene> loadedScene;
    const planning::SafetyScene* scene = options.scene;
    if (!scene && !options.seriesDir.empty()) {
        auto c = loadPlanCase(options.seriesDir, options.labelsDir, progress);
        if (c) {
            for (auto& w : applyPlanRoles(*c, plan)) out.warnings.push_back(std::move(w));
            auto s = buildScene(*c, progress);
            if (s) {
                loadedScene = std::move(*s);
                scene = &*loadedScene;
            } else if (s.error().code != ErrorCode::Cancelled) {
                out.warnings.push_back("plan not evaluated: " + s.error().message);
            }
        } else if (c.error().code != ErrorCode::Cancelled) {
            out.warnings.push_back("plan not evaluated: " + c.error().message);
        }
    }
    if (progress.cancelled()) return fail(ErrorCode::Cancelled, "cancelled");
    if (scene) {
        progress.report(0.0, "Evaluating the plan");
        evaluated = planning::evaluatePlan(*scene, plan, catalog);
        progress.report(0.0, "Drawing the report's views");
        auto images = renderReportViews(*scene, plan, catalog, imageDir.path(), options.validation);
        if (images) {
            out.images = static_cast<int>(images->size());
            ro.images = std::move(*images);
        } else {
            out.warnings.push_back("report without images: " + images.error().message);
        }
    }
    if (progress.cancelled()) return fail(ErrorCode::Cancelled, "cancelled");
    progress.report(0.9, "Writing the report");
    const planning::PlanEvaluation* evaluation = evaluated ? &*evaluated : nullptr;
    auto r = exporting::writePlanReport(plan, catalog, evaluation, ro, pdf);
    if (!r) return std::unexpected(r.error());
    out.evaluated = evaluation != nullptr;
    out.summary = std::move(*r);
    out.warnings.insert(out.warnings.end(), out.summary.warnings.begin(),
                        out.summary.warnings.end());
    progress.report(1.0, "Report written");
    return out;
}

} // namespace precis::app
