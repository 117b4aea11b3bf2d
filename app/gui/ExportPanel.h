#pragma once
// The "Export" panel: the plan to the tools around Precis, as `precis export` does it —
//  - Send to navigation (OpenIGTLink): connect to HOST:PORT and send, or serve on a port until
//    stopped; LPS or RAS; the connection's status live (connecting, sending, sent N messages,
//    serving and the peers served, the error naming host:port). Networking runs on a worker
//    (IgtlExportJob): the UI never waits for a peer, and a peer that fails never touches the plan.
//  - 3D Slicer markups (.mrk.json), DICOM RT Structure Set (referencing the case's series), and
//    the PDF plan report (evaluated on the case, with its 3D views; optionally de-identified).
//    The DICOM export and the report run in the background with progress and cancel.
// Every export works on a copy of the plan taken when it starts.
#include "gui/BackgroundTask.h"
#include "gui/IgtlExportJob.h"

#include "ReportViews.h"
#include "dicom/PlanDicomWriter.h"
#include "model/Device.h"
#include "model/Plan.h"
#include "planning/SafetyScene.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace precis::gui {

class ExportPanel {
public:
    ExportPanel();
    ~ExportPanel();
    ExportPanel(const ExportPanel&) = delete;
    ExportPanel& operator=(const ExportPanel&) = delete;

    /// Draws the panel's contents into the current ImGui window (a tab of the side panel, say).
    /// `seriesDir`: the case's series folder (empty: no case; DICOM and the report's evaluation
    /// then need the plan's own series path). Calls poll().
    void draw(const model::Plan& plan, const std::filesystem::path& seriesDir,
              const model::DeviceCatalog& catalog);
    /// The same in a window of its own ("Export"), while *open.
    void drawWindow(bool* open, const model::Plan& plan, const std::filesystem::path& seriesDir,
                    const model::DeviceCatalog& catalog);

    /// A safety scene already built for the case: the report is evaluated on it instead of
    /// loading the series again. nullptr: the report loads the case itself.
    void setScene(std::shared_ptr<const planning::SafetyScene> scene) { scene_ = std::move(scene); }

    /// Takes finished file exports (draw() does this too).
    void poll();
    /// A file export or an OpenIGTLink job is running.
    [[nodiscard]] bool busy() const;
    /// Errors and status lines since the last call (for the status bar and GuiRunReport).
    std::vector<std::string> takeErrors() { return std::exchange(errors_, {}); }
    std::optional<std::string> takeStatus() { return std::exchange(statusLine_, {}); }

    [[nodiscard]] IgtlExportJob& igtl() { return igtl_; }
    [[nodiscard]] const IgtlExportJob& igtl() const { return igtl_; }

private:
    void drawIgtl(const model::Plan& plan, const model::DeviceCatalog& catalog);
    void drawSlicer(const model::Plan& plan);
    void drawDicom(const model::Plan& plan, const std::filesystem::path& seriesDir);
    void drawReport(const model::Plan& plan, const std::filesystem::path& seriesDir,
                    const model::DeviceCatalog& catalog);
    void defaultPaths(const model::Plan& plan);
    void done(std::string line);
    void failed(const std::string& what, const Error& e);

    IgtlExportJob igtl_;
    std::string host_ = "localhost";
    int port_ = 18944;
    int frame_ = 0; // 0 LPS, 1 RAS
    int timeoutS_ = 5, attempts_ = 3;
    std::string igtlError_; // a start that was refused (bad address, already running)

    std::string slicerPath_, dicomDir_, reportPath_;
    bool deidentify_ = false;
    std::string slicerResult_, dicomResult_, reportResult_;
    std::string slicerError_, dicomError_, reportError_;
    std::vector<std::string> dicomWarnings_, reportWarnings_;
    std::unique_ptr<BackgroundTask<dicom::PlanDicomResult>> dicomTask_;
    std::unique_ptr<BackgroundTask<app::EvaluatedReport>> reportTask_;
    std::filesystem::path reportTarget_;
    std::shared_ptr<const planning::SafetyScene> scene_;

    std::vector<std::string> errors_;
    std::optional<std::string> statusLine_;
};

} // namespace precis::gui
