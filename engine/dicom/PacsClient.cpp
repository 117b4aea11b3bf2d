#include "dicom/PacsClient.h"

#include "dicom/detail/Dcmtk.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/dimse.h>
#include <dcmtk/dcmnet/diutil.h>
#include <dcmtk/dcmnet/scu.h>

#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <tuple>

namespace precis::dicom {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Image and object storage classes a planner imports; offered for C-GET's storage
// sub-operations and accepted by our C-MOVE storage SCP.
constexpr const char* kStorageClasses[] = {
    UID_CTImageStorage,
    UID_EnhancedCTImageStorage,
    UID_LegacyConvertedEnhancedCTImageStorage,
    UID_MRImageStorage,
    UID_EnhancedMRImageStorage,
    UID_LegacyConvertedEnhancedMRImageStorage,
    UID_PositronEmissionTomographyImageStorage,
    UID_EnhancedPETImageStorage,
    UID_NuclearMedicineImageStorage,
    UID_SecondaryCaptureImageStorage,
    UID_MultiframeGrayscaleWordSecondaryCaptureImageStorage,
    UID_XRayAngiographicImageStorage,
    UID_ComputedRadiographyImageStorage,
    UID_DigitalXRayImageStorageForPresentation,
    UID_UltrasoundImageStorage,
    UID_RTStructureSetStorage,
    UID_RTDoseStorage,
    UID_SegmentationStorage,
    UID_SpatialRegistrationStorage,
};

/// Transfer syntaxes whose pixel data SeriesReader decodes (uncompressed first, so a PACS that
/// keeps originals uncompressed sends them unchanged).
constexpr const char* kTransferSyntaxes[] = {
    UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax,
    UID_BigEndianExplicitTransferSyntax,    UID_JPEGProcess14SV1TransferSyntax,
    UID_JPEGProcess14TransferSyntax,        UID_JPEGProcess1TransferSyntax,
    UID_JPEGProcess2_4TransferSyntax,       UID_JPEGLSLosslessTransferSyntax,
    UID_JPEGLSLossyTransferSyntax,          UID_RLELosslessTransferSyntax,
    UID_JPEG2000LosslessOnlyTransferSyntax, UID_JPEG2000TransferSyntax,
};

OFList<OFString> storageTransferSyntaxes() {
    OFList<OFString> ts;
    for (const char* uid : kTransferSyntaxes)
        ts.push_back(uid);
    return ts;
}

OFList<OFString> uncompressedTransferSyntaxes() {
    OFList<OFString> ts;
    ts.push_back(UID_LittleEndianExplicitTransferSyntax);
    ts.push_back(UID_LittleEndianImplicitTransferSyntax);
    return ts;
}

bool isPending(Uint16 status) {
    return status == 0xFF00 || status == 0xFF01;
}

std::string hex4(Uint16 v) {
    return fmt::format("0x{:04X}", v);
}

Result<void> validateAeTitle(const std::string& ae, const char* what) {
    bool printable = std::all_of(ae.begin(), ae.end(),
                                 [](char c) { return c >= 0x20 && c < 0x7F && c != '\\'; });
    bool blank = ae.find_first_not_of(' ') == std::string::npos;
    if (ae.size() > 16 || blank || !printable)
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("{} '{}' is not a valid AE title (1 to 16 printable characters, "
                                "no backslash)",
                                what, ae));
    return {};
}

Result<void> validateConfig(const PacsConfig& c) {
    if (c.host.empty()) return fail(ErrorCode::InvalidArgument, "no PACS host given");
    if (c.port < 1 || c.port > 65535)
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("PACS port {} is out of range (1 to 65535)", c.port));
    if (auto r = validateAeTitle(c.calledAeTitle, "the PACS AE title"); !r) return r;
    if (auto r = validateAeTitle(c.callingAeTitle, "our AE title"); !r) return r;
    for (auto [value, name] :
         {std::pair{c.connectTimeoutS, "connect"}, std::pair{c.acseTimeoutS, "association"},
          std::pair{c.dimseTimeoutS, "message"}})
        if (value < 1 || value > 3600)
            return fail(ErrorCode::InvalidArgument,
                        fmt::format("the {} timeout must be 1 to 3600 s (got {})", name, value));
    if (c.storePort < 0 || c.storePort > 65535)
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("storage port {} is out of range (1 to 65535)", c.storePort));
    return {};
}

bool isDate(std::string_view s) {
    if (s.size() != 8 ||
        !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    int month = (s[4] - '0') * 10 + (s[5] - '0');
    int day = (s[6] - '0') * 10 + (s[7] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/// A SOP Instance UID is digits and dots; anything else never becomes part of a file name.
bool isSafeUid(const std::string& uid) {
    return !uid.empty() && uid.size() <= 64 && uid.front() != '.' &&
           std::all_of(uid.begin(), uid.end(),
                       [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

/// Writes one received instance as <SOP Instance UID>.dcm in its network transfer syntax,
/// through a temporary name so a half-written file never looks like a finished one.
Result<fs::path> writeInstance(DcmDataset& ds, const fs::path& dir) {
    std::string sop = detail::getString(ds, DCM_SOPInstanceUID);
    if (!isSafeUid(sop))
        return fail(ErrorCode::ParseError,
                    fmt::format("received an object with an unusable SOP Instance UID '{}'", sop));
    const fs::path target = dir / (sop + ".dcm");
    const fs::path tmp = dir / ("." + sop + ".part");
    E_TransferSyntax xfer = ds.getOriginalXfer();
    if (xfer == EXS_Unknown) xfer = EXS_LittleEndianExplicit;
    DcmFileFormat ff(&ds, OFTrue);
    OFCondition c = ff.saveFile(tmp.c_str(), xfer, EET_ExplicitLength);
    if (c.bad()) {
        std::error_code ec;
        fs::remove(tmp, ec);
        return fail(ErrorCode::IoError, fmt::format("could not write {}", target.string()),
                    c.text());
    }
    std::error_code ec;
    fs::rename(tmp, target, ec);
    if (ec)
        return fail(ErrorCode::IoError, fmt::format("could not write {}", target.string()),
                    ec.message());
    return target;
}

/// Shared by the C-GET receiver (our SCU) and the C-MOVE storage SCP (another thread).
class InstanceSink {
public:
    InstanceSink(fs::path dir, const Progress& progress)
        : dir_(std::move(dir)), progress_(progress) {}

    /// Returns the C-STORE response status.
    Uint16 store(DcmDataset* ds) {
        touch();
        if (ds == nullptr) return STATUS_STORE_Error_CannotUnderstand;
        auto written = writeInstance(*ds, dir_);
        std::lock_guard lock(mutex_);
        if (!written) {
            if (!error_) error_ = written.error();
            return STATUS_STORE_Refused_OutOfResources;
        }
        files_.push_back(*written);
        reportLocked();
        return STATUS_Success;
    }
    void setRemaining(int remaining) {
        std::lock_guard lock(mutex_);
        remaining_ = remaining;
        reportLocked();
    }
    void touch() { lastActivity_.store(Clock::now().time_since_epoch().count()); }
    [[nodiscard]] Clock::time_point lastActivity() const {
        return Clock::time_point(Clock::duration(lastActivity_.load()));
    }
    [[nodiscard]] std::vector<fs::path> files() const {
        std::lock_guard lock(mutex_);
        return files_;
    }
    [[nodiscard]] std::optional<Error> error() const {
        std::lock_guard lock(mutex_);
        return error_;
    }

private:
    void reportLocked() {
        const auto n = static_cast<double>(files_.size());
        const double fraction = remaining_ > 0 ? n / (n + remaining_) : 0.0;
        progress_.report(fraction, fmt::format("received {} files", files_.size()));
    }

    fs::path dir_;
    const Progress& progress_;
    mutable std::mutex mutex_;
    std::vector<fs::path> files_;
    std::optional<Error> error_;
    int remaining_ = -1;
    std::atomic<Clock::rep> lastActivity_{Clock::now().time_since_epoch().count()};
};

/// DcmSCU with bounded waits, progress and cancellation.
class Scu : public DcmSCU {
public:
    Scu(const PacsConfig& c, const Progress& progress) : progress_(progress) {
        setAETitle(c.callingAeTitle.c_str());
        setPeerHostName(c.host.c_str());
        setPeerPort(static_cast<Uint16>(c.port));
        setPeerAETitle(c.calledAeTitle.c_str());
        // Non-blocking DIMSE: every receive waits at most dimseTimeoutS, so a stalled peer ends
        // in DIMSE_NODATAAVAILABLE instead of a hang.
        setDIMSEBlockingMode(DIMSE_NONBLOCKING);
        setDIMSETimeout(static_cast<Uint32>(c.dimseTimeoutS));
        setACSETimeout(static_cast<Uint32>(c.acseTimeoutS));
        setConnectionTimeout(c.connectTimeoutS);
        setProgressNotificationMode(OFFalse);
    }

    std::function<void(DcmDataset&)> onFindMatch;
    InstanceSink* sink = nullptr;
    bool cancelled = false;
    Uint16 lastStatus = 0;
    int completed = 0, failed = 0, warnings = 0;

    OFCondition handleFINDResponse(const T_ASC_PresentationContextID presID, QRResponse* response,
                                   OFBool& waitForNextResponse) override {
        OFCondition c = DcmSCU::handleFINDResponse(presID, response, waitForNextResponse);
        if (response) {
            lastStatus = response->m_status;
            if (isPending(response->m_status) && response->m_dataset && onFindMatch)
                onFindMatch(*response->m_dataset);
        }
        if (progress_.cancelled()) {
            cancelled = true;
            waitForNextResponse = OFFalse;
        }
        return c;
    }

    OFCondition handleCGETResponse(const T_ASC_PresentationContextID presID,
                                   RetrieveResponse* response, OFBool& continueSession) override {
        OFCondition c = DcmSCU::handleCGETResponse(presID, response, continueSession);
        if (response) {
            lastStatus = response->m_status;
            completed = response->m_numberOfCompletedSubops;
            failed = response->m_numberOfFailedSubops;
            warnings = response->m_numberOfWarningSubops;
            if (sink && isPending(response->m_status))
                sink->setRemaining(response->m_numberOfRemainingSubops);
        }
        if (progress_.cancelled()) {
            cancelled = true;
            continueSession = OFFalse;
        }
        return c;
    }

    OFCondition handleSTORERequest(const T_ASC_PresentationContextID, DcmDataset* incoming,
                                   OFBool& continueSession, Uint16& status) override {
        status = sink ? sink->store(incoming) : Uint16(STATUS_STORE_Refused_OutOfResources);
        if (progress_.cancelled()) {
            cancelled = true;
            continueSession = OFFalse;
        }
        return EC_Normal;
    }

    // The C-MOVE loop below drives DIMSE itself (to wait while our SCP is busy receiving).
    OFCondition send(T_ASC_PresentationContextID pc, T_DIMSE_Message* msg, DcmDataset* ds) {
        return sendDIMSEMessage(pc, msg, ds);
    }
    OFCondition receive(T_ASC_PresentationContextID* pc, T_DIMSE_Message* msg,
                        DcmDataset** statusDetail, Uint32 timeoutS) {
        return receiveDIMSECommand(pc, msg, statusDetail, nullptr, timeoutS);
    }
    OFCondition receiveDataset(T_ASC_PresentationContextID* pc, DcmDataset** ds) {
        return receiveDIMSEDataset(pc, ds);
    }

    /// Releases on success, aborts otherwise; never leaves an association open.
    void close(bool ok) {
        if (!isConnected()) return;
        if (ok) {
            if (releaseAssociation().bad() && isConnected()) abortAssociation();
        } else {
            abortAssociation();
        }
    }
    ~Scu() override { close(false); }

private:
    const Progress& progress_;
};

class Session {
public:
    Session(const PacsClient& client, const Progress& progress)
        : client_(client), progress_(progress), scu_(client.config(), progress) {}

    Scu& scu() { return scu_; }

    [[nodiscard]] Error networkError(const OFCondition& c, const std::string& during) const {
        const auto& cfg = client_.config();
        const std::string peer = client_.peerName();
        std::string what;
        if (c.module() == OFM_dcmnet && c.code() == DULC_TCPINITERROR) {
            std::string text = c.text();
            if (text.find("refused") != std::string::npos)
                what = "refused the connection: nothing listens on that port (check host and port)";
            else if (text.find("imeout") != std::string::npos ||
                     text.find("timed out") != std::string::npos)
                what = fmt::format("did not accept a connection within {} s (host down or "
                                   "blocked by a firewall?)",
                                   cfg.connectTimeoutS);
            else
                what = "could not be reached";
        } else if (c.module() == OFM_dcmnet && c.code() == DULC_UNKNOWNHOST) {
            what = "could not be found: unknown host name";
        } else if (c == DUL_ASSOCIATIONREJECTED) {
            what = fmt::format("rejected the association: check that its AE title is '{}' and "
                               "that it accepts our AE title '{}'",
                               cfg.calledAeTitle, cfg.callingAeTitle);
        } else if (c == NET_EC_NoAcceptablePresentationContexts) {
            what = "accepted none of the services we asked for (" + during + ")";
        } else if (c == DUL_READTIMEOUT || c == DIMSE_NODATAAVAILABLE) {
            what = fmt::format(
                "did not answer within {} s ({})",
                during.rfind("association", 0) == 0 ? cfg.acseTimeoutS : cfg.dimseTimeoutS, during);
        } else if (c == DUL_PEERABORTEDASSOCIATION) {
            what = "aborted the association (" + during + ")";
        } else if (c == DUL_PEERREQUESTEDRELEASE || c == DUL_NETWORKCLOSED ||
                   (c.module() == OFM_dcmnet && c.code() == DULC_TCPIOERROR)) {
            what = "closed the connection (" + during + ")";
        } else {
            what = "failed (" + during + ")";
        }
        return Error{ErrorCode::IoError, peer + " " + what, c.text()};
    }

    /// Opens the association with the given presentation contexts.
    Result<void> open(const std::vector<std::pair<const char*, T_ASC_SC_ROLE>>& contexts,
                      const OFList<OFString>& storageTs = {}) {
        if (progress_.cancelled()) return fail(ErrorCode::Cancelled, "cancelled");
        for (const auto& [uid, role] : contexts) {
            const auto& ts = role == ASC_SC_ROLE_SCP ? storageTs : uncompressedTransferSyntaxes();
            if (OFCondition c = scu_.addPresentationContext(uid, ts, role); c.bad())
                return std::unexpected(Error{ErrorCode::Internal,
                                             "could not set up the DICOM "
                                             "association",
                                             c.text()});
        }
        if (OFCondition c = scu_.initNetwork(); c.bad())
            return std::unexpected(
                Error{ErrorCode::IoError,
                      "could not initialise the network for " + client_.peerName(), c.text()});
        progress_.report(0.0, "connecting to " + client_.peerName());
        if (OFCondition c = scu_.negotiateAssociation(); c.bad())
            return std::unexpected(networkError(c, "association"));
        return {};
    }

    T_ASC_PresentationContextID context(const char* uid) {
        return scu_.findPresentationContextID(uid, "");
    }

    Result<void> contextOrFail(const char* uid, const char* service,
                               T_ASC_PresentationContextID& pc) {
        pc = context(uid);
        if (pc == 0)
            return fail(ErrorCode::IoError,
                        fmt::format("{} does not offer {}", client_.peerName(), service));
        return {};
    }

    const PacsClient& client() const { return client_; }

private:
    const PacsClient& client_;
    const Progress& progress_;
    Scu scu_;
};

void putKeys(DcmDataset& ds, std::initializer_list<std::pair<DcmTagKey, std::string>> keys) {
    for (const auto& [tag, value] : keys)
        ds.putAndInsertString(tag, value.c_str());
}

int intValue(DcmItem& item, const DcmTagKey& tag) {
    std::string s = detail::getString(item, tag);
    try {
        return s.empty() ? 0 : std::stoi(s);
    } catch (...) {
        return 0;
    }
}

Result<void> validateQuery(const PacsQuery& q) {
    if (!q.dateRange.empty())
        if (auto r = validateDateRange(q.dateRange); !r) return r;
    for (const std::string* s : {&q.patientId, &q.patientName, &q.modality, &q.studyInstanceUid})
        if (s->find('\\') != std::string::npos && s != &q.modality)
            return fail(ErrorCode::InvalidArgument,
                        fmt::format("query value '{}' must not contain a backslash", *s));
    if (!q.studyInstanceUid.empty() && !isSafeUid(q.studyInstanceUid))
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("'{}' is not a DICOM UID (digits and dots)", q.studyInstanceUid));
    return {};
}

/// The storage SCP that receives a C-MOVE's sub-operations on its own thread. Written on DCMTK's
/// association layer rather than DcmSCP so that every wait polls (1 s) for the stop request: a PACS
/// may keep its association open after the last image, and we must not wait for it.
class StoreScp {
public:
    StoreScp(const PacsConfig& c, InstanceSink& sink) : config_(c), sink_(sink) {}
    ~StoreScp() {
        stop();
        if (thread_.joinable()) thread_.join();
        if (net_) ASC_dropNetwork(&net_);
    }
    StoreScp(const StoreScp&) = delete;
    StoreScp& operator=(const StoreScp&) = delete;

    /// Binds the port (on the caller's thread, so a busy port is reported) and starts serving.
    Result<void> start() {
        OFCondition c =
            ASC_initializeNetwork(NET_ACCEPTOR, config_.storePort, config_.acseTimeoutS, &net_);
        if (c.bad())
            return fail(ErrorCode::IoError,
                        fmt::format("could not listen for images on port {} (in use, or not "
                                    "allowed?)",
                                    config_.storePort),
                        c.text());
        thread_ = std::thread([this] { run(); });
        return {};
    }
    void stop() { stop_.store(true); }
    void join() {
        stop();
        if (thread_.joinable()) thread_.join();
    }

private:
    void run() {
        while (!stop_.load()) {
            T_ASC_Association* assoc = nullptr;
            OFCondition c = ASC_receiveAssociation(net_, &assoc, ASC_DEFAULTMAXPDU, nullptr,
                                                   nullptr, OFFalse, DUL_NOBLOCK, 1);
            if (c.good()) serve(assoc);
            if (assoc) {
                ASC_dropSCPAssociation(assoc);
                ASC_destroyAssociation(&assoc);
            }
        }
    }

    void serve(T_ASC_Association* assoc) {
        std::vector<const char*> ts(std::begin(kTransferSyntaxes), std::end(kTransferSyntaxes));
        const char* echo[] = {UID_VerificationSOPClass};
        std::vector<const char*> classes(std::begin(kStorageClasses), std::end(kStorageClasses));
        OFCondition c =
            ASC_acceptContextsWithPreferredTransferSyntaxes(assoc->params, echo, 1, ts.data(), 2);
        if (c.good())
            c = ASC_acceptContextsWithPreferredTransferSyntaxes(
                assoc->params, classes.data(), static_cast<int>(classes.size()), ts.data(),
                static_cast<int>(ts.size()));
        if (c.good()) c = ASC_acknowledgeAssociation(assoc);
        if (c.bad()) return;
        sink_.touch();
        const auto silence = std::chrono::seconds(config_.dimseTimeoutS);
        for (;;) {
            T_DIMSE_Message msg;
            std::memset(&msg, 0, sizeof(msg));
            T_ASC_PresentationContextID pc = 0;
            c = DIMSE_receiveCommand(assoc, DIMSE_NONBLOCKING, 1, &pc, &msg, nullptr);
            if (c == DIMSE_NODATAAVAILABLE) {
                if (stop_.load() || Clock::now() - sink_.lastActivity() > silence) {
                    ASC_abortAssociation(assoc);
                    return;
                }
                continue;
            }
            if (c == DUL_PEERREQUESTEDRELEASE) {
                ASC_acknowledgeRelease(assoc);
                return;
            }
            if (c.bad()) {
                if (c != DUL_PEERABORTEDASSOCIATION) ASC_abortAssociation(assoc);
                return;
            }
            sink_.touch();
            if (msg.CommandField == DIMSE_C_ECHO_RQ) {
                c = DIMSE_sendEchoResponse(assoc, pc, &msg.msg.CEchoRQ, STATUS_Success, nullptr);
            } else if (msg.CommandField == DIMSE_C_STORE_RQ) {
                const T_DIMSE_C_StoreRQ& req = msg.msg.CStoreRQ;
                DcmDataset* ds = nullptr;
                c = DIMSE_receiveDataSetInMemory(assoc, DIMSE_NONBLOCKING, config_.dimseTimeoutS,
                                                 &pc, &ds, nullptr, nullptr);
                if (c.bad()) {
                    delete ds;
                    ASC_abortAssociation(assoc);
                    return;
                }
                T_DIMSE_C_StoreRSP rsp;
                std::memset(&rsp, 0, sizeof(rsp));
                rsp.MessageIDBeingRespondedTo = req.MessageID;
                rsp.DimseStatus = sink_.store(ds);
                rsp.DataSetType = DIMSE_DATASET_NULL;
                rsp.opts = O_STORE_AFFECTEDSOPCLASSUID | O_STORE_AFFECTEDSOPINSTANCEUID;
                OFStandard::strlcpy(rsp.AffectedSOPClassUID, req.AffectedSOPClassUID,
                                    sizeof(rsp.AffectedSOPClassUID));
                OFStandard::strlcpy(rsp.AffectedSOPInstanceUID, req.AffectedSOPInstanceUID,
                                    sizeof(rsp.AffectedSOPInstanceUID));
                delete ds;
                c = DIMSE_sendStoreResponse(assoc, pc, &req, &rsp, nullptr);
            } else {
                c = DIMSE_BADCOMMANDTYPE;
            }
            if (c.bad()) {
                ASC_abortAssociation(assoc);
                return;
            }
        }
    }

    const PacsConfig& config_;
    InstanceSink& sink_;
    T_ASC_Network* net_ = nullptr;
    std::thread thread_;
    std::atomic<bool> stop_{false};
};

Result<void> prepareDestination(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir))
        return fail(
            ErrorCode::IoError,
            fmt::format("could not create the folder {} for the retrieved images", dir.string()),
            ec.message());
    return {};
}

void fillRetrieveIdentifier(DcmDataset& id, const std::string& study, const std::string& series) {
    putKeys(id, {{DCM_QueryRetrieveLevel, series.empty() ? "STUDY" : "SERIES"},
                 {DCM_StudyInstanceUID, study}});
    if (!series.empty()) putKeys(id, {{DCM_SeriesInstanceUID, series}});
}

Result<void> validateRetrieve(const std::string& study, const std::string& series) {
    if (!isSafeUid(study))
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("'{}' is not a Study Instance UID (digits and dots)", study));
    if (!series.empty() && !isSafeUid(series))
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("'{}' is not a Series Instance UID (digits and dots)", series));
    return {};
}

std::string what(const std::string& study, const std::string& series) {
    return series.empty() ? "study " + study : "series " + series + " of study " + study;
}

/// Turns the counts of a finished retrieve into the result or an error.
Result<RetrieveResult> finishRetrieve(const PacsClient& client, const InstanceSink& sink,
                                      Uint16 status, int completed, int failed, int warnings,
                                      const std::string& study, const std::string& series) {
    RetrieveResult r;
    r.files = sink.files();
    std::sort(r.files.begin(), r.files.end());
    r.completed = completed;
    r.failed = failed;
    r.warnings = warnings;
    if (auto e = sink.error()) {
        e->message = fmt::format("retrieving {} from {}: {}", what(study, series),
                                 client.peerName(), e->message);
        return std::unexpected(*e);
    }
    if (status == STATUS_MOVE_Refused_MoveDestinationUnknown)
        return fail(ErrorCode::IoError,
                    fmt::format("{} does not know our AE title '{}' as a C-MOVE destination: "
                                "add it with this host and port {} to the PACS, or use C-GET",
                                client.peerName(), client.config().callingAeTitle,
                                client.config().storePort),
                    hex4(status));
    if (r.files.empty() && failed == 0 &&
        (status == STATUS_Success || (status & 0xF000) == 0xC000 || status == 0xA701 ||
         status == 0xA702))
        return fail(
            ErrorCode::NotFound,
            fmt::format("{} has no {} (or sent nothing)", client.peerName(), what(study, series)),
            hex4(status));
    if (status != STATUS_Success && status != 0xB000)
        return fail(ErrorCode::IoError,
                    fmt::format("{} ended the retrieval of {} with status {} after {} files ({} "
                                "failed)",
                                client.peerName(), what(study, series), hex4(status),
                                r.files.size(), failed),
                    hex4(status));
    if (failed > 0 || r.files.empty())
        return fail(ErrorCode::IoError,
                    fmt::format("{} could not send {} of the images of {} ({} received)",
                                client.peerName(), failed, what(study, series), r.files.size()),
                    hex4(status));
    return r;
}

} // namespace

Result<void> validateDateRange(const std::string& range) {
    auto dash = range.find('-');
    bool ok = false;
    if (dash == std::string::npos) {
        ok = isDate(range);
    } else {
        std::string from = range.substr(0, dash), to = range.substr(dash + 1);
        ok = (from.empty() || isDate(from)) && (to.empty() || isDate(to)) &&
             !(from.empty() && to.empty()) && (from.empty() || to.empty() || from <= to);
    }
    if (!ok)
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("date range '{}' must be YYYYMMDD, YYYYMMDD-YYYYMMDD (from <= to), "
                                "YYYYMMDD- or -YYYYMMDD",
                                range));
    return {};
}

PacsClient::PacsClient(PacsConfig config) : config_(std::move(config)) {}

std::string PacsClient::peerName() const {
    return fmt::format("PACS '{}' at {}:{}", config_.calledAeTitle, config_.host, config_.port);
}

Result<void> PacsClient::echo() const {
    if (auto r = validateConfig(config_); !r) return r;
    detail::registerCodecs();
    Progress none;
    Session s(*this, none);
    if (auto r = s.open({{UID_VerificationSOPClass, ASC_SC_ROLE_DEFAULT}}); !r) return r;
    OFCondition c = s.scu().sendECHORequest(0);
    if (c.bad()) return std::unexpected(s.networkError(c, "C-ECHO"));
    s.scu().close(true);
    return {};
}

namespace {

/// One Study Root C-FIND: association, the request with `keys`, `onMatch` per response, status.
/// `what` names the query in errors ("study query", "series query").
Result<void> runFind(const PacsClient& client, const Progress& progress, DcmDataset& keys,
                     const std::function<void(DcmDataset&)>& onMatch, const char* what) {
    detail::registerCodecs();
    Session s(client, progress);
    if (auto r = s.open({{UID_FINDStudyRootQueryRetrieveInformationModel, ASC_SC_ROLE_DEFAULT}});
        !r)
        return std::unexpected(r.error());
    T_ASC_PresentationContextID pc = 0;
    if (auto r = s.contextOrFail(UID_FINDStudyRootQueryRetrieveInformationModel,
                                 "Study Root C-FIND", pc);
        !r)
        return std::unexpected(r.error());
    s.scu().onFindMatch = onMatch;
    OFCondition c = s.scu().sendFINDRequest(pc, &keys, nullptr);
    if (s.scu().cancelled) return fail(ErrorCode::Cancelled, "query cancelled");
    if (c.bad()) return std::unexpected(s.networkError(c, "C-FIND"));
    if (s.scu().lastStatus != STATUS_Success)
        return fail(ErrorCode::IoError, fmt::format("{} refused the {} (status {})",
                                                    client.peerName(), what,
                                                    hex4(s.scu().lastStatus)));
    s.scu().close(true);
    return {};
}

} // namespace

Result<std::vector<PacsStudy>> PacsClient::findStudies(const PacsQuery& q,
                                                       const Progress& progress) const {
    if (auto r = validateConfig(config_); !r) return std::unexpected(r.error());
    if (auto r = validateQuery(q); !r) return std::unexpected(r.error());

    DcmDataset keys;
    putKeys(keys, {{DCM_QueryRetrieveLevel, "STUDY"},
                   {DCM_PatientName, q.patientName},
                   {DCM_PatientID, q.patientId},
                   {DCM_StudyInstanceUID, q.studyInstanceUid},
                   {DCM_StudyDate, q.dateRange},
                   {DCM_StudyTime, ""},
                   {DCM_StudyDescription, ""},
                   {DCM_AccessionNumber, ""},
                   {DCM_ModalitiesInStudy, q.modality},
                   {DCM_NumberOfStudyRelatedSeries, ""},
                   {DCM_NumberOfStudyRelatedInstances, ""}});
    std::vector<PacsStudy> studies;
    auto onStudy = [&](DcmDataset& ds) {
        PacsStudy st;
        st.patientName = detail::getString(ds, DCM_PatientName);
        st.patientId = detail::getString(ds, DCM_PatientID);
        st.studyInstanceUid = detail::getString(ds, DCM_StudyInstanceUID);
        st.studyDate = detail::getString(ds, DCM_StudyDate);
        st.studyDescription = detail::getString(ds, DCM_StudyDescription);
        st.accessionNumber = detail::getString(ds, DCM_AccessionNumber);
        OFString all;
        if (ds.findAndGetOFStringArray(DCM_ModalitiesInStudy, all).good())
            st.modalitiesInStudy = all.c_str();
        st.numberOfSeries = intValue(ds, DCM_NumberOfStudyRelatedSeries);
        st.numberOfInstances = intValue(ds, DCM_NumberOfStudyRelatedInstances);
        studies.push_back(std::move(st));
        progress.report(0.0, fmt::format("{} studies found", studies.size()));
    };
    if (auto r = runFind(*this, progress, keys, onStudy, "study query"); !r)
        return std::unexpected(r.error());
    std::sort(studies.begin(), studies.end(), [](const PacsStudy& a, const PacsStudy& b) {
        return std::tie(b.studyDate, a.studyInstanceUid) <
               std::tie(a.studyDate, b.studyInstanceUid);
    });
    return studies;
}

Result<std::vector<PacsSeries>> PacsClient::findSeries(const std::string& studyUid,
                                                       const PacsQuery& q,
                                                       const Progress& progress) const {
    if (auto r = validateConfig(config_); !r) return std::unexpected(r.error());
    if (auto r = validateRetrieve(studyUid, {}); !r) return std::unexpected(r.error());
    if (q.modality.find('\\') != std::string::npos)
        return fail(ErrorCode::InvalidArgument, "a series has one modality: no backslash");
    DcmDataset keys;
    putKeys(keys, {{DCM_QueryRetrieveLevel, "SERIES"},
                   {DCM_StudyInstanceUID, studyUid},
                   {DCM_SeriesInstanceUID, ""},
                   {DCM_Modality, q.modality},
                   {DCM_SeriesNumber, ""},
                   {DCM_SeriesDescription, ""},
                   {DCM_NumberOfSeriesRelatedInstances, ""}});
    std::vector<PacsSeries> series;
    auto onSeries = [&](DcmDataset& ds) {
        PacsSeries se;
        se.seriesInstanceUid = detail::getString(ds, DCM_SeriesInstanceUID);
        se.modality = detail::getString(ds, DCM_Modality);
        se.description = detail::getString(ds, DCM_SeriesDescription);
        se.seriesNumber = intValue(ds, DCM_SeriesNumber);
        se.numberOfInstances = intValue(ds, DCM_NumberOfSeriesRelatedInstances);
        series.push_back(std::move(se));
        progress.report(0.0, fmt::format("{} series found", series.size()));
    };
    if (auto r = runFind(*this, progress, keys, onSeries, "series query"); !r)
        return std::unexpected(r.error());
    std::sort(series.begin(), series.end(), [](const PacsSeries& a, const PacsSeries& b) {
        return std::tie(a.seriesNumber, a.seriesInstanceUid) <
               std::tie(b.seriesNumber, b.seriesInstanceUid);
    });
    return series;
}

Result<RetrieveResult> PacsClient::getSeries(const std::string& studyUid,
                                             const std::string& seriesUid, const fs::path& destDir,
                                             const Progress& progress) const {
    if (auto r = validateConfig(config_); !r) return std::unexpected(r.error());
    if (auto r = validateRetrieve(studyUid, seriesUid); !r) return std::unexpected(r.error());
    if (auto r = prepareDestination(destDir); !r) return std::unexpected(r.error());
    detail::registerCodecs();
    InstanceSink sink(destDir, progress);
    Session s(*this, progress);
    s.scu().sink = &sink;
    std::vector<std::pair<const char*, T_ASC_SC_ROLE>> contexts{
        {UID_GETStudyRootQueryRetrieveInformationModel, ASC_SC_ROLE_DEFAULT}};
    for (const char* uid : kStorageClasses)
        contexts.emplace_back(uid, ASC_SC_ROLE_SCP);
    if (auto r = s.open(contexts, storageTransferSyntaxes()); !r) return std::unexpected(r.error());
    T_ASC_PresentationContextID pc = 0;
    if (auto r = s.contextOrFail(UID_GETStudyRootQueryRetrieveInformationModel,
                                 "Study Root C-GET (try C-MOVE)", pc);
        !r)
        return std::unexpected(r.error());
    DcmDataset id;
    fillRetrieveIdentifier(id, studyUid, seriesUid);
    progress.report(0.0, "retrieving " + what(studyUid, seriesUid));
    OFCondition c = s.scu().sendCGETRequest(pc, &id, nullptr);
    if (s.scu().cancelled) return fail(ErrorCode::Cancelled, "retrieval cancelled");
    if (c.bad()) return std::unexpected(s.networkError(c, "C-GET"));
    s.scu().close(true);
    return finishRetrieve(*this, sink, s.scu().lastStatus, s.scu().completed, s.scu().failed,
                          s.scu().warnings, studyUid, seriesUid);
}

Result<RetrieveResult> PacsClient::moveSeries(const std::string& studyUid,
                                              const std::string& seriesUid, const fs::path& destDir,
                                              const Progress& progress) const {
    if (auto r = validateConfig(config_); !r) return std::unexpected(r.error());
    if (config_.storePort == 0)
        return fail(ErrorCode::InvalidArgument,
                    "C-MOVE needs a local storage port for the PACS to send the images to");
    if (auto r = validateRetrieve(studyUid, seriesUid); !r) return std::unexpected(r.error());
    if (auto r = prepareDestination(destDir); !r) return std::unexpected(r.error());
    detail::registerCodecs();
    InstanceSink sink(destDir, progress);

    // Listen before asking for the images; the SCP stops and joins on every path out.
    StoreScp scp(config_, sink);
    if (auto r = scp.start(); !r) return std::unexpected(r.error());

    Session s(*this, progress);
    if (auto r = s.open({{UID_MOVEStudyRootQueryRetrieveInformationModel, ASC_SC_ROLE_DEFAULT}});
        !r)
        return std::unexpected(r.error());
    T_ASC_PresentationContextID pc = 0;
    if (auto r = s.contextOrFail(UID_MOVEStudyRootQueryRetrieveInformationModel,
                                 "Study Root C-MOVE (try C-GET)", pc);
        !r)
        return std::unexpected(r.error());
    DcmDataset id;
    fillRetrieveIdentifier(id, studyUid, seriesUid);

    static std::atomic<Uint16> nextId{1};
    T_DIMSE_Message msg;
    std::memset(&msg, 0, sizeof(msg));
    msg.CommandField = DIMSE_C_MOVE_RQ;
    T_DIMSE_C_MoveRQ& req = msg.msg.CMoveRQ;
    req.MessageID = nextId++;
    OFStandard::strlcpy(req.AffectedSOPClassUID, UID_MOVEStudyRootQueryRetrieveInformationModel,
                        sizeof(req.AffectedSOPClassUID));
    req.Priority = DIMSE_PRIORITY_MEDIUM;
    req.DataSetType = DIMSE_DATASET_PRESENT;
    OFStandard::strlcpy(req.MoveDestination, config_.callingAeTitle.c_str(),
                        sizeof(req.MoveDestination));
    progress.report(0.0, "retrieving " + what(studyUid, seriesUid));
    sink.touch();
    if (OFCondition c = s.scu().send(pc, &msg, &id); c.bad())
        return std::unexpected(s.networkError(c, "C-MOVE"));

    // The PACS may stay silent on this association while it sends images to our SCP, so the
    // message timeout counts from the last thing either association saw.
    const auto silence = std::chrono::seconds(config_.dimseTimeoutS);
    Uint16 status = 0;
    int completed = 0, failed = 0, warnings = 0;
    for (;;) {
        T_DIMSE_Message rsp;
        std::memset(&rsp, 0, sizeof(rsp));
        DcmDataset* detail = nullptr;
        T_ASC_PresentationContextID rpc = 0;
        OFCondition c = s.scu().receive(&rpc, &rsp, &detail, 1);
        delete detail;
        if (c == DIMSE_NODATAAVAILABLE) {
            if (progress.cancelled()) {
                s.scu().close(false);
                return fail(ErrorCode::Cancelled, "retrieval cancelled");
            }
            if (Clock::now() - sink.lastActivity() > silence)
                return std::unexpected(s.networkError(c, "C-MOVE"));
            continue;
        }
        if (c.bad()) return std::unexpected(s.networkError(c, "C-MOVE"));
        sink.touch();
        if (rsp.CommandField != DIMSE_C_MOVE_RSP)
            return fail(ErrorCode::IoError,
                        fmt::format("{} sent an unexpected message during C-MOVE", peerName()),
                        hex4(static_cast<Uint16>(rsp.CommandField)));
        const T_DIMSE_C_MoveRSP& r = rsp.msg.CMoveRSP;
        if (r.DataSetType != DIMSE_DATASET_NULL) {
            DcmDataset* ds = nullptr;
            OFCondition dc = s.scu().receiveDataset(&rpc, &ds);
            delete ds;
            if (dc.bad()) return std::unexpected(s.networkError(dc, "C-MOVE"));
        }
        status = r.DimseStatus;
        completed = r.NumberOfCompletedSubOperations;
        failed = r.NumberOfFailedSubOperations;
        warnings = r.NumberOfWarningSubOperations;
        if (!isPending(status)) break;
        sink.setRemaining(r.NumberOfRemainingSubOperations);
        if (progress.cancelled()) {
            s.scu().close(false);
            return fail(ErrorCode::Cancelled, "retrieval cancelled");
        }
    }
    s.scu().close(true);
    // The final response can overtake the last storage response: wait (bounded) until our SCP
    // has written what the PACS reported as sent.
    const auto deadline = Clock::now() + std::chrono::seconds(config_.acseTimeoutS);
    while (static_cast<int>(sink.files().size()) < completed && !sink.error() &&
           Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    scp.join();
    return finishRetrieve(*this, sink, status, completed, failed, warnings, studyUid, seriesUid);
}

} // namespace precis::dicom
