#include "dicom/SeriesReader.h"
#include "dicom/SeriesWriter.h"

#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <fmt/core.h>
#include <glm/gtc/matrix_transform.hpp>

#include <fstream>

using namespace precis;

namespace {

model::Volume testVolume(const glm::dmat3& direction) {
    model::ImageGeometry g;
    g.dims = {17, 13, 9};
    g.spacingMm = {0.78, 0.65, 1.25};
    g.originMm = {150.3, -12.125, -401.5};
    g.direction = direction;
    model::Volume v(g);
    for (std::size_t i = 0; i < v.voxels.size(); ++i)
        v.voxels[i] = static_cast<std::int16_t>(int(i * 37 % 4000) - 1024);
    v.voxels[5] = -32768;
    v.voxels[6] = 32767;
    v.identity.patientName = "ROUND^TRIP";
    v.identity.patientPosition = "HFP";
    return v;
}

void expectSameVolume(const model::Volume& a, const model::Volume& b) {
    ASSERT_EQ(a.geometry.dims, b.geometry.dims);
    EXPECT_TRUE(a.geometry.sameGridAs(b.geometry, 1e-6))
        << "origin " << b.geometry.originMm.x << "," << b.geometry.originMm.y << ","
        << b.geometry.originMm.z;
    EXPECT_EQ(a.voxels, b.voxels);
}

} // namespace

TEST(SeriesRoundTrip, ProneAxialVoxelsAndGeometryAreIdentical) {
    auto dir = test::makeTempDir("dicom-rt");
    auto v = testVolume(glm::dmat3(glm::dvec3(-1, 0, 0), glm::dvec3(0, -1, 0), glm::dvec3(0, 0, 1)));
    auto id = dicom::writeCtSeries(v, {}, dir);
    ASSERT_TRUE(id) << id.error().message;
    auto loaded = dicom::loadLargestSeries(dir);
    ASSERT_TRUE(loaded) << loaded.error().message;
    expectSameVolume(v, loaded->volume);
    EXPECT_TRUE(loaded->report.warnings.empty());
    EXPECT_EQ(loaded->volume.identity.seriesInstanceUid, id->seriesInstanceUid);
    EXPECT_EQ(loaded->volume.identity.frameOfReferenceUid, id->frameOfReferenceUid);
    EXPECT_EQ(loaded->volume.identity.patientName, "ROUND^TRIP");
    EXPECT_EQ(loaded->volume.identity.patientPosition, "HFP");
    EXPECT_EQ(loaded->volume.identity.modality, "CT");
}

TEST(SeriesRoundTrip, ObliqueSeriesKeepsItsDirection) {
    auto dir = test::makeTempDir("dicom-oblique");
    glm::dmat3 r(glm::rotate(glm::rotate(glm::dmat4(1.0), glm::radians(30.0), {0, 0, 1}),
                             glm::radians(20.0), {1, 0, 0}));
    auto v = testVolume(r);
    ASSERT_TRUE(dicom::writeCtSeries(v, {}, dir));
    auto loaded = dicom::loadLargestSeries(dir);
    ASSERT_TRUE(loaded) << loaded.error().message;
    expectSameVolume(v, loaded->volume);
}

TEST(SeriesRoundTrip, SliceOrderComesFromPositionNotFileName) {
    auto dir = test::makeTempDir("dicom-order");
    auto v = testVolume(glm::dmat3(1.0));
    dicom::SeriesWriteOptions o;
    ASSERT_TRUE(dicom::writeCtSeries(v, o, dir));
    // Reverse the file names: CT_0001 <-> CT_0009 ...
    int n = v.geometry.dims[2];
    for (int k = 1; k <= n; ++k)
        std::filesystem::rename(dir / fmt::format("CT_{:04d}.dcm", k), dir / fmt::format("tmp_{:04d}.dcm", n + 1 - k));
    auto loaded = dicom::loadLargestSeries(dir);
    ASSERT_TRUE(loaded);
    expectSameVolume(v, loaded->volume);
}

TEST(SeriesRoundTrip, MissingSliceIsReported) {
    auto dir = test::makeTempDir("dicom-gap");
    auto v = testVolume(glm::dmat3(1.0));
    ASSERT_TRUE(dicom::writeCtSeries(v, {}, dir));
    std::filesystem::remove(dir / "CT_0005.dcm");
    auto loaded = dicom::loadLargestSeries(dir);
    ASSERT_TRUE(loaded);
    bool found = false;
    for (auto& w : loaded->report.warnings)
        if (w.code == "missing-slice") {
            found = true;
            EXPECT_EQ(w.files.size(), 2u);
        }
    EXPECT_TRUE(found);
}

TEST(SeriesRoundTrip, TruncatedSliceFailsNamingTheFile) {
    auto dir = test::makeTempDir("dicom-trunc");
    auto v = testVolume(glm::dmat3(1.0));
    ASSERT_TRUE(dicom::writeCtSeries(v, {}, dir));
    auto victim = dir / "CT_0003.dcm";
    auto size = std::filesystem::file_size(victim);
    std::filesystem::resize_file(victim, size - 100);
    auto loaded = dicom::loadLargestSeries(dir);
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message.find("CT_0003.dcm"), std::string::npos) << loaded.error().message;
}

TEST(SeriesRoundTrip, FolderWithoutDicomIsNotFound) {
    auto dir = test::makeTempDir("dicom-none");
    std::ofstream(dir / "readme.txt") << "not dicom";
    auto r = dicom::loadLargestSeries(dir);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::NotFound);
    EXPECT_FALSE(r.error().message.empty());
    auto missing = dicom::scanSeries(dir / "nope");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
}
