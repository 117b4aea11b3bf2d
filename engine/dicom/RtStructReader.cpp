#include "dicom/RtStructReader.h"

#include "dicom/detail/Dcmtk.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <fmt/core.h>

#include <map>

namespace precis::dicom {
using detail::items;

Result<model::ContourSet> readRtStruct(const std::filesystem::path& file) {
    detail::registerCodecs(); // also quiets DCMTK's console log
    std::error_code ec;
    if (!std::filesystem::exists(file, ec))
        return fail(ErrorCode::NotFound, fmt::format("{}: no such file", file.string()));
    DcmFileFormat ff;
    OFCondition c = ff.loadFile(file.c_str());
    if (c.bad())
        return fail(ErrorCode::ParseError, fmt::format("{}: not a readable DICOM file", file.string()),
                    c.text());
    DcmDataset& d = *ff.getDataset();
    using detail::getString;
    const std::string sopClass = getString(d, DCM_SOPClassUID);
    if (sopClass != UID_RTStructureSetStorage)
        return fail(ErrorCode::ParseError,
                    fmt::format("{}: not an RT Structure Set (SOP class {}, modality {})",
                                file.string(), sopClass.empty() ? "none" : sopClass,
                                getString(d, DCM_Modality)));
    model::ContourSet set;
    set.label = getString(d, DCM_StructureSetLabel);
    set.studyInstanceUid = getString(d, DCM_StudyInstanceUID);
    for (DcmItem* f : items(d, DCM_ReferencedFrameOfReferenceSequence)) {
        if (set.frameOfReferenceUid.empty()) set.frameOfReferenceUid = getString(*f, DCM_FrameOfReferenceUID);
        for (DcmItem* st : items(*f, DCM_RTReferencedStudySequence))
            for (DcmItem* se : items(*st, DCM_RTReferencedSeriesSequence)) {
                if (set.referencedSeriesUid.empty())
                    set.referencedSeriesUid = getString(*se, DCM_SeriesInstanceUID);
                for (DcmItem* im : items(*se, DCM_ContourImageSequence))
                    set.referencedImageUids.push_back(getString(*im, DCM_ReferencedSOPInstanceUID));
            }
    }
    std::map<int, std::size_t> byNumber;
    for (DcmItem* r : items(d, DCM_StructureSetROISequence)) {
        model::ContourRoi roi;
        Sint32 n = 0;
        r->findAndGetSint32(DCM_ROINumber, n);
        roi.number = n;
        roi.name = getString(*r, DCM_ROIName);
        byNumber[roi.number] = set.rois.size();
        set.rois.push_back(std::move(roi));
    }
    for (DcmItem* o : items(d, DCM_RTROIObservationsSequence)) {
        Sint32 n = 0;
        o->findAndGetSint32(DCM_ReferencedROINumber, n);
        if (auto it = byNumber.find(n); it != byNumber.end())
            set.rois[it->second].interpretedType = getString(*o, DCM_RTROIInterpretedType);
    }
    for (DcmItem* rc : items(d, DCM_ROIContourSequence)) {
        Sint32 n = 0;
        rc->findAndGetSint32(DCM_ReferencedROINumber, n);
        auto it = byNumber.find(n);
        if (it == byNumber.end()) {
            model::ContourRoi roi; // contours for an ROI the set does not declare: keep them
            roi.number = n;
            roi.name = fmt::format("ROI {}", n);
            it = byNumber.emplace(n, set.rois.size()).first;
            set.rois.push_back(std::move(roi));
        }
        model::ContourRoi& roi = set.rois[it->second];
        double rgb[3];
        if (detail::getDoubles(*rc, DCM_ROIDisplayColor, rgb, 3))
            roi.color = glm::vec3(rgb[0], rgb[1], rgb[2]) / 255.0f;
        for (DcmItem* ci : items(*rc, DCM_ContourSequence)) {
            model::Contour contour;
            contour.geometricType = getString(*ci, DCM_ContourGeometricType);
            // The raw DS string: DCMTK's per-value accessors rescan it for every value.
            DcmElement* data = nullptr;
            char* raw = nullptr;
            if (ci->findAndGetElement(DCM_ContourData, data).bad() || !data ||
                data->getString(raw).bad() || !raw)
                return fail(ErrorCode::ParseError,
                            fmt::format("{}: ROI '{}' has a contour without Contour Data",
                                        file.string(), roi.name));
            std::vector<double> values;
            while (*raw) {
                char* end = nullptr;
                double v = std::strtod(raw, &end);
                if (end == raw)
                    return fail(ErrorCode::ParseError,
                                fmt::format("{}: ROI '{}' has malformed Contour Data",
                                            file.string(), roi.name));
                values.push_back(v);
                raw = end;
                while (*raw == '\\' || *raw == ' ') ++raw;
            }
            if (values.size() % 3 != 0)
                return fail(ErrorCode::ParseError,
                            fmt::format("{}: ROI '{}' has Contour Data whose length ({}) is not "
                                        "a multiple of 3",
                                        file.string(), roi.name, values.size()));
            for (std::size_t i = 0; i + 2 < values.size(); i += 3)
                contour.pointsLps.emplace_back(values[i], values[i + 1], values[i + 2]);
            for (DcmItem* im : items(*ci, DCM_ContourImageSequence))
                contour.referencedSopInstanceUids.push_back(getString(*im, DCM_ReferencedSOPInstanceUID));
            roi.contours.push_back(std::move(contour));
        }
    }
    return set;
}

} // namespace precis::dicom
