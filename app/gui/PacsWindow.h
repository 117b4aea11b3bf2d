#pragma once
// The "PACS" window: peer settings (remembered), C-ECHO, a study query (C-FIND at study and series
// level) and C-GET of the picked series into $XDG_DATA_HOME/precis/pacs/<studyUid>/<seriesUid>/.
// Every network call runs on a worker thread with progress and cancel; the client's timeouts bound
// each wait, so a dead or silent peer ends in a red message, never a hang. The app loads the
// retrieved folder like the series browser does.
#include "core/Error.h"
#include "dicom/PacsClient.h"
#include "gui/BackgroundTask.h"
#include "gui/Settings.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace precis::gui {

class PacsWindow {
public:
    explicit PacsWindow(Settings& settings);

    void open();
    void close() { open_ = false; }
    [[nodiscard]] bool isOpen() const { return open_; }

    /// Fills the peer fields (scripted runs).
    void setPeer(const std::string& host, int port, const std::string& calledAe);
    void startEcho();
    void startQuery();
    /// Retrieves the selected series (or the whole selected study); false when none is selected.
    bool startRetrieve();
    /// Selects the first series of the first study found (scripted runs); false when none.
    bool selectFirstSeries();

    [[nodiscard]] bool busy() const { return echo_ || query_ || retrieve_; }
    /// Takes finished work; returns a folder to load once a retrieve has finished.
    std::optional<std::filesystem::path> poll();
    /// Draws the window when open.
    void draw(float displayWidth, float displayHeight);

    [[nodiscard]] const std::vector<dicom::PacsStudy>& studies() const { return studies_; }
    /// The error of the last call, if it failed; cleared by the next call.
    [[nodiscard]] const std::optional<Error>& error() const { return error_; }
    /// Where retrieves go: <dataHome>/pacs.
    [[nodiscard]] static std::filesystem::path retrieveRoot();

private:
    struct Retrieved {
        std::filesystem::path folder;
        dicom::RetrieveResult result;
    };
    [[nodiscard]] dicom::PacsConfig config() const;
    [[nodiscard]] dicom::PacsQuery query() const;
    void rememberPeer();
    void drawPeer();
    void drawQuery();
    void drawResults();
    void drawProgress();

    Settings* settings_;
    bool open_ = false;
    bool focusNext_ = false;
    std::string host_, calledAe_, callingAe_;
    int port_ = 4242;
    std::string patientId_, patientName_, dateFrom_, dateTo_, modality_;

    std::unique_ptr<BackgroundTask<double>> echo_; // result: round trip in ms
    std::unique_ptr<BackgroundTask<std::vector<dicom::PacsStudy>>> query_;
    std::unique_ptr<BackgroundTask<Retrieved>> retrieve_;
    std::vector<dicom::PacsStudy> studies_;
    bool queried_ = false;
    int selStudy_ = -1, selSeries_ = -1; // selSeries_ -1: the whole study
    std::optional<Error> error_;
    std::string status_; // last success, shown in green
};

} // namespace precis::gui
