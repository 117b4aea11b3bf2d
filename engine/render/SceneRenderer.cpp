#include "render/SceneRenderer.h"

#include "render/OffscreenTarget.h"
#include "render/OrientationLabels.h"
#include "render/SliceRenderer.h"
#include "render/detail/Pipeline.h"
#include "render/detail/VkCheck.h"

#include <array>
#include <cmath>
#include <cstring>
#include <vector>

namespace precis::render {

namespace {

const std::uint32_t kMeshVert[] =
#include "mesh.vert.spv.inc"
    ;
const std::uint32_t kMeshFrag[] =
#include "mesh.frag.spv.inc"
    ;
const std::uint32_t kMeshOitFrag[] =
#include "mesh_oit.frag.spv.inc"
    ;
const std::uint32_t kBackgroundVert[] =
#include "background.vert.spv.inc"
    ;
const std::uint32_t kBackgroundFrag[] =
#include "background.frag.spv.inc"
    ;
const std::uint32_t kFullscreenVert[] =
#include "fullscreen.vert.spv.inc"
    ;
const std::uint32_t kCompositeFrag[] =
#include "oit_composite.frag.spv.inc"
    ;
const std::uint32_t kCompositeMsFrag[] =
#include "oit_composite_ms.frag.spv.inc"
    ;
const std::uint32_t kBlitFrag[] =
#include "blit.frag.spv.inc"
    ;

// Matches the push_constant block of mesh.vert / mesh.frag (128 bytes: the guaranteed minimum).
struct MeshPush {
    float clipFromWorld[16];
    float viewRows[3][4];
    float color[4];
};
static_assert(sizeof(MeshPush) == 128);

struct BackgroundPush {
    float top[4];
    float bottom[4];
};

constexpr VkFormat kColorFormat = VK_FORMAT_R8G8B8A8_UNORM;
constexpr std::uint32_t kSubpassOpaque = 0, kSubpassTranslucent = 1, kSubpassComposite = 2;
// Shader modules by index, in the order SceneRenderer::create adds them.
enum Module : std::size_t {
    kModMeshVert, kModMeshFrag, kModMeshOitFrag, kModBackgroundVert, kModBackgroundFrag,
    kModFullscreenVert, kModCompositeFrag, kModCompositeMsFrag, kModBlitFrag
};

bool blendableTarget(VkPhysicalDevice pd, VkFormat f) {
    VkFormatProperties fp;
    vkGetPhysicalDeviceFormatProperties(pd, f, &fp);
    const VkFormatFeatureFlags need = VK_FORMAT_FEATURE_COLOR_ATTACHMENT_BIT |
                                      VK_FORMAT_FEATURE_COLOR_ATTACHMENT_BLEND_BIT;
    return (fp.optimalTilingFeatures & need) == need;
}

Result<VkRenderPass> createScenePass(VkDevice device, VkFormat depthFormat, VkFormat accumFormat,
                                     VkFormat revealFormat, VkSampleCountFlagBits samples) {
    const bool msaa = samples != VK_SAMPLE_COUNT_1_BIT;
    std::vector<VkAttachmentDescription> a(msaa ? 5 : 4);
    for (auto& x : a) {
        x.samples = samples;
        x.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
        x.storeOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
        x.stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
        x.stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
        x.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    }
    a[0].format = kColorFormat;
    a[0].storeOp = msaa ? VK_ATTACHMENT_STORE_OP_DONT_CARE : VK_ATTACHMENT_STORE_OP_STORE;
    a[0].finalLayout = msaa ? VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL
                            : VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    a[1].format = depthFormat;
    a[1].finalLayout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL;
    a[2].format = accumFormat;
    a[2].finalLayout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    a[3].format = revealFormat;
    a[3].finalLayout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    if (msaa) {
        a[4].format = kColorFormat;
        a[4].samples = VK_SAMPLE_COUNT_1_BIT;
        a[4].loadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
        a[4].storeOp = VK_ATTACHMENT_STORE_OP_STORE;
        a[4].finalLayout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    }
    const VkAttachmentReference color{0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
    const VkAttachmentReference depth{1, VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL};
    const VkAttachmentReference oitOut[2]{{2, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL},
                                          {3, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL}};
    const VkAttachmentReference oitIn[2]{{2, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL},
                                         {3, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL}};
    const VkAttachmentReference resolve{4, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
    const std::uint32_t preserveDepth = 1;
    VkSubpassDescription sp[3]{};
    for (auto& s : sp) s.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS;
    sp[0].colorAttachmentCount = 1;
    sp[0].pColorAttachments = &color;
    sp[0].pDepthStencilAttachment = &depth;
    sp[1].colorAttachmentCount = 2;
    sp[1].pColorAttachments = oitOut;
    sp[1].pDepthStencilAttachment = &depth; // tested against the opaque depth, not written
    sp[2].colorAttachmentCount = 1;
    sp[2].pColorAttachments = &color;
    sp[2].pResolveAttachments = msaa ? &resolve : nullptr;
    sp[2].inputAttachmentCount = 2;
    sp[2].pInputAttachments = oitIn;
    sp[2].preserveAttachmentCount = 1;
    sp[2].pPreserveAttachments = &preserveDepth;

    std::vector<VkSubpassDependency> deps;
    // The previous frame's use of these images (its copy into the target read the resolved
    // image in a fragment shader) before this frame writes them, for every subpass.
    for (std::uint32_t s = 0; s < 3; ++s) {
        VkSubpassDependency d{};
        d.srcSubpass = VK_SUBPASS_EXTERNAL;
        d.dstSubpass = s;
        d.srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT |
                         VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT |
                         VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT;
        d.dstStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT |
                         VK_PIPELINE_STAGE_EARLY_FRAGMENT_TESTS_BIT |
                         VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT;
        d.srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT |
                          VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT;
        d.dstAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT | VK_ACCESS_COLOR_ATTACHMENT_READ_BIT |
                          VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT |
                          VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_READ_BIT;
        deps.push_back(d);
    }
    // Opaque depth before the translucent depth test.
    VkSubpassDependency d01{};
    d01.srcSubpass = kSubpassOpaque;
    d01.dstSubpass = kSubpassTranslucent;
    d01.srcStageMask = VK_PIPELINE_STAGE_EARLY_FRAGMENT_TESTS_BIT | VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT;
    d01.dstStageMask = VK_PIPELINE_STAGE_EARLY_FRAGMENT_TESTS_BIT | VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT;
    d01.srcAccessMask = VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT;
    d01.dstAccessMask = VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_READ_BIT;
    d01.dependencyFlags = VK_DEPENDENCY_BY_REGION_BIT;
    deps.push_back(d01);
    // Accumulated OIT targets before the composite reads them as input attachments.
    VkSubpassDependency d12{};
    d12.srcSubpass = kSubpassTranslucent;
    d12.dstSubpass = kSubpassComposite;
    d12.srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    d12.dstStageMask = VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT;
    d12.srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
    d12.dstAccessMask = VK_ACCESS_INPUT_ATTACHMENT_READ_BIT;
    d12.dependencyFlags = VK_DEPENDENCY_BY_REGION_BIT;
    deps.push_back(d12);
    // The opaque image before the composite blends onto it.
    VkSubpassDependency d02{};
    d02.srcSubpass = kSubpassOpaque;
    d02.dstSubpass = kSubpassComposite;
    d02.srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    d02.dstStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    d02.srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
    d02.dstAccessMask = VK_ACCESS_COLOR_ATTACHMENT_READ_BIT | VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
    d02.dependencyFlags = VK_DEPENDENCY_BY_REGION_BIT;
    deps.push_back(d02);
    // The finished image before the copy into the target samples it.
    VkSubpassDependency d2e{};
    d2e.srcSubpass = kSubpassComposite;
    d2e.dstSubpass = VK_SUBPASS_EXTERNAL;
    d2e.srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    d2e.dstStageMask = VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT;
    d2e.srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
    d2e.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
    deps.push_back(d2e);

    VkRenderPassCreateInfo ci{VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO};
    ci.attachmentCount = static_cast<std::uint32_t>(a.size());
    ci.pAttachments = a.data();
    ci.subpassCount = 3;
    ci.pSubpasses = sp;
    ci.dependencyCount = static_cast<std::uint32_t>(deps.size());
    ci.pDependencies = deps.data();
    VkRenderPass pass = VK_NULL_HANDLE;
    PRECIS_VK_TRY(vkCreateRenderPass(device, &ci, nullptr, &pass), "creating the scene render pass");
    return pass;
}

Result<VkDescriptorSetLayout> makeSetLayout(VkDevice device, VkDescriptorType type, std::uint32_t count) {
    std::array<VkDescriptorSetLayoutBinding, 2> b{};
    for (std::uint32_t i = 0; i < count; ++i)
        b[i] = {i, type, 1, VK_SHADER_STAGE_FRAGMENT_BIT, nullptr};
    VkDescriptorSetLayoutCreateInfo ci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    ci.bindingCount = count;
    ci.pBindings = b.data();
    VkDescriptorSetLayout layout = VK_NULL_HANDLE;
    PRECIS_VK_TRY(vkCreateDescriptorSetLayout(device, &ci, nullptr, &layout),
                  "creating a descriptor set layout");
    return layout;
}

} // namespace

struct SceneRenderer::Variant {
    VkSampleCountFlagBits samples = VK_SAMPLE_COUNT_1_BIT;
    float scale = 1.0f; // of the view's size
    VkSampler blitSampler = VK_NULL_HANDLE;
    VkRenderPass pass = VK_NULL_HANDLE;
    VkPipeline background = VK_NULL_HANDLE, opaque = VK_NULL_HANDLE, translucent = VK_NULL_HANDLE,
               composite = VK_NULL_HANDLE;
    std::unique_ptr<SliceRenderer> planes;
    // Size-dependent (recreated on resize; the old ones go through deferred deletion).
    VkExtent2D extent{0, 0};
    detail::Image color, depth, accum, reveal, resolved;
    VkFramebuffer framebuffer = VK_NULL_HANDLE;
    VkDescriptorSet compositeSet = VK_NULL_HANDLE, blitSet = VK_NULL_HANDLE;
};

namespace {

// Matches the uniform block of mesh.vert; one block per clip state, 256 bytes apart (the largest
// minUniformBufferOffsetAlignment Vulkan allows).
struct ClipBlock {
    float plane[4];  // keep dot(xyz, p) + w >= 0
    float boxMin[4]; // keep p >= boxMin (xyz)
    float boxMax[4]; // keep p <= boxMax (xyz)
};
constexpr VkDeviceSize kClipStride = 256;
constexpr float kFar = 1e20f; // "no limit" in a clip distance

/// Everything that decides the picture, field by field (no padding bytes): two frames with equal
/// keys look the same.
std::string sceneKey(const Scene& scene, const Camera& camera, VkExtent2D size) {
    std::string k;
    auto put = [&](const auto& v) { k.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
    auto putVec = [&](const auto& v) {
        for (int i = 0; i < v.length(); ++i) put(v[i]);
    };
    put(size.width), put(size.height);
    putVec(camera.eyeLps), putVec(camera.targetLps), putVec(camera.upLps);
    put(camera.fovYDeg), put(camera.sceneRadiusMm);
    putVec(scene.background.top), putVec(scene.background.bottom);
    const ClipState& c = scene.clip;
    put(c.planeEnabled), put(c.boxEnabled);
    putVec(c.planePointMm), putVec(c.planeNormal), putVec(c.boxMinMm), putVec(c.boxMaxMm);
    for (const auto& d : scene.drawables) {
        put(d.mesh.get()), putVec(d.colorRgba), put(d.visible), put(d.clipped);
    }
    for (const auto& p : scene.planes) {
        put(p.volume.get());
        if (p.volume)
            for (const auto& entry : p.volume->palette()) putVec(entry);
        put(p.view.orientation), putVec(p.view.centerLps), putVec(p.view.rightLps), putVec(p.view.upLps);
        put(p.view.heightMm);
        put(p.display.window.centerHu), put(p.display.window.widthHu), put(p.display.labelOpacity);
        put(p.showImage), putVec(p.frameColor);
    }
    return k;
}

ClipBlock clipBlock(const ClipState& c) {
    ClipBlock b{{0, 0, 0, 1}, {-kFar, -kFar, -kFar, 0}, {kFar, kFar, kFar, 0}};
    if (c.planeEnabled) {
        const glm::dvec3 n = glm::normalize(c.planeNormal);
        b.plane[0] = float(n.x), b.plane[1] = float(n.y), b.plane[2] = float(n.z);
        b.plane[3] = float(-glm::dot(n, c.planePointMm));
    }
    if (c.boxEnabled)
        for (int a = 0; a < 3; ++a) {
            b.boxMin[a] = float(c.boxMinMm[a]);
            b.boxMax[a] = float(c.boxMaxMm[a]);
        }
    return b;
}

} // namespace

Result<std::unique_ptr<SceneRenderer>> SceneRenderer::create(Context& ctx, VkRenderPass targetPass,
                                                             VkSampleCountFlagBits targetSamples) {
    std::unique_ptr<SceneRenderer> r(new SceneRenderer(ctx));
    VkDevice dev = ctx.device();
    const VkPhysicalDevice pd = ctx.physicalDevice();
    if (!ctx.independentBlend())
        return fail(ErrorCode::DeviceError,
                    "the GPU lacks independent blending (needed for transparent structures); "
                    "update the driver or use Mesa's lavapipe");
    if (!ctx.clipDistance())
        return fail(ErrorCode::DeviceError,
                    "the GPU lacks shader clip distances (needed for the clipping plane and box); "
                    "update the driver or use Mesa's lavapipe");
    if (!blendableTarget(pd, kColorFormat))
        return fail(ErrorCode::DeviceError, "the GPU cannot render to 8-bit RGBA images");
    if (!blendableTarget(pd, r->accumFormat_)) r->accumFormat_ = VK_FORMAT_R32G32B32A32_SFLOAT;
    if (!blendableTarget(pd, r->revealFormat_)) r->revealFormat_ = VK_FORMAT_R32_SFLOAT;
    if (!blendableTarget(pd, r->accumFormat_) || !blendableTarget(pd, r->revealFormat_))
        return fail(ErrorCode::DeviceError,
                    "the GPU cannot blend into float images (needed for transparency)");

    VkDescriptorSetLayoutBinding clipBinding{0, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, 1,
                                             VK_SHADER_STAGE_VERTEX_BIT, nullptr};
    VkDescriptorSetLayoutCreateInfo clci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    clci.bindingCount = 1;
    clci.pBindings = &clipBinding;
    PRECIS_VK_TRY(vkCreateDescriptorSetLayout(dev, &clci, nullptr, &r->clipSetLayout_),
                  "creating a descriptor set layout");
    auto meshLayout = detail::makePipelineLayout(dev, std::span(&r->clipSetLayout_, 1),
                                                 VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT,
                                                 sizeof(MeshPush));
    if (!meshLayout) return std::unexpected(meshLayout.error());
    r->meshLayout_ = *meshLayout;
    auto bgLayout = detail::makePipelineLayout(dev, {}, VK_SHADER_STAGE_FRAGMENT_BIT, sizeof(BackgroundPush));
    if (!bgLayout) return std::unexpected(bgLayout.error());
    r->backgroundLayout_ = *bgLayout;
    auto compositeSetLayout = makeSetLayout(dev, VK_DESCRIPTOR_TYPE_INPUT_ATTACHMENT, 2);
    if (!compositeSetLayout) return std::unexpected(compositeSetLayout.error());
    r->compositeSetLayout_ = *compositeSetLayout;
    auto compositeLayout = detail::makePipelineLayout(dev, std::span(&r->compositeSetLayout_, 1),
                                                      VK_SHADER_STAGE_FRAGMENT_BIT, sizeof(std::int32_t));
    if (!compositeLayout) return std::unexpected(compositeLayout.error());
    r->compositeLayout_ = *compositeLayout;
    auto blitSetLayout = makeSetLayout(dev, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1);
    if (!blitSetLayout) return std::unexpected(blitSetLayout.error());
    r->blitSetLayout_ = *blitSetLayout;
    auto blitLayout = detail::makePipelineLayout(dev, std::span(&r->blitSetLayout_, 1),
                                                 VK_SHADER_STAGE_FRAGMENT_BIT, sizeof(float) * 4);
    if (!blitLayout) return std::unexpected(blitLayout.error());
    r->blitLayout_ = *blitLayout;

    r->modules_ = std::make_unique<detail::ShaderModules>(dev);
    for (const auto& [code, bytes] :
         {std::pair{kMeshVert, sizeof(kMeshVert)}, {kMeshFrag, sizeof(kMeshFrag)},
          {kMeshOitFrag, sizeof(kMeshOitFrag)}, {kBackgroundVert, sizeof(kBackgroundVert)},
          {kBackgroundFrag, sizeof(kBackgroundFrag)}, {kFullscreenVert, sizeof(kFullscreenVert)},
          {kCompositeFrag, sizeof(kCompositeFrag)}, {kCompositeMsFrag, sizeof(kCompositeMsFrag)},
          {kBlitFrag, sizeof(kBlitFrag)}})
        if (auto mod = r->modules_->add(code, bytes); !mod) return std::unexpected(mod.error());
    // Copy into the target (its render pass, subpass 0).
    detail::PipelineDesc d;
    d.renderPass = targetPass, d.samples = targetSamples;
    d.vert = r->modules_->modules[kModFullscreenVert], d.frag = r->modules_->modules[kModBlitFrag];
    d.layout = r->blitLayout_;
    auto blit = detail::makePipeline(dev, d);
    if (!blit) return std::unexpected(blit.error());
    r->blit_ = *blit;

    VkSamplerCreateInfo sci{VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO};
    sci.magFilter = sci.minFilter = VK_FILTER_NEAREST;
    sci.addressModeU = sci.addressModeV = sci.addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE;
    PRECIS_VK_TRY(vkCreateSampler(dev, &sci, nullptr, &r->nearest_), "creating a sampler");
    sci.magFilter = sci.minFilter = VK_FILTER_LINEAR;
    PRECIS_VK_TRY(vkCreateSampler(dev, &sci, nullptr, &r->linear_), "creating a sampler");
    // Sets are replaced on resize while frames in flight may still use the old ones.
    const VkDescriptorPoolSize sizes[3]{{VK_DESCRIPTOR_TYPE_INPUT_ATTACHMENT, 32},
                                        {VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 16},
                                        {VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, 2}};
    auto pool = detail::makeDescriptorPool(dev, sizes, 34);
    if (!pool) return std::unexpected(pool.error());
    r->pool_ = *pool;

    auto clipBuffer = detail::Buffer::create(ctx, 2 * kClipStride,
                                             VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                             VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (!clipBuffer) return std::unexpected(clipBuffer.error());
    r->clipBuffer_ = std::move(*clipBuffer);
    const VkDescriptorSetLayout clipLayouts[2] = {r->clipSetLayout_, r->clipSetLayout_};
    VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = r->pool_;
    ai.descriptorSetCount = 2;
    ai.pSetLayouts = clipLayouts;
    VkDescriptorSet clipSets[2]{};
    PRECIS_VK_TRY(vkAllocateDescriptorSets(dev, &ai, clipSets), "allocating descriptor sets");
    r->clipSet_ = clipSets[0], r->noClipSet_ = clipSets[1];
    VkDescriptorBufferInfo bi[2]{{r->clipBuffer_.handle(), 0, sizeof(ClipBlock)},
                                 {r->clipBuffer_.handle(), kClipStride, sizeof(ClipBlock)}};
    VkWriteDescriptorSet w[2]{};
    for (int i = 0; i < 2; ++i) {
        w[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        w[i].dstSet = clipSets[i];
        w[i].descriptorCount = 1;
        w[i].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER;
        w[i].pBufferInfo = &bi[i];
    }
    vkUpdateDescriptorSets(dev, 2, w, 0, nullptr);

    // The final variant now (every caller needs it); the others on first use.
    auto& finalVariant = r->variants_[int(FrameQuality::Final)];
    finalVariant = std::make_unique<Variant>();
    finalVariant->samples = ctx.msaaSamples();
    finalVariant->blitSampler = r->nearest_;
    if (auto b = r->buildVariant(*finalVariant); !b) return std::unexpected(b.error());
    return r;
}

Result<void> SceneRenderer::buildVariant(Variant& v) {
    VkDevice dev = ctx_->device();
    auto pass = createScenePass(dev, ctx_->depthFormat(), accumFormat_, revealFormat_, v.samples);
    if (!pass) return std::unexpected(pass.error());
    v.pass = *pass;
    const auto& m = modules_->modules;
    auto build = [&](VkPipeline& out, const detail::PipelineDesc& d) -> Result<void> {
        auto p = detail::makePipeline(dev, d);
        if (!p) return std::unexpected(p.error());
        out = *p;
        return {};
    };
    detail::PipelineDesc d;
    d.renderPass = v.pass;
    d.samples = v.samples;
    // Background: subpass 0, no depth.
    d.vert = m[kModBackgroundVert], d.frag = m[kModBackgroundFrag], d.layout = backgroundLayout_;
    if (auto x = build(v.background, d); !x) return x;
    // Opaque meshes: depth test + write.
    d.vert = m[kModMeshVert], d.frag = m[kModMeshFrag], d.layout = meshLayout_, d.meshInput = true;
    d.depthTest = d.depthWrite = true;
    if (auto x = build(v.opaque, d); !x) return x;
    // Translucent meshes: subpass 1, depth test only, OIT accumulation into two targets.
    d.frag = m[kModMeshOitFrag], d.subpass = kSubpassTranslucent, d.depthWrite = false;
    d.blend = detail::BlendMode::OitAccum, d.colorAttachments = 2;
    // While moving, translucent closed surfaces show their near side only: half the fragments.
    d.cullBack = v.samples == VK_SAMPLE_COUNT_1_BIT && v.scale < 1.0f;
    if (auto x = build(v.translucent, d); !x) return x;
    d.cullBack = false;
    // Composite: subpass 2, full screen, blended over the opaque colour.
    d = {};
    d.renderPass = v.pass, d.samples = v.samples, d.subpass = kSubpassComposite;
    d.vert = m[kModFullscreenVert];
    d.frag = m[v.samples != VK_SAMPLE_COUNT_1_BIT ? kModCompositeMsFrag : kModCompositeFrag];
    d.layout = compositeLayout_, d.blend = detail::BlendMode::Alpha;
    if (auto x = build(v.composite, d); !x) return x;
    auto planes = SliceRenderer::create(*ctx_, v.pass, kSubpassOpaque, v.samples, true);
    if (!planes) return std::unexpected(planes.error());
    v.planes = std::move(*planes);
    return {};
}

SceneRenderer::SceneRenderer(Context& ctx) : ctx_(&ctx) {}

void SceneRenderer::destroyVariant(Variant& v) {
    destroyImages(v);
    v.planes.reset();
    VkDevice dev = ctx_->device();
    const std::vector<VkPipeline> pipelines{v.background, v.opaque, v.translucent, v.composite};
    const VkRenderPass pass = v.pass;
    ctx_->deferDestroy([=] {
        for (auto p : pipelines)
            if (p) vkDestroyPipeline(dev, p, nullptr);
        if (pass) vkDestroyRenderPass(dev, pass, nullptr);
    });
}

SceneRenderer::~SceneRenderer() {
    for (auto& v : variants_)
        if (v) destroyVariant(*v);
    modules_.reset();
    if (clipBuffer_.handle()) ctx_->deferDestroy(clipBuffer_.release());
    VkDevice dev = ctx_->device();
    const VkPipeline blit = blit_;
    const std::vector<VkPipelineLayout> layouts{meshLayout_, backgroundLayout_, compositeLayout_, blitLayout_};
    const std::vector<VkDescriptorSetLayout> setLayouts{clipSetLayout_, compositeSetLayout_, blitSetLayout_};
    const VkDescriptorPool pool = pool_;
    const VkSampler samplers[2] = {nearest_, linear_};
    ctx_->deferDestroy([=] {
        if (blit) vkDestroyPipeline(dev, blit, nullptr);
        for (auto l : layouts)
            if (l) vkDestroyPipelineLayout(dev, l, nullptr);
        for (auto l : setLayouts)
            if (l) vkDestroyDescriptorSetLayout(dev, l, nullptr);
        if (pool) vkDestroyDescriptorPool(dev, pool, nullptr); // frees every set
        for (auto s : samplers)
            if (s) vkDestroySampler(dev, s, nullptr);
    });
}

void SceneRenderer::destroyImages(Variant& v) {
    VkDevice dev = ctx_->device();
    for (detail::Image* img : {&v.color, &v.depth, &v.accum, &v.reveal, &v.resolved})
        if (img->handle()) ctx_->deferDestroy(img->release());
    const VkFramebuffer fb = v.framebuffer;
    const VkDescriptorPool pool = pool_;
    const VkDescriptorSet sets[2] = {v.compositeSet, v.blitSet};
    ctx_->deferDestroy([=] {
        if (fb) vkDestroyFramebuffer(dev, fb, nullptr);
        for (auto s : sets)
            if (s) vkFreeDescriptorSets(dev, pool, 1, &s);
    });
    v.framebuffer = VK_NULL_HANDLE;
    v.compositeSet = v.blitSet = VK_NULL_HANDLE;
    v.extent = {0, 0};
    if (last_ == &v) last_ = nullptr;
}

Result<void> SceneRenderer::createImages(Variant& v, VkExtent2D size) {
    destroyImages(v);
    Context& ctx = *ctx_;
    VkDevice dev = ctx.device();
    const bool msaa = v.samples != VK_SAMPLE_COUNT_1_BIT;
    auto make = [&](detail::Image& out, VkFormat f, VkImageUsageFlags usage, VkSampleCountFlagBits s,
                    VkImageAspectFlags aspect) -> Result<void> {
        auto img = detail::Image::create(ctx, size, f, usage, s, aspect);
        if (!img) return std::unexpected(img.error());
        out = std::move(*img);
        return {};
    };
    const VkImageUsageFlags sampledColor = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_SAMPLED_BIT;
    const VkImageUsageFlags transient = VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT;
    if (auto x = make(v.color, kColorFormat,
                      msaa ? VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | transient : sampledColor, v.samples,
                      VK_IMAGE_ASPECT_COLOR_BIT);
        !x)
        return x;
    if (auto x = make(v.depth, ctx.depthFormat(), VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT | transient,
                      v.samples, VK_IMAGE_ASPECT_DEPTH_BIT);
        !x)
        return x;
    const VkImageUsageFlags oitUsage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT |
                                       VK_IMAGE_USAGE_INPUT_ATTACHMENT_BIT | transient;
    if (auto x = make(v.accum, accumFormat_, oitUsage, v.samples, VK_IMAGE_ASPECT_COLOR_BIT); !x) return x;
    if (auto x = make(v.reveal, revealFormat_, oitUsage, v.samples, VK_IMAGE_ASPECT_COLOR_BIT); !x) return x;
    if (msaa)
        if (auto x = make(v.resolved, kColorFormat, sampledColor, VK_SAMPLE_COUNT_1_BIT,
                          VK_IMAGE_ASPECT_COLOR_BIT);
            !x)
            return x;

    std::vector<VkImageView> views{v.color.view(), v.depth.view(), v.accum.view(), v.reveal.view()};
    if (msaa) views.push_back(v.resolved.view());
    VkFramebufferCreateInfo fci{VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO};
    fci.renderPass = v.pass;
    fci.attachmentCount = static_cast<std::uint32_t>(views.size());
    fci.pAttachments = views.data();
    fci.width = size.width;
    fci.height = size.height;
    fci.layers = 1;
    PRECIS_VK_TRY(vkCreateFramebuffer(dev, &fci, nullptr, &v.framebuffer), "creating a framebuffer");

    const VkDescriptorSetLayout layouts[2] = {compositeSetLayout_, blitSetLayout_};
    VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = pool_;
    ai.descriptorSetCount = 2;
    ai.pSetLayouts = layouts;
    VkDescriptorSet sets[2]{};
    if (vkAllocateDescriptorSets(dev, &ai, sets) != VK_SUCCESS) {
        // Sets of earlier sizes still in flight (rapid resizing): wait, which frees them.
        if (auto w = ctx.waitIdle(); !w) return std::unexpected(w.error());
        PRECIS_VK_TRY(vkAllocateDescriptorSets(dev, &ai, sets), "allocating descriptor sets");
    }
    v.compositeSet = sets[0];
    v.blitSet = sets[1];
    VkDescriptorImageInfo inputs[2]{{VK_NULL_HANDLE, v.accum.view(), VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL},
                                    {VK_NULL_HANDLE, v.reveal.view(), VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL}};
    VkDescriptorImageInfo scene{v.blitSampler, msaa ? v.resolved.view() : v.color.view(),
                                VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL};
    VkWriteDescriptorSet w[3]{};
    for (auto& x : w) {
        x = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        x.descriptorCount = 1;
    }
    w[0].dstSet = w[1].dstSet = v.compositeSet;
    w[0].dstBinding = 0, w[1].dstBinding = 1;
    w[0].descriptorType = w[1].descriptorType = VK_DESCRIPTOR_TYPE_INPUT_ATTACHMENT;
    w[0].pImageInfo = &inputs[0];
    w[1].pImageInfo = &inputs[1];
    w[2].dstSet = v.blitSet;
    w[2].dstBinding = 0;
    w[2].descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
    w[2].pImageInfo = &scene;
    vkUpdateDescriptorSets(dev, 3, w, 0, nullptr);
    v.extent = size;
    return {};
}

Result<void> SceneRenderer::prepare(VkCommandBuffer cmd, const Scene& scene, const Camera& camera,
                                    VkExtent2D size, FrameQuality quality) {
    size.width = std::max(1u, size.width);
    size.height = std::max(1u, size.height);
    const auto& limits = ctx_->properties().limits;
    if (size.width > limits.maxFramebufferWidth || size.height > limits.maxFramebufferHeight)
        return fail(ErrorCode::InvalidArgument,
                    "view size " + std::to_string(size.width) + "x" + std::to_string(size.height) +
                        " is larger than the GPU allows");
    lastRendered_ = false;
    std::string key = sceneKey(scene, camera, size);
    if (quality == FrameQuality::Progressive) {
        const bool same = last_ != nullptr && key == lastKey_;
        if (same && lastQuality_ == FrameQuality::Final) return {}; // the image is up to date
        quality = same ? FrameQuality::Final : FrameQuality::Still;
    }
    auto& slot = variants_[int(quality)];
    if (!slot) {
        const bool interactive = quality == FrameQuality::Interactive;
        auto v = std::make_unique<Variant>();
        v->samples = VK_SAMPLE_COUNT_1_BIT;
        v->scale = interactive ? kInteractiveScale : 1.0f;
        v->blitSampler = interactive ? linear_ : nearest_;
        if (auto b = buildVariant(*v); !b) {
            destroyVariant(*v);
            return b;
        }
        slot = std::move(v);
    }
    Variant& v = *slot;
    const VkExtent2D extent{std::max(1u, std::uint32_t(std::lround(float(size.width) * v.scale))),
                            std::max(1u, std::uint32_t(std::lround(float(size.height) * v.scale)))};
    if (extent.width != v.extent.width || extent.height != v.extent.height || !v.framebuffer)
        if (auto c = createImages(v, extent); !c) {
            destroyImages(v);
            return c;
        }

    // The clip blocks, after every earlier frame's vertex shaders have read them.
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_UNIFORM_READ_BIT;
    mb.dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_VERTEX_SHADER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1,
                         &mb, 0, nullptr, 0, nullptr);
    std::array<std::byte, 2 * kClipStride> blocks{};
    const ClipBlock clip = clipBlock(scene.clip), none = clipBlock({});
    std::memcpy(blocks.data(), &clip, sizeof(clip));
    std::memcpy(blocks.data() + kClipStride, &none, sizeof(none));
    vkCmdUpdateBuffer(cmd, clipBuffer_.handle(), 0, blocks.size(), blocks.data());
    mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_UNIFORM_READ_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_VERTEX_SHADER_BIT, 0, 1,
                         &mb, 0, nullptr, 0, nullptr);

    VkClearValue clears[5]{};
    clears[0].color = {{0, 0, 0, 1}};
    clears[1].depthStencil = {1.0f, 0};
    clears[2].color = {{0, 0, 0, 0}}; // accum
    clears[3].color = {{1, 0, 0, 0}}; // revealage: nothing covers yet
    clears[4].color = {{0, 0, 0, 1}};
    VkRenderPassBeginInfo rbi{VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO};
    rbi.renderPass = v.pass;
    rbi.framebuffer = v.framebuffer;
    rbi.renderArea = {{0, 0}, v.extent};
    rbi.clearValueCount = v.samples != VK_SAMPLE_COUNT_1_BIT ? 5 : 4;
    rbi.pClearValues = clears;
    vkCmdBeginRenderPass(cmd, &rbi, VK_SUBPASS_CONTENTS_INLINE);
    detail::setViewportAndScissor(cmd, 0, 0, float(v.extent.width), float(v.extent.height));

    BackgroundPush bg{};
    std::memcpy(bg.top, &scene.background.top, sizeof(bg.top));
    std::memcpy(bg.bottom, &scene.background.bottom, sizeof(bg.bottom));
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, v.background);
    vkCmdPushConstants(cmd, backgroundLayout_, VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof(bg), &bg);
    vkCmdDraw(cmd, 3, 1, 0, 0);

    // The view's aspect, not the (rounded) scaled image's.
    const double aspect = double(size.width) / double(size.height);
    const glm::dmat4 clipD = camera.clipFromWorld(aspect);
    const glm::mat4 clipF = glm::mat4(clipD);
    const glm::dmat4 view = camera.viewFromWorld();
    MeshPush push{};
    std::memcpy(push.clipFromWorld, &clipF[0][0], sizeof(push.clipFromWorld));
    for (int row = 0; row < 3; ++row)
        for (int col = 0; col < 4; ++col) push.viewRows[row][col] = static_cast<float>(view[col][row]);

    lastTriangles_ = 0;
    auto drawMeshes = [&](bool translucentPass) {
        bool bound = false;
        VkDescriptorSet boundSet = VK_NULL_HANDLE;
        for (const auto& d : scene.drawables) {
            if (!d.visible || !d.mesh || d.mesh->indexCount() == 0 || d.colorRgba.a <= 0.0f) continue;
            if ((d.colorRgba.a < 0.999f) != translucentPass) continue;
            if (!bound) {
                vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS,
                                  translucentPass ? v.translucent : v.opaque);
                bound = true;
            }
            const VkDescriptorSet set = d.clipped ? clipSet_ : noClipSet_;
            if (set != boundSet) {
                vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, meshLayout_, 0, 1, &set, 0,
                                        nullptr);
                boundSet = set;
            }
            std::memcpy(push.color, &d.colorRgba, sizeof(push.color));
            vkCmdPushConstants(cmd, meshLayout_, VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT,
                               0, sizeof(push), &push);
            const VkBuffer vb = d.mesh->vertexBuffer();
            const VkDeviceSize offset = 0;
            vkCmdBindVertexBuffers(cmd, 0, 1, &vb, &offset);
            vkCmdBindIndexBuffer(cmd, d.mesh->indexBuffer(), 0, VK_INDEX_TYPE_UINT32);
            vkCmdDrawIndexed(cmd, d.mesh->indexCount(), 1, 0, 0, 0);
            lastTriangles_ += d.mesh->indexCount() / 3;
        }
    };
    drawMeshes(false);
    for (const auto& p : scene.planes) {
        if (!p.volume) continue;
        v.planes->recordPlane(cmd, *p.volume, p.view, planeRectCovering(p.view, p.volume->geometry()),
                              p.display, p.showImage, p.frameColor, clipD);
    }

    vkCmdNextSubpass(cmd, VK_SUBPASS_CONTENTS_INLINE);
    drawMeshes(true);

    vkCmdNextSubpass(cmd, VK_SUBPASS_CONTENTS_INLINE);
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, v.composite);
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, compositeLayout_, 0, 1,
                            &v.compositeSet, 0, nullptr);
    const std::int32_t samples = static_cast<std::int32_t>(v.samples);
    vkCmdPushConstants(cmd, compositeLayout_, VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof(samples), &samples);
    vkCmdDraw(cmd, 3, 1, 0, 0);
    vkCmdEndRenderPass(cmd);
    last_ = &v;
    lastSize_ = size;
    lastQuality_ = quality;
    lastKey_ = std::move(key);
    lastRendered_ = true;
    return {};
}

void SceneRenderer::record(VkCommandBuffer cmd, const ViewportRect& rect) const {
    if (!last_ || !(rect.width >= 1 && rect.height >= 1)) return;
    detail::setViewportAndScissor(cmd, rect.x, rect.y, rect.width, rect.height);
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, blit_);
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, blitLayout_, 0, 1, &last_->blitSet, 0,
                            nullptr);
    // Image coordinates from the prepared view size: 1:1 (nearest) for a still frame.
    const float push[4] = {std::floor(rect.x), std::floor(rect.y), float(lastSize_.width),
                           float(lastSize_.height)};
    vkCmdPushConstants(cmd, blitLayout_, VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof(push), push);
    vkCmdDraw(cmd, 3, 1, 0, 0);
}


Result<ImageRgba8> renderSceneOffscreen(Context& ctx, const Scene& scene, const Camera& camera,
                                        int width, int height, const OffscreenOptions& options) {
    auto target = OffscreenTarget::create(ctx, width, height, VK_SAMPLE_COUNT_1_BIT);
    if (!target) return std::unexpected(target.error());
    auto renderer = SceneRenderer::create(ctx, (*target)->renderPass(), (*target)->samples());
    if (!renderer) return std::unexpected(renderer.error());
    const OffscreenTarget& t = **target;
    Scene s = scene;
    s.background = options.background;
    Result<void> prepared;
    auto done = ctx.submitImmediate([&](VkCommandBuffer cmd) {
        prepared = (*renderer)->prepare(cmd, s, camera, t.extent());
        t.beginRenderPass(cmd);
        (*renderer)->record(cmd, {0, 0, float(t.extent().width), float(t.extent().height)});
        t.endRenderPassAndCopy(cmd);
    });
    if (!prepared) return std::unexpected(prepared.error());
    if (!done) return std::unexpected(done.error());
    ImageRgba8 image = t.readback();
    if (options.orientationLabels) drawEdgeLabels(image, edgeLabels(camera));
    return image;
}

Result<ImageRgba8> renderMeshesOffscreen(Context& ctx, std::span<const MeshItem> items,
                                         const Camera& camera, int width, int height) {
    return renderMeshesOffscreen(ctx, items, camera, width, height, OffscreenOptions{});
}

Result<ImageRgba8> renderMeshesOffscreen(Context& ctx, std::span<const MeshItem> items,
                                         const Camera& camera, int width, int height,
                                         const OffscreenOptions& options) {
    std::vector<Drawable> drawables;
    for (const auto& item : items) {
        if (!item.mesh) return fail(ErrorCode::InvalidArgument, "no mesh given to render");
        auto gpu = GpuMesh::upload(ctx, *item.mesh);
        if (!gpu) return std::unexpected(gpu.error());
        drawables.push_back({*gpu, item.colorRgba, true});
    }
    Scene scene;
    scene.drawables = drawables;
    return renderSceneOffscreen(ctx, scene, camera, width, height, options);
}

} // namespace precis::render
