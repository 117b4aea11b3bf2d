#pragma once
// Reading DICOM image series from folders, DICOMDIRs and single files. DCMTK and OpenJPEG live
// only inside engine/dicom.
//
// Geometry: slices are ordered by their position along the normal n = row x column (never by file
// name or Instance Number); the resulting Volume's geometry follows model/ImageGeometry.h and is
// exactly what the files state (LPS mm). Multi-frame (enhanced) images become one slice per frame,
// placed from the per-frame functional groups (shared groups and top-level attributes as fallback).
// Pixel values are the decoded file's stored values x Rescale Slope + Intercept: HU for CT; for MR
// and other modalities the same arithmetic without any HU claim (the report says so).
// Nothing is resampled unless LoadOptions asks for it; irregular stacks are reported.
// Failure modes: NotFound (no such path / no image series), ParseError (corrupt file, named),
// UnsupportedEncoding (transfer syntax no decoder here handles, named with the file), Unsupported
// (colour images, a non-image object such as an SR passed to loadSeries), Cancelled.
#include "core/Error.h"
#include "core/Progress.h"
#include "model/ImportReport.h"
#include "model/Volume.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace precis::dicom {

struct SeriesScanCache; // the headers scanSeries read, so loadSeries need not read them again

/// One series (one stack of images, or one group of non-image objects) found by a scan.
/// Grouped per patient, study, series and, for images, per stack: orientation, matrix and pixel
/// spacing must agree. Scanning reads headers only.
struct SeriesSummary {
    std::string seriesInstanceUid; // may be empty in broken data; files are then grouped by folder
    std::string studyInstanceUid;
    std::string modality;
    std::string description;       // Series Description
    std::string patientName;
    std::string seriesDate;
    std::vector<std::filesystem::path> files; // files of this series, unsorted
    std::vector<std::string> scanWarnings;    // files skipped while scanning, and why

    std::string patientId;
    std::string studyDescription;
    std::string studyDate;
    std::string seriesNumber;
    std::string sopClassUid; // of the first file
    /// "image" (loadable), "sr", "rtstruct", "rtdose", "rtplan", "seg", "presentation-state" or
    /// "other". Non-image objects are listed, never reported as errors.
    std::string kind = "image";
    int imageCount = 0; // slices (frames of multi-frame files count one each); 0 for non-images
    /// A middle slice (by position along the normal) worth showing as a thumbnail; for multi-frame
    /// files `thumbnailFrame` is the 0-based frame in that file. Empty for non-images.
    std::filesystem::path thumbnailFile;
    int thumbnailFrame = 0;

    /// Set by scanSeries; loadSeries reuses these headers instead of reading the files twice.
    /// (A summary built by hand has none and works the same, reading the headers itself.)
    std::shared_ptr<const SeriesScanCache> scanCache;

    [[nodiscard]] bool isImage() const { return kind == "image"; }
};

/// Scans a file, a DICOMDIR or a folder tree (headers only). Image series come first, largest
/// first; non-image objects (SR, RTSTRUCT, SEG, presentation states ...) follow. Files that are
/// not DICOM are ignored; DICOM files that cannot be read are listed in scanWarnings.
Result<std::vector<SeriesSummary>> scanSeries(const std::filesystem::path& path,
                                              const Progress& progress = {});

/// What loadSeries may change beyond decoding. Both default off: the volume then carries the
/// geometry exactly as the files state it, and irregularities are only reported.
struct LoadOptions {
    /// Resample a gantry-tilted (sheared) stack onto an orthogonal grid: each slice is shifted in
    /// its plane (bilinear) so voxels sit on the slice normal through the first slice. The report
    /// gets "tilt-corrected"; voxels the acquisition did not cover become air (-1024 HU for CT).
    bool correctTilt = false;
    /// Resample a stack with non-uniform or missing slices to uniform spacing (the median gap),
    /// linearly between the neighbouring acquired slices. The report gets "resampled".
    bool resampleToUniform = false;
};

struct LoadedSeries {
    model::Volume volume;
    model::ImportReport report;
};

/// Decodes one image series into a volume (HU for CT).
Result<LoadedSeries> loadSeries(const SeriesSummary& series, const Progress& progress = {});
Result<LoadedSeries> loadSeries(const SeriesSummary& series, const LoadOptions& options,
                                const Progress& progress = {});

/// Scans `path` and loads its largest image series.
Result<LoadedSeries> loadLargestSeries(const std::filesystem::path& path,
                                       const Progress& progress = {});
Result<LoadedSeries> loadLargestSeries(const std::filesystem::path& path,
                                       const LoadOptions& options, const Progress& progress = {});

} // namespace precis::dicom
