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

Result<std::unique_ptr<SceneRenderer>> SceneRenderer::create(Context& ctx, VkRenderPass targetPass,
                                                             VkSampleCountFlagBits targetSamples) {
    std::unique_ptr<SceneRenderer> r(new SceneRenderer(ctx));
    VkDevice dev = ctx.device();
    r->samples_ = ctx.msaaSamples();
    const VkPhysicalDevice pd = ctx.physicalDevice();
    if (!ctx.independentBlend())
        return fail(ErrorCode::DeviceError,
                    "the GPU lacks independent blending (needed for transparent structures); "
                    "update the driver or use Mesa's lavapipe");
    if (!blendableTarget(pd, kColorFormat))
        return fail(ErrorCode::DeviceError, "the GPU cannot render to 8-bit RGBA images");
    if (!blendableTarget(pd, r->accumFormat_)) r->accumFormat_ = VK_FORMAT_R32G32B32A32_SFLOAT;
    if (!blendableTarget(pd, r->revealFormat_)) r->revealFormat_ = VK_FORMAT_R32_SFLOAT;
    if (!blendableTarget(pd, r->accumFormat_) || !blendableTarget(pd, r->revealFormat_))
        return fail(ErrorCode::DeviceError,
                    "the GPU cannot blend into float images (needed for transparency)");
    auto pass = createScenePass(dev, ctx.depthFormat(), r->accumFormat_, r->revealFormat_, r->samples_);
    if (!pass) return std::unexpected(pass.error());
    r->scenePass_ = *pass;

    auto meshLayout = detail::makePipelineLayout(dev, {}, VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT,
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
                                                 VK_SHADER_STAGE_FRAGMENT_BIT, sizeof(float) * 2);
    if (!blitLayout) return std::unexpected(blitLayout.error());
    r->blitLayout_ = *blitLayout;

    detail::ShaderModules modules(dev);
    const bool msaa = r->samples_ != VK_SAMPLE_COUNT_1_BIT;
    struct Code {
        const std::uint32_t* code;
        std::size_t bytes;
    };
    const Code codes[] = {{kMeshVert, sizeof(kMeshVert)},           {kMeshFrag, sizeof(kMeshFrag)},
                          {kMeshOitFrag, sizeof(kMeshOitFrag)},     {kBackgroundVert, sizeof(kBackgroundVert)},
                          {kBackgroundFrag, sizeof(kBackgroundFrag)}, {kFullscreenVert, sizeof(kFullscreenVert)},
                          msaa ? Code{kCompositeMsFrag, sizeof(kCompositeMsFrag)}
                               : Code{kCompositeFrag, sizeof(kCompositeFrag)},
                          {kBlitFrag, sizeof(kBlitFrag)}};
    std::vector<VkShaderModule> m;
    for (const auto& c : codes) {
        auto mod = modules.add(c.code, c.bytes);
        if (!mod) return std::unexpected(mod.error());
        m.push_back(*mod);
    }
    auto build = [&](VkPipeline& out, detail::PipelineDesc d) -> Result<void> {
        auto p = detail::makePipeline(dev, d);
        if (!p) return std::unexpected(p.error());
        out = *p;
        return {};
    };
    detail::PipelineDesc d;
    d.renderPass = r->scenePass_;
    d.samples = r->samples_;
    // Background: subpass 0, no depth.
    d.vert = m[3], d.frag = m[4], d.layout = r->backgroundLayout_;
    if (auto x = build(r->background_, d); !x) return std::unexpected(x.error());
    // Opaque meshes: depth test + write.
    d.vert = m[0], d.frag = m[1], d.layout = r->meshLayout_, d.meshInput = true;
    d.depthTest = d.depthWrite = true;
    if (auto x = build(r->opaque_, d); !x) return std::unexpected(x.error());
    // Translucent meshes: subpass 1, depth test only, OIT accumulation into two targets.
    d.frag = m[2], d.subpass = kSubpassTranslucent, d.depthWrite = false;
    d.blend = detail::BlendMode::OitAccum, d.colorAttachments = 2;
    if (auto x = build(r->translucent_, d); !x) return std::unexpected(x.error());
    // Composite: subpass 2, full screen, blended over the opaque colour.
    d = {};
    d.renderPass = r->scenePass_, d.samples = r->samples_, d.subpass = kSubpassComposite;
    d.vert = m[5], d.frag = m[6], d.layout = r->compositeLayout_, d.blend = detail::BlendMode::Alpha;
    if (auto x = build(r->composite_, d); !x) return std::unexpected(x.error());
    // Copy into the target (its render pass, subpass 0).
    d = {};
    d.renderPass = targetPass, d.samples = targetSamples;
    d.vert = m[5], d.frag = m[7], d.layout = r->blitLayout_;
    if (auto x = build(r->blit_, d); !x) return std::unexpected(x.error());

    auto planes = SliceRenderer::create(ctx, r->scenePass_, kSubpassOpaque, r->samples_, true);
    if (!planes) return std::unexpected(planes.error());
    r->planes_ = std::move(*planes);

    VkSamplerCreateInfo sci{VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO};
    sci.magFilter = sci.minFilter = VK_FILTER_NEAREST;
    sci.addressModeU = sci.addressModeV = sci.addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE;
    PRECIS_VK_TRY(vkCreateSampler(dev, &sci, nullptr, &r->sampler_), "creating a sampler");
    // Sets are replaced on resize while frames in flight may still use the old ones.
    VkDescriptorPoolSize sizes[2]{{VK_DESCRIPTOR_TYPE_INPUT_ATTACHMENT, 16},
                                  {VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 8}};
    VkDescriptorPoolCreateInfo pci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pci.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
    pci.maxSets = 16;
    pci.poolSizeCount = 2;
    pci.pPoolSizes = sizes;
    PRECIS_VK_TRY(vkCreateDescriptorPool(dev, &pci, nullptr, &r->pool_), "creating a descriptor pool");
    return r;
}

SceneRenderer::SceneRenderer(Context& ctx) : ctx_(&ctx) {}

SceneRenderer::~SceneRenderer() {
    destroyImages();
    planes_.reset();
    VkDevice dev = ctx_->device();
    const std::vector<VkPipeline> pipelines{background_, opaque_, translucent_, composite_, blit_};
    const std::vector<VkPipelineLayout> layouts{meshLayout_, backgroundLayout_, compositeLayout_, blitLayout_};
    const std::vector<VkDescriptorSetLayout> setLayouts{compositeSetLayout_, blitSetLayout_};
    const VkDescriptorPool pool = pool_;
    const VkSampler sampler = sampler_;
    const VkRenderPass pass = scenePass_;
    ctx_->deferDestroy([=] {
        for (auto p : pipelines)
            if (p) vkDestroyPipeline(dev, p, nullptr);
        for (auto l : layouts)
            if (l) vkDestroyPipelineLayout(dev, l, nullptr);
        for (auto l : setLayouts)
            if (l) vkDestroyDescriptorSetLayout(dev, l, nullptr);
        if (pool) vkDestroyDescriptorPool(dev, pool, nullptr);
        if (sampler) vkDestroySampler(dev, sampler, nullptr);
        if (pass) vkDestroyRenderPass(dev, pass, nullptr);
    });
}

void SceneRenderer::destroyImages() {
    VkDevice dev = ctx_->device();
    for (detail::Image* img : {&color_, &depth_, &accum_, &reveal_, &resolved_})
        if (img->handle()) ctx_->deferDestroy(img->release());
    const VkFramebuffer fb = framebuffer_;
    const VkDescriptorPool pool = pool_;
    const VkDescriptorSet sets[2] = {compositeSet_, blitSet_};
    ctx_->deferDestroy([=] {
        if (fb) vkDestroyFramebuffer(dev, fb, nullptr);
        for (auto s : sets)
            if (s) vkFreeDescriptorSets(dev, pool, 1, &s);
    });
    framebuffer_ = VK_NULL_HANDLE;
    compositeSet_ = blitSet_ = VK_NULL_HANDLE;
    extent_ = {0, 0};
    prepared_ = false;
}

Result<void> SceneRenderer::createImages(VkExtent2D size) {
    destroyImages();
    Context& ctx = *ctx_;
    VkDevice dev = ctx.device();
    const bool msaa = samples_ != VK_SAMPLE_COUNT_1_BIT;
    auto make = [&](detail::Image& out, VkFormat f, VkImageUsageFlags usage, VkSampleCountFlagBits s,
                    VkImageAspectFlags aspect) -> Result<void> {
        auto img = detail::Image::create(ctx, size, f, usage, s, aspect);
        if (!img) return std::unexpected(img.error());
        out = std::move(*img);
        return {};
    };
    const VkImageUsageFlags sampledColor = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_SAMPLED_BIT;
    const VkImageUsageFlags transient = VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT;
    if (auto x = make(color_, kColorFormat,
                      msaa ? VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | transient : sampledColor, samples_,
                      VK_IMAGE_ASPECT_COLOR_BIT);
        !x)
        return x;
    if (auto x = make(depth_, ctx.depthFormat(), VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT | transient,
                      samples_, VK_IMAGE_ASPECT_DEPTH_BIT);
        !x)
        return x;
    const VkImageUsageFlags oitUsage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT |
                                       VK_IMAGE_USAGE_INPUT_ATTACHMENT_BIT | transient;
    if (auto x = make(accum_, accumFormat_, oitUsage, samples_, VK_IMAGE_ASPECT_COLOR_BIT); !x) return x;
    if (auto x = make(reveal_, revealFormat_, oitUsage, samples_, VK_IMAGE_ASPECT_COLOR_BIT); !x) return x;
    if (msaa)
        if (auto x = make(resolved_, kColorFormat, sampledColor, VK_SAMPLE_COUNT_1_BIT,
                          VK_IMAGE_ASPECT_COLOR_BIT);
            !x)
            return x;

    std::vector<VkImageView> views{color_.view(), depth_.view(), accum_.view(), reveal_.view()};
    if (msaa) views.push_back(resolved_.view());
    VkFramebufferCreateInfo fci{VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO};
    fci.renderPass = scenePass_;
    fci.attachmentCount = static_cast<std::uint32_t>(views.size());
    fci.pAttachments = views.data();
    fci.width = size.width;
    fci.height = size.height;
    fci.layers = 1;
    PRECIS_VK_TRY(vkCreateFramebuffer(dev, &fci, nullptr, &framebuffer_), "creating a framebuffer");

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
    compositeSet_ = sets[0];
    blitSet_ = sets[1];
    VkDescriptorImageInfo inputs[2]{{VK_NULL_HANDLE, accum_.view(), VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL},
                                    {VK_NULL_HANDLE, reveal_.view(), VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL}};
    VkDescriptorImageInfo scene{sampler_, msaa ? resolved_.view() : color_.view(),
                                VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL};
    VkWriteDescriptorSet w[3]{};
    for (auto& x : w) {
        x = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        x.descriptorCount = 1;
    }
    w[0].dstSet = w[1].dstSet = compositeSet_;
    w[0].dstBinding = 0, w[1].dstBinding = 1;
    w[0].descriptorType = w[1].descriptorType = VK_DESCRIPTOR_TYPE_INPUT_ATTACHMENT;
    w[0].pImageInfo = &inputs[0];
    w[1].pImageInfo = &inputs[1];
    w[2].dstSet = blitSet_;
    w[2].dstBinding = 0;
    w[2].descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
    w[2].pImageInfo = &scene;
    vkUpdateDescriptorSets(dev, 3, w, 0, nullptr);
    extent_ = size;
    return {};
}

Result<void> SceneRenderer::prepare(VkCommandBuffer cmd, const Scene& scene, const Camera& camera,
                                    VkExtent2D size) {
    size.width = std::max(1u, size.width);
    size.height = std::max(1u, size.height);
    const auto& limits = ctx_->properties().limits;
    if (size.width > limits.maxFramebufferWidth || size.height > limits.maxFramebufferHeight)
        return fail(ErrorCode::InvalidArgument,
                    "view size " + std::to_string(size.width) + "x" + std::to_string(size.height) +
                        " is larger than the GPU allows");
    if (size.width != extent_.width || size.height != extent_.height || !framebuffer_)
        if (auto c = createImages(size); !c) {
            destroyImages();
            return c;
        }

    VkClearValue clears[5]{};
    clears[0].color = {{0, 0, 0, 1}};
    clears[1].depthStencil = {1.0f, 0};
    clears[2].color = {{0, 0, 0, 0}}; // accum
    clears[3].color = {{1, 0, 0, 0}}; // revealage: nothing covers yet
    clears[4].color = {{0, 0, 0, 1}};
    VkRenderPassBeginInfo rbi{VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO};
    rbi.renderPass = scenePass_;
    rbi.framebuffer = framebuffer_;
    rbi.renderArea = {{0, 0}, extent_};
    rbi.clearValueCount = samples_ != VK_SAMPLE_COUNT_1_BIT ? 5 : 4;
    rbi.pClearValues = clears;
    vkCmdBeginRenderPass(cmd, &rbi, VK_SUBPASS_CONTENTS_INLINE);
    const float w = float(extent_.width), h = float(extent_.height);
    detail::setViewportAndScissor(cmd, 0, 0, w, h);

    BackgroundPush bg{};
    std::memcpy(bg.top, &scene.background.top, sizeof(bg.top));
    std::memcpy(bg.bottom, &scene.background.bottom, sizeof(bg.bottom));
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, background_);
    vkCmdPushConstants(cmd, backgroundLayout_, VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof(bg), &bg);
    vkCmdDraw(cmd, 3, 1, 0, 0);

    const double aspect = double(w) / double(h);
    const glm::dmat4 clipD = camera.clipFromWorld(aspect);
    const glm::mat4 clip = glm::mat4(clipD);
    const glm::dmat4 view = camera.viewFromWorld();
    MeshPush push{};
    std::memcpy(push.clipFromWorld, &clip[0][0], sizeof(push.clipFromWorld));
    for (int row = 0; row < 3; ++row)
        for (int col = 0; col < 4; ++col) push.viewRows[row][col] = static_cast<float>(view[col][row]);

    lastTriangles_ = 0;
    auto drawMeshes = [&](bool translucentPass) {
        bool bound = false;
        for (const auto& d : scene.drawables) {
            if (!d.visible || !d.mesh || d.mesh->indexCount() == 0 || d.colorRgba.a <= 0.0f) continue;
            if ((d.colorRgba.a < 0.999f) != translucentPass) continue;
            if (!bound) {
                vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS,
                                  translucentPass ? translucent_ : opaque_);
                bound = true;
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
        planes_->recordPlane(cmd, *p.volume, p.view, planeRectCovering(p.view, p.volume->geometry()),
                             p.display, p.showImage, p.frameColor, clipD);
    }

    vkCmdNextSubpass(cmd, VK_SUBPASS_CONTENTS_INLINE);
    drawMeshes(true);

    vkCmdNextSubpass(cmd, VK_SUBPASS_CONTENTS_INLINE);
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, composite_);
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, compositeLayout_, 0, 1,
                            &compositeSet_, 0, nullptr);
    const std::int32_t samples = static_cast<std::int32_t>(samples_);
    vkCmdPushConstants(cmd, compositeLayout_, VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof(samples), &samples);
    vkCmdDraw(cmd, 3, 1, 0, 0);
    vkCmdEndRenderPass(cmd);
    prepared_ = true;
    return {};
}

void SceneRenderer::record(VkCommandBuffer cmd, const ViewportRect& rect) const {
    if (!prepared_ || !(rect.width >= 1 && rect.height >= 1)) return;
    detail::setViewportAndScissor(cmd, rect.x, rect.y, rect.width, rect.height);
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, blit_);
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, blitLayout_, 0, 1, &blitSet_, 0, nullptr);
    const float origin[2] = {std::floor(rect.x), std::floor(rect.y)};
    vkCmdPushConstants(cmd, blitLayout_, VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof(origin), origin);
    vkCmdDraw(cmd, 3, 1, 0, 0);
}

Result<ImageRgba8> renderSceneOffscreen(Context& ctx, const Scene& scene, const Camera& camera,
                                        int width, int height, const OffscreenOptions& options) {
    auto target = OffscreenTarget::create(ctx, width, height);
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
