#include "anatomy/LabelMapFile.h"

#include "core/AtomicFile.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <fstream>

using namespace precis;

namespace {
model::LabelMap sample() {
    model::ImageGeometry g;
    g.dims = {5, 4, 3};
    g.spacingMm = {0.78, 0.78, 1.0};
    g.originMm = {149.4, 120.25, -80.5};
    g.direction = glm::dmat3(glm::dvec3(-1, 0, 0), glm::dvec3(0, -1, 0), glm::dvec3(0, 0, 1));
    model::LabelMap m(g);
    for (std::size_t i = 0; i < m.voxels.size(); ++i) m.voxels[i] = static_cast<std::uint8_t>(i * 7);
    return m;
}
} // namespace

TEST(LabelMapFile, RoundTripKeepsVoxelsAndGeometry) {
    auto dir = test::makeTempDir("labels");
    auto m = sample();
    ASSERT_TRUE(anatomy::writeLabelMap(m, dir / "labels.nrrd"));
    auto back = anatomy::readLabelMap(dir / "labels.nrrd");
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_TRUE(back->geometry.sameGridAs(m.geometry, 1e-12));
    EXPECT_EQ(back->voxels, m.voxels);
}

TEST(LabelMapFile, EveryTruncatedPrefixFailsCleanly) {
    auto dir = test::makeTempDir("labels-trunc");
    ASSERT_TRUE(anatomy::writeLabelMap(sample(), dir / "full.nrrd"));
    auto full = readFile(dir / "full.nrrd");
    ASSERT_TRUE(full);
    for (std::size_t len = 0; len < full->size(); ++len) {
        auto p = dir / "cut.nrrd";
        {
            std::ofstream out(p, std::ios::binary | std::ios::trunc);
            out.write(full->data(), static_cast<std::streamsize>(len));
        }
        auto r = anatomy::readLabelMap(p);
        ASSERT_FALSE(r) << "prefix of " << len << " bytes was accepted";
        EXPECT_EQ(r.error().code, ErrorCode::ParseError);
        EXPECT_NE(r.error().message.find("cut.nrrd"), std::string::npos);
    }
}

TEST(LabelMapFile, RasFileIsConvertedToLps) {
    auto dir = test::makeTempDir("labels-ras");
    std::string header = "NRRD0004\ntype: uint8\ndimension: 3\nspace: right-anterior-superior\n"
                         "sizes: 2 1 1\nspace directions: (-1,0,0) (0,-1,0) (0,0,2)\n"
                         "kinds: domain domain domain\nendian: little\nencoding: raw\n"
                         "space origin: (10,20,30)\n\n";
    ASSERT_TRUE(writeFileAtomically(dir / "ras.nrrd", header, std::string("\x01\x02", 2)));
    auto r = anatomy::readLabelMap(dir / "ras.nrrd");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_DOUBLE_EQ(r->geometry.originMm.x, -10);
    EXPECT_DOUBLE_EQ(r->geometry.originMm.y, -20);
    EXPECT_DOUBLE_EQ(r->geometry.direction[0].x, 1.0);
    EXPECT_DOUBLE_EQ(r->geometry.spacingMm.z, 2.0);
}
