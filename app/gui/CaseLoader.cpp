#include "gui/CaseLoader.h"

#include "anatomy/IsoSurface.h"

#include <algorithm>
#include <chrono>

namespace precis::gui {

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
    c.boneSurface = anatomy::extractIsoSurface(loaded->volume, isoHu, {}, stageProgress(0.7, 1.0));
    if (cancel_.cancelled()) return finish(fail(ErrorCode::Cancelled, "loading cancelled"));
    c.loadSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    finish(std::move(c));
}

} // namespace precis::gui
