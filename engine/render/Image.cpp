#include "render/Image.h"

#include "core/AtomicFile.h"

#include <png.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>

namespace precis::render {

Result<void> writePng(const ImageRgba8& image, const std::filesystem::path& file) {
    if (image.empty() || image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * 4)
        return fail(ErrorCode::InvalidArgument, "cannot write an empty or malformed image to " +
                                                    file.string());
    png_image png{};
    png.version = PNG_IMAGE_VERSION;
    png.width = static_cast<png_uint_32>(image.width);
    png.height = static_cast<png_uint_32>(image.height);
    png.format = PNG_FORMAT_RGBA;
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&png, nullptr, &size, 0, image.pixels.data(), 0, nullptr))
        return fail(ErrorCode::Internal, "could not encode PNG for " + file.string(), png.message);
    std::string bytes(size, '\0');
    if (!png_image_write_to_memory(&png, bytes.data(), &size, 0, image.pixels.data(), 0, nullptr))
        return fail(ErrorCode::Internal, "could not encode PNG for " + file.string(), png.message);
    bytes.resize(size);
    return writeFileAtomically(file, bytes);
}

Result<ImageRgba8> readPng(const std::filesystem::path& file) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
        return fail(ErrorCode::NotFound, "PNG file not found: " + file.string());
    auto bytes = readFile(file);
    if (!bytes) return std::unexpected(bytes.error());
    // libpng accepts a file cut just before its end marker; a truncated golden or screenshot
    // must not pass as whole, so the IEND chunk is required (trailing bytes after it tolerated).
    const std::string_view tail = std::string_view(*bytes).substr(bytes->size() > 64 ? bytes->size() - 64 : 0);
    if (tail.find("IEND") == std::string_view::npos)
        return fail(ErrorCode::ParseError, "truncated or not a PNG file: " + file.string(),
                    "no IEND chunk");
    png_image png{};
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&png, bytes->data(), bytes->size()))
        return fail(ErrorCode::ParseError, "not a readable PNG file: " + file.string(), png.message);
    png.format = PNG_FORMAT_RGBA;
    ImageRgba8 image;
    image.width = static_cast<int>(png.width);
    image.height = static_cast<int>(png.height);
    image.pixels.resize(PNG_IMAGE_SIZE(png));
    if (!png_image_finish_read(&png, nullptr, image.pixels.data(), 0, nullptr)) {
        png_image_free(&png);
        return fail(ErrorCode::ParseError, "corrupt PNG file: " + file.string(), png.message);
    }
    return image;
}

Result<ImageDiff> compareImages(const ImageRgba8& a, const ImageRgba8& b, int threshold) {
    if (a.width != b.width || a.height != b.height)
        return fail(ErrorCode::InvalidArgument,
                    "images differ in size: " + std::to_string(a.width) + "x" +
                        std::to_string(a.height) + " vs " + std::to_string(b.width) + "x" +
                        std::to_string(b.height));
    ImageDiff d;
    d.diff.width = a.width;
    d.diff.height = a.height;
    d.diff.pixels.resize(a.pixels.size());
    const std::size_t n = static_cast<std::size_t>(a.width) * a.height;
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        int worst = 0;
        for (int c = 0; c < 3; ++c) {
            const int diff = std::abs(int(a.pixels[i * 4 + c]) - int(b.pixels[i * 4 + c]));
            sum += diff;
            worst = std::max(worst, diff);
            d.diff.pixels[i * 4 + c] = static_cast<std::uint8_t>(std::min(255, diff * 4));
        }
        d.diff.pixels[i * 4 + 3] = 255;
        d.maxAbsDiff = std::max(d.maxAbsDiff, worst);
        if (worst > threshold) ++d.pixelsOver;
    }
    d.meanAbsDiff = n ? sum / (3.0 * n) : 0;
    d.fractionOver = n ? double(d.pixelsOver) / double(n) : 0;
    return d;
}

} // namespace precis::render
