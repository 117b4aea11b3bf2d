#pragma once
// DICOM query/retrieve against a PACS (Study Root): C-ECHO, C-FIND at study and series level,
// C-GET, and C-MOVE to a storage SCP that Precis runs for the duration of the call.
// DCMTK's dcmnet stays inside engine/dicom; no DCMTK type appears here.
//
// Every network wait is bounded by the configured timeouts, so a dead or stalled peer ends in an
// error, never a hang. Failures are precis::Result errors whose user message names the peer
// ("PACS 'ORTHANC' at 127.0.0.1:4242") and the problem:
//   InvalidArgument - bad configuration or query (port, AE title, date range)
//   IoError         - connection refused, association rejected or aborted, timeout, peer closed,
//                     sub-operations that failed, files that could not be written
//   NotFound        - the query matched nothing to retrieve (no such study or series)
//   Cancelled       - Progress::cancelled() became true; the association is aborted
// The client holds no connection between calls: every call opens and releases one association.
// Calls may run on a worker thread; one PacsClient must not be used by two threads at once.
#include "core/Error.h"
#include "core/Progress.h"

#include <filesystem>
#include <string>
#include <vector>

namespace precis::dicom {

struct PacsConfig {
    std::string host = "127.0.0.1";        // name or IP address of the PACS
    int port = 104;                        // its DICOM port, 1..65535
    std::string calledAeTitle;             // the PACS' AE title (1..16 characters)
    std::string callingAeTitle = "PRECIS"; // ours; the PACS must know it for C-MOVE
    int connectTimeoutS = 10;              // TCP connect, 1..3600 s
    int acseTimeoutS = 10;                 // association negotiation and release, 1..3600 s
    int dimseTimeoutS = 30;                // longest silence while waiting for a message, 1..3600 s
    int storePort = 0;                     // local port of our storage SCP during C-MOVE (0: none)
};

/// Matching keys; empty fields match everything. patientName may use DICOM wildcards (* and ?);
/// dateRange is YYYYMMDD, YYYYMMDD-YYYYMMDD, YYYYMMDD- or -YYYYMMDD; modality is e.g. "CT".
struct PacsQuery {
    std::string patientId;
    std::string patientName;
    std::string dateRange;
    std::string modality;
    std::string studyInstanceUid;
};

struct PacsSeries {
    std::string seriesInstanceUid;
    std::string modality;
    std::string description;
    int seriesNumber = 0;      // 0 when the PACS did not say
    int numberOfInstances = 0; // 0 when the PACS did not say
};

struct PacsStudy {
    std::string patientName;
    std::string patientId;
    std::string studyInstanceUid;
    std::string studyDate; // YYYYMMDD as the PACS sent it
    std::string studyDescription;
    std::string accessionNumber;
    std::string modalitiesInStudy;  // backslash-separated, e.g. "CT\SR"
    int numberOfSeries = 0;         // 0 when the PACS did not say
    int numberOfInstances = 0;      // 0 when the PACS did not say
    std::vector<PacsSeries> series; // filled by callers that also query series
};

struct RetrieveResult {
    std::vector<std::filesystem::path> files; // files written into the destination folder
    int completed = 0;                        // sub-operations the PACS reported as completed
    int failed = 0;
    int warnings = 0;
};

class PacsClient {
public:
    explicit PacsClient(PacsConfig config);

    [[nodiscard]] const PacsConfig& config() const { return config_; }
    /// "PACS 'AET' at host:port", used in every message.
    [[nodiscard]] std::string peerName() const;

    /// C-ECHO: the PACS answers and accepts our AE title.
    [[nodiscard]] Result<void> echo() const;

    /// C-FIND at STUDY level (Study Root) with the query's keys.
    [[nodiscard]] Result<std::vector<PacsStudy>> findStudies(const PacsQuery& query,
                                                             const Progress& progress = {}) const;
    /// C-FIND at SERIES level within one study; only query.modality is used as a key.
    [[nodiscard]] Result<std::vector<PacsSeries>> findSeries(const std::string& studyInstanceUid,
                                                             const PacsQuery& query = {},
                                                             const Progress& progress = {}) const;

    /// C-GET of one series (or the whole study when seriesInstanceUid is empty) into destDir
    /// (created if missing); files are named <SOP Instance UID>.dcm and written atomically.
    [[nodiscard]] Result<RetrieveResult> getSeries(const std::string& studyInstanceUid,
                                                   const std::string& seriesInstanceUid,
                                                   const std::filesystem::path& destDir,
                                                   const Progress& progress = {}) const;
    /// C-MOVE of the same to our own AE title: a storage SCP listens on config().storePort for the
    /// duration of the call and writes what it receives into destDir. The PACS must know our AE
    /// title with this host and port.
    [[nodiscard]] Result<RetrieveResult> moveSeries(const std::string& studyInstanceUid,
                                                    const std::string& seriesInstanceUid,
                                                    const std::filesystem::path& destDir,
                                                    const Progress& progress = {}) const;

private:
    PacsConfig config_;
};

/// Checks a date range key (see PacsQuery); InvalidArgument naming the value otherwise.
Result<void> validateDateRange(const std::string& range);

} // namespace precis::dicom
