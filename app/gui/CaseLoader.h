#pragma once
// Loads a series and builds what the planner shows on a worker thread (DESIGN.md "Long work"):
// the volume (for the slice views), the label map beside the series when there is one (the
// phantom's labels.nrrd + truth.json) with one surface per structure and their level of detail,
// else the bone iso-surface. The UI polls progress and takes the result when done; destruction
// cancels and joins.
#include "core/Error.h"
#include "core/Progress.h"
#include "dicom/SeriesReader.h"
#include "model/ImageGeometry.h"
#include "model/ImportReport.h"
#include "model/Mesh.h"
#include "model/Plan.h"
#include "model/Volume.h"
#include "gui/StructureMeshes.h"

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace precis::gui {

/// Triangles the 3D view may draw while the camera moves (the still frame draws everything).
inline constexpr std::size_t kInteractiveTriangleBudget = 250'000;

/// What the window shows of a loaded case.
struct LoadedCase {
    std::filesystem::path path;
    model::SeriesIdentity identity;
    int imageCount = 0; // slices in the volume
    model::ImageGeometry geometry;
    model::ImportReport report; // includes what was assumed about the labels found beside it
    std::shared_ptr<const model::Volume> volume;
    std::shared_ptr<const model::LabelMap> labels; // null: no label map beside the series
    std::vector<StructureMesh> structures;         // LPS mm
    std::string structureSource; // where the structures came from, for the user
    std::vector<model::PlanLandmark> landmarks; // from truth.json (phantom); empty otherwise
    double isoHu = 250.0;
    double loadSeconds = 0;
    [[nodiscard]] std::size_t triangleCount() const { return gui::triangleCount(structures, false); }
};

/// Structures from the files beside a series: `labels.nrrd` on the same grid, named by
/// `truth.json` (the phantom's) when present. std::nullopt when there is no label map; a warning
/// in `report` when one is there but unusable.
struct FoundLabels {
    std::shared_ptr<const model::LabelMap> labels;
    std::vector<model::Structure> structures;
    std::vector<model::PlanLandmark> landmarks; // the truth's, when truth.json names them
    std::string source;
};
std::optional<FoundLabels> findLabelsBeside(const std::filesystem::path& seriesPath,
                                            const model::ImageGeometry& grid,
                                            model::ImportReport& report);

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
