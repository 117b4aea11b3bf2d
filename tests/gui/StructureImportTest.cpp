// Structures imported from other tools into a loaded case (gui::importStructures), without a
// window: the real RTSTRUCT in ../shared/data/conformance/rtstruct-dicompyler on the one CT slice
// of it that is present (ct.0.dcm).
#include "gui/StructureImport.h"

#include "dicom/SeriesReader.h"
#include "support/TestSupport.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <algorithm>
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

} // namespace
} // namespace precis::gui
