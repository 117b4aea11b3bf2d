#include "dicom/SeriesWriter.h"

#include "dicom/detail/Dcmtk.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <fmt/core.h>

#include <ctime>
#include <system_error>

namespace precis::dicom {
namespace {

std::string ds(double v) {
    // DS values are at most 16 characters; %.10g keeps sub-micrometre precision for positions.
    std::string s = fmt::format("{:.10g}", v);
    if (s.size() > 16) s = fmt::format("{:.6g}", v);
    return s;
}

std::string nowDate() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y%m%d", &tm);
    return buf;
}

std::string nowTime() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%H%M%S", &tm);
    return buf;
}

} // namespace

std::string newUid() {
    char buf[100];
    dcmGenerateUniqueIdentifier(buf, SITE_INSTANCE_UID_ROOT);
    return buf;
}

Result<model::SeriesIdentity> writeCtSeries(const model::Volume& volume,
                                            const SeriesWriteOptions& options,
                                            const std::filesystem::path& dir) {
    const auto& g = volume.geometry;
    if (g.voxelCount() == 0 || volume.voxels.size() != g.voxelCount())
        return fail(ErrorCode::InvalidArgument, "cannot write an empty volume as DICOM");
    if (!g.hasOrthonormalDirection())
        return fail(ErrorCode::InvalidArgument,
                    "cannot write DICOM: the volume's direction matrix is not orthonormal");
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
        return fail(ErrorCode::IoError,
                    fmt::format("cannot create output folder {}: {}", dir.string(), ec.message()));

    model::SeriesIdentity id = volume.identity;
    if (id.studyInstanceUid.empty()) id.studyInstanceUid = newUid();
    if (id.seriesInstanceUid.empty()) id.seriesInstanceUid = newUid();
    if (id.frameOfReferenceUid.empty()) id.frameOfReferenceUid = newUid();
    if (id.modality.empty()) id.modality = "CT";
    if (id.patientName.empty()) id.patientName = options.patientName;
    if (id.patientId.empty()) id.patientId = options.patientId;
    if (id.seriesDescription.empty()) id.seriesDescription = options.seriesDescription;
    if (id.patientPosition.empty()) id.patientPosition = "HFS";

    const std::string date = nowDate(), time = nowTime();
    const int cols = g.dims[0], rows = g.dims[1], slices = g.dims[2];
    const glm::dvec3 rowDir = g.direction[0], colDir = g.direction[1];
    const std::string iop = fmt::format("{}\\{}\\{}\\{}\\{}\\{}", ds(rowDir.x), ds(rowDir.y),
                                        ds(rowDir.z), ds(colDir.x), ds(colDir.y), ds(colDir.z));
    // PixelSpacing = row spacing (between rows, along the column direction) \ column spacing.
    const std::string pixelSpacing = fmt::format("{}\\{}", ds(g.spacingMm.y), ds(g.spacingMm.x));
    const double thickness = options.sliceThicknessMm > 0 ? options.sliceThicknessMm : g.spacingMm.z;

    for (int k = 0; k < slices; ++k) {
        DcmFileFormat file;
        DcmDataset* d = file.getDataset();
        const glm::dvec3 ipp = g.worldFromIndex(glm::dvec3(0, 0, k));
        const std::string sopUid = newUid();
        detail::Put put(d);
        put.str(DCM_SpecificCharacterSet, "ISO_IR 100");
        put.str(DCM_ImageType, "ORIGINAL\\PRIMARY\\AXIAL");
        put.str(DCM_SOPClassUID, UID_CTImageStorage);
        put.str(DCM_SOPInstanceUID, sopUid);
        put.str(DCM_StudyDate, date);
        put.str(DCM_SeriesDate, date);
        put.str(DCM_ContentDate, date);
        put.str(DCM_StudyTime, time);
        put.str(DCM_SeriesTime, time);
        put.str(DCM_ContentTime, time);
        put.str(DCM_AccessionNumber, "");
        put.str(DCM_Modality, "CT");
        put.str(DCM_Manufacturer, options.manufacturer);
        put.str(DCM_ReferringPhysicianName, "");
        put.str(DCM_StudyDescription, options.studyDescription);
        put.str(DCM_SeriesDescription, id.seriesDescription);
        put.str(DCM_PatientName, id.patientName);
        put.str(DCM_PatientID, id.patientId);
        put.str(DCM_PatientBirthDate, "");
        put.str(DCM_PatientSex, "O");
        put.str(DCM_BodyPartExamined, "LSPINE");
        put.str(DCM_SliceThickness, ds(thickness));
        put.str(DCM_KVP, "120");
        put.str(DCM_PatientPosition, id.patientPosition);
        put.str(DCM_StudyInstanceUID, id.studyInstanceUid);
        put.str(DCM_SeriesInstanceUID, id.seriesInstanceUid);
        put.str(DCM_StudyID, "1");
        put.str(DCM_SeriesNumber, "1");
        put.str(DCM_AcquisitionNumber, "1");
        put.str(DCM_InstanceNumber, std::to_string(k + 1));
        put.str(DCM_ImagePositionPatient,
                fmt::format("{}\\{}\\{}", ds(ipp.x), ds(ipp.y), ds(ipp.z)));
        put.str(DCM_ImageOrientationPatient, iop);
        put.str(DCM_FrameOfReferenceUID, id.frameOfReferenceUid);
        put.str(DCM_PositionReferenceIndicator, "");
        put.str(DCM_SliceLocation, ds(glm::dot(ipp, glm::dvec3(g.direction[2]))));
        put.u16(DCM_SamplesPerPixel, 1);
        put.str(DCM_PhotometricInterpretation, "MONOCHROME2");
        put.u16(DCM_Rows, static_cast<Uint16>(rows));
        put.u16(DCM_Columns, static_cast<Uint16>(cols));
        put.str(DCM_PixelSpacing, pixelSpacing);
        put.u16(DCM_BitsAllocated, 16);
        put.u16(DCM_BitsStored, 16);
        put.u16(DCM_HighBit, 15);
        put.u16(DCM_PixelRepresentation, 1);
        put.str(DCM_WindowCenter, ds(volume.windowCenter));
        put.str(DCM_WindowWidth, ds(volume.windowWidth));
        put.str(DCM_RescaleIntercept, "0");
        put.str(DCM_RescaleSlope, "1");
        put.str(DCM_RescaleType, "HU");
        if (!put.ok()) return fail(ErrorCode::Internal, "could not build DICOM header", put.detail());

        const auto* slice = volume.voxels.data() + static_cast<std::size_t>(k) * cols * rows;
        OFCondition c = d->putAndInsertUint16Array(
            DCM_PixelData, reinterpret_cast<const Uint16*>(slice),
            static_cast<unsigned long>(cols) * rows);
        if (c.bad()) return fail(ErrorCode::Internal, "could not store pixel data", c.text());

        auto path = dir / fmt::format("{}_{:04d}.dcm", options.filePrefix, k + 1);
        c = file.saveFile(path.c_str(), EXS_LittleEndianExplicit);
        if (c.bad())
            return fail(ErrorCode::IoError, fmt::format("cannot write {}", path.string()), c.text());
    }
    return id;
}

} // namespace precis::dicom
