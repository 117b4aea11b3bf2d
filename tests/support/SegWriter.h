#pragma once
// Writes DICOM SEG files over a CT series with DCMTK's dcmseg (as Slicer/dcmqi do), for tests:
// no SEG ships in ../shared/data. Binary (bit-packed across frames) or fractional.
#include "model/ImageGeometry.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmiod/iodmacro.h>
#include <dcmtk/dcmseg/segtypes.h>

#include <glm/glm.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace precis::test {

/// The CT series a SEG is drawn on: its grid and, per slice k, its file and SOP Instance UID.
struct SegSource {
    model::ImageGeometry geometry;
    std::vector<std::string> files, sopUids;
};

struct SegmentSpec {
    std::string label, description;
    CodeSequenceMacro category, type;
    DcmSegTypes::E_SegmentAlgoType algo = DcmSegTypes::SAT_MANUAL;
    std::optional<glm::dvec3> rgb;
};

struct FrameSpec {
    Uint16 segment = 1;
    glm::dvec3 positionMm{0.0};
    std::vector<std::uint8_t> pixels;
    int sourceSlice = 0; // the CT slice it derives from
    Uint32 planeIndex = 1;
};

/// The source for a series written by dicom::writeCtSeries into `dir` (CT_0001.dcm... for
/// slices k = 0...) on `geometry`; empty files/UIDs when a slice cannot be read.
SegSource segSourceFromWrittenSeries(const std::filesystem::path& dir, const model::ImageGeometry& geometry);

/// Writes a SEG over `source` (one frame per FrameSpec, pixels row-major on the source's
/// columns x rows); "" on success, else what failed.
std::string writeSeg(const std::filesystem::path& file, bool fractional, const SegSource& source,
                     const std::vector<SegmentSpec>& segments, const std::vector<FrameSpec>& frames);

} // namespace precis::test
