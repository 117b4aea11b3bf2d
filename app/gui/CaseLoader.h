#pragma once
// Loads a series and extracts the bone surface on a worker thread (DESIGN.md "Long work"): the
// UI polls progress and takes the result when done; destruction cancels and joins.
#include "core/Error.h"
#include "core/Progress.h"
#include "dicom/SeriesReader.h"
#include "model/ImageGeometry.h"
#include "model/ImportReport.h"
#include "model/Mesh.h"
#include "model/Volume.h"

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace precis::gui {

/// What the window shows of a loaded case (the voxels are dropped once the surface exists).
struct LoadedCase {
    std::filesystem::path path;
    model::SeriesIdentity identity;
    int imageCount = 0; // slices in the volume
    model::ImageGeometry geometry;
    model::ImportReport report;
    model::Mesh boneSurface; // LPS mm
    double isoHu = 250.0;
    double loadSeconds = 0;
};

class CaseLoader {
public:
    /// Loads the largest image series found under `path` (file, folder or DICOMDIR).
    CaseLoader(std::filesystem::path path, double isoHu);
    /// Loads one scanned series (e.g. picked in the series browser).
    CaseLoader(dicom::SeriesSummary series, double isoHu);
    ~CaseLoader(); // cancels and joins
    CaseLoader(const CaseLoader&) = delete;
    CaseLoader& operator=(const CaseLoader&) = delete;

    struct Status {
        double fraction = 0;
        std::string stage;
        bool finished = false;
    };
    [[nodiscard]] Status status() const;
    /// Once finished: the result, handed over once (later calls return std::nullopt).
    std::optional<Result<LoadedCase>> take();
    void cancel() { cancel_.cancel(); }

private:
    using LoadFn = std::function<Result<dicom::LoadedSeries>(const Progress&)>;
    void run(const LoadFn& load, const std::filesystem::path& path, double isoHu);

    mutable std::mutex mutex_;
    Status status_;
    std::optional<Result<LoadedCase>> result_;
    CancelToken cancel_;
    std::thread worker_;
};

} // namespace precis::gui
