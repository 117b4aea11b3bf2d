#include "dicom/PlanDicomWriter.h"

#include "core/Text.h"

#include "dicom/SeriesReader.h"
#include "dicom/SeriesWriter.h"
#include "dicom/detail/Dcmtk.h"
#include "model/TrajectoryColor.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <fmt/core.h>

#include <cmath>
#include <ctime>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>

namespace precis::dicom {
namespace {

namespace fs = std::filesystem;
using detail::getString;

/// DS: at most 16 characters; %.10g keeps sub-micrometre precision for positions in mm.
std::string ds(double v) {
    if (std::abs(v) < 1e-12) v = 0.0; // no "-0"
    std::string s = fmt::format("{:.10g}", v);
    if (s.size() > 16) s = fmt::format("{:.6g}", v);
    return s;
}

std::string points(const std::vector<glm::dvec3>& pts) {
    std::string s;
    for (const auto& p : pts)
        s += fmt::format("{}{}\\{}\\{}", s.empty() ? "" : "\\", ds(p.x), ds(p.y), ds(p.z));
    return s;
}

/// DICOM text values may not hold backslashes (the value separator) or control characters.
std::string clean(std::string s) {
    for (char& c : s)
        if (c == '\\' || (static_cast<unsigned char>(c) < 0x20)) c = ' ';
    return s;
}

struct Now {
    std::string date, time;
};
Now now() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char d[16], h[16];
    std::strftime(d, sizeof d, "%Y%m%d", &tm);
    std::strftime(h, sizeof h, "%H%M%S", &tm);
    return {d, h};
}

struct ReferencedImage {
    std::string sopClassUid, sopInstanceUid;
};

/// Patient and study attributes copied from the CT so the structure set joins its study.
const DcmTagKey kCopiedTags[] = {
    DCM_PatientName,     DCM_PatientID,       DCM_PatientBirthDate,       DCM_PatientSex,
    DCM_StudyDate,       DCM_StudyTime,       DCM_ReferringPhysicianName, DCM_StudyID,
    DCM_AccessionNumber, DCM_StudyDescription};

std::string roiDescription(const model::Trajectory& t) {
    std::string s = "device " + t.deviceId + "; procedure " + t.procedure;
    if (!t.level.empty()) s += "; level " + t.level;
    if (!t.side.empty()) s += "; side " + t.side;
    if (t.insertionDepthMm > 0) s += fmt::format("; insertion depth {:.1f} mm", t.insertionDepthMm);
    return s;
}

} // namespace

Result<PlanDicomResult> writePlanRtStruct(const model::Plan& plan, const fs::path& seriesDir,
                                          const fs::path& outDir, const PlanDicomOptions& options) {
    detail::registerCodecs(); // also quiets DCMTK's console log
    PlanDicomResult result;
    const std::string& seriesUid = plan.series.seriesInstanceUid;
    if (seriesUid.empty())
        return fail(ErrorCode::InvalidArgument,
                    "the plan names no series (series.seriesInstanceUid is empty): a DICOM export "
                    "must reference the planning CT");
    for (const auto& t : plan.trajectories) {
        if (!model::hasFiniteCoordinates(t))
            return fail(ErrorCode::InvalidArgument,
                        fmt::format("trajectory '{}' has a non-finite coordinate", t.name));
    }
    std::error_code ec;
    if (!fs::exists(seriesDir, ec))
        return fail(ErrorCode::NotFound,
                    fmt::format("{}: no such folder (the plan's series folder; give another with "
                                "--series)",
                                seriesDir.string()));

    // The referenced series: every image's SOP Class and Instance UID, for the Contour Image
    // Sequence, and the study and frame of reference it lives in.
    auto scanned = scanSeries(seriesDir);
    if (!scanned) return std::unexpected(scanned.error());
    const SeriesSummary* series = nullptr;
    for (const auto& s : *scanned)
        if (s.seriesInstanceUid == seriesUid && s.isImage()) series = &s;
    if (!series)
        return fail(ErrorCode::NotFound,
                    fmt::format("the plan's series {} is not in {} ({} other series there)",
                                seriesUid, seriesDir.string(), scanned->size()));

    std::vector<ReferencedImage> images;
    std::string studyUid, frameUid;
    DcmFileFormat source; // the first image: patient and study attributes
    for (const fs::path& file : series->files) {
        DcmFileFormat ff;
        OFCondition c = ff.loadFileUntilTag(file.c_str(), EXS_Unknown, EGL_noChange, 4096,
                                            ERM_autoDetect, DCM_PixelData);
        if (c.bad())
            return fail(ErrorCode::ParseError,
                        fmt::format("{}: not readable as DICOM", file.string()), c.text());
        DcmDataset& d = *ff.getDataset();
        ReferencedImage img{getString(d, DCM_SOPClassUID), getString(d, DCM_SOPInstanceUID)};
        if (img.sopClassUid.empty() || img.sopInstanceUid.empty())
            return fail(ErrorCode::ParseError,
                        fmt::format("{}: no SOP Class or SOP Instance UID", file.string()));
        const std::string fileStudy = getString(d, DCM_StudyInstanceUID);
        const std::string fileFrame = getString(d, DCM_FrameOfReferenceUID);
        if (images.empty()) {
            studyUid = fileStudy;
            frameUid = fileFrame;
            source = ff;
        } else if (fileFrame != frameUid) {
            return fail(ErrorCode::ParseError,
                        fmt::format("{}: Frame of Reference UID {} differs from the rest of series "
                                    "{} ({}): one frame of reference is needed",
                                    file.string(), fileFrame, seriesUid, frameUid));
        }
        images.push_back(std::move(img));
    }
    if (frameUid.empty())
        return fail(ErrorCode::ParseError,
                    fmt::format("series {} in {} has no Frame of Reference UID: positions in it "
                                "cannot be referenced",
                                seriesUid, seriesDir.string()));
    if (!plan.series.studyInstanceUid.empty() && plan.series.studyInstanceUid != studyUid)
        return fail(ErrorCode::ParseError,
                    fmt::format("the plan was made in study {}, but series {} in {} belongs to "
                                "study {}",
                                plan.series.studyInstanceUid, seriesUid, seriesDir.string(),
                                studyUid));
    if (!plan.series.frameOfReferenceUid.empty() && plan.series.frameOfReferenceUid != frameUid)
        return fail(ErrorCode::ParseError,
                    fmt::format("the plan's Frame of Reference UID {} differs from the images' "
                                "({}) in {}: the coordinates would not match",
                                plan.series.frameOfReferenceUid, frameUid, seriesDir.string()));

    DcmDataset& src = *source.getDataset();
    // Our own text is UTF-8 (plan JSON): bring the copied attributes to UTF-8 too.
    const std::string srcCharset = getString(src, DCM_SpecificCharacterSet);
    if (OFCondition c = src.convertToUTF8(); c.bad() && !srcCharset.empty())
        result.warnings.push_back(fmt::format("the CT's character set '{}' could not be converted "
                                              "to UTF-8 ({}): patient and study text copied as is",
                                              srcCharset, c.text()));

    DcmFileFormat file;
    DcmDataset* d = file.getDataset();
    detail::Put put(d);
    const Now t = now();
    result.sopInstanceUid = newUid();
    result.seriesInstanceUid = newUid();
    result.studyInstanceUid = studyUid;
    result.frameOfReferenceUid = frameUid;

    // SOP Common
    put.str(DCM_SpecificCharacterSet, "ISO_IR 192");
    put.str(DCM_SOPClassUID, UID_RTStructureSetStorage);
    put.str(DCM_SOPInstanceUID, result.sopInstanceUid);
    put.str(DCM_InstanceCreationDate, t.date);
    put.str(DCM_InstanceCreationTime, t.time);
    // Patient and General Study: the CT's.
    for (const DcmTagKey& tag : kCopiedTags)
        put.str(tag, getString(src, tag));
    put.str(DCM_StudyInstanceUID, studyUid);
    // Frame of Reference (the CT's): dicom3tools expects the module in the RT Structure Set IOD,
    // and a receiver finds the frame without walking the referenced sequence.
    put.str(DCM_FrameOfReferenceUID, frameUid);
    put.str(DCM_PositionReferenceIndicator, getString(src, DCM_PositionReferenceIndicator));
    // RT Series
    put.str(DCM_Modality, "RTSTRUCT");
    put.str(DCM_SeriesInstanceUID, result.seriesInstanceUid);
    put.str(DCM_SeriesNumber, "901");
    put.str(DCM_SeriesDate, t.date);
    put.str(DCM_SeriesTime, t.time);
    put.str(DCM_SeriesDescription, fitUtf8(clean(options.seriesDescription), 64));
    put.str(DCM_OperatorsName, "");
    // General Equipment
    put.str(DCM_Manufacturer, fitUtf8(clean(options.manufacturer), 64));
    if (!options.softwareVersion.empty())
        put.str(DCM_SoftwareVersions, fitUtf8(clean(options.softwareVersion), 64));
    // Structure Set
    put.str(DCM_StructureSetLabel, fitUtf8(clean(options.structureSetLabel), 16));
    put.str(DCM_StructureSetName, fitUtf8(clean(plan.name), 64));
    put.str(DCM_StructureSetDate, t.date);
    put.str(DCM_StructureSetTime, t.time);
    put.str(DCM_InstanceNumber, "1");
    if (!put.ok())
        return fail(ErrorCode::Internal, "could not build the RTSTRUCT header", put.detail());

    // Referenced Frame of Reference → study → series → every image.
    DcmItem* frame = nullptr;
    DcmItem* study = nullptr;
    DcmItem* seriesItem = nullptr;
    if (d->findOrCreateSequenceItem(DCM_ReferencedFrameOfReferenceSequence, frame, -2).bad() ||
        frame->putAndInsertString(DCM_FrameOfReferenceUID, frameUid.c_str()).bad() ||
        frame->findOrCreateSequenceItem(DCM_RTReferencedStudySequence, study, -2).bad() ||
        study
            ->putAndInsertString(DCM_ReferencedSOPClassUID,
                                 UID_RETIRED_DetachedStudyManagementSOPClass)
            .bad() ||
        study->putAndInsertString(DCM_ReferencedSOPInstanceUID, studyUid.c_str()).bad() ||
        study->findOrCreateSequenceItem(DCM_RTReferencedSeriesSequence, seriesItem, -2).bad() ||
        seriesItem->putAndInsertString(DCM_SeriesInstanceUID, seriesUid.c_str()).bad())
        return fail(ErrorCode::Internal,
                    "could not build the Referenced Frame of Reference Sequence");
    for (const auto& img : images) {
        DcmItem* ref = nullptr;
        if (seriesItem->findOrCreateSequenceItem(DCM_ContourImageSequence, ref, -2).bad() ||
            ref->putAndInsertString(DCM_ReferencedSOPClassUID, img.sopClassUid.c_str()).bad() ||
            ref->putAndInsertString(DCM_ReferencedSOPInstanceUID, img.sopInstanceUid.c_str()).bad())
            return fail(ErrorCode::Internal, "could not build the Contour Image Sequence");
    }
    result.referencedImages = static_cast<int>(images.size());

    // One ROI per trajectory and per landmark: Structure Set ROI, ROI Contour and RT ROI
    // Observations items share the ROI number.
    int roiNumber = 0;
    auto addRoi = [&](const std::string& name, const std::string& description,
                      const std::array<std::uint8_t, 3>& rgb,
                      const std::vector<std::pair<const char*, std::vector<glm::dvec3>>>& contours,
                      const char* interpretedType, const char* observationLabel) -> Result<void> {
        ++roiNumber;
        const std::string number = std::to_string(roiNumber);
        DcmItem* roi = nullptr;
        DcmItem* rc = nullptr;
        DcmItem* obs = nullptr;
        if (d->findOrCreateSequenceItem(DCM_StructureSetROISequence, roi, -2).bad() ||
            d->findOrCreateSequenceItem(DCM_ROIContourSequence, rc, -2).bad() ||
            d->findOrCreateSequenceItem(DCM_RTROIObservationsSequence, obs, -2).bad())
            return fail(ErrorCode::Internal, "could not add an ROI");
        detail::Put r(roi);
        r.str(DCM_ROINumber, number);
        r.str(DCM_ReferencedFrameOfReferenceUID, frameUid);
        r.str(DCM_ROIName, fitUtf8(clean(name), 64));
        if (!description.empty()) // ST: up to 1024 characters
            r.str(DCM_ROIDescription, fitUtf8(clean(description), 1024));
        r.str(DCM_ROIGenerationAlgorithm, "MANUAL");
        detail::Put c(rc);
        c.str(DCM_ROIDisplayColor, fmt::format("{}\\{}\\{}", rgb[0], rgb[1], rgb[2]));
        c.str(DCM_ReferencedROINumber, number);
        int contourNumber = 0;
        for (const auto& [type, pts] : contours) {
            DcmItem* contour = nullptr;
            if (rc->findOrCreateSequenceItem(DCM_ContourSequence, contour, -2).bad())
                return fail(ErrorCode::Internal, "could not add a contour");
            detail::Put k(contour);
            k.str(DCM_ContourNumber, std::to_string(++contourNumber));
            k.str(DCM_ContourGeometricType, type);
            k.str(DCM_NumberOfContourPoints, std::to_string(pts.size()));
            k.str(DCM_ContourData, points(pts));
            if (!k.ok()) return fail(ErrorCode::Internal, "could not write a contour", k.detail());
        }
        detail::Put o(obs);
        o.str(DCM_ObservationNumber, number);
        o.str(DCM_ReferencedROINumber, number);
        o.str(DCM_ROIObservationLabel, observationLabel);
        o.str(DCM_RTROIInterpretedType, interpretedType);
        o.str(DCM_ROIInterpreter, "");
        if (!r.ok() || !c.ok() || !o.ok())
            return fail(ErrorCode::Internal, "could not write an ROI",
                        r.detail() + c.detail() + o.detail());
        return {};
    };

    for (std::size_t i = 0; i < plan.trajectories.size(); ++i) {
        const model::Trajectory& tr = plan.trajectories[i];
        std::vector<glm::dvec3> path{tr.entryLps};
        path.insert(path.end(), tr.controlPointsLps.begin(), tr.controlPointsLps.end());
        path.push_back(tr.targetLps);
        if (auto r = addRoi(
                tr.name, roiDescription(tr), model::trajectoryColor(i),
                {{"POINT", {tr.entryLps}}, {"POINT", {tr.targetLps}}, {"OPEN_NONPLANAR", path}}, "",
                "TRAJECTORY");
            !r)
            return std::unexpected(r.error());
    }
    if (options.includeLandmarks) {
        static constexpr std::array<std::uint8_t, 3> kWhite{255, 255, 255};
        for (const model::PlanLandmark& l : plan.landmarks) {
            if (!model::isFinite(l.lps))
                return fail(ErrorCode::InvalidArgument,
                            fmt::format("landmark '{}' has a non-finite coordinate", l.name));
            if (auto r = addRoi(l.name, l.kind, kWhite, {{"POINT", {l.lps}}}, "MARKER", "LANDMARK");
                !r)
                return std::unexpected(r.error());
        }
    }
    result.rois = roiNumber;
    if (roiNumber == 0) {
        // Structure Set ROI Sequence is type 1: an empty plan gives an empty but present sequence.
        result.warnings.push_back("the plan has no trajectories or landmarks: the structure set "
                                  "is empty");
        d->insertEmptyElement(DCM_StructureSetROISequence);
        d->insertEmptyElement(DCM_ROIContourSequence);
        d->insertEmptyElement(DCM_RTROIObservationsSequence);
    }

    fs::create_directories(outDir, ec);
    if (ec || !fs::is_directory(outDir))
        return fail(ErrorCode::IoError,
                    fmt::format("cannot create the output folder {}: {}", outDir.string(),
                                ec ? ec.message() : "not a folder"));
    result.file = outDir / ("RS_" + result.sopInstanceUid + ".dcm");
    // Atomic: a temporary name in the same folder, then rename (DESIGN.md "Errors" 5).
    const fs::path tmp = outDir / (".RS_" + result.sopInstanceUid + ".dcm.tmp");
    OFCondition c = file.saveFile(tmp.c_str(), EXS_LittleEndianExplicit);
    if (c.bad()) {
        fs::remove(tmp, ec);
        return fail(ErrorCode::IoError, fmt::format("cannot write {}", result.file.string()),
                    c.text());
    }
    if (const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
        ::fsync(fd); // the bytes are on disk before the name points at them
        ::close(fd);
    }
    fs::rename(tmp, result.file, ec);
    if (ec) {
        const std::string why = ec.message();
        fs::remove(tmp, ec);
        return fail(ErrorCode::IoError,
                    fmt::format("cannot write {}: {}", result.file.string(), why));
    }
    return result;
}

} // namespace precis::dicom
