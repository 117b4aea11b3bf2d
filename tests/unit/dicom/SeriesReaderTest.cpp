// Synthetic series written with dicom::writeCtSeries and then edited with DCMTK: stack splitting,
// geometry checks, LoadOptions resampling, pixel padding, DICOMDIR, object kinds, cancel.
#include "dicom/SeriesReader.h"

#include "dicom/SeriesWriter.h"
#include "support/TestSupport.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcddirif.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

using namespace precis;
namespace fs = std::filesystem;

namespace {

/// 16x12 pixels, `slices` slices of 2 mm, axial; voxel value = 10*k + i (a ramp along z and x).
model::Volume rampVolume(int slices = 8) {
    model::ImageGeometry g;
    g.dims = {16, 12, slices};
    g.spacingMm = {0.5, 0.5, 2.0};
    g.originMm = {-4.0, -3.0, 100.0};
    model::Volume v(g);
    for (int k = 0; k < slices; ++k)
        for (int j = 0; j < g.dims[1]; ++j)
            for (int i = 0; i < g.dims[0]; ++i) v.at(i, j, k) = static_cast<std::int16_t>(10 * k + i);
    return v;
}

fs::path writeRamp(const std::string& name, int slices = 8) {
    auto dir = test::makeTempDir(name);
    auto id = dicom::writeCtSeries(rampVolume(slices), {}, dir);
    EXPECT_TRUE(id) << id.error().message;
    return dir;
}

fs::path slice(const fs::path& dir, int k) { return dir / fmt::format("CT_{:04d}.dcm", k + 1); }

/// Loads a file, lets `edit` change its dataset, saves it in place.
void editFile(const fs::path& file, const std::function<void(DcmDataset&)>& edit) {
    DcmFileFormat ff;
    ASSERT_TRUE(ff.loadFile(file.c_str()).good()) << file;
    edit(*ff.getDataset());
    ASSERT_TRUE(ff.saveFile(file.c_str(), EXS_LittleEndianExplicit).good()) << file;
}

void setPosition(const fs::path& file, double x, double y, double z) {
    editFile(file, [&](DcmDataset& d) {
        d.putAndInsertString(DCM_ImagePositionPatient, fmt::format("{}\\{}\\{}", x, y, z).c_str());
    });
}

bool hasWarning(const model::ImportReport& r, const std::string& code) {
    return std::any_of(r.warnings.begin(), r.warnings.end(),
                       [&](const auto& w) { return w.code == code; });
}

} // namespace

TEST(SeriesReader, ScanGivesIdentityKindAndMiddleThumbnail) {
    auto dir = writeRamp("dicom-scan", 9);
    auto s = dicom::scanSeries(dir);
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_EQ(s->size(), 1u);
    const auto& series = s->front();
    EXPECT_EQ(series.kind, "image");
    EXPECT_EQ(series.imageCount, 9);
    EXPECT_EQ(series.patientId, "PRECIS");
    EXPECT_EQ(series.sopClassUid, UID_CTImageStorage);
    EXPECT_EQ(series.thumbnailFile.filename(), "CT_0005.dcm"); // the middle one of 9 along z
}

TEST(SeriesReader, StacksSplitOnOrientationSpacingAndMatrix) {
    auto dir = writeRamp("dicom-split", 8);
    editFile(slice(dir, 0), [](DcmDataset& d) {
        d.putAndInsertString(DCM_ImageOrientationPatient, "0\\1\\0\\0\\0\\-1");
    });
    editFile(slice(dir, 1), [](DcmDataset& d) { d.putAndInsertString(DCM_PixelSpacing, "0.7\\0.7"); });
    editFile(slice(dir, 2), [](DcmDataset& d) {
        d.putAndInsertString(DCM_ImageType, "ORIGINAL\\PRIMARY\\LOCALIZER");
    });
    auto s = dicom::scanSeries(dir);
    ASSERT_TRUE(s);
    ASSERT_EQ(s->size(), 3u); // the 6 regular slices (5 + localiser), the sagittal one, the 0.7 mm one
    EXPECT_EQ(s->front().imageCount, 6);
    auto loaded = dicom::loadSeries(s->front());
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_EQ(loaded->volume.geometry.dims[2], 5);
    EXPECT_TRUE(hasWarning(loaded->report, "localizer-excluded"));
}

TEST(SeriesReader, DuplicateGapNonUniformAndTiltAreReported) {
    {
        auto dir = writeRamp("dicom-dup");
        setPosition(slice(dir, 4), -4.0, -3.0, 106.0); // same as slice 3
        auto r = dicom::loadLargestSeries(dir);
        ASSERT_TRUE(r);
        EXPECT_TRUE(hasWarning(r->report, "duplicate-position"));
    }
    {
        auto dir = writeRamp("dicom-nonuniform");
        setPosition(slice(dir, 7), -4.0, -3.0, 114.5); // last gap 2.5 mm instead of 2
        auto r = dicom::loadLargestSeries(dir);
        ASSERT_TRUE(r);
        EXPECT_TRUE(hasWarning(r->report, "non-uniform-spacing"));
        EXPECT_FALSE(hasWarning(r->report, "missing-slice"));
        EXPECT_FALSE(hasWarning(r->report, "resampled"));
        EXPECT_EQ(r->volume.geometry.dims[2], 8);
    }
    {
        auto dir = writeRamp("dicom-tilt");
        // Shear: slice k shifted 0.5 mm per slice along y (tilt atan(0.5/2) = 14.04 degrees).
        for (int k = 0; k < 8; ++k) setPosition(slice(dir, k), -4.0, -3.0 + 0.5 * k, 100.0 + 2.0 * k);
        auto r = dicom::loadLargestSeries(dir);
        ASSERT_TRUE(r);
        EXPECT_TRUE(hasWarning(r->report, "gantry-tilt"));
        EXPECT_FALSE(hasWarning(r->report, "tilt-corrected"));
        EXPECT_NEAR(r->volume.geometry.spacingMm.z, 2.0, 1e-9);
    }
}

TEST(SeriesReader, ResampleToUniformFillsAGapOnlyWhenAsked) {
    auto dir = writeRamp("dicom-resample", 8);
    fs::remove(slice(dir, 3)); // z = 106 missing: gap of 4 mm
    auto plain = dicom::loadLargestSeries(dir);
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->volume.geometry.dims[2], 7);
    EXPECT_TRUE(hasWarning(plain->report, "missing-slice"));
    dicom::LoadOptions o;
    o.resampleToUniform = true;
    auto r = dicom::loadLargestSeries(dir, o);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->volume.geometry.dims[2], 8);
    EXPECT_NEAR(r->volume.geometry.spacingMm.z, 2.0, 1e-9);
    EXPECT_TRUE(hasWarning(r->report, "resampled"));
    // Linear in z: the interpolated slice holds exactly the ramp value 10*3 + i.
    for (int k = 0; k < 8; ++k)
        for (int i = 0; i < 16; ++i) EXPECT_EQ(r->volume.at(i, 5, k), 10 * k + i) << k << "," << i;
}

TEST(SeriesReader, CorrectTiltShiftsSlicesOntoAnOrthogonalGrid) {
    auto dir = writeRamp("dicom-tiltfix", 6);
    // Slice k moved +1 mm (2 pixels) per slice along x: world x of pixel i is -4 + k + 0.5 i.
    for (int k = 0; k < 6; ++k) setPosition(slice(dir, k), -4.0 + 1.0 * k, -3.0, 100.0 + 2.0 * k);
    dicom::LoadOptions o;
    o.correctTilt = true;
    auto r = dicom::loadLargestSeries(dir, o);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(hasWarning(r->report, "tilt-corrected"));
    EXPECT_FALSE(hasWarning(r->report, "gantry-tilt"));
    const auto& g = r->volume.geometry;
    EXPECT_NEAR(g.originMm.x, -4.0, 1e-9);
    // Output voxel i of slice k lies at x = -4 + 0.5 i, i.e. acquired pixel i - 2k: value
    // 10k + i - 2k; outside the acquired field: air.
    for (int k = 0; k < 6; ++k)
        for (int i = 0; i < 16; ++i) {
            int src = i - 2 * k;
            int want = src >= 0 ? 10 * k + src : -1024;
            EXPECT_EQ(r->volume.at(i, 4, k), want) << k << "," << i;
        }
}

TEST(SeriesReader, PixelPaddingBecomesAirAndIsReported) {
    auto dir = writeRamp("dicom-padding", 4);
    for (int k = 0; k < 4; ++k)
        editFile(slice(dir, k), [](DcmDataset& d) {
            d.putAndInsertSint16(DCM_PixelPaddingValue, 3);
            d.putAndInsertSint16(DCM_PixelPaddingRangeLimit, 5);
        });
    auto r = dicom::loadLargestSeries(dir);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(hasWarning(r->report, "pixel-padding"));
    // Slice 0 holds i = 0..15: stored 3, 4, 5 are padding.
    EXPECT_EQ(r->volume.at(2, 0, 0), 2);
    EXPECT_EQ(r->volume.at(3, 0, 0), -1024);
    EXPECT_EQ(r->volume.at(5, 0, 0), -1024);
    EXPECT_EQ(r->volume.at(6, 0, 0), 6);
    EXPECT_EQ(r->volume.at(3, 0, 1), 13);
}

TEST(SeriesReader, NonCtValuesAreNotCalledHu) {
    auto dir = writeRamp("dicom-mr", 3);
    for (int k = 0; k < 3; ++k)
        editFile(slice(dir, k), [](DcmDataset& d) {
            d.putAndInsertString(DCM_Modality, "MR");
            d.putAndInsertString(DCM_SOPClassUID, UID_MRImageStorage);
        });
    auto r = dicom::loadLargestSeries(dir);
    ASSERT_TRUE(r);
    EXPECT_TRUE(hasWarning(r->report, "values-not-hu"));
    EXPECT_EQ(r->volume.at(7, 0, 2), 27);
}

TEST(SeriesReader, NonImageObjectsAreListedByKind) {
    auto dir = writeRamp("dicom-kinds", 3);
    auto addObject = [&](const char* name, const char* sopClass, const char* modality) {
        DcmFileFormat ff;
        DcmDataset& d = *ff.getDataset();
        d.putAndInsertString(DCM_SOPClassUID, sopClass);
        d.putAndInsertString(DCM_SOPInstanceUID, dicom::newUid().c_str());
        d.putAndInsertString(DCM_SeriesInstanceUID, dicom::newUid().c_str());
        d.putAndInsertString(DCM_Modality, modality);
        ASSERT_TRUE(ff.saveFile((dir / name).c_str(), EXS_LittleEndianExplicit).good());
    };
    addObject("sr.dcm", UID_BasicTextSRStorage, "SR");
    addObject("seg.dcm", UID_SegmentationStorage, "SEG");
    addObject("pr.dcm", UID_GrayscaleSoftcopyPresentationStateStorage, "PR");
    addObject("rts.dcm", UID_RTStructureSetStorage, "RTSTRUCT");
    auto s = dicom::scanSeries(dir);
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_EQ(s->size(), 5u);
    EXPECT_EQ(s->front().kind, "image");
    std::vector<std::string> kinds;
    for (std::size_t i = 1; i < s->size(); ++i) kinds.push_back((*s)[i].kind);
    std::sort(kinds.begin(), kinds.end());
    EXPECT_EQ(kinds, (std::vector<std::string>{"presentation-state", "rtstruct", "seg", "sr"}));
    EXPECT_TRUE(s->front().scanWarnings.empty());
    EXPECT_TRUE(dicom::loadLargestSeries(dir));
}

TEST(SeriesReader, DicomDirReferencesAreResolved) {
    auto dir = test::makeTempDir("dicom-dicomdir");
    auto v = rampVolume(5);
    dicom::SeriesWriteOptions o;
    ASSERT_TRUE(dicom::writeCtSeries(v, o, dir / "tmp"));
    // DICOMDIR file IDs are ISO 9660 names: upper case, 8 characters, no extension.
    fs::create_directories(dir / "IMAGES");
    for (int k = 0; k < 5; ++k)
        fs::rename(dir / "tmp" / fmt::format("CT_{:04d}.dcm", k + 1),
                   dir / "IMAGES" / fmt::format("IM{:06d}", k));
    fs::remove_all(dir / "tmp");
    {
        DicomDirInterface ddir;
        ddir.enableInventMode(OFTrue);
        ASSERT_TRUE(ddir.createNewDicomDir(DicomDirInterface::AP_GeneralPurpose,
                                           (dir / "DICOMDIR").c_str())
                        .good());
        for (int k = 0; k < 5; ++k)
            ASSERT_TRUE(ddir.addDicomFile(fmt::format("IMAGES/IM{:06d}", k).c_str(), dir.c_str())
                            .good());
        ASSERT_TRUE(ddir.writeDicomDir().good());
    }
    // Only the DICOMDIR's records count: an unreferenced file beside it is not picked up.
    fs::copy_file(dir / "IMAGES/IM000000", dir / "IMAGES/EXTRA");
    auto s = dicom::scanSeries(dir / "DICOMDIR");
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_EQ(s->size(), 1u);
    EXPECT_EQ(s->front().imageCount, 5);
    auto r = dicom::loadLargestSeries(dir / "DICOMDIR");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->volume.voxels, v.voxels);
    // Scanning the folder itself skips the DICOMDIR silently (no warning, no "other" object).
    auto folder = dicom::scanSeries(dir);
    ASSERT_TRUE(folder);
    ASSERT_EQ(folder->size(), 1u);
    EXPECT_TRUE(folder->front().scanWarnings.empty());
}

TEST(SeriesReader, CancelReturnsCancelled) {
    auto dir = writeRamp("dicom-cancel", 6);
    CancelToken token;
    token.cancel();
    Progress progress([](double, std::string_view) {}, &token);
    auto r = dicom::loadLargestSeries(dir, progress);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::Cancelled);
    // Cancelled in the middle of decoding.
    CancelToken later;
    Progress midway([&](double f, std::string_view) { if (f > 0.3) later.cancel(); }, &later);
    auto s = dicom::scanSeries(dir);
    ASSERT_TRUE(s);
    auto r2 = dicom::loadSeries(s->front(), midway);
    ASSERT_FALSE(r2);
    EXPECT_EQ(r2.error().code, ErrorCode::Cancelled);
}
