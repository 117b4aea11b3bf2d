#pragma once
// A plan as DICOM for navigation systems: an RT Structure Set (RTSTRUCT) in the planning CT's
// study and frame of reference, so the receiver registers the plan to the images it already has.
//
// Why RTSTRUCT with POINT / OPEN_NONPLANAR contours rather than a Surface Segmentation with line
// primitives: RT Structure Sets are read by every navigation and radiotherapy system and by 3D
// Slicer (SlicerRT) and most viewers, whereas Surface Segmentation support is rare and DCMTK has
// no writer for it (dcmseg covers the image-based Segmentation only); POINT and OPEN_NONPLANAR
// contours carry exact LPS millimetre coordinates (no meshing, no rasterisation); and dicom3tools'
// dciodvfy checks the RT Structure Set IOD completely, so the output is verifiably conformant.
//
// Layout of the file (one per export):
//  - Patient and General Study attributes copied from the referenced CT (same Study Instance UID),
//    its Frame of Reference UID, a new RTSTRUCT series, Specific Character Set ISO_IR 192 (UTF-8);
//  - Referenced Frame of Reference Sequence: the CT's Frame of Reference UID, its study and
//    series, and every image of the series (SOP Class and Instance UIDs);
//  - per trajectory one ROI named after it (ROI Description: device, procedure, level, side,
//    insertion depth) with three contours: 1 POINT = the entry, 2 POINT = the target,
//    3 OPEN_NONPLANAR = the planned path entry → lead control points → target; RT ROI Observation
//    label "TRAJECTORY", interpreted type left empty (DICOM has no term for a needle path);
//  - per landmark one ROI with one POINT contour, interpreted type MARKER.
// Coordinates: DICOM patient LPS mm as the plan has them (the frame the CT's positions use).
//
// Failure modes: InvalidArgument (the plan names no series, a non-finite coordinate), NotFound
// (no such folder, or the plan's series is not in it: names the series UID and the folder),
// ParseError (the folder's Study or Frame of Reference UID differs from the plan's: the plan was
// made on other images; an unreadable image of the series), IoError naming the output file.
#include "core/Error.h"
#include "model/Plan.h"

#include <filesystem>
#include <string>
#include <vector>

namespace precis::dicom {

struct PlanDicomOptions {
    std::string seriesDescription = "Precis plan";
    std::string structureSetLabel = "PRECIS PLAN"; // SH: 16 characters at most
    std::string manufacturer = "Precis";
    std::string softwareVersion; // e.g. "0.1.0"
    bool includeLandmarks = true;
};

struct PlanDicomResult {
    std::filesystem::path file; // <outDir>/RS_<SOP Instance UID>.dcm
    std::string sopInstanceUid;
    std::string seriesInstanceUid;   // of the new RTSTRUCT series
    std::string studyInstanceUid;    // the CT's
    std::string frameOfReferenceUid; // the CT's
    int referencedImages = 0;
    int rois = 0;
    std::vector<std::string> warnings;
};

/// Writes the plan as an RT Structure Set into `outDir` (created if missing), referencing the
/// series plan.series.seriesInstanceUid found under `seriesDir` (a folder, DICOMDIR or file).
Result<PlanDicomResult> writePlanRtStruct(const model::Plan& plan,
                                          const std::filesystem::path& seriesDir,
                                          const std::filesystem::path& outDir,
                                          const PlanDicomOptions& options = {});

} // namespace precis::dicom
