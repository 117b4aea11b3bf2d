// Structures imported from other tools into a loaded case (gui::importStructures), without a
// window: the real RTSTRUCT in ../shared/data/conformance/rtstruct-dicompyler on the one CT slice
// of it that is present (ct.0.dcm).
#include "gui/StructureImport.h"

#include "dicom/SeriesReader.h"
#include "dicom/SeriesWriter.h"
#include "support/SegWriter.h"
#include "support/TestSupport.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <memory>

namespace precis::gui {
namespace {

TEST(StructureImport, RtStructLabelsNeverOverwriteTheCaseAndNamesStayUnique) {
    PRECIS_REQUIRE_SHARED(dir, "conformance/rtstruct-dicompyler");
    auto ct = dicom::loadLargestSeries(dir / "ct.0.dcm");
    ASSERT_TRUE(ct) << describe(ct.error());
    const auto& g = ct->volume.geometry;
    // The case already has "BODY" (label 1, unused in the map) and a block of label 5 in the
    // middle of the patient, which the imported BODY covers.
    auto labels = std::make_shared<model::LabelMap>(g, std::uint8_t{0});
    const int cx = g.dims[0] / 2, cy = g.dims[1] / 2 - 40;
    std::size_t block = 0;
    for (int j = cy - 10; j < cy + 10; ++j)
        for (int i = cx - 10; i < cx + 10; ++i) labels->at(i, j, 0) = 5, ++block;
    StructureImportRequest rq;
    rq.file = dir / "rtss.dcm";
    rq.seriesInstanceUid = ct->volume.identity.seriesInstanceUid;
    rq.frameOfReferenceUid = ct->volume.identity.frameOfReferenceUid;
    rq.geometry = g;
    rq.labels = labels;
    rq.existing = {{.name = "BODY", .label = 1}, {.name = "block", .label = 5}};
    auto imp = importStructures(rq);
    ASSERT_TRUE(imp) << describe(imp.error());
    ASSERT_EQ(imp->structures.size(), 1u); // only BODY has contours on ct.0
    const auto& body = imp->structures.front();
    EXPECT_EQ(body.info.name, "BODY (2)");
    EXPECT_EQ(body.info.kind, model::StructureKind::Skin);
    EXPECT_NE(body.info.label, 1); // used by a structure
    EXPECT_NE(body.info.label, 5); // used in the map
    EXPECT_FALSE(body.full.empty());
    ASSERT_TRUE(imp->labels);
    // The block keeps its label; BODY has its voxels everywhere else it covers.
    std::size_t kept = 0, bodyVoxels = 0;
    for (auto v : imp->labels->voxels) kept += v == 5, bodyVoxels += v == body.info.label;
    EXPECT_EQ(kept, block);
    EXPECT_GT(bodyVoxels, 10000u);
    auto note = [&](const std::string& code, const std::string& text) {
        return std::ranges::any_of(imp->report.warnings, [&](const model::ImportWarning& w) {
            return w.code == code && w.message.find(text) != std::string::npos;
        });
    };
    EXPECT_TRUE(note("overlap", fmt::format("{} voxels of BODY (2) lie in block (label 5)", block)));
    EXPECT_TRUE(note("contours-off-grid", "contours of BODY lie on no slice"));
    EXPECT_TRUE(note("empty-structure", "Heart has no voxels"));
    // The case's own map is untouched (the import works on a copy).
    EXPECT_EQ(std::ranges::count(labels->voxels, body.info.label), 0);
}

TEST(StructureImport, ContoursOnAnotherSeriesAreRefusedNamingBoth) {
    PRECIS_REQUIRE_SHARED(dir, "conformance/rtstruct-dicompyler");
    auto ct = dicom::loadLargestSeries(dir / "ct.0.dcm");
    ASSERT_TRUE(ct);
    StructureImportRequest rq;
    rq.file = dir / "rtss.dcm";
    rq.seriesInstanceUid = "1.2.3.4";
    rq.frameOfReferenceUid = ct->volume.identity.frameOfReferenceUid;
    rq.geometry = ct->volume.geometry;
    auto imp = importStructures(rq);
    ASSERT_FALSE(imp);
    EXPECT_EQ(imp.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(imp.error().message.find(rq.file.string()), std::string::npos);
    EXPECT_NE(imp.error().message.find(ct->volume.identity.seriesInstanceUid), std::string::npos);
    EXPECT_NE(imp.error().message.find("1.2.3.4"), std::string::npos);
    // Another frame of reference, same series UID: refused too.
    rq.seriesInstanceUid = ct->volume.identity.seriesInstanceUid;
    rq.frameOfReferenceUid = "1.2.3.5";
    auto other = importStructures(rq);
    ASSERT_FALSE(other);
    EXPECT_NE(other.error().message.find("frame of reference"), std::string::npos);
    // A missing file is NotFound naming it.
    rq.file = dir / "absent.dcm";
    auto missing = importStructures(rq);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
    EXPECT_NE(missing.error().message.find("absent.dcm"), std::string::npos);
}

TEST(StructureImport, SegSegmentsBecomeLabelledStructuresWithTheirColoursAndKinds) {
    // A small axial CT written and read back like any series, and a binary SEG over it with two
    // segments: a sphere named Aorta (red in the file) and a box named Left kidney.
    model::ImageGeometry g;
    g.dims = {40, 32, 10};
    g.spacingMm = {0.8, 0.8, 2.0};
    g.originMm = {-16.0, -12.0, 0.0};
    const auto dir = test::makeTempDir("import-seg");
    ASSERT_TRUE(dicom::writeCtSeries(model::Volume(g, std::int16_t{-1000}), {}, dir / "ct"));
    auto ct = dicom::loadLargestSeries(dir / "ct");
    ASSERT_TRUE(ct) << describe(ct.error());
    const auto& cg = ct->volume.geometry;
    const test::SegSource source = test::segSourceFromWrittenSeries(dir / "ct", cg);
    ASSERT_EQ(source.files.size(), 10u);
    std::vector<std::uint8_t> sphere(cg.voxelCount(), 0), box(cg.voxelCount(), 0);
    const glm::dvec3 centre = cg.worldFromIndex({20.0, 16.0, 5.0});
    std::size_t sphereVoxels = 0, boxVoxels = 0;
    for (int k = 0; k < cg.dims[2]; ++k)
        for (int j = 0; j < cg.dims[1]; ++j)
            for (int i = 0; i < cg.dims[0]; ++i) {
                const auto n = cg.linearIndex(i, j, k);
                sphereVoxels += sphere[n] = glm::length(cg.worldFromIndex(glm::dvec3(i, j, k)) - centre) <= 6.0;
                boxVoxels += box[n] = i >= 30 && i <= 36 && j >= 4 && j <= 12 && k >= 2 && k <= 6;
            }
    const std::size_t perSlice = std::size_t(cg.dims[0]) * std::size_t(cg.dims[1]);
    std::vector<test::FrameSpec> frames;
    for (int k = 0; k < cg.dims[2]; ++k)
        for (Uint16 seg : {Uint16(1), Uint16(2)}) {
            const auto& m = seg == 1 ? sphere : box;
            frames.push_back({seg, cg.worldFromIndex({0, 0, double(k)}),
                              {m.begin() + std::ptrdiff_t(k * perSlice), m.begin() + std::ptrdiff_t((k + 1) * perSlice)},
                              k, Uint32(k + 1)});
        }
    const CodeSequenceMacro tissue("85756007", "SCT", "Tissue");
    const CodeSequenceMacro structure("123037004", "SCT", "Anatomical Structure");
    const std::vector<test::SegmentSpec> segments{
        {"Aorta", "", tissue, structure, DcmSegTypes::SAT_MANUAL, glm::dvec3(1.0, 0.0, 0.0)},
        {"Left kidney", "", tissue, structure, DcmSegTypes::SAT_MANUAL, std::nullopt}};
    const auto segFile = dir / "seg.dcm";
    ASSERT_EQ(test::writeSeg(segFile, false, source, segments, frames), "");

    StructureImportRequest rq;
    rq.file = segFile;
    rq.seriesInstanceUid = ct->volume.identity.seriesInstanceUid;
    rq.frameOfReferenceUid = ct->volume.identity.frameOfReferenceUid;
    rq.geometry = cg;
    auto imp = importStructures(rq);
    ASSERT_TRUE(imp) << describe(imp.error());
    EXPECT_NE(imp->format.find("SEG"), std::string::npos) << imp->format;
    ASSERT_EQ(imp->structures.size(), 2u);
    ASSERT_TRUE(imp->labels); // the case had no label map: one was made
    std::cout << "[ seg ] " << imp->format << ": sphere " << sphereVoxels << " voxels, box " << boxVoxels
              << " voxels\n";
    for (const auto& st : imp->structures) {
        const bool aorta = st.info.name == "Aorta";
        EXPECT_TRUE(aorta || st.info.name == "Left kidney") << st.info.name;
        EXPECT_EQ(st.info.kind, aorta ? model::StructureKind::Vessel : model::StructureKind::Kidney);
        EXPECT_NE(st.info.label, 0);
        // Every voxel of the segment, and only those, carries its label.
        EXPECT_EQ(std::size_t(std::ranges::count(imp->labels->voxels, st.info.label)),
                  aorta ? sphereVoxels : boxVoxels);
        EXPECT_TRUE(st.full.isClosedManifold()) << st.info.name;
        if (aorta) {
            EXPECT_GT(st.info.defaultColor.r, 0.8f); // the file's red
            EXPECT_LT(st.info.defaultColor.g, 0.2f);
        }
    }
    // The same SEG on another series is refused, naming the file.
    rq.seriesInstanceUid = "1.2.3.4";
    rq.frameOfReferenceUid = "1.2.3.5";
    auto other = importStructures(rq);
    ASSERT_FALSE(other);
    EXPECT_NE(other.error().message.find("seg.dcm"), std::string::npos);
    std::filesystem::remove_all(dir);
}

} // namespace
} // namespace precis::gui
