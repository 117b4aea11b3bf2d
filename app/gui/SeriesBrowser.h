#pragma once
// The "Open DICOM" window: a folder (or DICOMDIR / file) is scanned on a worker thread
// (dicom::scanSeries, progress + cancel) and listed as patients -> studies -> series. Non-image
// objects (SR, RTSTRUCT, SEG, ...) are listed greyed with their kind, never as errors. The window
// hands the picked image series to the app, which loads it (CaseLoader).
#include "core/Error.h"
#include "dicom/SeriesReader.h"
#include "gui/BackgroundTask.h"
#include "gui/Settings.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace precis::gui {

class SeriesBrowser {
public:
    explicit SeriesBrowser(Settings& settings);

    /// Shows the window; a non-empty folder replaces the folder field.
    void open(const std::string& folder = {});
    void close() { open_ = false; }
    [[nodiscard]] bool isOpen() const { return open_; }

    /// Scans the folder field (remembered among the recent folders).
    void startScan();
    [[nodiscard]] bool busy() const { return scan_ != nullptr; }
    /// Takes a finished scan's result; call once per frame.
    void poll();

    /// Draws the window when open. Returns the series to load when the user asked for one.
    std::optional<dicom::SeriesSummary> draw(float displayWidth, float displayHeight);

    [[nodiscard]] const std::vector<dicom::SeriesSummary>& series() const { return series_; }
    /// The first loadable series of the last scan (scan order: largest image series first).
    [[nodiscard]] std::optional<dicom::SeriesSummary> firstImageSeries() const;
    /// The error of the last scan, if it failed; cleared by the next scan.
    [[nodiscard]] const std::optional<Error>& error() const { return error_; }

private:
    struct StudyNode {
        std::string studyUid, description, date;
        std::vector<std::size_t> series; // indices into series_
    };
    struct PatientNode {
        std::string id, name;
        std::vector<StudyNode> studies;
    };
    void buildTree();
    void drawTable();
    void drawSeriesRow(std::size_t index);

    Settings* settings_;
    bool open_ = false;
    bool focusNext_ = false;
    std::string folder_;
    std::string scannedFolder_;
    std::unique_ptr<BackgroundTask<std::vector<dicom::SeriesSummary>>> scan_;
    std::vector<dicom::SeriesSummary> series_;
    std::vector<PatientNode> patients_;
    std::optional<std::size_t> selected_;
    std::optional<Error> error_;
    double scanSeconds_ = 0;
    bool loadRequested_ = false;
};

} // namespace precis::gui
