#include "render/SliceRenderer.h"

#include "render/SceneRenderer.h"
#include "support/RenderTestSupport.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <cmath>

namespace precis::render {
namespace {

constexpr std::uint8_t kBallLabel = 7;
const glm::dvec3 kBallLps{20, -10, 5};   // 1000 HU, patient left and anterior
const glm::dvec3 kLabelLps{-25, 15, 5};  // labelled region (HU of the background)
constexpr double kBallRadiusMm = 15;
constexpr double kBackgroundHu = 40;

/// A volume whose grid is rotated (30 degrees about z, then 20 about x) against LPS, so an
/// axial view is a true oblique reslice of it. 40 HU everywhere but a 1000 HU ball; a label
/// ball elsewhere.
struct Phantom {
    model::Volume volume;
    model::LabelMap labels;
};
Phantom makeObliqueBalls() {
    model::ImageGeometry g;
    g.dims = {96, 96, 64};
    g.spacingMm = {1.25, 1.25, 1.6};
    const double a = 30 * M_PI / 180, b = 20 * M_PI / 180;
    const glm::dmat3 rz(glm::dvec3(std::cos(a), std::sin(a), 0), glm::dvec3(-std::sin(a), std::cos(a), 0),
                        glm::dvec3(0, 0, 1));
    const glm::dmat3 rx(glm::dvec3(1, 0, 0), glm::dvec3(0, std::cos(b), std::sin(b)),
                        glm::dvec3(0, -std::sin(b), std::cos(b)));
    g.direction = rx * rz;
    const glm::dvec3 halfExtent = 0.5 * glm::dvec3(g.dims[0] - 1, g.dims[1] - 1, g.dims[2] - 1) * g.spacingMm;
    g.originMm = -(g.direction * halfExtent); // grid centred on the LPS origin
    Phantom p{model::Volume(g, std::int16_t(kBackgroundHu)), model::LabelMap(g, 0)};
    for (int k = 0; k < g.dims[2]; ++k)
        for (int j = 0; j < g.dims[1]; ++j)
            for (int i = 0; i < g.dims[0]; ++i) {
                const glm::dvec3 w = g.worldFromIndex({double(i), double(j), double(k)});
                if (glm::length(w - kBallLps) < kBallRadiusMm) p.volume.at(i, j, k) = 1000;
                if (glm::length(w - kLabelLps) < 12) p.labels.at(i, j, k) = kBallLabel;
            }
    return p;
}

struct Blob {
    double x = 0, y = 0;
    int count = 0;
};
template <class Pred>
Blob blobOf(const ImageRgba8& img, Pred pred) {
    Blob b;
    for (int y = 0; y < img.height; ++y)
        for (int x = 0; x < img.width; ++x)
            if (pred(img.at(x, y))) {
                b.x += x + 0.5;
                b.y += y + 0.5;
                ++b.count;
            }
    if (b.count) b.x /= b.count, b.y /= b.count;
    return b;
}

TEST(SliceRenderer, AxialResliceOfAnObliqueGridPutsStructuresWhereTheyAre) {
    auto ctx = test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    const Phantom ph = makeObliqueBalls();
    SliceView view = SliceView::standard(SliceOrientation::Axial, ph.volume.geometry);
    view.centerLps = {0, 0, kBallLps.z};
    view.heightMm = 160;
    LabelPalette palette{};
    palette[kBallLabel] = {0.0f, 1.0f, 0.0f, 1.0f};
    SliceDisplay display;
    display.window = kBoneWindow;
    display.labelOpacity = 1.0f;
    const int size = 200;
    auto img = renderSliceOffscreen(*ctx, ph.volume, &ph.labels, palette, view, display, size, size, false);
    ASSERT_TRUE(img) << describe(img.error());
    (void)writePng(*img, precis::test::outputDir("render") / "slice_oblique_grid_axial.png");

    // The bright ball (1000 HU: 0.8 of white; 40 HU: 0.32) where the view says, with the right
    // area when cut at the half-way grey (trilinear edges: 6 %).
    const Blob ball = blobOf(*img, [](const std::uint8_t* p) { return p[0] > 143 && p[1] > 143; });
    const glm::dvec2 expected = view.viewportFromWorld(kBallLps, size, size);
    ASSERT_GT(ball.count, 100);
    EXPECT_NEAR(ball.x, expected.x, 1.0);
    EXPECT_NEAR(ball.y, expected.y, 1.0);
    const double mmPerPx = view.mmPerPixel(size);
    EXPECT_NEAR(ball.count * mmPerPx * mmPerPx, M_PI * kBallRadiusMm * kBallRadiusMm,
                0.06 * M_PI * kBallRadiusMm * kBallRadiusMm);
    // Patient left (+x) on the screen right, anterior (-y) up.
    EXPECT_GT(ball.x, size / 2);
    EXPECT_LT(ball.y, size / 2);

    // The label overlay (opaque green here), nearest-neighbour from the label map.
    const Blob label = blobOf(*img, [](const std::uint8_t* p) { return p[1] > 200 && p[0] < 40; });
    const glm::dvec2 expectedLabel = view.viewportFromWorld(kLabelLps, size, size);
    ASSERT_GT(label.count, 100);
    EXPECT_NEAR(label.x, expectedLabel.x, 1.5);
    EXPECT_NEAR(label.y, expectedLabel.y, 1.5);

    // Bone window W 2000 / L 400 maps 40 HU to (40 - (400 - 1000)) / 2000 = 0.32 of white.
    const auto* bg = img->at(size / 2, size / 2 + 30);
    EXPECT_NEAR(bg[0], 0.32 * 255, 2.0);
    // Outside the volume: black.
    EXPECT_EQ(img->at(1, 1)[0], 0);
    test::expectNoValidationMessages(*ctx);
}

TEST(SliceRenderer, WindowPresetsAndOverlayOpacity) {
    auto ctx = test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    const Phantom ph = makeObliqueBalls();
    SliceView view = SliceView::standard(SliceOrientation::Coronal, ph.volume.geometry);
    view.centerLps = {0, kLabelLps.y, 5};
    view.heightMm = 160;
    LabelPalette palette{};
    palette[kBallLabel] = {1.0f, 0.0f, 0.0f, 1.0f};
    const int size = 128;
    const glm::dvec2 at = view.viewportFromWorld(kLabelLps, size, size);
    const glm::dvec2 plain = view.viewportFromWorld(kLabelLps + glm::dvec3(0, 0, 25), size, size);
    struct Case {
        WindowLevel window;
        float opacity;
        double grey;  // expected for 40 HU
    };
    for (const Case& c : {Case{kSoftTissueWindow, 0.5f, 0.5}, Case{kLungWindow, 0.0f, (40.0 + 1350.0) / 1500.0},
                          Case{kBoneWindow, 1.0f, 0.32}}) {
        SliceDisplay display{c.window, c.opacity};
        auto img = renderSliceOffscreen(*ctx, ph.volume, &ph.labels, palette, view, display, size, size, false);
        ASSERT_TRUE(img) << describe(img.error());
        const auto* p = img->at(int(plain.x), int(plain.y));
        EXPECT_NEAR(p[1], std::min(1.0, c.grey) * 255, 2.0) << c.window.widthHu;
        const auto* q = img->at(int(at.x), int(at.y));
        // grey * (1 - opacity) + red * opacity
        EXPECT_NEAR(q[0], (c.grey * (1 - c.opacity) + c.opacity) * 255, 2.5) << c.window.widthHu;
        EXPECT_NEAR(q[1], c.grey * (1 - c.opacity) * 255, 2.5) << c.window.widthHu;
    }
    test::expectNoValidationMessages(*ctx);
}

// Slice planes in the 3D view: depth-tested with the meshes, outside the volume left out, framed.
TEST(SliceRenderer, SlicePlanesInTheSceneAreDepthTestedAndFramed) {
    auto ctx = test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    const Phantom ph = makeObliqueBalls();
    auto gpu = GpuVolume::upload(*ctx, ph.volume, &ph.labels);
    ASSERT_TRUE(gpu) << describe(gpu.error());
    const model::Mesh sphere = test::makeUvSphere({0, 0, 0}, 20, 24, 48);
    auto sphereGpu = GpuMesh::upload(*ctx, sphere);
    ASSERT_TRUE(sphereGpu);
    const Drawable drawables[] = {{*sphereGpu, {0.9f, 0.1f, 0.1f, 1.0f}, true}};
    SlicePlaneItem plane;
    plane.volume = *gpu;
    plane.view = SliceView::standard(SliceOrientation::Axial, ph.volume.geometry);
    plane.display.window = kSoftTissueWindow;
    plane.frameColor = {1.0f, 1.0f, 0.0f, 1.0f};
    const SlicePlaneItem planes[] = {plane};
    Scene scene;
    scene.drawables = drawables;
    scene.planes = planes;
    const Camera cam = Camera::fit(ph.volume.geometry.worldBounds(), ViewPreset::Oblique);
    OffscreenOptions o;
    o.orientationLabels = false;
    auto img = renderSceneOffscreen(*ctx, scene, cam, 240, 240, o);
    ASSERT_TRUE(img) << describe(img.error());
    (void)writePng(*img, precis::test::outputDir("render") / "slice_plane_in_scene.png");
    const Blob frame = blobOf(*img, [](const std::uint8_t* p) { return p[0] > 200 && p[1] > 200 && p[2] < 60; });
    EXPECT_GT(frame.count, 200); // the yellow frame
    const Blob grey = blobOf(*img, [](const std::uint8_t* p) {
        return std::abs(p[0] - 128) < 6 && std::abs(p[1] - 128) < 6 && std::abs(p[2] - 128) < 6;
    });
    EXPECT_GT(grey.count, 2000); // 40 HU at soft-tissue window: mid grey
    const Blob red = blobOf(*img, [](const std::uint8_t* p) { return p[0] > 120 && p[1] < 60; });
    EXPECT_GT(red.count, 300); // the sphere's upper half above the plane
    test::expectNoValidationMessages(*ctx);
}

TEST(SliceRenderer, LabelMapOnAnotherGridIsRejected) {
    auto ctx = test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    const Phantom ph = makeObliqueBalls();
    model::ImageGeometry other = ph.volume.geometry;
    other.dims[2] = 10;
    const model::LabelMap wrong(other, 0);
    auto gpu = GpuVolume::upload(*ctx, ph.volume, &wrong);
    ASSERT_FALSE(gpu);
    EXPECT_EQ(gpu.error().code, ErrorCode::InvalidArgument);
    EXPECT_FALSE(gpu.error().message.empty());
    auto empty = GpuVolume::upload(*ctx, model::Volume{});
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().code, ErrorCode::InvalidArgument);
    test::expectNoValidationMessages(*ctx);
}

} // namespace
} // namespace precis::render
