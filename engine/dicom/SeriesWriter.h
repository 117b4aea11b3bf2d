#pragma once
// Writes a Volume as a DICOM CT Image Storage series, one file per slice (explicit VR little
// endian, 16-bit signed, Rescale Slope 1 / Intercept 0 so stored values are HU).
#include "core/Error.h"
#include "model/Volume.h"

#include <filesystem>
#include <string>
#include <vector>

namespace precis::dicom {

struct SeriesWriteOptions {
    std::string patientName = "ANONYMOUS";
    std::string patientId = "PRECIS";
    std::string studyDescription;
    std::string seriesDescription;
    std::string manufacturer = "Precis";
    double sliceThicknessMm = 0.0; // 0 = the volume's slice spacing
    std::string filePrefix = "CT";  // files are <prefix>_<nnnn>.dcm
};

/// Writes every slice of `volume` into `dir` (created if missing). UIDs missing from
/// volume.identity are generated; the identity actually written is returned.
Result<model::SeriesIdentity> writeCtSeries(const model::Volume& volume,
                                            const SeriesWriteOptions& options,
                                            const std::filesystem::path& dir);

/// A new globally unique DICOM UID (DCMTK's generator, under its site root).
std::string newUid();

} // namespace precis::dicom
