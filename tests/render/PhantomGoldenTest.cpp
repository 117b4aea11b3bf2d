// The lumbar phantom through the renderer: an axial slice with its label overlay, translucent
// bone with the dural sac inside (order-independent transparency), and a needle to scale.
#include "anatomy/IsoSurface.h"
#include "phantom/LumbarModel.h"
#include "phantom/LumbarPhantom.h"
#include "render/PlanOverlay.h"
#include "render/SceneRenderer.h"
#include "render/SliceRenderer.h"

#include "support/RenderTestSupport.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

namespace precis::render {
namespace {

/// A coarser phantom than the CLI's (2 mm pixels, 2.5 mm slices) keeps the suite fast; the
/// anatomy is the same analytic model.
const phantom::Phantom& smallPhantom() {
    static std::optional<phantom::Phantom> ph;
    if (!ph) {
        phantom::PhantomOptions o;
        o.columns = 150;
        o.rows = 150;
        o.slices = 96;
        o.pixelMm = 2.0;
        o.sliceMm = 2.5;
        auto r = phantom::makeLumbarPhantom(o);
        EXPECT_TRUE(r) << describe(r.error());
        if (r) ph = std::move(*r);
    }
    return *ph;
}

TEST(PhantomGolden, AxialSliceWithLabelOverlay) {
    const auto& ph = smallPhantom();
    ASSERT_FALSE(ph.ct.voxels.empty());
    auto ctx = test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    // Through the L4 vertebral body centre (the frame origin of L4).
    const phantom::LumbarModel model;
    glm::dvec3 l4{0.0};
    for (const auto& f : model.vertebrae())
        if (f.name == "L4") l4 = f.originLps;
    SliceView view = SliceView::standard(SliceOrientation::Axial, ph.ct.geometry, 4.0 / 3.0);
    view.centerLps.z = l4.z;
    SliceDisplay display;
    display.window = kSoftTissueWindow;
    display.labelOpacity = 0.5f;
    const LabelPalette palette = paletteFromStructures(ph.truth.structures);
    auto img = renderSliceOffscreen(*ctx, ph.ct, &ph.labels, palette, view, display, 400, 300);
    ASSERT_TRUE(img) << describe(img.error());
    test::expectMatchesGolden(*img, "phantom_axial_l4_labels");

    test::expectNoValidationMessages(*ctx);
}

/// Label surfaces of the phantom's vertebrae (L2..S1) and dural sac, on the GPU.
struct SpineMeshes {
    std::vector<std::shared_ptr<const GpuMesh>> bones;
    std::shared_ptr<const GpuMesh> sac;
    model::Bounds bounds;
};
SpineMeshes uploadSpine(Context& ctx, const phantom::Phantom& ph) {
    SpineMeshes s;
    s.bounds = {glm::dvec3(1e300), glm::dvec3(-1e300)};
    auto add = [&](std::uint8_t label) -> std::shared_ptr<const GpuMesh> {
        const model::Mesh m = anatomy::extractLabelSurface(ph.labels, label);
        EXPECT_FALSE(m.empty()) << int(label);
        const auto b = m.bounds();
        s.bounds.minMm = glm::min(s.bounds.minMm, b.minMm);
        s.bounds.maxMm = glm::max(s.bounds.maxMm, b.maxMm);
        auto gpu = GpuMesh::upload(ctx, m);
        EXPECT_TRUE(gpu);
        return gpu ? *gpu : nullptr;
    };
    for (int level = 0; level < phantom::kLevelCount; ++level)
        s.bones.push_back(add(phantom::label::vertebra(level)));
    s.sac = add(phantom::label::kDuralSac);
    return s;
}

// Translucent bone with the translucent dural sac inside: weighted blended OIT, so the sac shows
// through the laminae whatever the draw order.
TEST(PhantomGolden, TranslucentBoneWithTheCanalInside) {
    const auto& ph = smallPhantom();
    ASSERT_FALSE(ph.ct.voxels.empty());
    auto ctx = test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    const SpineMeshes spine = uploadSpine(*ctx, ph);
    const glm::vec4 bone{model::defaultColor(model::StructureKind::Bone), 0.35f};
    const glm::vec4 canal{model::defaultColor(model::StructureKind::Canal), 0.6f};
    std::vector<Drawable> forward, backward;
    for (const auto& b : spine.bones) forward.push_back({b, bone, true});
    forward.push_back({spine.sac, canal, true});
    backward.assign(forward.rbegin(), forward.rend());
    OffscreenOptions o;
    for (auto view : {ViewPreset::Posterior, ViewPreset::Left}) {
        const Camera cam = Camera::fit(spine.bounds, view, 4.0 / 3.0);
        Scene a;
        a.drawables = forward;
        auto imgA = renderSceneOffscreen(*ctx, a, cam, 400, 300, o);
        ASSERT_TRUE(imgA) << describe(imgA.error());
        test::expectMatchesGolden(*imgA, "phantom_translucent_bone_canal_" + std::string(toString(view)));
        // Order independence: the reversed draw order gives the same image (float sums differ
        // only in rounding).
        Scene b;
        b.drawables = backward;
        auto imgB = renderSceneOffscreen(*ctx, b, cam, 400, 300, o);
        ASSERT_TRUE(imgB);
        auto diff = compareImages(*imgA, *imgB, 2);
        ASSERT_TRUE(diff);
        EXPECT_LE(diff->maxAbsDiff, 2) << toString(view);
    }
    // The sac is seen through the bone: the canal's blue dominates at the spine's midline in the
    // posterior view, between the laminae.
    const Camera cam = Camera::fit(spine.bounds, ViewPreset::Posterior, 4.0 / 3.0);
    Scene a;
    a.drawables = forward;
    auto img = renderSceneOffscreen(*ctx, a, cam, 400, 300, o);
    ASSERT_TRUE(img);
    int blueish = 0;
    for (int y = 0; y < img->height; ++y) {
        const auto* p = img->at(img->width / 2, y);
        blueish += p[2] > p[0] + 25;
    }
    EXPECT_GT(blueish, 30) << "the dural sac does not show through the bone";
    test::expectNoValidationMessages(*ctx);
}

model::DeviceCatalog rfCatalog() {
    model::Device rf; // the catalogue's 18 G RF cannula, 10 mm active tip (ISO 9626: 1.27 mm)
    rf.id = "rf-18g-10mm";
    rf.type = model::DeviceType::RfCannula;
    rf.gauge = 18;
    rf.outerDiameterMm = 1.27;
    rf.activeTipMm = 10;
    rf.contacts = {{0.0, 10.0}};
    return {{rf}};
}

glm::dvec3 landmark(const phantom::Truth& truth, std::string_view name) {
    for (const auto& l : truth.landmarks)
        if (l.name == name) return l.lps;
    ADD_FAILURE() << "no landmark " << name;
    return glm::dvec3(0.0);
}

// A medial-branch RF needle at L4 on the left, over translucent bone: shaft, active tip and
// handles drawn to scale.
TEST(PhantomGolden, NeedleAtTheL4MedialBranch) {
    const auto& ph = smallPhantom();
    ASSERT_FALSE(ph.ct.voxels.empty());
    auto ctx = test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    const SpineMeshes spine = uploadSpine(*ctx, ph);
    model::Trajectory t;
    t.name = "L4 left MBRFA";
    t.deviceId = "rf-18g-10mm";
    t.targetLps = landmark(ph.truth, "L4_left_medial_branch_target");
    t.entryLps = t.targetLps + glm::dvec3(25, 70, 20); // from posterior, lateral and cranial
    model::Plan plan;
    plan.trajectories = {t};
    std::vector<Drawable> drawables;
    for (const auto& b : spine.bones)
        drawables.push_back({b, {model::defaultColor(model::StructureKind::Bone), 0.45f}, true});
    for (const auto& o : planOverlayMeshes(plan, rfCatalog(), t.name)) {
        auto gpu = GpuMesh::upload(*ctx, o.mesh);
        ASSERT_TRUE(gpu);
        drawables.push_back({*gpu, o.colorRgba, true});
    }
    Scene scene;
    scene.drawables = drawables;
    model::Bounds b{glm::min(t.entryLps, t.targetLps) - 12.0, glm::max(t.entryLps, t.targetLps) + 12.0};
    const Camera cam = Camera::fit(b, ViewPreset::Left, 4.0 / 3.0); // the needle side-on
    auto img = renderSceneOffscreen(*ctx, scene, cam, 400, 300);
    ASSERT_TRUE(img) << describe(img.error());
    test::expectMatchesGolden(*img, "phantom_needle_l4_mbrfa");
    test::expectNoValidationMessages(*ctx);
}

// The shaft's width on screen is its true diameter: seen side-on, the 18 G shaft (1.27 mm)
// covers 1.27 mm / (mm per pixel at its depth) pixels, +-1 pixel.
TEST(PhantomGolden, NeedleIsDrawnAtItsTrueDiameter) {
    auto ctx = test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    model::Trajectory t;
    t.name = "n";
    t.deviceId = "rf-18g-10mm";
    t.entryLps = {0, 0, 30};
    t.targetLps = {0, 0, -30}; // vertical: seen from the front it is a vertical bar
    model::Plan plan;
    plan.trajectories = {t};
    OverlayStyle style;
    style.shaft = style.activeShaft = {1, 1, 1, 1};
    style.handleRadiusMm = 0.01;
    std::vector<Drawable> drawables;
    for (const auto& o : planOverlayMeshes(plan, rfCatalog(), "", style)) {
        auto gpu = GpuMesh::upload(*ctx, o.mesh);
        ASSERT_TRUE(gpu);
        drawables.push_back({*gpu, o.colorRgba, true});
    }
    Scene scene;
    scene.drawables = drawables;
    Camera cam;
    cam.eyeLps = {0, -60, 0};
    cam.targetLps = {0, 0, 0};
    cam.sceneRadiusMm = 40;
    const int h = 400;
    OffscreenOptions o;
    o.orientationLabels = false;
    auto img = renderSceneOffscreen(*ctx, scene, cam, h, h, o);
    ASSERT_TRUE(img) << describe(img.error());
    const double mmPerPx = 2 * 60 * std::tan(0.5 * cam.fovYDeg * M_PI / 180) / h;
    // Pixels across row y that differ from the background: the lit shaft is brighter everywhere
    // (no face of it is unlit), so the count is the width to within the edge pixels.
    const int y = h / 4; // on the shaft, above the active tip
    const auto* bg = img->at(5, y);
    int covered = 0;
    for (int x = 0; x < img->width; ++x) covered += std::abs(int(img->at(x, y)[1]) - int(bg[1])) > 10;
    EXPECT_NEAR(covered, 1.27 / mmPerPx, 1.5) << "mm per pixel " << mmPerPx;
    (void)writePng(*img, precis::test::outputDir("render") / "needle_diameter.png");
    test::expectNoValidationMessages(*ctx);
}

} // namespace
} // namespace precis::render
