#pragma once
// Reading DICOM image series from folders. DCMTK lives only inside engine/dicom.
//
// Geometry: slices are ordered by their position along the normal n = row x column (never by file
// name or Instance Number); the resulting Volume's geometry follows model/ImageGeometry.h.
// Pixel values are converted to HU (CT) with the decoded file's Rescale Slope/Intercept.
// Failure modes: NotFound (no such folder / no image series), ParseError (corrupt file, named),
// UnsupportedEncoding (transfer syntax no decoder here handles, named with the file).
#include "core/Error.h"
#include "core/Progress.h"
#include "model/ImportReport.h"
#include "model/Volume.h"

#include <filesystem>
#include <string>
#include <vector>

namespace precis::dicom {

/// One image series found by a scan (headers only).
struct SeriesSummary {
    std::string seriesInstanceUid; // may be empty in broken data; files are then grouped by folder
    std::string studyInstanceUid;
    std::string modality;
    std::string description;
    std::string patientName;
    std::string seriesDate;
    std::vector<std::filesystem::path> files; // image files of this series, unsorted
    std::vector<std::string> scanWarnings;    // files skipped while scanning, and why
};

/// Scans a file or a folder tree (headers only) and groups image files into series, largest first.
Result<std::vector<SeriesSummary>> scanSeries(const std::filesystem::path& path,
                                              const Progress& progress = {});

struct LoadedSeries {
    model::Volume volume;
    model::ImportReport report;
};

/// Decodes one series into a volume (HU for CT).
Result<LoadedSeries> loadSeries(const SeriesSummary& series, const Progress& progress = {});

/// Scans `path` and loads its largest image series.
Result<LoadedSeries> loadLargestSeries(const std::filesystem::path& path,
                                       const Progress& progress = {});

} // namespace precis::dicom
