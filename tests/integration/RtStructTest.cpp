// The real RTSTRUCT in ../shared/data/conformance/rtstruct-dicompyler: 441 contours on 196 CT
// slices of which only one (ct.0.dcm) is present. Its contours on that slice must land on the
// slice's pixels; the others must be reported as off the grid, not dropped.
#include "anatomy/ContourRasterizer.h"
#include "dicom/RtStructReader.h"
#include "dicom/SeriesReader.h"

#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <iostream>
#include <set>

using namespace precis;

TEST(RtStruct, ReadsRoisAndContours) {
    PRECIS_REQUIRE_SHARED(file, "conformance/rtstruct-dicompyler/rtss.dcm");
    auto set = dicom::readRtStruct(file);
    ASSERT_TRUE(set) << set.error().message;
    ASSERT_EQ(set->rois.size(), 10u);
    std::size_t contours = 0;
    bool body = false;
    for (const auto& r : set->rois) {
        contours += r.contours.size();
        if (r.name == "BODY") {
            body = true;
            EXPECT_EQ(anatomy::guessStructureKind(r), model::StructureKind::Skin);
        }
        for (const auto& c : r.contours) EXPECT_FALSE(c.pointsLps.empty());
    }
    EXPECT_TRUE(body);
    EXPECT_EQ(contours, 441u); // the data README
    std::set<std::string> drawnOn;
    for (const auto& r : set->rois)
        for (const auto& c : r.contours) drawnOn.insert(c.referencedSopInstanceUids.begin(), c.referencedSopInstanceUids.end());
    // 98 distinct CT images (dcmdump +P 0008,1155 lists 98 image UIDs, each twice: once in the
    // referenced-series list and once under its contours; the data README's "196" counts both).
    EXPECT_EQ(drawnOn.size(), 98u);
    EXPECT_FALSE(set->referencedImageUids.empty());
    EXPECT_FALSE(set->frameOfReferenceUid.empty());
}

TEST(RtStruct, BodyContourLandsOnItsSliceAndMissingSlicesAreReported) {
    PRECIS_REQUIRE_SHARED(dir, "conformance/rtstruct-dicompyler");
    auto set = dicom::readRtStruct(dir / "rtss.dcm");
    auto ct = dicom::loadLargestSeries(dir / "ct.0.dcm");
    ASSERT_TRUE(set && ct);
    const auto& vol = ct->volume;
    ASSERT_EQ(vol.geometry.dims[2], 1);
    const model::ContourRoi* body = nullptr;
    for (const auto& r : set->rois)
        if (r.name == "BODY") body = &r;
    ASSERT_TRUE(body);
    auto raster = anatomy::rasterizeRoi(*body, vol.geometry);
    // BODY has several closed contours in the plane of ct.0 (z = 168.56); all of them are used.
    std::size_t onSlice = 0;
    for (const auto& c : body->contours)
        onSlice += std::abs(c.pointsLps.front().z - vol.geometry.originMm.z) < 0.01;
    EXPECT_GE(onSlice, 1u);
    EXPECT_EQ(raster.contoursUsed, onSlice);
    EXPECT_EQ(raster.contoursUsed + raster.offGrid.size() + raster.nonPlanarSkipped,
              body->contours.size());
    EXPECT_GT(raster.offGrid.size(), 10u) << "contours on the missing slices are reported";

    // Overlap with a body mask of the slice's own pixels (air/body threshold at -500 HU): the
    // outline was drawn on this image, so they must agree closely.
    std::size_t both = 0, ours = 0;
    for (std::size_t i = 0; i < vol.voxels.size(); ++i) {
        bool inBody = vol.voxels[i] > -500;
        ours += inBody;
        both += inBody && raster.mask.voxels[i];
    }
    const double dice = 2.0 * double(both) / double(ours + raster.voxels);
    std::cout << "BODY contour vs body threshold on ct.0: Dice " << dice << " (" << raster.voxels
              << " contour voxels, " << ours << " body voxels, " << raster.offGrid.size()
              << " contours on missing slices)\n";
    RecordProperty("bodyDice", std::to_string(dice));
    EXPECT_GT(dice, 0.9);
}

TEST(RtStruct, NonRtStructFileIsAClearError) {
    PRECIS_REQUIRE_SHARED(file, "conformance/rtstruct-dicompyler/ct.0.dcm");
    auto r = dicom::readRtStruct(file);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::ParseError);
    EXPECT_NE(r.error().message.find("ct.0.dcm"), std::string::npos);
}
