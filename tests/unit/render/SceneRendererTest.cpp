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

/// One frame of `scene` through a SceneRenderer into a fresh w x h target, read back.
ImageRgba8 renderFrame(Context& ctx, SceneRenderer& renderer, OffscreenTarget& target, const Scene& scene,
                       const Camera& cam, FrameQuality quality) {
    Result<void> prepared;
    const VkExtent2D e = target.extent();
    auto done = ctx.submitImmediate([&](VkCommandBuffer cmd) {
        prepared = renderer.prepare(cmd, scene, cam, e, quality);
        target.beginRenderPass(cmd);
        renderer.record(cmd, {0, 0, float(e.width), float(e.height)});
        target.endRenderPassAndCopy(cmd);
    });
    EXPECT_TRUE(done) << describe(done.error());
    EXPECT_TRUE(prepared) << describe(prepared.error());
    return target.readback();
}

/// A sphere (radius 40 mm at the origin, bone) and a red marker sphere, uploaded, with a
/// w x h offscreen target and a renderer for it; the scene draws both.
struct SphereAndMarker {
    std::unique_ptr<Context> ctx;
    model::Mesh sphere, marker;
    std::unique_ptr<OffscreenTarget> target;
    std::unique_ptr<SceneRenderer> renderer;
    Drawable drawables[2];
    Scene scene;

    bool setUp(const glm::vec3& markerAt, float markerRadius, int w, int h) {
        ctx = test::makeValidatedContext();
        if (!ctx) return false;
        sphere = test::makeUvSphere({0, 0, 0}, 40);
        marker = test::makeUvSphere(markerAt, markerRadius);
        auto a = GpuMesh::upload(*ctx, sphere);
        auto b = GpuMesh::upload(*ctx, marker);
        auto t = OffscreenTarget::create(*ctx, w, h);
        if (!a || !b || !t) return false;
        target = std::move(*t);
        auto r = SceneRenderer::create(*ctx, target->renderPass(), target->samples());
        if (!r) return false;
        renderer = std::move(*r);
        drawables[0] = {*a, kBone, true};
        drawables[1] = {*b, kRed, true};
        scene.drawables = drawables;
        return true;
    }
};

TEST(SceneRenderer, InteractiveFrameIsTheStillFrameAtReducedResolution) {
    SphereAndMarker f;
    ASSERT_TRUE(f.setUp({30, -30, 30}, 10, 320, 240));
    auto& [ctx, sphere, marker, target, renderer, drawables, scene] = f;
    const Camera cam = Camera::fit(boundsOf({&sphere, &marker}), ViewPreset::Anterior, 320.0 / 240.0);
    const ImageRgba8 still = renderFrame(*ctx, *renderer, *target, scene, cam, FrameQuality::Still);
    const ImageRgba8 moving = renderFrame(*ctx, *renderer, *target, scene, cam, FrameQuality::Interactive);
    const ImageRgba8 again = renderFrame(*ctx, *renderer, *target, scene, cam, FrameQuality::Still);
    (void)writePng(moving, precis::test::outputDir("render") / "scene_interactive.png");
    ASSERT_EQ(moving.width, 320);
    // The same picture, magnified from half size: the marker in the same place, small mean
    // difference (edges blur), and the still frame afterwards identical to the first.
    const Centroid cs = centroidOf(still, 0), cm = centroidOf(moving, 0);
    ASSERT_GT(cs.count, 50);
    EXPECT_NEAR(cm.x, cs.x, 1.5);
    EXPECT_NEAR(cm.y, cs.y, 1.5);
    EXPECT_NEAR(double(cm.count), double(cs.count), 0.15 * cs.count);
    double sum = 0;
    for (std::size_t i = 0; i < still.pixels.size(); ++i)
        sum += std::abs(int(still.pixels[i]) - int(moving.pixels[i]));
    EXPECT_LT(sum / double(still.pixels.size()), 4.0);
    EXPECT_EQ(again.pixels, still.pixels);
    // Translucent while moving: only the near side is drawn (back faces culled), still seen.
    drawables[0].colorRgba.a = 0.5f;
    const ImageRgba8 glass = renderFrame(*ctx, *renderer, *target, scene, cam, FrameQuality::Interactive);
    const auto* c = glass.at(160, 120);
    const auto* solid = still.at(160, 120);
    const auto* bg = glass.at(5, 235);
    EXPECT_LT(c[0], solid[0] - 20);
    EXPECT_GT(c[0], bg[0] + 20);
    test::expectNoValidationMessages(*ctx);
}

TEST(SceneRenderer, ClippingPlaneAndBoxCutMeshesButNotOverlays) {
    SphereAndMarker f;
    ASSERT_TRUE(f.setUp({-20, -45, 25}, 8, 256, 256)); // the marker anterior, right, superior
    auto& [ctx, sphere, marker, target, renderer, drawables, scene] = f;
    // Anterior view: patient's right (-L) on the image left, superior (+S) up.
    const Camera cam = Camera::fit(boundsOf({&sphere, &marker}), ViewPreset::Anterior);
    const ImageRgba8 whole = renderFrame(*ctx, *renderer, *target, scene, cam, FrameQuality::Still);
    auto boneAt = [](const ImageRgba8& img, int x, int y) {
        const auto* p = img.at(x, y);
        return p[0] > 90 && p[0] > p[2] + 10; // lit bone, not the blue-grey background
    };
    ASSERT_TRUE(boneAt(whole, 128, 160));
    ASSERT_TRUE(boneAt(whole, 128, 100));
    ASSERT_GT(centroidOf(whole, 0).count, 50);

    // A plane keeping the superior half (+S): the lower half of the sphere is gone.
    scene.clip.planeEnabled = true;
    scene.clip.planePointMm = {0, 0, 0};
    scene.clip.planeNormal = {0, 0, 1};
    const ImageRgba8 upper = renderFrame(*ctx, *renderer, *target, scene, cam, FrameQuality::Still);
    (void)writePng(upper, precis::test::outputDir("render") / "scene_clip_plane.png");
    EXPECT_TRUE(boneAt(upper, 128, 100));
    // Below the equator the cut shows the sphere's inside (back faces) or nothing: never its
    // lit front. Look well below the centre, where the inside is hidden by the remaining cap.
    EXPECT_FALSE(boneAt(upper, 128, 200));
    EXPECT_GT(centroidOf(upper, 0).count, 50); // the marker is superior: kept

    // The plane flipped keeps the inferior half, which cuts the (superior) marker away...
    scene.clip.planeNormal = {0, 0, -1};
    const ImageRgba8 lower = renderFrame(*ctx, *renderer, *target, scene, cam, FrameQuality::Still);
    EXPECT_TRUE(boneAt(lower, 128, 200));
    EXPECT_LT(centroidOf(lower, 0).count, 5);
    // ...unless the marker is an overlay, which is never clipped.
    drawables[1].clipped = false;
    const ImageRgba8 overlay = renderFrame(*ctx, *renderer, *target, scene, cam, FrameQuality::Still);
    EXPECT_NEAR(double(centroidOf(overlay, 0).count), double(centroidOf(whole, 0).count),
                0.05 * centroidOf(whole, 0).count);
    drawables[1].clipped = true;

    // A box around the patient's left half (L > 0, image right in an anterior view) only.
    scene.clip.planeEnabled = false;
    scene.clip.boxEnabled = true;
    scene.clip.boxMinMm = {0, -100, -100};
    scene.clip.boxMaxMm = {100, 100, 100};
    const ImageRgba8 left = renderFrame(*ctx, *renderer, *target, scene, cam, FrameQuality::Still);
    (void)writePng(left, precis::test::outputDir("render") / "scene_clip_box.png");
    EXPECT_TRUE(boneAt(left, 170, 128));
    EXPECT_FALSE(boneAt(left, 60, 128));
    EXPECT_LT(centroidOf(left, 0).count, 5); // the marker (patient's right) is outside the box
    test::expectNoValidationMessages(*ctx);
}

TEST(SceneRenderer, ProgressiveRefinesARestingViewOnceThenReusesIt) {
    auto ctx = test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    const model::Mesh sphere = test::makeUvSphere({0, 0, 0}, 40);
    auto a = GpuMesh::upload(*ctx, sphere);
    ASSERT_TRUE(a);
    auto target = OffscreenTarget::create(*ctx, 200, 160, VK_SAMPLE_COUNT_1_BIT);
    ASSERT_TRUE(target);
    auto renderer = SceneRenderer::create(*ctx, (*target)->renderPass(), (*target)->samples());
    ASSERT_TRUE(renderer);
    Drawable drawables[] = {{*a, kBone, true}};
    Scene scene;
    scene.drawables = drawables;
    Camera cam = Camera::fit(sphere.bounds(), ViewPreset::Anterior, 200.0 / 160.0);
    SceneRenderer& r = **renderer;
    auto frame = [&] { return renderFrame(*ctx, r, **target, scene, cam, FrameQuality::Progressive); };
    const ImageRgba8 first = frame(); // a new scene: still
    EXPECT_TRUE(r.lastPrepareRendered());
    EXPECT_EQ(r.lastQuality(), FrameQuality::Still);
    const ImageRgba8 second = frame(); // unchanged: final (MSAA)
    EXPECT_TRUE(r.lastPrepareRendered());
    EXPECT_EQ(r.lastQuality(), FrameQuality::Final);
    const ImageRgba8 third = frame(); // unchanged again: nothing drawn, the final image reused
    EXPECT_FALSE(r.lastPrepareRendered());
    EXPECT_EQ(r.lastQuality(), FrameQuality::Final);
    EXPECT_EQ(third.pixels, second.pixels);
    EXPECT_EQ(r.lastTriangleCount(), sphere.triangleCount());
    // The final frame is the one a screenshot gets; still and final differ only at edges.
    const ImageRgba8 shot = renderFrame(*ctx, r, **target, scene, cam, FrameQuality::Final);
    EXPECT_EQ(shot.pixels, second.pixels);
    std::size_t differ = 0;
    for (std::size_t i = 0; i < first.pixels.size(); i += 4)
        differ += first.pixels[i] != second.pixels[i];
    EXPECT_GT(differ, 0u);                          // MSAA smoothed the silhouette...
    EXPECT_LT(differ, first.pixels.size() / 4 / 10); // ...and nothing else
    // Any change (colour, camera, clip) starts over with a still frame.
    drawables[0].colorRgba = kRed;
    (void)frame();
    EXPECT_TRUE(r.lastPrepareRendered());
    EXPECT_EQ(r.lastQuality(), FrameQuality::Still);
    EXPECT_GT(centroidOf(renderFrame(*ctx, r, **target, scene, cam, FrameQuality::Progressive), 0).count, 1000);
    EXPECT_EQ(r.lastQuality(), FrameQuality::Final);
    cam.orbit(0.1, 0.0);
    (void)frame();
    EXPECT_EQ(r.lastQuality(), FrameQuality::Still);
    (void)frame();
    scene.clip.planeEnabled = true;
    (void)frame();
    EXPECT_EQ(r.lastQuality(), FrameQuality::Still);
    test::expectNoValidationMessages(*ctx);
}

TEST(SceneRenderer, PerVertexColoursMultiplyTheDrawableColour) {
    auto ctx = test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    const model::Mesh sphere = test::makeUvSphere({0, 0, 0}, 40);
    // The patient's left half (+L) red, the right half blue: a map painted on the surface.
    std::vector<glm::vec4> colors;
    for (const auto& p : sphere.positions)
        colors.push_back(p.x > 0 ? glm::vec4(1, 0.1f, 0.1f, 1) : glm::vec4(0.1f, 0.1f, 1, 1));
    auto gpu = GpuMesh::upload(*ctx, sphere, colors);
    ASSERT_TRUE(gpu) << describe(gpu.error());
    EXPECT_FALSE(GpuMesh::upload(*ctx, sphere, std::span(colors).first(3))); // one per vertex
    auto target = OffscreenTarget::create(*ctx, 200, 200, VK_SAMPLE_COUNT_1_BIT);
    ASSERT_TRUE(target);
    auto renderer = SceneRenderer::create(*ctx, (*target)->renderPass(), (*target)->samples());
    ASSERT_TRUE(renderer);
    Drawable drawables[] = {{*gpu, glm::vec4(1.0f), true}};
    Scene scene;
    scene.drawables = drawables;
    const Camera cam = Camera::fit(sphere.bounds(), ViewPreset::Anterior);
    const ImageRgba8 img = renderFrame(*ctx, **renderer, **target, scene, cam, FrameQuality::Final);
    // Anterior view: the patient's left on the image right.
    const auto* right = img.at(140, 100);
    const auto* left = img.at(60, 100);
    EXPECT_GT(right[0], right[2] + 60);
    EXPECT_GT(left[2], left[0] + 60);
    // The drawable's colour multiplies: green drawable x red vertices gives dark, not red.
    drawables[0].colorRgba = glm::vec4(0.1f, 1.0f, 0.1f, 1.0f);
    const ImageRgba8 dim = renderFrame(*ctx, **renderer, **target, scene, cam, FrameQuality::Final);
    EXPECT_LT(dim.at(140, 100)[0], right[0] / 3);
    test::expectNoValidationMessages(*ctx);
}

} // namespace
} // namespace precis::render
