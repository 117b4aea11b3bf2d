#pragma once
// DICOM Segmentation (SEG) reading: BINARY and FRACTIONAL segmentations made by other tools
// (Slicer, dcmqi, TotalSegmentator exports ...) as one mask per segment, in LPS mm.
//
// Placement: every frame is put on the grid by its own Plane Position (Patient) and Plane
// Orientation (Patient) (per-frame functional groups, the shared groups as fallback), never by
// frame order. With a target grid (usually the referenced CT's geometry) the frame goes to the
// target slice nearest its plane along the target's normal, at the integer in-plane offset its
// position gives (a cropped SEG is fine). A frame that lies more than a hundredth of a slice off a
// target plane, or outside the target altogether, or off the target's in-plane lattice, is listed
// in `offGridFrames` and in `report` (frames within half a slice are still placed on the nearest
// slice; frames farther away cannot be and are only listed). Without a target the masks use the
// SEG's own grid, built like an enhanced multi-frame image from its frames' positions.
// Nothing is resampled: a SEG whose rows/columns are not parallel to the target's, or whose pixel
// spacing differs from it, is an Unsupported error (read it without a target instead).
//
// Failure modes (each naming the file): NotFound; ParseError for a file that is not a SEG (saying
// what it is instead), a truncated or corrupt one, inconsistent frame counts, missing geometry or
// segment references; UnsupportedEncoding for a compressed transfer syntax nothing here decodes;
// Unsupported for LABELMAP segmentations, orientations that differ between frames, a target
// grid the SEG does not lie on in plane, or masks that would need more than 8 GiB (every segment
// gets a full-grid mask: 117 TotalSegmentator segments on a 512x512x300 CT would be 9 GiB).
#include "core/Error.h"
#include "model/ImageGeometry.h"
#include "model/ImportReport.h"
#include "model/Structure.h"
#include "model/Volume.h"

#include <glm/glm.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace precis::dicom {

/// One segment of a SEG with its mask on the result's grid.
struct SegSegment {
    int number = 0;              // Segment Number (1-based, as in the file)
    std::string label;           // Segment Label
    std::string description;     // Segment Description (may be empty)
    std::string algorithmType;   // "AUTOMATIC", "SEMIAUTOMATIC" or "MANUAL"
    std::string algorithmName;   // Segment Algorithm Name (may be empty)
    std::string categoryMeaning; // Segmented Property Category code meaning ("Tissue", ...)
    std::string typeMeaning;     // Segmented Property Type code meaning ("Bone", "Kidney", ...)
    std::string typeCodeValue;   // and its code value and scheme ("272673000", "SCT")
    std::string typeCodingScheme;
    /// Recommended Display CIELab Value converted to sRGB (gamma-encoded, 0..1; D65 white point as
    /// dcmqi and Slicer use); empty when the file has none.
    std::optional<glm::vec3> displayColorSrgb;
    /// 1 inside, 0 outside. For FRACTIONAL segmentations: fraction >= 0.5 of the maximum.
    model::LabelMap mask;
    /// FRACTIONAL only (else empty): the stored fractional values, 0..maxFractionalValue of the
    /// SegmentationObject, on the same grid as `mask`.
    model::LabelMap fraction;
    std::size_t voxelCount = 0; // voxels set in `mask`
    int frameCount = 0;         // frames of this segment in the file
};

/// A frame that could not be put exactly on the grid.
struct SegOffGridFrame {
    int frame = 0;              // 1-based frame number in the file
    int segment = 0;            // its Referenced Segment Number
    glm::dvec3 positionMm{0.0}; // its Image Position (Patient), LPS mm
    /// Distance along the grid's normal from the nearest slice plane (mm).
    double offPlaneMm = 0.0;
    bool placed = false; // true when still put on the nearest slice (within half a slice)
    std::string reason;
};

struct SegmentationObject {
    std::string sopInstanceUid;
    std::string seriesInstanceUid;
    std::string studyInstanceUid;
    std::string frameOfReferenceUid;
    /// The series the SEG was drawn on (Referenced Series Sequence; empty when the file has none).
    std::string referencedSeriesUid;
    std::vector<std::string> referencedImageUids; // SOP instances the frames derive from
    std::string contentLabel;                     // Content Label
    std::string seriesDescription;
    std::string segmentationType; // "BINARY" or "FRACTIONAL"
    std::string fractionalType;   // "PROBABILITY" or "OCCUPANCY" (FRACTIONAL only)
    int maxFractionalValue = 1;   // Maximum Fractional Value (FRACTIONAL), 1 for BINARY
    int frameCount = 0;
    /// The grid every mask is on: the target when one was given, else the SEG's own.
    model::ImageGeometry geometry;
    std::vector<SegSegment> segments; // in Segment Sequence order
    std::vector<SegOffGridFrame> offGridFrames;
    model::ImportReport report; // off-grid frames, segments without frames, ...
};

/// Reads a DICOM SEG file. `target` (optional) is the grid to put the masks on, usually the
/// referenced CT's `Volume::geometry`; see the file comment for placement and failure modes.
Result<SegmentationObject> readSegmentation(const std::filesystem::path& file,
                                            const model::ImageGeometry* target = nullptr);

/// What a segment most likely is, from its property type code meaning and then its label:
/// bone/vertebra -> Bone, spinal cord/canal/dura -> Canal, kidney, lung, aorta/vessels, skin/body,
/// disc, nerve, muscle, tumour/lesion -> Target; anything else Custom.
model::StructureKind guessSegmentKind(const SegSegment& segment);

} // namespace precis::dicom
