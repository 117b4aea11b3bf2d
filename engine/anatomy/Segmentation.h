#pragma once
// Automatic CT segmentation of the structures needle planning must know: body (skin surface),
// bone, spinal canal, lungs and contrast-filled vessels. Every step reports what it found, how
// sure it is (confidence 0..1) and why, so the user can check before planning: nothing here is
// silently trusted. Input: a CT volume in HU on any orthonormal LPS grid; output on the same grid.
//
// Definitions (what the labels mean, and what tests compare them with):
//   body   = everything inside the skin surface: the largest connected region above
//            bodyThresholdHu, holes filled per axial slice and in 3D (lungs, bowel gas and the
//            canal are inside it). The CT table lies outside. Label kBody holds the body minus
//            the structures below; the body mask is "label != 0".
//   skin   = the outer shell of the body, skinThicknessMm thick (3D distance to the outside of
//            the body; not at the top and bottom of the scan, where the body is cut).
//   bone   = SOLID bone (cortex and the cancellous interior): HU >= boneThresholdHu in connected
//            components that have a cortex (>= 2 % of voxels at corticalHu; contrast has none),
//            with enclosed low-density holes filled per slice when they look like marrow (mean HU
//            above boneFillHu), components below minBoneMl dropped.
//   canal  = the spinal canal LUMEN: everything inside the bony canal (dural sac + epidural
//            fat, the roots before they enter the foramina), traced along the spine as the
//            enclosed non-bone hole behind the vertebral body in each axial slice, its edge where
//            a voxel is half lumen (half-way between the contents and the wall's peak, at least
//            canalWallHu); appendages narrower than the lumen (root tunnels, foraminal entries)
//            are opened off. Levels where the bony ring is open (discs, interlaminar and
//            foraminal gaps) are interpolated from the neighbouring closed rings (shape-based
//            interpolation of their outlines), without the disc or ligament (canalDenseHu).
//   lungs  = air (< lungThresholdHu) inside the body in large components (>= minLungMl).
//   vessels= contrast-filled vessels: vesselLoHu..vesselHiHu, not bone nor next to bone,
//            components >= minVesselMl. "no contrast found" when there are none.
#include "core/Error.h"
#include "core/Progress.h"
#include "model/Structure.h"
#include "model/Volume.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace precis::anatomy {

/// Label values written by segmentCt.
namespace seglabel {
inline constexpr std::uint8_t kBackground = 0;
inline constexpr std::uint8_t kSkin = 1;
inline constexpr std::uint8_t kBody = 2; // soft tissue inside the skin, not otherwise labelled
inline constexpr std::uint8_t kBone = 3;
inline constexpr std::uint8_t kCanal = 4;
inline constexpr std::uint8_t kLung = 5;
inline constexpr std::uint8_t kVessel = 6;
} // namespace seglabel

struct SegmentationOptions {
    double bodyThresholdHu = -500.0;
    double skinThicknessMm = 2.0;
    double boneThresholdHu = 200.0;
    double corticalHu = 600.0; // a bone component has >= 2 % voxels this dense (contrast not)
    double boneFillHu = 100.0; // an enclosed hole in bone with this mean HU or more is marrow
    double minBoneMl = 1.0;
    double canalMaxHu = 150.0; // canal contents (CSF, fat, cord) lie in [canalMinHu, canalMaxHu]
    double canalMinHu = -250.0;
    double canalWallHu = 450.0; // lumen edge toward bone: at least this, or half-way between
                                // the contents and the wall's peak when that is higher
    double canalDenseHu = 50.0; // lumen edge toward disc and ligament (70-100 HU) where the
                                // ring is open: CSF and fat lie below
    double lungThresholdHu = -400.0;
    double minLungMl = 100.0;
    double vesselLoHu = 150.0;
    double vesselHiHu = 600.0;
    double minVesselMl = 2.0;
    bool lungs = true;
    bool vessels = true;
};

/// One structure's result: how it was found and how much to trust it.
struct StructureReport {
    std::string name; // "skin", "bone", "canal", ...
    std::uint8_t label = 0;
    std::string step; // the method, one line ("threshold -500 HU, largest component, ...")
    std::size_t voxels = 0;
    double volumeMl = 0.0;
    double confidence = 0.0;        // 0..1; 0 = not found
    std::vector<std::string> notes; // for the user: what was odd, what to check
};

struct SegmentationReport {
    std::vector<StructureReport> structures;
    std::vector<std::string> notes;
    double seconds = 0.0;
    /// nullptr when no structure has that name.
    [[nodiscard]] const StructureReport* find(const std::string& name) const;
};

struct SegmentationResult {
    model::LabelMap labels;                   // same grid as the CT
    std::vector<model::Structure> structures; // the labels present, with kind and role
    SegmentationReport report;
};

/// Segments a CT volume. Fails with InvalidArgument for an empty volume or a non-orthonormal
/// direction, Cancelled when progress is cancelled. Structures that are not found are reported
/// with confidence 0 and a note, not as an error.
Result<SegmentationResult> segmentCt(const model::Volume& ct,
                                     const SegmentationOptions& options = {},
                                     const Progress& progress = {});

} // namespace precis::anatomy
