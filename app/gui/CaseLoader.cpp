#include "gui/CaseLoader.h"

#include "anatomy/IsoSurface.h"
#include "anatomy/LabelMapFile.h"
#include "core/AtomicFile.h"
#include "phantom/LumbarPhantom.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>

namespace precis::gui {

std::optional<FoundLabels> findLabelsBeside(const std::filesystem::path& seriesPath,
                                            const model::ImageGeometry& grid,
                                            model::ImportReport& report) {
    std::error_code ec;
    const auto folder = std::filesystem::is_directory(seriesPath, ec) ? seriesPath : seriesPath.parent_path();
    const auto file = folder / "labels.nrrd";
    if (!std::filesystem::exists(file, ec)) return std::nullopt;
    auto labels = anatomy::readLabelMap(file);
    if (!labels) {
        report.add("labels-ignored", "The label map " + file.string() +
                                         " could not be read and is not shown: " + labels.error().message,
                   {file.string()});
        return std::nullopt;
    }
    if (!labels->geometry.sameGridAs(grid, 1e-3)) {
        report.add("labels-ignored", "The label map " + file.string() +
                                         " is on another grid than the series and is not shown "
                                         "(it would need resampling)",
                   {file.string()});
        return std::nullopt;
    }
    FoundLabels found;
    found.source = file.string();
    if (auto text = readFile(folder / "truth.json")) {
        if (auto truth = phantom::truthFromJson(*text)) {
            found.structures = truth->structures;
            found.landmarks = phantom::planLandmarks(*truth);
            found.source += " + truth.json";
        }
    }
    if (found.structures.empty()) {
        // No names: one structure per label value present.
        std::array<bool, 256> present{};
        for (auto v : labels->voxels) present[v] = true;
        for (int l = 1; l < 256; ++l)
            if (present[std::size_t(l)]) {
                model::Structure st;
                st.name = "label " + std::to_string(l);
                st.label = static_cast<std::uint8_t>(l);
                st.defaultColor = model::defaultColor(model::StructureKind::Custom);
                found.structures.push_back(st);
            }
    }
    found.labels = std::make_shared<const model::LabelMap>(std::move(*labels));
    return found;
}

CaseLoader::CaseLoader(std::filesystem::path path, double isoHu) {
    status_.stage = "Starting";
    worker_ = std::thread([this, p = std::move(path), isoHu] {
        run([&p](const Progress& progress) { return dicom::loadLargestSeries(p, progress); }, p,
            isoHu);
    });
}

CaseLoader::CaseLoader(dicom::SeriesSummary series, double isoHu) {
    status_.stage = "Starting";
    worker_ = std::thread([this, s = std::move(series), isoHu] {
        const std::filesystem::path folder =
            s.files.empty() ? std::filesystem::path() : s.files.front().parent_path();
        run([&s](const Progress& progress) { return dicom::loadSeries(s, progress); }, folder,
            isoHu);
    });
}

CaseLoader::~CaseLoader() {
    cancel_.cancel();
    if (worker_.joinable()) worker_.join();
}

CaseLoader::Status CaseLoader::status() const {
    std::lock_guard lock(mutex_);
    return status_;
}

std::optional<Result<LoadedCase>> CaseLoader::take() {
    std::lock_guard lock(mutex_);
    if (!status_.finished || !result_) return std::nullopt;
    auto r = std::move(result_);
    result_.reset();
    return r;
}

void CaseLoader::run(const LoadFn& load, const std::filesystem::path& path, double isoHu) {
    const auto t0 = std::chrono::steady_clock::now();
    // Reading is most of the time; the surface the rest (weights only shape the bar).
    auto stageProgress = [this](double from, double to) {
        return Progress(
            [this, from, to](double f, std::string_view stage) {
                std::lock_guard lock(mutex_);
                status_.fraction = from + (to - from) * std::clamp(f, 0.0, 1.0);
                status_.stage = std::string(stage);
            },
            &cancel_);
    };
    auto finish = [this](Result<LoadedCase> r) {
        std::lock_guard lock(mutex_);
        result_ = std::move(r);
        status_.finished = true;
        status_.fraction = 1.0;
    };

    auto loaded = load(stageProgress(0.0, 0.7));
    if (!loaded) return finish(std::unexpected(loaded.error()));
    if (cancel_.cancelled()) return finish(fail(ErrorCode::Cancelled, "loading cancelled"));
    {
        std::lock_guard lock(mutex_);
        status_.stage = "Extracting bone surface";
        status_.fraction = 0.7;
    }
    LoadedCase c;
    c.path = path;
    c.identity = loaded->volume.identity;
    c.geometry = loaded->volume.geometry;
    c.imageCount = loaded->volume.geometry.dims[2];
    c.report = std::move(loaded->report);
    c.isoHu = isoHu;
    if (auto found = findLabelsBeside(path, c.geometry, c.report)) {
        {
            std::lock_guard lock(mutex_);
            status_.stage = "Building structure surfaces";
        }
        c.labels = found->labels;
        c.structures = extractStructureMeshes(*found->labels, found->structures, stageProgress(0.7, 0.9));
        c.structureSource = found->source;
        c.landmarks = std::move(found->landmarks);
    } else {
        StructureMesh bone;
        bone.info.name = "Bone";
        bone.info.kind = model::StructureKind::Bone;
        bone.info.role = model::defaultRole(model::StructureKind::Bone);
        bone.info.defaultColor = model::defaultColor(model::StructureKind::Bone);
        bone.full = anatomy::extractIsoSurface(loaded->volume, isoHu, {}, stageProgress(0.7, 0.9));
        c.structures.push_back(std::move(bone));
        c.structureSource = "bone iso-surface at " + std::to_string(int(isoHu)) + " HU";
    }
    if (cancel_.cancelled()) return finish(fail(ErrorCode::Cancelled, "loading cancelled"));
    {
        std::lock_guard lock(mutex_);
        status_.stage = "Level of detail";
        status_.fraction = 0.9;
    }
    buildLevelOfDetail(c.structures, kInteractiveTriangleBudget);
    c.volume = std::make_shared<const model::Volume>(std::move(loaded->volume));
    if (cancel_.cancelled()) return finish(fail(ErrorCode::Cancelled, "loading cancelled"));
    c.loadSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    finish(std::move(c));
}

} // namespace precis::gui
