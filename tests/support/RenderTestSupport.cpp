#include "support/RenderTestSupport.h"

#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string_view>

namespace precis::render::test {

model::Mesh makeUvSphere(const glm::vec3& c, float r, int stacks, int slices) {
    model::Mesh m;
    constexpr double kPi = 3.14159265358979323846;
    for (int i = 0; i <= stacks; ++i) {
        const double theta = kPi * i / stacks; // 0 at +z (superior pole)
        for (int j = 0; j <= slices; ++j) {
            const double phi = 2 * kPi * j / slices;
            const glm::vec3 n(std::sin(theta) * std::cos(phi), std::sin(theta) * std::sin(phi),
                              std::cos(theta));
            m.positions.push_back(c + r * n);
            m.normals.push_back(n);
        }
    }
    auto at = [&](int i, int j) { return static_cast<std::uint32_t>(i * (slices + 1) + j); };
    for (int i = 0; i < stacks; ++i)
        for (int j = 0; j < slices; ++j) {
            // d(theta) x d(phi) points outwards, so (a, b, c) with a->b along theta is CCW outside.
            const std::uint32_t a = at(i, j), b = at(i + 1, j), cc = at(i + 1, j + 1), d = at(i, j + 1);
            if (i != stacks - 1) m.indices.insert(m.indices.end(), {a, b, cc});
            if (i != 0) m.indices.insert(m.indices.end(), {a, cc, d});
        }
    return m;
}

std::unique_ptr<Context> makeValidatedContext() {
    ContextOptions options;
    options.validation = true;
    auto ctx = Context::create(options);
    if (!ctx) {
        ADD_FAILURE() << "no Vulkan context: " << describe(ctx.error())
                      << " (render tests need lavapipe: mesa-vulkan-drivers, vulkan-validationlayers)";
        return nullptr;
    }
    return std::move(*ctx);
}

void expectNoValidationMessages(const Context& ctx) {
    EXPECT_TRUE(ctx.validationEnabled());
    const auto messages = ctx.validationMessages();
    EXPECT_EQ(messages.size(), 0u) << "Vulkan validation reported problems";
    for (const auto& m : messages) ADD_FAILURE() << m;
}

void expectMatchesGolden(const ImageRgba8& actual, const std::string& name) {
    const auto golden = std::filesystem::path(PRECIS_SOURCE_DIR) / "tests/render/golden" / (name + ".png");
    const auto outDir = precis::test::outputDir("render");
    ASSERT_TRUE(writePng(actual, outDir / (name + ".png")));
    const char* update = std::getenv("PRECIS_UPDATE_GOLDENS");
    if (update && std::string_view(update) == "1") {
        auto written = writePng(actual, golden);
        ASSERT_TRUE(written) << describe(written.error());
        std::printf("updated golden %s\n", golden.c_str());
        return;
    }
    auto expected = readPng(golden);
    ASSERT_TRUE(expected) << describe(expected.error())
                          << "\n(generate goldens with PRECIS_UPDATE_GOLDENS=1, then look at them)";
    auto diff = compareImages(actual, *expected, 32);
    ASSERT_TRUE(diff) << describe(diff.error());
    const bool ok = diff->meanAbsDiff < 2.0 && diff->fractionOver < 0.005;
    if (!ok) {
        (void)writePng(diff->diff, outDir / (name + ".diff.png"));
    }
    EXPECT_TRUE(ok) << name << ": mean |diff| " << diff->meanAbsDiff << " (limit 2), "
                    << 100.0 * diff->fractionOver << "% pixels off by > 32 (limit 0.5%), max "
                    << diff->maxAbsDiff << "; actual and diff in " << outDir;
}

} // namespace precis::render::test
