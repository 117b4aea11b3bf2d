#include "render/Image.h"

#include "core/AtomicFile.h"

#include "support/TestSupport.h"

#include <gtest/gtest.h>
#include <png.h>

#include <fstream>

namespace precis::render {
namespace {

ImageRgba8 pattern(int w, int h) {
    ImageRgba8 img{w, h, std::vector<std::uint8_t>(std::size_t(w) * h * 4)};
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            auto* p = img.at(x, y);
            p[0] = std::uint8_t(x * 7);
            p[1] = std::uint8_t(y * 13);
            p[2] = std::uint8_t(x ^ y);
            p[3] = 255;
        }
    return img;
}

TEST(Image, PngRoundTripIsExact) {
    const auto dir = precis::test::makeTempDir("precis-image");
    const ImageRgba8 img = pattern(37, 21);
    ASSERT_TRUE(writePng(img, dir / "a.png"));
    auto back = readPng(dir / "a.png");
    ASSERT_TRUE(back) << describe(back.error());
    EXPECT_EQ(back->width, 37);
    EXPECT_EQ(back->height, 21);
    EXPECT_EQ(back->pixels, img.pixels);
    std::filesystem::remove_all(dir);
}

// Goldens made by other tools may be gray or RGB: they read as opaque RGBA.
TEST(Image, ReadsGrayAndRgbPngs) {
    const auto dir = precis::test::makeTempDir("precis-image");
    const std::uint8_t gray[6] = {0, 50, 100, 150, 200, 255};
    png_image g{};
    g.version = PNG_IMAGE_VERSION;
    g.width = 3;
    g.height = 2;
    g.format = PNG_FORMAT_GRAY;
    ASSERT_TRUE(png_image_write_to_file(&g, (dir / "g.png").c_str(), 0, gray, 0, nullptr));
    auto gi = readPng(dir / "g.png");
    ASSERT_TRUE(gi) << describe(gi.error());
    ASSERT_EQ(gi->pixels.size(), 24u);
    for (int i = 0; i < 6; ++i) {
        EXPECT_EQ(gi->pixels[i * 4 + 0], gray[i]);
        EXPECT_EQ(gi->pixels[i * 4 + 2], gray[i]);
        EXPECT_EQ(gi->pixels[i * 4 + 3], 255);
    }
    const std::uint8_t rgb[6] = {10, 20, 30, 40, 50, 60};
    png_image c{};
    c.version = PNG_IMAGE_VERSION;
    c.width = 2;
    c.height = 1;
    c.format = PNG_FORMAT_RGB;
    ASSERT_TRUE(png_image_write_to_file(&c, (dir / "c.png").c_str(), 0, rgb, 0, nullptr));
    auto ci = readPng(dir / "c.png");
    ASSERT_TRUE(ci);
    EXPECT_EQ(ci->pixels, (std::vector<std::uint8_t>{10, 20, 30, 255, 40, 50, 60, 255}));
    std::filesystem::remove_all(dir);
}

TEST(Image, ReadErrorsAreExpectedFailures) {
    const auto dir = precis::test::makeTempDir("precis-image");
    auto missing = readPng(dir / "nope.png");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
    EXPECT_FALSE(missing.error().message.empty());

    ASSERT_TRUE(writePng(pattern(8, 8), dir / "ok.png"));
    auto read = readFile(dir / "ok.png");
    ASSERT_TRUE(read);
    const std::string& bytes = *read;
    for (std::size_t n = 0; n < bytes.size(); n += 7) { // truncated-prefix loop
        std::ofstream(dir / "t.png", std::ios::binary).write(bytes.data(), std::streamsize(n));
        auto r = readPng(dir / "t.png");
        ASSERT_FALSE(r) << "prefix " << n;
        EXPECT_EQ(r.error().code, ErrorCode::ParseError) << "prefix " << n;
        EXPECT_FALSE(r.error().message.empty());
    }
    std::filesystem::remove_all(dir);
}

TEST(Image, WriteRejectsMalformedImages) {
    const auto dir = precis::test::makeTempDir("precis-image");
    auto r = writePng(ImageRgba8{4, 4, {}}, dir / "x.png");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    EXPECT_FALSE(std::filesystem::exists(dir / "x.png"));
    std::filesystem::remove_all(dir);
}

TEST(Image, CompareCountsDifferences) {
    ImageRgba8 a = pattern(10, 10), b = a;
    auto same = compareImages(a, b);
    ASSERT_TRUE(same);
    EXPECT_EQ(same->meanAbsDiff, 0);
    EXPECT_EQ(same->pixelsOver, 0u);
    b.at(3, 4)[1] = std::uint8_t(b.at(3, 4)[1] + 100);
    auto d = compareImages(a, b, 32);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->pixelsOver, 1u);
    EXPECT_EQ(d->maxAbsDiff, 100);
    EXPECT_NEAR(d->fractionOver, 0.01, 1e-12);
    auto bad = compareImages(a, pattern(9, 10));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
}

} // namespace
} // namespace precis::render
