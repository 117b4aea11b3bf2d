// The DICOM conformance and robustness files in ../shared/data/conformance (see its README):
// encodings, multi-frame, bit layouts, non-image objects, broken and truncated files.
#include "dicom/SeriesReader.h"

#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>

using namespace precis;
namespace fs = std::filesystem;

namespace {

bool hasWarning(const model::ImportReport& r, const std::string& code) {
    return std::any_of(r.warnings.begin(), r.warnings.end(),
                       [&](const auto& w) { return w.code == code; });
}

std::vector<char> readBytes(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Loads `bytes[0, length)` as a file; must succeed or fail with a message naming it.
void expectCleanOutcome(const std::vector<char>& bytes, std::size_t length, const fs::path& file) {
    {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(length));
    }
    auto r = dicom::loadLargestSeries(file);
    if (!r) {
        EXPECT_FALSE(r.error().message.empty()) << "prefix " << length;
        EXPECT_NE(r.error().message.find(file.filename().string()), std::string::npos)
            << "prefix " << length << ": " << r.error().message;
    }
}

} // namespace

// Every file under conformance/ and ct/ either loads or fails with a message naming the file,
// never a crash. Files the README says are decodable must load.
TEST(Conformance, EveryFileLoadsOrFailsNamingIt) {
    PRECIS_REQUIRE_SHARED(conformance, "conformance");
    PRECIS_REQUIRE_SHARED(ct, "ct");
    const std::vector<std::string> mustLoad = {
        "CTImage.dcm_JPEG2000LosslessOnlyTransferSyntax_1.2.840.10008.1.2.4.90.dcm",
        "CTImage.dcm_JPEG2000TransferSyntax_1.2.840.10008.1.2.4.91.dcm",
        "CT1_J2KR", "CT1_J2KI", "CT1_UNC", "CT1_RLE", "CT1_JPLL", "CT1_JLSL", "CT1_JLSN",
        "MR_small_jp2klossless.dcm", "J2K_pixelrep_mismatch.dcm", "explicit_VR-UN.dcm",
        "CT_small.dcm",
        "CT0012.explicit_little_endian.dcm", "CT0012.not_fragmented_bot_rle.dcm",
        "CT0012.fragmented_no_bot_jpeg_ls.80.dcm", "CT0012.fragmented_no_bot_jpeg_baseline.51.dcm",
        "12bitSigned_0x0F0F.dcm", "ct.0.dcm"};
    std::ofstream log(test::outputDir("dicom") / "every-file.txt");
    int files = 0, loaded = 0;
    for (const fs::path& root : {conformance, ct}) {
        for (const auto& entry : fs::recursive_directory_iterator(root)) {
            if (!entry.is_regular_file()) continue;
            const fs::path file = entry.path();
            ++files;
            auto r = dicom::loadLargestSeries(file);
            if (r) {
                ++loaded;
                const auto& g = r->volume.geometry;
                log << "OK    " << file.filename().string() << " " << g.dims[0] << "x" << g.dims[1]
                    << "x" << g.dims[2] << "\n";
                EXPECT_TRUE(g.hasOrthonormalDirection(1e-6)) << file;
                EXPECT_EQ(r->volume.voxels.size(), g.voxelCount()) << file;
            } else {
                log << "ERROR " << file.filename().string() << " [" << toString(r.error().code)
                    << "] " << r.error().message << "\n";
                EXPECT_FALSE(r.error().message.empty()) << file;
                EXPECT_NE(r.error().message.find(file.filename().string()), std::string::npos)
                    << r.error().message;
                EXPECT_EQ(std::count(mustLoad.begin(), mustLoad.end(), file.filename().string()),
                          0)
                    << file << " must load: " << r.error().message;
            }
        }
    }
    EXPECT_GT(files, 200);
    EXPECT_GT(loaded, 150);
}

TEST(Conformance, Jpeg2000DecodesLikeTheUncompressedOriginal) {
    PRECIS_REQUIRE_SHARED(wg04, "conformance/nema-wg04-ct1");
    auto reference = dicom::loadLargestSeries(wg04 / "CT1_UNC");
    auto j2kr = dicom::loadLargestSeries(wg04 / "CT1_J2KR");
    auto j2ki = dicom::loadLargestSeries(wg04 / "CT1_J2KI");
    ASSERT_TRUE(reference && j2kr && j2ki);
    EXPECT_EQ(j2kr->volume.voxels, reference->volume.voxels);
    EXPECT_TRUE(j2kr->volume.geometry.sameGridAs(reference->volume.geometry));
    // J2KI is very lossy (14 KB): close on average inside the scanned field (its padding ring is
    // no longer exactly the Pixel Padding Value, so only the original's unpadded pixels count).
    double sum = 0;
    std::size_t count = 0;
    for (std::size_t i = 0; i < reference->volume.voxels.size(); ++i) {
        if (reference->volume.voxels[i] <= -1024) continue;
        sum += std::abs(int(reference->volume.voxels[i]) - int(j2ki->volume.voxels[i]));
        ++count;
    }
    ASSERT_GT(count, 100000u);
    EXPECT_LT(sum / double(count), 40.0);
    EXPECT_TRUE(hasWarning(reference->report, "pixel-padding"));
    EXPECT_TRUE(j2ki->volume.geometry.sameGridAs(reference->volume.geometry));
    EXPECT_TRUE(hasWarning(j2ki->report, "lossy-compression"));

    PRECIS_REQUIRE_SHARED(edge, "conformance/pydicom-edge-cases");
    auto mr = dicom::loadLargestSeries(edge / "MR_small.dcm");
    auto mrJ2k = dicom::loadLargestSeries(edge / "MR_small_jp2klossless.dcm");
    ASSERT_TRUE(mr && mrJ2k);
    EXPECT_EQ(mrJ2k->volume.voxels, mr->volume.voxels);
    EXPECT_TRUE(hasWarning(mr->report, "values-not-hu"));
}

// J2K says unsigned 13-bit, Pixel Representation says signed: read as signed (pydicom with
// Pillow/OpenJPEG gives -2000 .. 1896).
TEST(Conformance, Jpeg2000PixelRepresentationMismatch) {
    PRECIS_REQUIRE_SHARED(file, "conformance/pydicom-edge-cases/J2K_pixelrep_mismatch.dcm");
    auto r = dicom::loadLargestSeries(file);
    ASSERT_TRUE(r) << r.error().message;
    auto [lo, hi] = std::minmax_element(r->volume.voxels.begin(), r->volume.voxels.end());
    EXPECT_EQ(*lo, -2000);
    EXPECT_EQ(*hi, 1896);
    EXPECT_TRUE(hasWarning(r->report, "j2k-sign-mismatch"));
}

// 12 bits stored in 16 with garbage high bits: masked (unsigned) or sign-extended from bit 11
// (signed). dcm2niix's Ref/N.nii holds the mosaic's 64x64 tiles as slices, rows flipped.
TEST(Conformance, TwelveBitStoredMatchesDcm2niixReference) {
    PRECIS_REQUIRE_SHARED(dir, "conformance/dcm_qa_12bit");
    const std::pair<const char*, const char*> cases[] = {
        {"12bitUnsigned.dcm", "2.nii"}, {"12bitUnsigned_0x0F0F.dcm", "3.nii"},
        {"12bitSigned_0x0F0F.dcm", "4.nii"}};
    for (auto [dcm, nii] : cases) {
        SCOPED_TRACE(dcm);
        auto r = dicom::loadLargestSeries(dir / "In" / dcm);
        ASSERT_TRUE(r) << r.error().message;
        ASSERT_EQ(r->volume.geometry.dims, (std::array<int, 3>{384, 384, 1}));
        auto bytes = readBytes(dir / "Ref" / nii);
        ASSERT_EQ(bytes.size(), 352u + 64 * 64 * 35 * 2);
        const auto* ref = reinterpret_cast<const std::int16_t*>(bytes.data() + 352);
        std::size_t mismatches = 0;
        for (int z = 0; z < 35; ++z)
            for (int y = 0; y < 64; ++y)
                for (int x = 0; x < 64; ++x) {
                    int row = (z / 6) * 64 + (63 - y), col = (z % 6) * 64 + x;
                    std::int16_t mine = r->volume.at(col, row, 0);
                    std::int16_t want = 0;
                    std::memcpy(&want, ref + (z * 64 + y) * 64 + x, 2);
                    mismatches += mine != want;
                }
        EXPECT_EQ(mismatches, 0u);
    }
}

// Enhanced CT: per-frame positions from the functional groups, spacing from the shared groups,
// rescale from the Pixel Value Transformation Sequence; every lossless encoding gives the same.
TEST(Conformance, EnhancedCtMultiFrameBecomesSlices) {
    PRECIS_REQUIRE_SHARED(dir, "conformance/encapsulation-and-multiframe/enhanced-ct-multiframe-ct0012");
    auto reference = dicom::loadLargestSeries(dir / "CT0012.explicit_little_endian.dcm");
    ASSERT_TRUE(reference) << reference.error().message;
    const auto& g = reference->volume.geometry;
    EXPECT_EQ(g.dims, (std::array<int, 3>{512, 512, 2}));
    EXPECT_NEAR(g.spacingMm.x, 0.388672, 1e-6);
    EXPECT_NEAR(g.spacingMm.z, 10.0, 1e-6);
    // Slices follow the normal; the two frames sit at z -159 and -149 (README 2.3).
    double z0 = g.worldFromIndex({0, 0, 0}).z, z1 = g.worldFromIndex({0, 0, 1}).z;
    EXPECT_NEAR(std::min(z0, z1), -159.0, 1e-6);
    EXPECT_NEAR(std::max(z0, z1), -149.0, 1e-6);
    EXPECT_TRUE(hasWarning(reference->report, "multi-frame"));
    auto [lo, hi] = std::minmax_element(reference->volume.voxels.begin(), reference->volume.voxels.end());
    EXPECT_EQ(*lo, -1024); // pydicom: stored 0..1196, intercept -1024 from the shared groups
    EXPECT_EQ(*hi, 172);
    for (const char* f : {"CT0012.not_fragmented_bot_rle.dcm", "CT0012.not_fragmented_no_bot_rle.dcm",
                          "CT0012.fragmented_no_bot_jpeg_lossless.57.dcm",
                          "CT0012.fragmented_no_bot_jpeg_lossless.70.dcm",
                          "CT0012.fragmented_no_bot_jpeg_ls.80.dcm",
                          "CT0012.not_fragmented_bot_jpeg_ls.80.dcm",
                          "CT0012.not_fragmented_no_bot_jpeg_ls.80.dcm"}) {
        auto v = dicom::loadLargestSeries(dir / f);
        ASSERT_TRUE(v) << f << ": " << v.error().message;
        EXPECT_EQ(v->volume.voxels, reference->volume.voxels) << f;
        EXPECT_TRUE(v->volume.geometry.sameGridAs(g)) << f;
    }
    // Known-bad upstream lossy file: decodes, values not checked (README 2.3).
    EXPECT_TRUE(dicom::loadLargestSeries(dir / "CT0012.fragmented_no_bot_jpeg_baseline.51.dcm"));

    // Enhanced MR whose functional groups carry no Plane Position: cannot be placed, clean error.
    PRECIS_REQUIRE_SHARED(emri, "conformance/pydicom-edge-cases/emri_small.dcm");
    auto mr = dicom::loadLargestSeries(emri);
    ASSERT_FALSE(mr);
    EXPECT_NE(mr.error().message.find("emri_small.dcm"), std::string::npos);
}

TEST(Conformance, NonImageObjectsAreListedNotErrors) {
    PRECIS_REQUIRE_SHARED(rt, "conformance/rtstruct-dicompyler");
    auto s = dicom::scanSeries(rt);
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_EQ(s->size(), 2u);
    EXPECT_EQ((*s)[0].kind, "image");
    EXPECT_EQ((*s)[0].imageCount, 1);
    EXPECT_EQ((*s)[0].thumbnailFile.filename(), "ct.0.dcm");
    EXPECT_EQ((*s)[1].kind, "rtstruct");
    EXPECT_TRUE((*s)[0].scanWarnings.empty());
    auto notImage = dicom::loadSeries((*s)[1]);
    ASSERT_FALSE(notImage);
    EXPECT_EQ(notImage.error().code, ErrorCode::Unsupported);
    EXPECT_NE(notImage.error().message.find("rtss.dcm"), std::string::npos);

    PRECIS_REQUIRE_SHARED(edge, "conformance/pydicom-edge-cases");
    for (auto [file, kind] : {std::pair{"rtstruct.dcm", "rtstruct"}, {"rtdose.dcm", "rtdose"}}) {
        auto one = dicom::scanSeries(edge / file);
        ASSERT_TRUE(one) << file;
        ASSERT_EQ(one->size(), 1u);
        EXPECT_EQ(one->front().kind, kind);
        EXPECT_TRUE(one->front().scanWarnings.empty());
    }
}

TEST(Conformance, UndecodableAndBrokenFilesGiveClearErrors) {
    PRECIS_REQUIRE_SHARED(edge, "conformance/pydicom-edge-cases");
    auto htj2k = dicom::loadLargestSeries(edge / "HTJ2K_08_RGB.dcm");
    ASSERT_FALSE(htj2k);
    EXPECT_EQ(htj2k.error().code, ErrorCode::UnsupportedEncoding);
    EXPECT_NE(htj2k.error().message.find("1.2.840.10008.1.2.4.20"), std::string::npos)
        << htj2k.error().message;
    auto tooShort = dicom::loadLargestSeries(edge / "emri_small_jpeg_2k_lossless_too_short.dcm");
    ASSERT_FALSE(tooShort);
    EXPECT_NE(tooShort.error().message.find("too_short"), std::string::npos);
    auto truncated = dicom::loadLargestSeries(edge / "MR_truncated.dcm");
    ASSERT_FALSE(truncated);
    EXPECT_EQ(truncated.error().code, ErrorCode::ParseError);
}

// Every prefix of a small file, and ~200 prefixes of a large uncompressed and a J2K file.
TEST(Conformance, TruncatedCopiesNeverCrash) {
    PRECIS_REQUIRE_SHARED(small, "conformance/pydicom-edge-cases/CT_small.dcm");
    PRECIS_REQUIRE_SHARED(large, "ct/pancreatic-ct-cbct-seg_001_subset/1-103.dcm");
    PRECIS_REQUIRE_SHARED(j2k, "conformance/nema-wg04-ct1/CT1_J2KR");
    auto dir = test::makeTempDir("dicom-prefix");
    const fs::path file = dir / "prefix.dcm";
    auto bytes = readBytes(small);
    const std::size_t step = std::getenv("PRECIS_FULL_PREFIX_SWEEP") ? 1 : 7;
    for (std::size_t len = 0; len < bytes.size(); len += step) expectCleanOutcome(bytes, len, file);
    for (const fs::path& big : {large, j2k}) {
        bytes = readBytes(big);
        std::mt19937 rng(7);
        std::uniform_int_distribution<std::size_t> pick(0, bytes.size() - 1);
        for (int i = 0; i < 200; ++i) expectCleanOutcome(bytes, pick(rng), file);
    }
    fs::remove_all(dir);
}
