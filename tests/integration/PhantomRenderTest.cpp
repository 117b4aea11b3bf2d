// The phantom's bone surface drawn offscreen on lavapipe with validation on, compared with a
// stored golden (tolerance: support/RenderTestSupport.h). On mismatch the actual and diff images
// are written to build/.../test-output/render/.
#include "anatomy/IsoSurface.h"
#include "phantom/LumbarPhantom.h"
#include "render/Camera.h"
#include "render/SceneRenderer.h"

#include "support/RenderTestSupport.h"

#include <gtest/gtest.h>

using namespace precis;

TEST(PhantomRender, BoneSurfaceMatchesGoldenInPosteriorAndLateralViews) {
    auto ph = phantom::makeLumbarPhantom({}); // seed 1: deterministic voxels
    ASSERT_TRUE(ph);
    model::Mesh bone = anatomy::extractIsoSurface(ph->ct, anatomy::kBoneIsoHu);
    ASSERT_FALSE(bone.empty());
    auto ctx = render::test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    render::MeshItem item{&bone, glm::vec4(model::defaultColor(model::StructureKind::Bone), 1.0f)};
    for (auto view : {render::ViewPreset::Posterior, render::ViewPreset::Left}) {
        auto camera = render::Camera::fit(bone.bounds(), view, 4.0 / 3.0);
        auto image = render::renderMeshesOffscreen(*ctx, std::span(&item, 1), camera, 400, 300);
        ASSERT_TRUE(image) << image.error().message;
        render::test::expectMatchesGolden(
            *image, std::string("phantom_bone_") + std::string(render::toString(view)));
    }
    render::test::expectNoValidationMessages(*ctx);
}
