#include "dicom/SegReader.h"

#include "dicom/detail/Dcmtk.h"

#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmiod/cielabutil.h>
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <new>

// Read with dcmdata directly rather than DcmSegmentation: SEGs from other tools are often a
// little off the IOD (missing type 1 equipment attributes, odd dimension modules) and
// DcmSegmentation refuses or logs those, while every attribute needed here is plain to read.

namespace precis::dicom {
namespace {

// Labelmap Segmentation Storage (2024); DCMTK 3.6.7 does not know it yet.
constexpr const char* kLabelMapSegmentationStorage = "1.2.840.10008.5.1.4.1.1.66.7";
// A frame this far (in slices / voxels) from a grid plane or lattice point is off the grid.
constexpr double kOnGridTolerance = 0.01;
// Every segment gets a full-grid mask; refuse before allocating (and being OOM-killed) beyond this.
constexpr double kMaxMaskBytes = 8.0 * double(1ull << 30);

using detail::items;

DcmItem* firstItem(DcmItem* item, const DcmTagKey& tag) {
    if (!item) return nullptr;
    auto all = items(*item, tag);
    return all.empty() ? nullptr : all.front();
}

std::string lower(std::string s) {
    for (auto& ch : s)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
}

/// What one frame says about itself (functional groups resolved: per-frame, shared, top level).
struct FrameInfo {
    int segment = 0;
    glm::dvec3 ippMm{0.0};
    glm::dvec3 rowDir{1, 0, 0}, colDir{0, 1, 0};
    double rowSpacingMm = 0;   // PixelSpacing[0]: between rows (along the column direction)
    double colSpacingMm = 0;   // PixelSpacing[1]: between columns (along the row direction)
    double sliceSpacingMm = 0; // Spacing Between Slices, else Slice Thickness; 0 when absent
};

bool sameDir(const glm::dvec3& a, const glm::dvec3& b) {
    return glm::length(a - b) < 1e-4;
}

bool sameSpacing(double a, double b) {
    return std::abs(a - b) <= 1e-4 * std::max(1.0, std::abs(a));
}

} // namespace

model::StructureKind guessSegmentKind(const SegSegment& segment) {
    using model::StructureKind;
    auto guess = [](const std::string& text) -> std::optional<StructureKind> {
        const std::string s = lower(text);
        auto has = [&](const char* w) { return s.find(w) != std::string::npos; };
        if (s.empty()) return std::nullopt;
        // Order matters: "spinal cord" before "spine", "intervertebral disc" before "vertebra".
        if (has("cord") || has("canal") || has("dura") || has("thecal") || has("cauda"))
            return StructureKind::Canal;
        if (has("disc")) return StructureKind::Disc;
        if (has("kidney") || has("renal")) return StructureKind::Kidney;
        if (has("lung")) return StructureKind::Lung;
        if (has("aorta") || has("vena") || has("ivc") || has("artery") || has("vein") ||
            has("vessel"))
            return StructureKind::Vessel;
        if (has("vertebra") || has("bone") || has("sacrum") || has("spine") || has("rib") ||
            has("femur") || has("pelvi") || has("hip") || has("skull") || has("coccyx"))
            return StructureKind::Bone;
        if (has("skin") || has("body") || has("external")) return StructureKind::Skin;
        if (has("nerve") || has("ganglion") || has("plexus")) return StructureKind::Nerve;
        if (has("muscle") || has("psoas") || has("erector") || has("multifid"))
            return StructureKind::Muscle;
        if (has("fat") || has("adipose")) return StructureKind::Fat;
        if (has("tumo") || has("lesion") || has("neoplasm") || has("target") || has("mass"))
            return StructureKind::Target;
        return std::nullopt;
    };
    // The coded type is what the tool meant; the label is what a person typed.
    if (auto k = guess(segment.typeMeaning)) return *k;
    if (auto k = guess(segment.label)) return *k;
    return StructureKind::Custom;
}

Result<SegmentationObject> readSegmentation(const std::filesystem::path& file,
                                            const model::ImageGeometry* target) {
    detail::registerCodecs(); // also quiets DCMTK's console log; RLE SEGs decode through it
    const std::string name = file.string();
    auto parseError = [&](const std::string& what, std::string detail = {}) {
        return fail(ErrorCode::ParseError, fmt::format("{}: {}", name, what), std::move(detail));
    };
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
        return fail(ErrorCode::NotFound, fmt::format("{}: no such file", name));
    DcmFileFormat ff;
    OFCondition c = ff.loadFile(file.c_str());
    if (c.bad()) return parseError("not a readable DICOM file (truncated or corrupt?)", c.text());
    DcmDataset& d = *ff.getDataset();
    using detail::getString;
    const std::string sopClass = getString(d, DCM_SOPClassUID);
    if (sopClass == kLabelMapSegmentationStorage)
        return fail(ErrorCode::Unsupported,
                    fmt::format("{}: LABELMAP segmentations cannot be read yet; export the "
                                "segments as a BINARY SEG",
                                name));
    if (sopClass != UID_SegmentationStorage)
        return parseError(
            fmt::format("not a DICOM Segmentation (SOP class {}, modality {})",
                        sopClass.empty() ? "none" : sopClass,
                        getString(d, DCM_Modality).empty() ? "none" : getString(d, DCM_Modality)));

    SegmentationObject out;
    out.sopInstanceUid = getString(d, DCM_SOPInstanceUID);
    out.seriesInstanceUid = getString(d, DCM_SeriesInstanceUID);
    out.studyInstanceUid = getString(d, DCM_StudyInstanceUID);
    out.frameOfReferenceUid = getString(d, DCM_FrameOfReferenceUID);
    out.contentLabel = getString(d, DCM_ContentLabel);
    out.seriesDescription = getString(d, DCM_SeriesDescription);
    for (DcmItem* s : items(d, DCM_ReferencedSeriesSequence)) {
        if (out.referencedSeriesUid.empty())
            out.referencedSeriesUid = getString(*s, DCM_SeriesInstanceUID);
        for (DcmItem* im : items(*s, DCM_ReferencedInstanceSequence))
            out.referencedImageUids.push_back(getString(*im, DCM_ReferencedSOPInstanceUID));
    }

    // --- Segmentation Image Module ---------------------------------------------------------
    out.segmentationType = getString(d, DCM_SegmentationType);
    const bool binary = out.segmentationType == "BINARY";
    if (out.segmentationType == "LABELMAP")
        return fail(ErrorCode::Unsupported,
                    fmt::format("{}: LABELMAP segmentations cannot be read yet", name));
    if (!binary && out.segmentationType != "FRACTIONAL")
        return parseError(fmt::format("Segmentation Type is '{}' (BINARY or FRACTIONAL expected)",
                                      out.segmentationType));
    Uint16 rows = 0, cols = 0, bitsAllocated = 0, samples = 1;
    if (d.findAndGetUint16(DCM_Rows, rows).bad() || d.findAndGetUint16(DCM_Columns, cols).bad() ||
        rows == 0 || cols == 0)
        return parseError("Rows/Columns missing or zero");
    d.findAndGetUint16(DCM_BitsAllocated, bitsAllocated);
    d.findAndGetUint16(DCM_SamplesPerPixel, samples);
    if (samples != 1)
        return parseError(fmt::format("Samples per Pixel is {} (1 expected)", samples));
    if (bitsAllocated != (binary ? 1 : 8))
        return parseError(fmt::format("{} segmentation with Bits Allocated {} ({} expected)",
                                      out.segmentationType, bitsAllocated, binary ? 1 : 8));
    if (!binary) {
        out.fractionalType = getString(d, DCM_SegmentationFractionalType);
        Uint16 maxValue = 0;
        if (d.findAndGetUint16(DCM_MaximumFractionalValue, maxValue).bad() || maxValue == 0 ||
            maxValue > 255)
            return parseError("FRACTIONAL segmentation without a usable Maximum Fractional Value "
                              "(1..255)");
        out.maxFractionalValue = maxValue;
    }
    Sint32 frameCount = 0;
    if (d.findAndGetSint32(DCM_NumberOfFrames, frameCount).bad() || frameCount <= 0)
        return parseError("Number of Frames missing or not positive");
    out.frameCount = frameCount;
    const std::size_t framePixels = std::size_t(rows) * cols;
    const std::size_t frames = static_cast<std::size_t>(frameCount);

    // --- Segments ---------------------------------------------------------------------------
    std::map<int, std::size_t> byNumber;
    for (DcmItem* s : items(d, DCM_SegmentSequence)) {
        SegSegment seg;
        Uint16 n = 0;
        if (s->findAndGetUint16(DCM_SegmentNumber, n).bad() || n == 0)
            return parseError("a segment has no Segment Number");
        if (byNumber.count(n)) return parseError(fmt::format("Segment Number {} appears twice", n));
        seg.number = n;
        seg.label = getString(*s, DCM_SegmentLabel);
        seg.description = getString(*s, DCM_SegmentDescription);
        seg.algorithmType = getString(*s, DCM_SegmentAlgorithmType);
        seg.algorithmName = getString(*s, DCM_SegmentAlgorithmName);
        if (DcmItem* cat = firstItem(s, DCM_SegmentedPropertyCategoryCodeSequence))
            seg.categoryMeaning = getString(*cat, DCM_CodeMeaning);
        if (DcmItem* type = firstItem(s, DCM_SegmentedPropertyTypeCodeSequence)) {
            seg.typeMeaning = getString(*type, DCM_CodeMeaning);
            seg.typeCodeValue = getString(*type, DCM_CodeValue);
            seg.typeCodingScheme = getString(*type, DCM_CodingSchemeDesignator);
        }
        Uint16 lab[3];
        bool hasLab = true;
        for (unsigned long i = 0; i < 3; ++i)
            hasLab =
                hasLab && s->findAndGetUint16(DCM_RecommendedDisplayCIELabValue, lab[i], i).good();
        if (hasLab) {
            double r = 0, g = 0, b = 0;
            IODCIELabUtil::dicomLab2RGB(r, g, b, lab[0], lab[1], lab[2]);
            seg.displayColorSrgb = glm::vec3(std::clamp(r, 0.0, 1.0), std::clamp(g, 0.0, 1.0),
                                             std::clamp(b, 0.0, 1.0));
        }
        byNumber[n] = out.segments.size();
        out.segments.push_back(std::move(seg));
    }
    if (out.segments.empty()) return parseError("the Segment Sequence is missing or empty");

    // --- Per-frame functional groups ----------------------------------------------------------
    DcmItem* shared = firstItem(&d, DCM_SharedFunctionalGroupsSequence);
    const std::vector<DcmItem*> perFrame = items(d, DCM_PerFrameFunctionalGroupsSequence);
    if (perFrame.size() != frames)
        return parseError(fmt::format("Number of Frames is {} but the Per-frame Functional Groups "
                                      "Sequence has {} items",
                                      frames, perFrame.size()));
    auto group = [&](DcmItem* own, const DcmTagKey& seq) {
        DcmItem* g = firstItem(own, seq);
        return g ? g : firstItem(shared, seq);
    };
    std::vector<FrameInfo> info(frames);
    for (std::size_t f = 0; f < frames; ++f) {
        FrameInfo& fi = info[f];
        DcmItem* own = perFrame[f];
        const int frameNo = static_cast<int>(f) + 1;
        DcmItem* segId = group(own, DCM_SegmentIdentificationSequence);
        Uint16 n = 0;
        if (!segId || segId->findAndGetUint16(DCM_ReferencedSegmentNumber, n).bad())
            return parseError(fmt::format("frame {} names no segment (Segment Identification "
                                          "Sequence)",
                                          frameNo));
        if (!byNumber.count(n))
            return parseError(fmt::format("frame {} refers to segment {}, which the Segment "
                                          "Sequence does not declare",
                                          frameNo, n));
        fi.segment = n;
        double v[6];
        DcmItem* pos = group(own, DCM_PlanePositionSequence);
        if (!(pos && detail::getDoubles(*pos, DCM_ImagePositionPatient, v, 3)) &&
            !(frames == 1 && detail::getDoubles(d, DCM_ImagePositionPatient, v, 3)))
            return parseError(fmt::format("frame {} has no Plane Position (Patient)", frameNo));
        fi.ippMm = {v[0], v[1], v[2]};
        DcmItem* ori = group(own, DCM_PlaneOrientationSequence);
        if (!(ori && detail::getDoubles(*ori, DCM_ImageOrientationPatient, v, 6)) &&
            !detail::getDoubles(d, DCM_ImageOrientationPatient, v, 6))
            return parseError(fmt::format("frame {} has no Plane Orientation (Patient)", frameNo));
        fi.rowDir = {v[0], v[1], v[2]};
        fi.colDir = {v[3], v[4], v[5]};
        if (!std::isfinite(glm::dot(fi.rowDir, fi.colDir)) || glm::length(fi.rowDir) < 0.5 ||
            glm::length(fi.colDir) < 0.5 ||
            std::abs(glm::dot(glm::normalize(fi.rowDir), glm::normalize(fi.colDir))) > 1e-3)
            return parseError(
                fmt::format("frame {} has an unusable Image Orientation (Patient)", frameNo));
        fi.rowDir = glm::normalize(fi.rowDir);
        fi.colDir = glm::normalize(fi.colDir);
        DcmItem* px = group(own, DCM_PixelMeasuresSequence);
        if (!(px && detail::getDoubles(*px, DCM_PixelSpacing, v, 2)) &&
            !detail::getDoubles(d, DCM_PixelSpacing, v, 2))
            return parseError(
                fmt::format("frame {} has no Pixel Spacing (Pixel Measures)", frameNo));
        if (!(v[0] > 0 && v[1] > 0 && std::isfinite(v[0]) && std::isfinite(v[1])))
            return parseError(fmt::format("frame {} has a non-positive Pixel Spacing", frameNo));
        fi.rowSpacingMm = v[0];
        fi.colSpacingMm = v[1];
        if (px && detail::getDoubles(*px, DCM_SpacingBetweenSlices, v, 1) && v[0] > 0)
            fi.sliceSpacingMm = v[0];
        else if (px && detail::getDoubles(*px, DCM_SliceThickness, v, 1) && v[0] > 0)
            fi.sliceSpacingMm = v[0];
        if (!std::isfinite(fi.ippMm.x + fi.ippMm.y + fi.ippMm.z))
            return parseError(fmt::format("frame {} has a non-finite position", frameNo));
    }
    const FrameInfo& first = info.front();
    for (std::size_t f = 1; f < frames; ++f)
        if (!sameDir(info[f].rowDir, first.rowDir) || !sameDir(info[f].colDir, first.colDir) ||
            !sameSpacing(info[f].rowSpacingMm, first.rowSpacingMm) ||
            !sameSpacing(info[f].colSpacingMm, first.colSpacingMm))
            return fail(ErrorCode::Unsupported,
                        fmt::format("{}: frame {} has another orientation or pixel spacing than "
                                    "frame 1; such SEGs cannot be read without resampling",
                                    name, f + 1));

    // --- The grid -----------------------------------------------------------------------------
    const glm::dvec3 normal = glm::cross(first.rowDir, first.colDir);
    model::ImageGeometry grid;
    if (target) {
        if (target->voxelCount() == 0 || !target->hasOrthonormalDirection())
            return fail(ErrorCode::InvalidArgument,
                        fmt::format("{}: the target grid is empty or not orthonormal", name));
        grid = *target;
        if (!sameDir(first.rowDir, glm::dvec3(grid.direction[0])) ||
            !sameDir(first.colDir, glm::dvec3(grid.direction[1])) ||
            !sameSpacing(first.colSpacingMm, grid.spacingMm.x) ||
            !sameSpacing(first.rowSpacingMm, grid.spacingMm.y))
            return fail(ErrorCode::Unsupported,
                        fmt::format("{}: the segmentation's rows, columns or pixel spacing differ "
                                    "from the image it is to be shown on; it would have to be "
                                    "resampled (read it on its own grid instead)",
                                    name),
                        fmt::format("SEG row {} {} {}, column {} {} {}, spacing {} x {} mm",
                                    first.rowDir.x, first.rowDir.y, first.rowDir.z, first.colDir.x,
                                    first.colDir.y, first.colDir.z, first.colSpacingMm,
                                    first.rowSpacingMm));
    } else {
        // Like an enhanced multi-frame image: distinct planes along the normal, in-plane offsets
        // on the pixel lattice of frame 1.
        std::vector<double> planes;
        long long uMin = 0, uMax = 0, vMin = 0, vMax = 0;
        for (const auto& fi : info) {
            const glm::dvec3 rel = fi.ippMm - first.ippMm;
            planes.push_back(glm::dot(rel, normal));
            const auto u = std::llround(glm::dot(rel, first.rowDir) / first.colSpacingMm);
            const auto v = std::llround(glm::dot(rel, first.colDir) / first.rowSpacingMm);
            uMin = std::min(uMin, u), uMax = std::max(uMax, u);
            vMin = std::min(vMin, v), vMax = std::max(vMax, v);
        }
        std::sort(planes.begin(), planes.end());
        std::vector<double> distinct;
        for (double p : planes)
            if (distinct.empty() || p - distinct.back() > 1e-3) distinct.push_back(p);
        double spacing = first.sliceSpacingMm;
        if (distinct.size() > 1) {
            double minGap = std::numeric_limits<double>::max();
            for (std::size_t i = 1; i < distinct.size(); ++i)
                minGap = std::min(minGap, distinct[i] - distinct[i - 1]);
            // Spacing Between Slices when the file states one that fits, else the smallest gap
            // (frames a segment does not touch are often left out, so gaps can be multiples).
            if (!(spacing > 0 && spacing <= minGap * (1 + 1e-3))) spacing = minGap;
        }
        if (!(spacing > 0)) spacing = 1.0;
        const double extent = distinct.back() - distinct.front();
        const double slices = std::round(extent / spacing) + 1;
        const double width = double(uMax - uMin) + cols, height = double(vMax - vMin) + rows;
        if (slices > 65535 || width > 65535 || height > 65535 ||
            slices * width * height > double(std::numeric_limits<std::int32_t>::max()))
            return parseError(fmt::format("frame positions span {:.1f} mm at {:.3g} mm spacing "
                                          "and {}..{} x {}..{} pixels: not one volume",
                                          extent, spacing, uMin, uMax + cols, vMin, vMax + rows));
        grid.dims = {static_cast<int>(width), static_cast<int>(height), static_cast<int>(slices)};
        grid.spacingMm = {first.colSpacingMm, first.rowSpacingMm, spacing};
        grid.direction = glm::dmat3(first.rowDir, first.colDir, normal);
        grid.originMm = first.ippMm + first.rowDir * (double(uMin) * first.colSpacingMm) +
                        first.colDir * (double(vMin) * first.rowSpacingMm) +
                        normal * distinct.front();
    }
    out.geometry = grid;

    // --- Pixel data ---------------------------------------------------------------------------
    const E_TransferSyntax xfer = d.getOriginalXfer();
    DcmXfer xferInfo(xfer);
    if (xferInfo.isEncapsulated()) {
        if (!DcmCodecList::canChangeCoding(xfer, EXS_LittleEndianExplicit))
            return fail(ErrorCode::UnsupportedEncoding,
                        fmt::format("{}: compressed pixel data ({}) that no decoder here handles",
                                    name, xferInfo.getXferName()));
        c = d.chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
        if (c.bad() || !d.canWriteXfer(EXS_LittleEndianExplicit))
            return parseError(fmt::format("compressed pixel data ({}) could not be decoded",
                                          xferInfo.getXferName()),
                              c.text());
    }
    DcmElement* pixelData = nullptr;
    if (d.findAndGetElement(DCM_PixelData, pixelData).bad() || !pixelData)
        return parseError("no Pixel Data");
    const std::size_t needBytes = binary ? (frames * framePixels + 7) / 8 : frames * framePixels;
    Uint8* bytes = nullptr;
    if (pixelData->getLength() < needBytes ||
        (pixelData->getLength() > 0 && (pixelData->getUint8Array(bytes).bad() || !bytes)))
        return parseError(fmt::format("pixel data is truncated ({} bytes; {} frames of {}x{} "
                                      "{}-bit pixels need {})",
                                      pixelData->getLength(), frames, cols, rows, bitsAllocated,
                                      needBytes));
    if (pixelData->getLength() > needBytes + 1)
        out.report.add("seg-extra-pixel-data",
                       fmt::format("{} holds {} bytes of pixel data; its {} frames use only the "
                                   "first {}",
                                   name, pixelData->getLength(), frames, needBytes),
                       {name});
    // BINARY frames are packed bit by bit with no padding between frames (PS3.5 8.1.1): pixel p
    // of frame f is bit (f*rows*cols + p) % 8 of byte (f*rows*cols + p) / 8, least significant
    // bit first. A frame therefore starts mid-byte whenever rows*cols is not a multiple of 8.
    auto pixel = [&](std::size_t f, std::size_t p) -> std::uint8_t {
        const std::size_t bit = f * framePixels + p;
        if (binary) return static_cast<std::uint8_t>((bytes[bit >> 3] >> (bit & 7)) & 1u);
        return bytes[bit];
    };

    // --- Placement ----------------------------------------------------------------------------
    const double maskBytes =
        double(grid.voxelCount()) * double(out.segments.size()) * (binary ? 1 : 2);
    if (maskBytes > kMaxMaskBytes)
        return fail(ErrorCode::Unsupported,
                    fmt::format("{}: {} segments on a {}x{}x{} grid would need {:.1f} GiB of masks",
                                name, out.segments.size(), grid.dims[0], grid.dims[1], grid.dims[2],
                                maskBytes / double(1ull << 30)));
    try {
        for (auto& seg : out.segments) {
            seg.mask = model::LabelMap(grid, 0);
            if (!binary) seg.fraction = model::LabelMap(grid, 0);
        }
    } catch (const std::bad_alloc&) {
        return fail(ErrorCode::Unsupported,
                    fmt::format("{}: {} segments on a {}x{}x{} grid do not fit in memory", name,
                                out.segments.size(), grid.dims[0], grid.dims[1], grid.dims[2]));
    }
    std::vector<std::size_t> clipped(out.segments.size(), 0);
    const int threshold = out.maxFractionalValue; // value*2 >= max: fraction >= 0.5
    for (std::size_t f = 0; f < frames; ++f) {
        const FrameInfo& fi = info[f];
        SegSegment& seg = out.segments[byNumber.at(fi.segment)];
        ++seg.frameCount;
        const glm::dvec3 idx = grid.indexFromWorld(fi.ippMm);
        const double k = std::round(idx.z), i0 = std::round(idx.x), j0 = std::round(idx.y);
        SegOffGridFrame off;
        off.frame = static_cast<int>(f) + 1;
        off.segment = fi.segment;
        off.positionMm = fi.ippMm;
        off.offPlaneMm = (idx.z - k) * grid.spacingMm.z;
        off.placed = true;
        if (k < 0 || k >= grid.dims[2]) {
            off.placed = false;
            const bool before = idx.z < 0;
            off.offPlaneMm = (before ? idx.z : idx.z - (grid.dims[2] - 1)) * grid.spacingMm.z;
            off.reason = fmt::format("its plane lies {:.2f} mm beyond the image's {} slice",
                                     std::abs(off.offPlaneMm), before ? "first" : "last");
        } else if (std::abs(idx.x - i0) > kOnGridTolerance ||
                   std::abs(idx.y - j0) > kOnGridTolerance) {
            off.placed = false;
            off.reason = fmt::format("its pixels fall between the image's pixels (offset {:.3f}, "
                                     "{:.3f} pixels)",
                                     idx.x - i0, idx.y - j0);
        } else if (std::abs(idx.z - k) > kOnGridTolerance) {
            off.reason = fmt::format("its plane lies {:.2f} mm from slice {}; placed on that slice",
                                     off.offPlaneMm, static_cast<int>(k) + 1);
        }
        if (!off.reason.empty()) {
            out.report.add(off.placed ? "seg-frame-between-slices" : "seg-frame-off-grid",
                           fmt::format("segment {} '{}', frame {}: {}", seg.number, seg.label,
                                       off.frame, off.reason),
                           {name});
            out.offGridFrames.push_back(off);
        }
        if (!off.placed) continue;
        const int kk = static_cast<int>(k), ii = static_cast<int>(i0), jj = static_cast<int>(j0);
        for (int r = 0; r < rows; ++r)
            for (int col = 0; col < cols; ++col) {
                const std::uint8_t v = pixel(f, std::size_t(r) * cols + col);
                if (v == 0) continue;
                const int i = ii + col, j = jj + r;
                if (!grid.contains(i, j, kk)) {
                    ++clipped[byNumber.at(fi.segment)];
                    continue;
                }
                const std::size_t at = grid.linearIndex(i, j, kk);
                if (binary) {
                    seg.mask.voxels[at] = 1;
                } else {
                    seg.fraction.voxels[at] = std::max(seg.fraction.voxels[at], v);
                    if (2 * int(seg.fraction.voxels[at]) >= threshold) seg.mask.voxels[at] = 1;
                }
            }
    }
    for (std::size_t s = 0; s < out.segments.size(); ++s) {
        auto& seg = out.segments[s];
        seg.voxelCount = static_cast<std::size_t>(
            std::count(seg.mask.voxels.begin(), seg.mask.voxels.end(), std::uint8_t{1}));
        if (seg.frameCount == 0)
            out.report.add("seg-empty-segment",
                           fmt::format("segment {} '{}' has no frames", seg.number, seg.label),
                           {name});
        if (clipped[s] > 0)
            out.report.add("seg-outside-image",
                           fmt::format("segment {} '{}': {} voxels lie outside the image's rows "
                                       "and columns and were left out",
                                       seg.number, seg.label, clipped[s]),
                           {name});
    }
    return out;
}

} // namespace precis::dicom
