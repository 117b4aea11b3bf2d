#include "render/SliceRenderer.h"

#include "render/OffscreenTarget.h"
#include "render/detail/Pipeline.h"
#include "render/detail/VkCheck.h"

#include <cstring>

namespace precis::render {

namespace {

const std::uint32_t kSliceVert[] =
#include "slice.vert.spv.inc"
    ;
const std::uint32_t kSliceFrag[] =
#include "slice.frag.spv.inc"
    ;

// Matches slice.vert / slice.frag.
struct SlicePush {
    float cornerClip[4][4];
    float tex0[4]; // w: window low (texture units)
    float tex1[4]; // w: window width (texture units)
    float tex2[4]; // w: label opacity
    float frame[4];
};
static_assert(sizeof(SlicePush) == 128);

constexpr int kModeFrame = 1, kModeNoImage = 2, kModeDiscardOutside = 4;

} // namespace

Result<std::unique_ptr<SliceRenderer>> SliceRenderer::create(Context& ctx, VkRenderPass renderPass,
                                                             std::uint32_t subpass,
                                                             VkSampleCountFlagBits samples,
                                                             bool depthTest) {
    std::unique_ptr<SliceRenderer> r(new SliceRenderer(ctx));
    VkDevice dev = ctx.device();
    auto setLayout = GpuVolume::createSetLayout(dev);
    if (!setLayout) return std::unexpected(setLayout.error());
    r->setLayout_ = *setLayout;
    auto layout = detail::makePipelineLayout(dev, std::span(&r->setLayout_, 1),
                                             VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT,
                                             sizeof(SlicePush));
    if (!layout) return std::unexpected(layout.error());
    r->layout_ = *layout;
    detail::ShaderModules modules(dev);
    auto vert = modules.add(kSliceVert, sizeof(kSliceVert));
    if (!vert) return std::unexpected(vert.error());
    auto frag = modules.add(kSliceFrag, sizeof(kSliceFrag));
    if (!frag) return std::unexpected(frag.error());
    detail::PipelineDesc d;
    d.vert = *vert;
    d.frag = *frag;
    d.layout = r->layout_;
    d.renderPass = renderPass;
    d.subpass = subpass;
    d.samples = samples;
    d.topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_STRIP;
    d.depthTest = depthTest;
    d.depthWrite = depthTest;
    auto p = detail::makePipeline(dev, d);
    if (!p) return std::unexpected(p.error());
    r->pipeline_ = *p;
    return r;
}

SliceRenderer::~SliceRenderer() {
    VkDevice dev = ctx_->device();
    const VkPipeline p = pipeline_;
    const VkPipelineLayout l = layout_;
    const VkDescriptorSetLayout s = setLayout_;
    ctx_->deferDestroy([dev, p, l, s] {
        if (p) vkDestroyPipeline(dev, p, nullptr);
        if (l) vkDestroyPipelineLayout(dev, l, nullptr);
        if (s) vkDestroyDescriptorSetLayout(dev, s, nullptr);
    });
}

void SliceRenderer::draw(VkCommandBuffer cmd, const GpuVolume& volume, const glm::dvec4 cornerClip[4],
                         const glm::dvec3 cornerWorld[3], const SliceDisplay& display, int mode,
                         const glm::vec3& frameColor) const {
    SlicePush push{};
    for (int i = 0; i < 4; ++i)
        for (int c = 0; c < 4; ++c) push.cornerClip[i][c] = static_cast<float>(cornerClip[i][c]);
    float* tex[3] = {push.tex0, push.tex1, push.tex2};
    const glm::dmat4 tfw = volume.textureFromWorld();
    for (int i = 0; i < 3; ++i) {
        const glm::dvec4 t = tfw * glm::dvec4(cornerWorld[i], 1.0);
        for (int c = 0; c < 3; ++c) tex[i][c] = static_cast<float>(t[c]);
    }
    const double u = volume.textureUnitsPerHu();
    const double low = display.window.centerHu - 0.5 * display.window.widthHu;
    push.tex0[3] = static_cast<float>(low * u);
    push.tex1[3] = static_cast<float>(std::max(display.window.widthHu, 1.0) * u);
    push.tex2[3] = volume.hasLabels() ? display.labelOpacity : 0.0f;
    push.frame[0] = frameColor.r;
    push.frame[1] = frameColor.g;
    push.frame[2] = frameColor.b;
    push.frame[3] = static_cast<float>(mode);
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, pipeline_);
    const VkDescriptorSet set = volume.descriptorSet();
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, layout_, 0, 1, &set, 0, nullptr);
    vkCmdPushConstants(cmd, layout_, VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT, 0,
                       sizeof(push), &push);
    vkCmdDraw(cmd, 4, 1, 0, 0);
}

void SliceRenderer::record2d(VkCommandBuffer cmd, const GpuVolume& volume, const SliceView& view,
                             const SliceDisplay& display, const ViewportRect& rect) const {
    if (!(rect.width >= 1 && rect.height >= 1)) return;
    detail::setViewportAndScissor(cmd, rect.x, rect.y, rect.width, rect.height);
    // Quad (0,0) is the viewport's bottom-left; Vulkan NDC y points down.
    const glm::dvec4 clip[4] = {{-1, 1, 0, 1}, {1, 1, 0, 1}, {-1, -1, 0, 1}, {1, -1, 0, 1}};
    const double w = rect.width, h = rect.height;
    const glm::dvec3 world[3] = {view.worldFromViewport(0, h, w, h), view.worldFromViewport(w, h, w, h),
                                 view.worldFromViewport(0, 0, w, h)};
    draw(cmd, volume, clip, world, display, 0, glm::vec3(0));
}

void SliceRenderer::recordPlane(VkCommandBuffer cmd, const GpuVolume& volume, const SliceView& view,
                                const PlaneRect& rect, const SliceDisplay& display, bool showImage,
                                const glm::vec4& frameColor, const glm::dmat4& clipFromWorld) const {
    const glm::dvec3 corner[4] = {
        view.centerLps + view.rightLps * rect.minMm.x + view.upLps * rect.minMm.y,
        view.centerLps + view.rightLps * rect.maxMm.x + view.upLps * rect.minMm.y,
        view.centerLps + view.rightLps * rect.minMm.x + view.upLps * rect.maxMm.y,
        view.centerLps + view.rightLps * rect.maxMm.x + view.upLps * rect.maxMm.y};
    glm::dvec4 clip[4];
    for (int i = 0; i < 4; ++i) clip[i] = clipFromWorld * glm::dvec4(corner[i], 1.0);
    int mode = kModeDiscardOutside;
    if (frameColor.a > 0) mode |= kModeFrame;
    if (!showImage) mode |= kModeNoImage;
    if (!showImage && frameColor.a <= 0) return;
    draw(cmd, volume, clip, corner, display, mode, glm::vec3(frameColor));
}

EdgeLabels edgeLabels(const SliceView& view) {
    return {directionLetters(-view.rightLps), directionLetters(view.rightLps),
            directionLetters(view.upLps), directionLetters(-view.upLps)};
}

Result<ImageRgba8> renderSliceOffscreen(Context& ctx, const model::Volume& volume,
                                        const model::LabelMap* labels, const LabelPalette& palette,
                                        const SliceView& view, const SliceDisplay& display,
                                        int width, int height, bool orientationLabels) {
    auto target = OffscreenTarget::create(ctx, width, height);
    if (!target) return std::unexpected(target.error());
    auto gpu = GpuVolume::upload(ctx, volume, labels);
    if (!gpu) return std::unexpected(gpu.error());
    if (labels)
        if (auto p = (*gpu)->setPalette(palette); !p) return std::unexpected(p.error());
    auto renderer = SliceRenderer::create(ctx, (*target)->renderPass(), 0, (*target)->samples(), false);
    if (!renderer) return std::unexpected(renderer.error());
    const OffscreenTarget& t = **target;
    auto done = ctx.submitImmediate([&](VkCommandBuffer cmd) {
        t.beginRenderPass(cmd);
        (*renderer)->record2d(cmd, **gpu, view, display,
                              {0, 0, float(t.extent().width), float(t.extent().height)});
        t.endRenderPassAndCopy(cmd);
    });
    if (!done) return std::unexpected(done.error());
    ImageRgba8 image = t.readback();
    if (orientationLabels) drawEdgeLabels(image, edgeLabels(view));
    return image;
}

} // namespace precis::render
