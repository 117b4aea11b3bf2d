// DICOM SEG import. No SEG ships in ../shared/data, so the tests write their own with DCMTK's
// dcmseg (as Slicer/dcmqi do) over a small synthetic oblique CT written with writeCtSeries: a
// BINARY SEG with two segments on a 37x29 matrix (1073 pixels a frame, so frames start mid-byte
// in the bit-packed pixel data), a FRACTIONAL one, and a small one with a frame between slices.
// The masks read back must equal the ones written voxel for voxel.
#include "dicom/SegReader.h"

#include "dicom/SeriesReader.h"
#include "dicom/SeriesWriter.h"

#include "support/SegWriter.h"
#include "support/TestSupport.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmfg/fgderimg.h>
#include <dcmtk/dcmfg/fgfracon.h>
#include <dcmtk/dcmfg/fgpixmsr.h>
#include <dcmtk/dcmfg/fgplanor.h>
#include <dcmtk/dcmfg/fgplanpo.h>
#include <dcmtk/dcmiod/cielabutil.h>
#include <dcmtk/dcmiod/iodreferences.h>
#include <dcmtk/dcmseg/segdoc.h>
#include <dcmtk/dcmseg/segment.h>
#include <gtest/gtest.h>

#include <glm/gtc/matrix_transform.hpp>

#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <random>

using namespace precis;
namespace fs = std::filesystem;

namespace {

constexpr int kCols = 37, kRows = 29, kSlices = 12; // 37*29 = 1073: not a multiple of 8

/// The CT as written and as read back, with each slice's SOP Instance UID (slice k = file k+1).
struct Ct {
    fs::path dir;
    model::Volume volume;
    std::vector<std::string> sopUids;
    std::vector<std::string> files;
};

const Ct& ct() {
    static const Ct c = [] {
        Ct out;
        model::ImageGeometry g;
        g.dims = {kCols, kRows, kSlices};
        g.spacingMm = {0.8, 0.9, 2.5};
        g.originMm = {-20.0, 15.0, 100.0};
        // Oblique: 25 degrees about z, then 15 about x (a tilted, rotated axial stack).
        g.direction = glm::dmat3(
            glm::rotate(glm::rotate(glm::dmat4(1.0), glm::radians(25.0), glm::dvec3(0, 0, 1)),
                        glm::radians(15.0), glm::dvec3(1, 0, 0)));
        model::Volume v(g, -1000);
        for (int k = 0; k < kSlices; ++k)
            for (int j = 0; j < kRows; ++j)
                for (int i = 0; i < kCols; ++i)
                    v.at(i, j, k) = static_cast<std::int16_t>(i + 3 * j - k);
        out.dir = test::makeTempDir("seg-ct");
        auto id = dicom::writeCtSeries(v, {}, out.dir);
        EXPECT_TRUE(id) << (id ? "" : id.error().message);
        auto loaded = dicom::loadLargestSeries(out.dir);
        EXPECT_TRUE(loaded) << (loaded ? "" : loaded.error().message);
        if (loaded) out.volume = loaded->volume;
        const auto source = test::segSourceFromWrittenSeries(out.dir, g);
        EXPECT_EQ(source.files.size(), std::size_t(kSlices));
        out.sopUids = source.sopUids;
        out.files = source.files;
        return out;
    }();
    return c;
}

using test::FrameSpec;
using test::SegmentSpec;
using test::writeSeg;

/// The CT as a SEG's source series.
const test::SegSource& segSource() {
    static const test::SegSource source{ct().volume.geometry, ct().files, ct().sopUids};
    return source;
}

using Mask = std::vector<std::uint8_t>; // on the CT grid, geometry.linearIndex order

Mask sphereMask(const model::ImageGeometry& g, glm::dvec3 centreIjk, double radiusMm) {
    Mask m(g.voxelCount(), 0);
    const glm::dvec3 c = g.worldFromIndex(centreIjk);
    for (int k = 0; k < g.dims[2]; ++k)
        for (int j = 0; j < g.dims[1]; ++j)
            for (int i = 0; i < g.dims[0]; ++i)
                m[g.linearIndex(i, j, k)] =
                    glm::length(g.worldFromIndex(glm::dvec3(i, j, k)) - c) <= radiusMm;
    return m;
}

Mask boxMask(const model::ImageGeometry& g) {
    Mask m(g.voxelCount(), 0);
    for (int k = 2; k <= 8; ++k)
        for (int j = 5; j <= 20; ++j)
            for (int i = 3; i <= 12; ++i)
                m[g.linearIndex(i, j, k)] = 1;
    return m;
}

/// A frame's pixels: slice k of a CT-grid mask (row-major, as in the SEG).
std::vector<std::uint8_t> sliceOf(const Mask& m, int k) {
    const std::size_t n = std::size_t(kCols) * kRows;
    return {m.begin() + std::ptrdiff_t(k * n), m.begin() + std::ptrdiff_t((k + 1) * n)};
}

/// dciodvfy's errors for `file` ("" when dicom3tools is not installed or it reports none).
std::string dciodvfyErrors(const fs::path& file) {
    if (!fs::exists("/usr/bin/dciodvfy")) return {};
    const std::string all = precis::test::runShell("/usr/bin/dciodvfy '" + file.string() + "' 2>&1");
    std::string errors;
    std::size_t at = 0;
    while (at < all.size()) {
        const std::size_t end = std::min(all.find('\n', at), all.size());
        const std::string_view line = std::string_view(all).substr(at, end - at);
        if (line.starts_with("Error")) errors.append(line).append("\n");
        at = end + 1;
    }
    return errors.empty() ? std::string() : errors + "--- full output ---\n" + all;
}

CodeSequenceMacro tissue() {
    return CodeSequenceMacro("85756007", "SCT", "Tissue");
}
CodeSequenceMacro anatomical() {
    return CodeSequenceMacro("123037004", "SCT", "Anatomical Structure");
}

struct BinarySeg {
    fs::path file;
    Mask sphere, box;
    int offGridFrame = 0; // 1-based
};

const BinarySeg& binarySeg() {
    static const BinarySeg b = [] {
        BinarySeg out;
        const auto& g = ct().volume.geometry;
        out.sphere = sphereMask(g, {18.3, 13.6, 5.4}, 7.0);
        out.box = boxMask(g);
        std::vector<FrameSpec> frames;
        // Sphere: every slice, empty ones too (some tools write them); box: only where it is.
        for (int k = 0; k < kSlices; ++k)
            frames.push_back(
                {1, g.worldFromIndex({0, 0, k}), sliceOf(out.sphere, k), k, Uint32(k + 1)});
        for (int k = 2; k <= 8; ++k)
            frames.push_back(
                {2, g.worldFromIndex({0, 0, k}), sliceOf(out.box, k), k, Uint32(k + 1)});
        // One box frame two slices beyond the CT's last: it cannot be placed and must be listed.
        frames.push_back({2, g.worldFromIndex({0, 0, kSlices + 1}),
                          std::vector<std::uint8_t>(std::size_t(kCols) * kRows, 1), kSlices - 1,
                          Uint32(kSlices + 2)});
        out.offGridFrame = static_cast<int>(frames.size());
        std::vector<SegmentSpec> segments = {
            {"Sphere", "a ball of bone", tissue(), CodeSequenceMacro("272673000", "SCT", "Bone"),
             DcmSegTypes::SAT_MANUAL, glm::dvec3(1.0, 0.5, 0.0)},
            {"Box", "", anatomical(), CodeSequenceMacro("61692001", "SCT", "Spinal canal"),
             DcmSegTypes::SAT_AUTOMATIC, std::nullopt},
        };
        out.file = test::outputDir("seg") / "binary.dcm";
        const std::string err = writeSeg(out.file, false, segSource(), segments, frames);
        EXPECT_EQ(err, "");
        return out;
    }();
    return b;
}

std::size_t count(const Mask& m) {
    return std::size_t(std::count(m.begin(), m.end(), 1));
}

bool hasWarning(const model::ImportReport& r, const std::string& code) {
    return std::any_of(r.warnings.begin(), r.warnings.end(),
                       [&](const auto& w) { return w.code == code; });
}

} // namespace

TEST(Seg, BinaryMasksLandOnTheCtVoxelForVoxel) {
    const Ct& c = ct();
    const BinarySeg& b = binarySeg();
    ASSERT_TRUE(fs::exists(b.file));
    ASSERT_GT(count(b.sphere), 100u);
    auto seg = dicom::readSegmentation(b.file, &c.volume.geometry);
    ASSERT_TRUE(seg) << seg.error().message << " / " << seg.error().detail;
    EXPECT_EQ(seg->segmentationType, "BINARY");
    EXPECT_EQ(seg->frameCount, kSlices + 7 + 1);
    EXPECT_EQ(seg->referencedSeriesUid, c.volume.identity.seriesInstanceUid);
    EXPECT_EQ(seg->frameOfReferenceUid, c.volume.identity.frameOfReferenceUid);
    EXPECT_EQ(seg->seriesDescription, "Precis test SEG");
    EXPECT_EQ(seg->contentLabel, "PRECIS_TEST");
    EXPECT_TRUE(seg->geometry.sameGridAs(c.volume.geometry));
    ASSERT_EQ(seg->segments.size(), 2u);

    const auto& sphere = seg->segments[0];
    EXPECT_EQ(sphere.number, 1);
    EXPECT_EQ(sphere.label, "Sphere");
    EXPECT_EQ(sphere.description, "a ball of bone");
    EXPECT_EQ(sphere.algorithmType, "MANUAL");
    EXPECT_EQ(sphere.categoryMeaning, "Tissue");
    EXPECT_EQ(sphere.typeMeaning, "Bone");
    EXPECT_EQ(sphere.typeCodeValue, "272673000");
    EXPECT_EQ(sphere.typeCodingScheme, "SCT");
    EXPECT_EQ(dicom::guessSegmentKind(sphere), model::StructureKind::Bone);
    ASSERT_TRUE(sphere.displayColorSrgb);
    EXPECT_NEAR(sphere.displayColorSrgb->x, 1.0, 0.01);
    EXPECT_NEAR(sphere.displayColorSrgb->y, 0.5, 0.01);
    EXPECT_NEAR(sphere.displayColorSrgb->z, 0.0, 0.01);
    EXPECT_EQ(sphere.frameCount, kSlices);
    EXPECT_TRUE(sphere.mask.geometry.sameGridAs(c.volume.geometry));
    EXPECT_TRUE(sphere.mask.voxels == b.sphere) << "sphere mask differs";
    EXPECT_EQ(sphere.voxelCount, count(b.sphere));
    EXPECT_TRUE(sphere.fraction.voxels.empty());

    const auto& box = seg->segments[1];
    EXPECT_EQ(box.number, 2);
    EXPECT_EQ(box.label, "Box");
    EXPECT_EQ(box.description, "");
    EXPECT_EQ(box.algorithmType, "AUTOMATIC");
    EXPECT_EQ(box.algorithmName, "PrecisTestAlgo");
    EXPECT_EQ(box.categoryMeaning, "Anatomical Structure");
    EXPECT_EQ(box.typeMeaning, "Spinal canal");
    EXPECT_EQ(dicom::guessSegmentKind(box), model::StructureKind::Canal);
    EXPECT_FALSE(box.displayColorSrgb);
    EXPECT_EQ(box.frameCount, 8);
    EXPECT_TRUE(box.mask.voxels == b.box) << "box mask differs";
    EXPECT_EQ(box.voxelCount, 10u * 16u * 7u);

    // The frame beyond the last slice: listed, with its number and distance, not silently lost.
    ASSERT_EQ(seg->offGridFrames.size(), 1u);
    const auto& off = seg->offGridFrames[0];
    EXPECT_EQ(off.frame, b.offGridFrame);
    EXPECT_EQ(off.segment, 2);
    EXPECT_FALSE(off.placed);
    EXPECT_NEAR(off.offPlaneMm, 2 * c.volume.geometry.spacingMm.z, 1e-3);
    EXPECT_TRUE(hasWarning(seg->report, "seg-frame-off-grid"));
    for (const auto& w : seg->report.warnings)
        std::cout << "  report: " << w.message << "\n";

    EXPECT_EQ(dciodvfyErrors(b.file), "");
}

TEST(Seg, BinaryOnItsOwnGridIsTheEnhancedImageGrid) {
    const Ct& c = ct();
    const BinarySeg& b = binarySeg();
    auto seg = dicom::readSegmentation(b.file);
    ASSERT_TRUE(seg) << seg.error().message;
    const auto& g = seg->geometry;
    const auto& cg = c.volume.geometry;
    // From frame 1 (slice 0) to the stray frame two slices past the last: 14 slices, CT lattice.
    EXPECT_EQ(g.dims, (std::array<int, 3>{kCols, kRows, kSlices + 2}));
    EXPECT_LT(glm::length(g.originMm - cg.originMm), 1e-4);
    EXPECT_LT(glm::length(g.spacingMm - cg.spacingMm), 1e-6);
    for (int a = 0; a < 3; ++a)
        EXPECT_LT(glm::length(g.direction[a] - cg.direction[a]), 1e-6);
    EXPECT_TRUE(seg->offGridFrames.empty());
    const auto& sphere = seg->segments[0].mask;
    const auto& box = seg->segments[1].mask;
    std::size_t mismatches = 0;
    for (int k = 0; k < g.dims[2]; ++k)
        for (int j = 0; j < kRows; ++j)
            for (int i = 0; i < kCols; ++i) {
                const bool inCt = k < kSlices;
                const std::uint8_t s = inCt ? b.sphere[cg.linearIndex(i, j, k)] : 0;
                const std::uint8_t x = inCt ? b.box[cg.linearIndex(i, j, k)] : (k == kSlices + 1);
                if ((sphere.at(i, j, k) != s || box.at(i, j, k) != x) && ++mismatches <= 5) {
                    ADD_FAILURE() << "voxel " << i << "," << j << "," << k << " sphere "
                                  << int(sphere.at(i, j, k)) << " vs " << int(s) << ", box "
                                  << int(box.at(i, j, k)) << " vs " << int(x);
                }
            }
    EXPECT_EQ(mismatches, 0u);
}

TEST(Seg, FractionalKeepsItsValuesAndThresholdsAtHalf) {
    const Ct& c = ct();
    const auto& g = c.volume.geometry;
    // A soft ball: 255 at the centre falling linearly to 0 at 9 mm.
    Mask fraction(g.voxelCount(), 0);
    const glm::dvec3 centre = g.worldFromIndex({20.0, 12.0, 6.0});
    for (int k = 0; k < kSlices; ++k)
        for (int j = 0; j < kRows; ++j)
            for (int i = 0; i < kCols; ++i) {
                const double d = glm::length(g.worldFromIndex(glm::dvec3(i, j, k)) - centre);
                fraction[g.linearIndex(i, j, k)] =
                    std::uint8_t(std::lround(255.0 * std::clamp(1.0 - d / 9.0, 0.0, 1.0)));
            }
    std::vector<FrameSpec> frames;
    for (int k = 0; k < kSlices; ++k)
        frames.push_back({1, g.worldFromIndex({0, 0, k}), sliceOf(fraction, k), k, Uint32(k + 1)});
    const fs::path file = test::outputDir("seg") / "fractional.dcm";
    ASSERT_EQ(writeSeg(file, true, segSource(),
                       {{"Left kidney", "probability", anatomical(),
                         CodeSequenceMacro("64033007", "SCT", "Kidney"), DcmSegTypes::SAT_AUTOMATIC,
                         glm::dvec3(0.2, 0.6, 0.9)}},
                       frames),
              "");
    auto seg = dicom::readSegmentation(file, &g);
    ASSERT_TRUE(seg) << seg.error().message << " / " << seg.error().detail;
    EXPECT_EQ(seg->segmentationType, "FRACTIONAL");
    EXPECT_EQ(seg->fractionalType, "PROBABILITY");
    EXPECT_EQ(seg->maxFractionalValue, 255);
    ASSERT_EQ(seg->segments.size(), 1u);
    const auto& s = seg->segments[0];
    EXPECT_EQ(dicom::guessSegmentKind(s), model::StructureKind::Kidney);
    EXPECT_TRUE(s.fraction.voxels == fraction) << "fractional values differ";
    Mask expected(fraction.size());
    for (std::size_t i = 0; i < fraction.size(); ++i)
        expected[i] = fraction[i] >= 128;
    EXPECT_TRUE(s.mask.voxels == expected) << "thresholded mask differs";
    EXPECT_GT(s.voxelCount, 50u);
    EXPECT_TRUE(seg->offGridFrames.empty());
    EXPECT_TRUE(seg->report.warnings.empty());
    EXPECT_EQ(dciodvfyErrors(file), "");
}

namespace {

/// Two frames of one segment: slice 5 exactly, and one 0.3 slice past slice 3.
fs::path smallSeg() {
    static const fs::path file = [] {
        const auto& g = ct().volume.geometry;
        std::vector<std::uint8_t> pixels(std::size_t(kCols) * kRows, 0);
        for (int j = 4; j < 9; ++j)
            for (int i = 6; i < 11; ++i)
                pixels[std::size_t(j) * kCols + i] = 1;
        const fs::path f = test::outputDir("seg") / "small.dcm";
        EXPECT_EQ(writeSeg(f, false, segSource(),
                           {{"L4 vertebra", "", anatomical(),
                             CodeSequenceMacro("73071006", "SCT", "Lumbar vertebra"),
                             DcmSegTypes::SAT_MANUAL, std::nullopt}},
                           {{1, g.worldFromIndex({0, 0, 5}), pixels, 5, 2},
                            {1, g.worldFromIndex({0, 0, 3.3}), pixels, 3, 1}}),
                  "");
        return f;
    }();
    return file;
}

} // namespace

TEST(Seg, FrameBetweenSlicesIsPlacedAndReported) {
    const auto& g = ct().volume.geometry;
    auto seg = dicom::readSegmentation(smallSeg(), &g);
    ASSERT_TRUE(seg) << seg.error().message;
    ASSERT_EQ(seg->offGridFrames.size(), 1u);
    const auto& off = seg->offGridFrames[0];
    EXPECT_EQ(off.frame, 2);
    EXPECT_TRUE(off.placed);
    EXPECT_NEAR(off.offPlaneMm, 0.3 * g.spacingMm.z, 1e-3);
    EXPECT_TRUE(hasWarning(seg->report, "seg-frame-between-slices"));
    const auto& m = seg->segments[0].mask;
    EXPECT_EQ(m.at(6, 4, 3), 1);
    EXPECT_EQ(m.at(6, 4, 5), 1);
    EXPECT_EQ(m.at(5, 4, 3), 0);
    EXPECT_EQ(seg->segments[0].voxelCount, 2u * 25u);
    EXPECT_EQ(dicom::guessSegmentKind(seg->segments[0]), model::StructureKind::Bone);
}

TEST(Seg, TargetWithOtherPixelSpacingIsRefused) {
    model::ImageGeometry g = ct().volume.geometry;
    g.spacingMm.x *= 2;
    auto seg = dicom::readSegmentation(smallSeg(), &g);
    ASSERT_FALSE(seg);
    EXPECT_EQ(seg.error().code, ErrorCode::Unsupported);
    EXPECT_NE(seg.error().message.find("small.dcm"), std::string::npos);
}

TEST(Seg, EveryTruncatedPrefixFailsNamingTheFile) {
    const fs::path src = smallSeg();
    std::string bytes(fs::file_size(src), '\0');
    std::ifstream(src, std::ios::binary).read(bytes.data(), std::streamsize(bytes.size()));
    ASSERT_GT(bytes.size(), 1000u);
    ASSERT_TRUE(dicom::readSegmentation(src));
    const fs::path dir = test::makeTempDir("seg-prefix");
    std::size_t failures = 0;
    for (std::size_t n = 0; n < bytes.size() && failures <= 5; ++n) {
        // A fresh name each time: rewriting one truncated file makes ext4 flush it on close.
        const std::string name = "cut-seg-" + std::to_string(n) + ".dcm";
        const fs::path cut = dir / name;
        std::ofstream(cut, std::ios::binary).write(bytes.data(), std::streamsize(n));
        auto r = dicom::readSegmentation(cut);
        fs::remove(cut);
        if (r) {
            ADD_FAILURE() << "prefix of " << n << " of " << bytes.size() << " bytes was accepted";
            ++failures;
        } else if (r.error().code != ErrorCode::ParseError ||
                   r.error().message.find(name) == std::string::npos) {
            ADD_FAILURE() << "prefix " << n << ": " << toString(r.error().code) << " "
                          << r.error().message;
            ++failures;
        }
    }
    fs::remove_all(dir);
}

TEST(Seg, GarbageAndWrongObjectsAreClearErrors) {
    const fs::path dir = test::makeTempDir("seg-garbage");
    std::mt19937 rng(7);
    {
        std::ofstream out(dir / "noise.dcm", std::ios::binary);
        for (int i = 0; i < 4096; ++i)
            out.put(char(rng()));
    }
    {
        std::ofstream out(dir / "dicm-noise.dcm", std::ios::binary);
        for (int i = 0; i < 128; ++i)
            out.put(0);
        out << "DICM";
        for (int i = 0; i < 4096; ++i)
            out.put(char(rng()));
    }
    for (const char* name : {"noise.dcm", "dicm-noise.dcm"}) {
        auto r = dicom::readSegmentation(dir / name);
        ASSERT_FALSE(r) << name;
        EXPECT_EQ(r.error().code, ErrorCode::ParseError) << name;
        EXPECT_NE(r.error().message.find(name), std::string::npos) << r.error().message;
    }
    auto missing = dicom::readSegmentation(dir / "absent.dcm");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);

    auto notSeg = dicom::readSegmentation(ct().files.front());
    ASSERT_FALSE(notSeg);
    EXPECT_EQ(notSeg.error().code, ErrorCode::ParseError);
    EXPECT_NE(notSeg.error().message.find("CT_0001.dcm"), std::string::npos);
    EXPECT_NE(notSeg.error().message.find("not a DICOM Segmentation"), std::string::npos);

    // Edited copies of a valid SEG: each inconsistency is a ParseError saying what is wrong.
    auto edited = [&](const char* name, auto&& edit) {
        DcmFileFormat ff;
        EXPECT_TRUE(ff.loadFile(smallSeg().c_str()).good());
        edit(*ff.getDataset());
        const fs::path f = dir / name;
        EXPECT_TRUE(ff.saveFile(f.c_str(), EXS_LittleEndianExplicit).good());
        auto r = dicom::readSegmentation(f);
        EXPECT_FALSE(r) << name;
        if (r) return std::string();
        EXPECT_EQ(r.error().code, ErrorCode::ParseError) << name;
        EXPECT_NE(r.error().message.find(name), std::string::npos) << r.error().message;
        return r.error().message;
    };
    EXPECT_NE(
        edited("frames.dcm", [](DcmDataset& d) { d.putAndInsertString(DCM_NumberOfFrames, "3"); })
            .find("Number of Frames is 3"),
        std::string::npos);
    EXPECT_NE(edited("segref.dcm",
                     [](DcmDataset& d) {
                         DcmItem* pf = nullptr;
                         d.findAndGetSequenceItem(DCM_PerFrameFunctionalGroupsSequence, pf, 1);
                         DcmItem* id = nullptr;
                         if (pf)
                             pf->findAndGetSequenceItem(DCM_SegmentIdentificationSequence, id, 0);
                         if (id) id->putAndInsertUint16(DCM_ReferencedSegmentNumber, 9);
                     })
                  .find("segment 9"),
              std::string::npos);
    EXPECT_NE(edited("pixels.dcm",
                     [](DcmDataset& d) {
                         const Uint8 few[10] = {};
                         d.putAndInsertUint8Array(DCM_PixelData, few, 10);
                     })
                  .find("truncated"),
              std::string::npos);
    EXPECT_NE(edited("nogeometry.dcm",
                     [](DcmDataset& d) {
                         DcmItem* pf = nullptr;
                         d.findAndGetSequenceItem(DCM_PerFrameFunctionalGroupsSequence, pf, 0);
                         if (pf) pf->findAndDeleteElement(DCM_PlanePositionSequence);
                     })
                  .find("Plane Position"),
              std::string::npos);
    fs::remove_all(dir);
}
