// The phantom through the engine: DICOM write -> read is lossless, labels survive NRRD, and the
// bone iso-surface matches the bone labels.
#include "anatomy/IsoSurface.h"
#include "anatomy/LabelMapFile.h"
#include "dicom/SeriesReader.h"
#include "dicom/SeriesWriter.h"
#include "core/Assert.h"
#include "phantom/LumbarPhantom.h"

#include "support/TestSupport.h"

#include <gtest/gtest.h>

using namespace precis;

namespace {
const phantom::Phantom& defaultPhantom() {
    static const phantom::Phantom p = [] {
        auto r = phantom::makeLumbarPhantom({});
        PRECIS_ASSERT(r.has_value(), "phantom generation failed");
        return std::move(*r);
    }();
    return p;
}
} // namespace

TEST(PhantomPipeline, DicomRoundTripIsIdentical) {
    const auto& ph = defaultPhantom();
    auto dir = test::makeTempDir("phantom-rt");
    auto id = dicom::writeCtSeries(ph.ct, {}, dir);
    ASSERT_TRUE(id) << id.error().message;
    auto loaded = dicom::loadLargestSeries(dir);
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_TRUE(loaded->volume.geometry.sameGridAs(ph.ct.geometry, 1e-6));
    EXPECT_EQ(loaded->volume.voxels, ph.ct.voxels);
    EXPECT_TRUE(loaded->report.warnings.empty());
    EXPECT_EQ(loaded->volume.identity.patientName, "PHANTOM^LUMBAR");
    EXPECT_EQ(loaded->volume.identity.patientPosition, "HFP");
    std::filesystem::remove_all(dir);
}

TEST(PhantomPipeline, LabelsRoundTripThroughNrrd) {
    const auto& ph = defaultPhantom();
    auto dir = test::makeTempDir("phantom-labels");
    ASSERT_TRUE(anatomy::writeLabelMap(ph.labels, dir / "labels.nrrd"));
    auto back = anatomy::readLabelMap(dir / "labels.nrrd");
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_TRUE(back->geometry.sameGridAs(ph.labels.geometry, 1e-9));
    EXPECT_EQ(back->voxels, ph.labels.voxels);
    std::filesystem::remove_all(dir);
}

TEST(PhantomPipeline, BoneSurfaceMatchesBoneLabels) {
    const auto& ph = defaultPhantom();
    model::Mesh bone = anatomy::extractIsoSurface(ph.ct, anatomy::kBoneIsoHu);
    ASSERT_FALSE(bone.empty());
    EXPECT_TRUE(bone.isClosedManifold());
    // The surface lies within the vertebrae's labelled extent (plus a voxel).
    model::Bounds labelBounds{glm::dvec3(INFINITY), glm::dvec3(-INFINITY)};
    const auto& g = ph.labels.geometry;
    for (const auto& s : ph.truth.structures) {
        if (s.kind != model::StructureKind::Bone) continue;
        for (int k = 0; k < g.dims[2]; ++k)
            for (int j = 0; j < g.dims[1]; ++j)
                for (int i = 0; i < g.dims[0]; ++i)
                    if (ph.labels.at(i, j, k) == s.label) {
                        glm::dvec3 p = g.worldFromIndex({i, j, k});
                        labelBounds.minMm = glm::min(labelBounds.minMm, p);
                        labelBounds.maxMm = glm::max(labelBounds.maxMm, p);
                    }
    }
    auto b = bone.bounds();
    for (int a = 0; a < 3; ++a) {
        EXPECT_GE(b.minMm[a], labelBounds.minMm[a] - 1.5) << "axis " << a;
        EXPECT_LE(b.maxMm[a], labelBounds.maxMm[a] + 1.5) << "axis " << a;
        EXPECT_LE(b.minMm[a], labelBounds.minMm[a] + 3.0) << "axis " << a;
        EXPECT_GE(b.maxMm[a], labelBounds.maxMm[a] - 3.0) << "axis " << a;
    }
}
