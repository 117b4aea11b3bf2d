// Real third-party DICOM from ../shared/data, checked against the independent pydicom reference
// (../shared/peers/dicom_truth/dicom_truth.py). Required in CI; skipped elsewhere when absent.
#include "dicom/SeriesReader.h"

#include "support/TestSupport.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>

using namespace precis;
namespace fs = std::filesystem;

namespace {

nlohmann::json runDicomTruth(const fs::path& dir, bool pixels = false) {
    fs::path script = test::sharedDir() / "peers/dicom_truth/dicom_truth.py";
    std::string cmd = "/usr/bin/python3 '" + script.string() + "' '" + dir.string() + "'" +
                      (pixels ? "" : " --no-pixels") + " 2>/dev/null";
    return nlohmann::json::parse(test::runShell(cmd), nullptr, false);
}

/// dims, spacing, origin and direction of a loaded volume against one dicom_truth.py series.
void expectSameGeometry(const model::ImageGeometry& g, const nlohmann::json& ref) {
    for (int a = 0; a < 3; ++a) {
        EXPECT_EQ(g.dims[a], ref["dims"][a].get<int>());
        EXPECT_NEAR(g.spacingMm[a], ref["spacingMm"][a].get<double>(), 1e-6);
        EXPECT_NEAR(g.originMm[a], ref["originMm"][a].get<double>(), 1e-6);
    }
    for (int c = 0; c < 3; ++c)
        for (int r = 0; r < 3; ++r)
            EXPECT_NEAR(g.direction[c][r], ref["direction"][c * 3 + r].get<double>(), 1e-9);
}

} // namespace

TEST(SharedData, PancreaticCtMatchesPydicomReference) {
    PRECIS_REQUIRE_SHARED(dir, "ct/pancreatic-ct-cbct-seg_001_subset");
    auto truth = runDicomTruth(dir);
    ASSERT_TRUE(truth.is_object() && !truth["series"].empty())
        << "dicom_truth.py gave no result (is python3-pydicom installed? scripts/setup.sh installs it)";
    const auto& ref = truth["series"][0];
    auto loaded = dicom::loadLargestSeries(dir);
    ASSERT_TRUE(loaded) << loaded.error().message;
    const auto& g = loaded->volume.geometry;
    expectSameGeometry(g, ref);
    auto [lo, hi] = std::minmax_element(loaded->volume.voxels.begin(), loaded->volume.voxels.end());
    EXPECT_EQ(*lo, -1000); // README of the data: HU -1000..1365
    EXPECT_EQ(*hi, 1365);
    EXPECT_EQ(loaded->volume.identity.modality, "CT");
}

// Every series under ct/ (the J2K one included: empty Series Instance UID, OpenJPEG decode) must
// match the pydicom reference in geometry and HU range.
TEST(SharedData, EveryCtSeriesMatchesPydicomReference) {
    PRECIS_REQUIRE_SHARED(root, "ct");
    int checked = 0;
    for (const auto& entry : fs::directory_iterator(root)) {
        if (!entry.is_directory()) continue;
        const fs::path dir = entry.path();
        SCOPED_TRACE(dir.filename().string());
        auto truth = runDicomTruth(dir, /*pixels=*/true);
        ASSERT_TRUE(truth.is_object() && !truth["series"].empty())
            << "dicom_truth.py gave no result for " << dir;
        const auto& ref = truth["series"][0];
        auto loaded = dicom::loadLargestSeries(dir);
        ASSERT_TRUE(loaded) << loaded.error().message;
        const auto& g = loaded->volume.geometry;
        expectSameGeometry(g, ref);
        if (ref["huRange"].is_array()) {
            auto [lo, hi] =
                std::minmax_element(loaded->volume.voxels.begin(), loaded->volume.voxels.end());
            EXPECT_EQ(*lo, ref["huRange"][0].get<double>());
            EXPECT_EQ(*hi, ref["huRange"][1].get<double>());
        } else {
            // pydicom needs Pillow's OpenJPEG for J2K (scripts/setup.sh installs python3-pil).
            EXPECT_FALSE(test::inCi()) << "dicom_truth.py decoded no pixels: " << ref["warnings"];
        }
        bool emptyUidReported = false;
        for (const auto& w : loaded->report.warnings)
            emptyUidReported |= w.code == "empty-series-uid";
        EXPECT_EQ(emptyUidReported, ref["seriesInstanceUID"].get<std::string>().empty());
        ++checked;
    }
    EXPECT_GE(checked, 2);
}

TEST(SharedData, LosslessTransferSyntaxesDecodeIdentically) {
    PRECIS_REQUIRE_SHARED(dir, "conformance/ct-image-transfer-syntaxes");
    auto reference = dicom::loadLargestSeries(dir / "CTImage.dcm");
    ASSERT_TRUE(reference) << reference.error().message;
    for (const char* ts : {"LittleEndianExplicitTransferSyntax_1.2.840.10008.1.2.1",
                           "LittleEndianImplicitTransferSyntax_1.2.840.10008.1.2",
                           "BigEndianExplicitTransferSyntax_1.2.840.10008.1.2.2",
                           "DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99",
                           "RLELosslessTransferSyntax_1.2.840.10008.1.2.5",
                           "JPEGProcess14TransferSyntax_1.2.840.10008.1.2.4.57",
                           "JPEGProcess14SV1TransferSyntax_1.2.840.10008.1.2.4.70",
                           "JPEGLSLosslessTransferSyntax_1.2.840.10008.1.2.4.80",
                           "JPEG2000LosslessOnlyTransferSyntax_1.2.840.10008.1.2.4.90"}) {
        auto file = dir / (std::string("CTImage.dcm_") + ts + ".dcm");
        auto v = dicom::loadLargestSeries(file);
        ASSERT_TRUE(v) << ts << ": " << v.error().message;
        EXPECT_EQ(v->volume.voxels, reference->volume.voxels) << ts;
        EXPECT_TRUE(v->volume.geometry.sameGridAs(reference->volume.geometry)) << ts;
    }
}

TEST(SharedData, LossyJpegUsesTheDecodedFilesRescale) {
    PRECIS_REQUIRE_SHARED(dir, "conformance/ct-image-transfer-syntaxes");
    auto reference = dicom::loadLargestSeries(dir / "CTImage.dcm");
    auto lossy = dicom::loadLargestSeries(
        dir / "CTImage.dcm_JPEGProcess2_4TransferSyntax_1.2.840.10008.1.2.4.51.dcm");
    ASSERT_TRUE(reference && lossy);
    // The encoder rewrote the rescale to 2.0002 / -4047; applying it gives HU within ~36 of the
    // original (data README: max error 35.6, mean 3.8).
    double sum = 0;
    int worst = 0;
    for (std::size_t i = 0; i < reference->volume.voxels.size(); ++i) {
        int d = std::abs(int(reference->volume.voxels[i]) - int(lossy->volume.voxels[i]));
        worst = std::max(worst, d);
        sum += d;
    }
    EXPECT_LE(worst, 40);
    EXPECT_LT(sum / reference->volume.voxels.size(), 6.0);
}

TEST(SharedData, UndecodableEncodingGivesAClearError) {
    PRECIS_REQUIRE_SHARED(file, "conformance/pydicom-edge-cases/HTJ2K_08_RGB.dcm");
    auto r = dicom::loadLargestSeries(file);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("HTJ2K_08_RGB.dcm"), std::string::npos) << r.error().message;
}
