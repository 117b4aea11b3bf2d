#pragma once
// 8-bit RGBA images on the host (render results, screenshots, goldens) and their PNG files.
#include "core/Error.h"

#include <cstdint>
#include <filesystem>
#include <vector>

namespace precis::render {

/// Row-major, top row first, 4 bytes per pixel (R, G, B, A), sRGB-encoded values.
struct ImageRgba8 {
    int width = 0, height = 0;
    std::vector<std::uint8_t> pixels; // width * height * 4

    [[nodiscard]] bool empty() const { return width <= 0 || height <= 0; }
    [[nodiscard]] const std::uint8_t* at(int x, int y) const {
        return pixels.data() + (static_cast<std::size_t>(y) * width + x) * 4;
    }
    [[nodiscard]] std::uint8_t* at(int x, int y) {
        return pixels.data() + (static_cast<std::size_t>(y) * width + x) * 4;
    }
};

/// Writes an 8-bit RGBA PNG atomically (temporary file + rename). IoError names the file.
Result<void> writePng(const ImageRgba8& image, const std::filesystem::path& file);

/// Reads any 8-bit PNG (gray, gray+alpha, RGB, RGBA, palette) as RGBA; 16-bit is reduced to 8.
/// NotFound when the file is missing, ParseError when it is not a readable PNG.
Result<ImageRgba8> readPng(const std::filesystem::path& file);

/// Per-pixel comparison of two equally sized images (RGB only; alpha ignored).
struct ImageDiff {
    double meanAbsDiff = 0;        // mean over pixels and channels, in 0..255 units
    int maxAbsDiff = 0;            // largest channel difference
    std::size_t pixelsOver = 0;    // pixels whose largest channel difference exceeds threshold
    double fractionOver = 0;       // pixelsOver / pixel count
    ImageRgba8 diff;               // |a-b| amplified x4, opaque, for looking at
};

/// InvalidArgument when sizes differ.
Result<ImageDiff> compareImages(const ImageRgba8& a, const ImageRgba8& b, int threshold = 32);

} // namespace precis::render
