#include "render/OrientationLabels.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

namespace precis::render {

namespace {

// 5x7 glyphs, one string per row, '#' = ink.
struct Glyph {
    char letter;
    std::array<const char*, 7> rows;
};
constexpr std::array<Glyph, 6> kGlyphs{{
    {'A', {" ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"}},
    {'P', {"#### ", "#   #", "#   #", "#### ", "#    ", "#    ", "#    "}},
    {'L', {"#    ", "#    ", "#    ", "#    ", "#    ", "#    ", "#####"}},
    {'R', {"#### ", "#   #", "#   #", "#### ", "# #  ", "#  # ", "#   #"}},
    {'S', {" ####", "#    ", "#    ", " ### ", "    #", "    #", "#### "}},
    {'I', {" ### ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "}},
}};

const Glyph* findGlyph(char c) {
    for (const auto& g : kGlyphs)
        if (g.letter == c) return &g;
    return nullptr;
}

void fillRect(ImageRgba8& img, int x0, int y0, int w, int h, std::uint8_t v) {
    for (int y = std::max(0, y0); y < std::min(img.height, y0 + h); ++y)
        for (int x = std::max(0, x0); x < std::min(img.width, x0 + w); ++x) {
            auto* p = img.at(x, y);
            p[0] = p[1] = p[2] = v;
            p[3] = 255;
        }
}

/// Draws `text` with its top-left at (x, y); `ink` pass or outline pass.
void drawText(ImageRgba8& img, const std::string& text, int x, int y, int s, bool outline) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const Glyph* g = findGlyph(text[i]);
        if (!g) continue;
        const int gx = x + static_cast<int>(i) * 6 * s;
        for (int r = 0; r < 7; ++r)
            for (int c = 0; c < 5; ++c) {
                if (g->rows[r][c] != '#') continue;
                if (outline) fillRect(img, gx + c * s - s, y + r * s - s, 3 * s, 3 * s, 20);
                else fillRect(img, gx + c * s, y + r * s, s, s, 240);
            }
    }
}

} // namespace

std::string directionLetters(const glm::dvec3& lpsIn) {
    const double len = glm::length(lpsIn);
    if (!(len > 0)) return {};
    const glm::dvec3 d = lpsIn / len;
    std::array<std::pair<double, char>, 3> parts{{
        {std::abs(d.x), d.x > 0 ? 'L' : 'R'},
        {std::abs(d.y), d.y > 0 ? 'P' : 'A'},
        {std::abs(d.z), d.z > 0 ? 'S' : 'I'},
    }};
    std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::string s;
    for (const auto& [mag, letter] : parts)
        if (mag >= 0.38 || s.empty()) s += letter;
    return s;
}

EdgeLabels edgeLabels(const Camera& camera) {
    const glm::dvec3 r = camera.right(), u = camera.up();
    return {directionLetters(-r), directionLetters(r), directionLetters(u), directionLetters(-u)};
}

void drawEdgeLabels(ImageRgba8& image, const EdgeLabels& labels, int scale) {
    if (image.empty()) return;
    const int s = scale > 0 ? scale : std::max(1, std::min(image.width, image.height) / 240);
    const int margin = 4 * s;
    auto textWidth = [&](const std::string& t) { return static_cast<int>(t.size()) * 6 * s - s; };
    const int textHeight = 7 * s;
    const struct {
        const std::string& text;
        int x, y;
    } placed[] = {
        {labels.left, margin, (image.height - textHeight) / 2},
        {labels.right, image.width - margin - textWidth(labels.right), (image.height - textHeight) / 2},
        {labels.top, (image.width - textWidth(labels.top)) / 2, margin},
        {labels.bottom, (image.width - textWidth(labels.bottom)) / 2, image.height - margin - textHeight},
    };
    for (bool outline : {true, false})
        for (const auto& p : placed) drawText(image, p.text, p.x, p.y, s, outline);
}

} // namespace precis::render
