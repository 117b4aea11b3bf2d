#include "render/OrientationLabels.h"

#include <gtest/gtest.h>

namespace precis::render {
namespace {

const model::Bounds kBox{{-50, -50, -50}, {50, 50, 50}};

TEST(OrientationLabels, AnteriorAndPosterior) {
    EdgeLabels a = edgeLabels(Camera::fit(kBox, ViewPreset::Anterior));
    EXPECT_EQ(a.left, "R");
    EXPECT_EQ(a.right, "L");
    EXPECT_EQ(a.top, "S");
    EXPECT_EQ(a.bottom, "I");
    EdgeLabels p = edgeLabels(Camera::fit(kBox, ViewPreset::Posterior));
    EXPECT_EQ(p.left, "L");
    EXPECT_EQ(p.right, "R");
}

TEST(OrientationLabels, LateralAxialOblique) {
    EXPECT_EQ(edgeLabels(Camera::fit(kBox, ViewPreset::Left)).left, "A");
    EXPECT_EQ(edgeLabels(Camera::fit(kBox, ViewPreset::Right)).left, "P");
    EdgeLabels inf = edgeLabels(Camera::fit(kBox, ViewPreset::Inferior));
    EXPECT_EQ(inf.top, "A");
    EXPECT_EQ(inf.right, "L");
    EdgeLabels obl = edgeLabels(Camera::fit(kBox, ViewPreset::Oblique));
    EXPECT_EQ(obl.left, "LA"); // posterior-left view: the patient's left-front is on the left
    EXPECT_EQ(obl.right, "RP");
}

TEST(OrientationLabels, DirectionLetters) {
    EXPECT_EQ(directionLetters({1, 0, 0}), "L");
    EXPECT_EQ(directionLetters({0, -1, 0}), "A");
    EXPECT_EQ(directionLetters({0, 0, -1}), "I");
    EXPECT_EQ(directionLetters({-0.8, 0.6, 0}), "RP");
    EXPECT_EQ(directionLetters({0, 0, 0}), "");
}

TEST(OrientationLabels, DrawsInkInsideTheImage) {
    ImageRgba8 img{64, 48, std::vector<std::uint8_t>(64 * 48 * 4, 100)};
    drawEdgeLabels(img, {"R", "L", "S", "I"}, 1);
    int bright = 0;
    for (std::size_t i = 0; i < img.pixels.size(); i += 4) bright += img.pixels[i] == 240;
    EXPECT_GT(bright, 40);
    EXPECT_EQ(img.pixels.size(), 64u * 48 * 4);
    ImageRgba8 tiny{3, 3, std::vector<std::uint8_t>(36, 0)}; // must not write out of bounds
    drawEdgeLabels(tiny, {"RP", "LA", "S", "I"}, 4);
}

} // namespace
} // namespace precis::render
