#include "render/SceneRenderer.h"

#include "support/RenderTestSupport.h"
#include "render/OffscreenTarget.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <chrono>

namespace precis::render {
namespace {

constexpr glm::vec4 kBone{0.89f, 0.85f, 0.78f, 1.0f};
constexpr glm::vec4 kRed{0.95f, 0.05f, 0.05f, 1.0f};
constexpr glm::vec4 kGreen{0.05f, 0.9f, 0.05f, 1.0f};

struct Centroid {
    double x = 0, y = 0;
    int count = 0;
};

/// Centroid of pixels that are clearly red (or green): the marker spheres.
Centroid centroidOf(const ImageRgba8& img, int channel) {
    Centroid c;
    for (int y = 0; y < img.height; ++y)
        for (int x = 0; x < img.width; ++x) {
            const auto* p = img.at(x, y);
            const int v = p[channel], o1 = p[(channel + 1) % 3], o2 = p[(channel + 2) % 3];
            if (v > o1 + 50 && v > o2 + 50) {
                c.x += x;
                c.y += y;
                ++c.count;
            }
        }
    if (c.count) {
        c.x /= c.count;
        c.y /= c.count;
    }
    return c;
}

model::Bounds boundsOf(std::initializer_list<const model::Mesh*> meshes) {
    model::Bounds b{glm::dvec3(1e300), glm::dvec3(-1e300)};
    for (const auto* m : meshes) {
        const auto mb = m->bounds();
        b.minMm = glm::min(b.minMm, mb.minMm);
        b.maxMm = glm::max(b.maxMm, mb.maxMm);
    }
    return b;
}

TEST(SceneRenderer, SphereMatchesGolden) {
    auto ctx = test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    const model::Mesh sphere = test::makeUvSphere({10, 20, -30}, 50);
    ASSERT_GT(sphere.signedVolumeMm3(), 0);
    const MeshItem items[] = {{&sphere, kBone}};
    const Camera cam = Camera::fit(sphere.bounds(), ViewPreset::Anterior);
    auto img = renderMeshesOffscreen(*ctx, items, cam, 256, 256);
    ASSERT_TRUE(img) << describe(img.error());
    ASSERT_EQ(img->width, 256);
    ASSERT_EQ(img->height, 256);

    // Lit from the front: the sphere's centre faces the headlight. If the front-face convention
    // were wrong, two-sided lighting would flip the normals and the centre would be dark.
    const auto* centre = img->at(128, 128);
    EXPECT_GT(centre[0], 150);
    EXPECT_GT(centre[0], centre[2]); // bone tint
    const auto* corner = img->at(20, 200);   // background, lower part: dark blue-grey
    EXPECT_LT(corner[0], 60);
    EXPECT_LE(corner[0], corner[2]);
    const auto* top = img->at(20, 40);
    EXPECT_GT(top[2], corner[2]); // gradient: lighter at the top
    test::expectMatchesGolden(*img, "sphere_anterior");
    test::expectNoValidationMessages(*ctx);
}

TEST(SceneRenderer, ThreeSpheresObliqueMatchesGolden) {
    auto ctx = test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    const model::Mesh body = test::makeUvSphere({0, 0, 0}, 40);
    const model::Mesh left = test::makeUvSphere({65, 0, 0}, 15);     // patient left
    const model::Mesh superior = test::makeUvSphere({0, 0, 65}, 15); // superior
    const MeshItem items[] = {{&body, kBone}, {&left, kRed}, {&superior, kGreen}};
    const Camera cam = Camera::fit(boundsOf({&body, &left, &superior}), ViewPreset::Oblique, 4.0 / 3.0);
    auto img = renderMeshesOffscreen(*ctx, items, cam, 320, 240);
    ASSERT_TRUE(img) << describe(img.error());
    test::expectMatchesGolden(*img, "spheres_oblique");
    test::expectNoValidationMessages(*ctx);
}

// Where the patient's left (+x, red) and superior (+z, green) markers land for each preset.
TEST(SceneRenderer, PresetsPutMarkersWhereTheConventionSays) {
    auto ctx = test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    const model::Mesh body = test::makeUvSphere({0, 0, 0}, 30, 24, 48);
    const model::Mesh left = test::makeUvSphere({60, 0, 0}, 12, 16, 32);
    const model::Mesh anterior = test::makeUvSphere({0, -60, 0}, 12, 16, 32);
    const MeshItem items[] = {{&body, kBone}, {&left, kRed}, {&anterior, kGreen}};
    const auto bounds = boundsOf({&body, &left, &anterior});
    OffscreenOptions noLabels;
    noLabels.orientationLabels = false;
    struct Expect {
        ViewPreset preset;
        int redSide;   // -1 image left, +1 image right, 0 hidden/centre (not checked)
        int greenSide; // horizontal side of the anterior marker
        int greenUp;   // -1 image top, +1 bottom, 0 not checked
    };
    const Expect cases[] = {
        {ViewPreset::Anterior, +1, 0, 0},  // patient's left on the image right
        {ViewPreset::Posterior, -1, 0, 0}, // patient's left on the image left
        {ViewPreset::Left, 0, -1, 0},      // from the left, anterior is image left
        {ViewPreset::Right, 0, +1, 0},
        {ViewPreset::Inferior, +1, 0, -1}, // axial CT convention
        {ViewPreset::Superior, -1, 0, -1},
    };
    for (const auto& e : cases) {
        SCOPED_TRACE(std::string(toString(e.preset)));
        const Camera cam = Camera::fit(bounds, e.preset);
        auto img = renderMeshesOffscreen(*ctx, items, cam, 160, 160, noLabels);
        ASSERT_TRUE(img) << describe(img.error());
        (void)writePng(*img, precis::test::outputDir("render") /
                                 ("orientation_" + std::string(toString(e.preset)) + ".png"));
        const Centroid red = centroidOf(*img, 0), green = centroidOf(*img, 1);
        if (e.redSide != 0) {
            ASSERT_GT(red.count, 20);
            EXPECT_EQ(red.x > 80 ? 1 : -1, e.redSide) << "red x " << red.x;
        }
        if (e.greenSide != 0) {
            ASSERT_GT(green.count, 20);
            EXPECT_EQ(green.x > 80 ? 1 : -1, e.greenSide) << "green x " << green.x;
        }
        if (e.greenUp != 0) {
            ASSERT_GT(green.count, 20);
            EXPECT_EQ(green.y > 80 ? 1 : -1, e.greenUp) << "green y " << green.y;
        }
    }
    test::expectNoValidationMessages(*ctx);
}

TEST(SceneRenderer, TranslucentAndEmptyScenesRender) {
    auto ctx = test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    auto empty = renderMeshesOffscreen(*ctx, {}, Camera{}, 64, 48);
    ASSERT_TRUE(empty) << describe(empty.error());
    EXPECT_EQ(empty->pixels.size(), 64u * 48 * 4);
    const model::Mesh inner = test::makeUvSphere({0, 0, 0}, 20, 16, 32);
    const model::Mesh outer = test::makeUvSphere({0, 0, 0}, 40, 16, 32);
    const MeshItem items[] = {{&outer, {0.3f, 0.5f, 0.9f, 0.35f}}, {&inner, kRed}};
    OffscreenOptions noLabels;
    noLabels.orientationLabels = false;
    auto img = renderMeshesOffscreen(*ctx, items, Camera::fit(outer.bounds(), ViewPreset::Anterior),
                                     128, 128, noLabels);
    ASSERT_TRUE(img);
    const auto* c = img->at(64, 64); // red inner sphere seen through the blue shell
    EXPECT_GT(c[0], c[1] + 30);
    test::expectNoValidationMessages(*ctx);
}

TEST(SceneRenderer, BadArgumentsAreExpectedFailures) {
    auto ctx = test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    auto zero = renderMeshesOffscreen(*ctx, {}, Camera{}, 0, 10);
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error().code, ErrorCode::InvalidArgument);
    const MeshItem nullItem[] = {{nullptr, kBone}};
    auto null = renderMeshesOffscreen(*ctx, nullItem, Camera{}, 10, 10);
    ASSERT_FALSE(null);
    EXPECT_EQ(null.error().code, ErrorCode::InvalidArgument);
    model::Mesh broken = test::makeUvSphere({0, 0, 0}, 10, 4, 8);
    broken.indices.back() = 100000;
    const MeshItem brokenItem[] = {{&broken, kBone}};
    auto bad = renderMeshesOffscreen(*ctx, brokenItem, Camera{}, 10, 10);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
    test::expectNoValidationMessages(*ctx);
}

// Repeated frames through a kept target: the path the GUI and `precis bench` use. Prints timings.
TEST(SceneRenderer, RepeatedFramesReuseTargetAndDrawables) {
    auto ctx = test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    const model::Mesh sphere = test::makeUvSphere({0, 0, 0}, 50, 128, 256); // ~65k triangles
    auto gpu = GpuMesh::upload(*ctx, sphere);
    ASSERT_TRUE(gpu);
    auto target = OffscreenTarget::create(*ctx, 800, 600);
    ASSERT_TRUE(target);
    auto renderer = SceneRenderer::create(*ctx, (*target)->renderPass(), (*target)->samples());
    ASSERT_TRUE(renderer);
    const Drawable drawables[] = {{*gpu, kBone, true}};
    Camera cam = Camera::fit(sphere.bounds(), ViewPreset::Oblique, 800.0 / 600.0);
    const int frames = 5;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < frames; ++i) {
        cam.orbit(0.1, 0.0);
        Scene scene;
        scene.drawables = drawables;
        Result<void> prepared;
        auto done = ctx->submitImmediate([&](VkCommandBuffer cmd) {
            prepared = (*renderer)->prepare(cmd, scene, cam, {800, 600});
            (*target)->beginRenderPass(cmd);
            (*renderer)->record(cmd, {0, 0, 800, 600});
            (*target)->endRenderPassAndCopy(cmd);
        });
        ASSERT_TRUE(done) << describe(done.error());
        ASSERT_TRUE(prepared) << describe(prepared.error());
        EXPECT_EQ((*renderer)->lastTriangleCount(), sphere.triangleCount());
        EXPECT_EQ((*target)->readback().width, 800);
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s: %.1f ms per 800x600 frame (%zu triangles, %dx MSAA, with readback)\n",
                ctx->deviceName().c_str(), ms / frames, sphere.triangleCount(),
                static_cast<int>(ctx->msaaSamples()));
    test::expectNoValidationMessages(*ctx);
}

} // namespace
} // namespace precis::render
