#pragma once
// Structures segmented elsewhere, imported into the loaded case (Case tab > Structures >
// Import structures...), on a worker thread (BackgroundTask):
// - DICOM SEG (dicom::readSegmentation onto the case's grid) and RTSTRUCT (dicom::readRtStruct,
//   closed contours scan-converted by anatomy::rasterizeRoi): the file must reference the loaded
//   series (its Referenced Series Instance UID when it names one, and its Frame of Reference UID).
//   Each segment / ROI with voxels on the grid becomes a structure with a new label value, kind
//   guessed from its name and codes (dicom::guessSegmentKind, anatomy::guessStructureKind),
//   colour from the file when it has one. Its voxels go into a copy of the case's label map
//   where no label is yet: existing labels are never overwritten, overlaps are reported. Its
//   surface is its own mask's, whole.
// - Mesh files (anatomy::importMesh: STL, OBJ, PLY, glTF ...): placed as the file gives them, in
//   LPS mm (MeshIo's unit assumption, reported); one structure without label voxels (label 0),
//   so the slices cannot show it.
// What was assumed or could not be used (contours on missing slices, SEG frames off the grid,
// units, overlaps) is in `report`. Failure modes, each naming the file: NotFound; ParseError for
// a file that is neither a SEG, an RTSTRUCT nor a readable mesh; InvalidArgument for a file that
// references another series or frame of reference (both UIDs named), one with nothing on the
// grid, or when the label map has no free label values left.
#include "core/Error.h"
#include "core/Progress.h"
#include "gui/BackgroundTask.h"
#include "gui/StructureMeshes.h"
#include "model/ImageGeometry.h"
#include "model/ImportReport.h"
#include "model/Structure.h"
#include "model/Volume.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace precis::gui {

/// The file and what the import needs of the loaded case.
struct StructureImportRequest {
    std::filesystem::path file;
    std::string seriesInstanceUid, frameOfReferenceUid; // the loaded series'
    model::ImageGeometry geometry;                      // its grid
    std::shared_ptr<const model::LabelMap> labels;      // null: the case has none (one is made)
    std::vector<model::Structure> existing;             // names and labels already in use
};

struct ImportedStructures {
    std::filesystem::path file;
    std::string format; // "DICOM SEG (BINARY)", "RTSTRUCT", "mesh (STL, millimetres)", ...
    /// The new structures (levels of detail built), in the file's order; label 0: a surface only.
    std::vector<StructureMesh> structures;
    /// The case's label map with the new labels added; null when unchanged (mesh files).
    std::shared_ptr<const model::LabelMap> labels;
    model::ImportReport report;
    double seconds = 0;
};

/// Imports `request.file` (see the file comment). Cancelled through `progress`.
Result<ImportedStructures> importStructures(const StructureImportRequest& request,
                                            const Progress& progress = {});

using StructureImportTask = BackgroundTask<ImportedStructures>;

} // namespace precis::gui
