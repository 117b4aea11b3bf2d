#include "render/OffscreenTarget.h"

#include "render/detail/VkCheck.h"

#include <string>
#include <vector>

namespace precis::render {

namespace {

bool supportsColorTarget(VkPhysicalDevice pd, VkFormat f) {
    VkFormatProperties fp;
    vkGetPhysicalDeviceFormatProperties(pd, f, &fp);
    const VkFormatFeatureFlags need = VK_FORMAT_FEATURE_COLOR_ATTACHMENT_BIT |
                                      VK_FORMAT_FEATURE_TRANSFER_SRC_BIT;
    return (fp.optimalTilingFeatures & need) == need;
}

} // namespace

Result<std::unique_ptr<OffscreenTarget>> OffscreenTarget::create(Context& ctx, int width, int height) {
    return create(ctx, width, height, ctx.msaaSamples());
}

Result<std::unique_ptr<OffscreenTarget>> OffscreenTarget::create(Context& ctx, int width, int height,
                                                                 VkSampleCountFlagBits samples) {
    if (samples != VK_SAMPLE_COUNT_1_BIT && samples != ctx.msaaSamples())
        return fail(ErrorCode::InvalidArgument, "an offscreen target has 1 sample or the device's MSAA count");
    const auto& limits = ctx.properties().limits;
    if (width < 1 || height < 1 || std::uint32_t(width) > limits.maxFramebufferWidth ||
        std::uint32_t(height) > limits.maxFramebufferHeight)
        return fail(ErrorCode::InvalidArgument,
                    "image size " + std::to_string(width) + "x" + std::to_string(height) +
                        " is not supported (1.." + std::to_string(limits.maxFramebufferWidth) + ")");
    std::unique_ptr<OffscreenTarget> t(new OffscreenTarget(ctx));
    t->extent_ = {std::uint32_t(width), std::uint32_t(height)};
    t->samples_ = samples;
    if (supportsColorTarget(ctx.physicalDevice(), VK_FORMAT_R8G8B8A8_UNORM)) t->format_ = VK_FORMAT_R8G8B8A8_UNORM;
    else if (supportsColorTarget(ctx.physicalDevice(), VK_FORMAT_B8G8R8A8_UNORM)) t->format_ = VK_FORMAT_B8G8R8A8_UNORM;
    else return fail(ErrorCode::DeviceError, "the GPU cannot render to 8-bit RGBA images");

    const bool msaa = t->samples_ != VK_SAMPLE_COUNT_1_BIT;
    if (msaa) {
        auto c = detail::Image::create(ctx, t->extent_, t->format_,
                                       VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT |
                                           VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT,
                                       t->samples_, VK_IMAGE_ASPECT_COLOR_BIT);
        if (!c) return std::unexpected(c.error());
        t->msaaColor_ = std::move(*c);
    }
    auto d = detail::Image::create(ctx, t->extent_, ctx.depthFormat(),
                                   VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT |
                                       VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT,
                                   t->samples_, VK_IMAGE_ASPECT_DEPTH_BIT);
    if (!d) return std::unexpected(d.error());
    t->depth_ = std::move(*d);
    auto r = detail::Image::create(ctx, t->extent_, t->format_,
                                   VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                                   VK_SAMPLE_COUNT_1_BIT, VK_IMAGE_ASPECT_COLOR_BIT);
    if (!r) return std::unexpected(r.error());
    t->resolved_ = std::move(*r);
    auto rb = detail::Buffer::create(ctx, VkDeviceSize(width) * height * 4,
                                     VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                     VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                         VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
                                         VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    if (!rb)
        rb = detail::Buffer::create(ctx, VkDeviceSize(width) * height * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                    VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    if (!rb) return std::unexpected(rb.error());
    t->readback_ = std::move(*rb);

    auto pass = detail::createMainRenderPass(ctx.device(), t->format_, ctx.depthFormat(), t->samples_,
                                             VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
    if (!pass) return std::unexpected(pass.error());
    t->renderPass_ = *pass;

    std::vector<VkImageView> views;
    if (msaa) views = {t->msaaColor_.view(), t->depth_.view(), t->resolved_.view()};
    else views = {t->resolved_.view(), t->depth_.view()};
    VkFramebufferCreateInfo fci{VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO};
    fci.renderPass = t->renderPass_;
    fci.attachmentCount = static_cast<std::uint32_t>(views.size());
    fci.pAttachments = views.data();
    fci.width = t->extent_.width;
    fci.height = t->extent_.height;
    fci.layers = 1;
    PRECIS_VK_TRY(vkCreateFramebuffer(ctx.device(), &fci, nullptr, &t->framebuffer_),
                  "creating a framebuffer");
    return t;
}

OffscreenTarget::~OffscreenTarget() {
    // Offscreen frames are waited for before readback; still, let in-flight work finish first.
    VkDevice dev = ctx_->device();
    VkFramebuffer fb = framebuffer_;
    VkRenderPass rp = renderPass_;
    ctx_->deferDestroy([dev, fb, rp] {
        if (fb) vkDestroyFramebuffer(dev, fb, nullptr);
        if (rp) vkDestroyRenderPass(dev, rp, nullptr);
    });
    if (msaaColor_.handle()) ctx_->deferDestroy(msaaColor_.release());
    if (depth_.handle()) ctx_->deferDestroy(depth_.release());
    if (resolved_.handle()) ctx_->deferDestroy(resolved_.release());
    if (readback_.handle()) ctx_->deferDestroy(readback_.release());
}

void OffscreenTarget::beginRenderPass(VkCommandBuffer cmd, const glm::vec4& clearColor) const {
    detail::beginMainRenderPass(cmd, renderPass_, framebuffer_, extent_, samples_, clearColor);
}

void OffscreenTarget::endRenderPassAndCopy(VkCommandBuffer cmd) const {
    vkCmdEndRenderPass(cmd); // leaves the resolved image in TRANSFER_SRC_OPTIMAL
    VkBufferImageCopy region{};
    region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
    region.imageExtent = {extent_.width, extent_.height, 1};
    vkCmdCopyImageToBuffer(cmd, resolved_.handle(), VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                           readback_.handle(), 1, &region);
    VkMemoryBarrier toHost{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    toHost.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    toHost.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                         &toHost, 0, nullptr, 0, nullptr);
}

ImageRgba8 OffscreenTarget::readback() const {
    readback_.invalidate();
    ImageRgba8 img;
    img.width = static_cast<int>(extent_.width);
    img.height = static_cast<int>(extent_.height);
    const auto* src = static_cast<const std::uint8_t*>(readback_.mapped());
    img.pixels.assign(src, src + std::size_t(img.width) * img.height * 4);
    const bool bgra = format_ == VK_FORMAT_B8G8R8A8_UNORM;
    for (std::size_t i = 0; i < img.pixels.size(); i += 4) {
        if (bgra) std::swap(img.pixels[i], img.pixels[i + 2]);
        img.pixels[i + 3] = 255; // the scene is opaque; translucent meshes blend into it
    }
    return img;
}

} // namespace precis::render
