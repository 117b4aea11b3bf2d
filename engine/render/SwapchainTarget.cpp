#include "render/SwapchainTarget.h"

#include "core/Log.h"
#include "render/detail/VkCheck.h"

#include <algorithm>
#include <cstring>

namespace precis::render {

Result<std::unique_ptr<SwapchainTarget>> SwapchainTarget::create(Context& ctx,
                                                                 const SurfaceSource& source,
                                                                 const SwapchainOptions& options) {
    if (!ctx.presentationEnabled())
        return fail(ErrorCode::Internal, "a window needs a Vulkan context created for presentation",
                    "ContextOptions::presentation was false");
    VkSurfaceKHR surface = source.surface();
    VkBool32 supported = VK_FALSE;
    PRECIS_VK_TRY(vkGetPhysicalDeviceSurfaceSupportKHR(ctx.physicalDevice(), ctx.queueFamily(),
                                                       surface, &supported),
                  "querying window support");
    if (!supported)
        return fail(ErrorCode::DeviceError,
                    "the Vulkan device " + ctx.deviceName() + " cannot present to this window; "
                    "try another device with PRECIS_VK_DEVICE or use the headless commands");

    std::unique_ptr<SwapchainTarget> t(new SwapchainTarget(ctx, source));
    t->options_ = options;
    // One sample: the 3D view arrives antialiased from SceneRenderer's own pass, slice images
    // fill their panes, and ImGui antialiases its own shapes; a multisampled window would only
    // add a clear and a resolve of the whole window to every frame.
    t->samples_ = VK_SAMPLE_COUNT_1_BIT;

    std::uint32_t n = 0;
    vkGetPhysicalDeviceSurfaceFormatsKHR(ctx.physicalDevice(), surface, &n, nullptr);
    std::vector<VkSurfaceFormatKHR> formats(n);
    vkGetPhysicalDeviceSurfaceFormatsKHR(ctx.physicalDevice(), surface, &n, formats.data());
    if (formats.empty()) return fail(ErrorCode::DeviceError, "the window offers no image formats");
    // UNORM so the window shows exactly what the offscreen target reads back (shaders encode).
    t->format_ = formats[0];
    for (VkFormat want : {VK_FORMAT_B8G8R8A8_UNORM, VK_FORMAT_R8G8B8A8_UNORM}) {
        auto it = std::find_if(formats.begin(), formats.end(), [&](const VkSurfaceFormatKHR& f) {
            return f.format == want && f.colorSpace == VK_COLOR_SPACE_SRGB_NONLINEAR_KHR;
        });
        if (it != formats.end()) {
            t->format_ = *it;
            break;
        }
    }

    vkGetPhysicalDeviceSurfacePresentModesKHR(ctx.physicalDevice(), surface, &n, nullptr);
    std::vector<VkPresentModeKHR> modes(n);
    vkGetPhysicalDeviceSurfacePresentModesKHR(ctx.physicalDevice(), surface, &n, modes.data());
    t->presentMode_ = VK_PRESENT_MODE_FIFO_KHR; // always available
    if (!options.vsync)
        for (VkPresentModeKHR m : {VK_PRESENT_MODE_MAILBOX_KHR, VK_PRESENT_MODE_IMMEDIATE_KHR})
            if (std::find(modes.begin(), modes.end(), m) != modes.end()) {
                t->presentMode_ = m;
                break;
            }

    auto pass = detail::createMainRenderPass(ctx.device(), t->format_.format, ctx.depthFormat(),
                                             t->samples_, VK_IMAGE_LAYOUT_PRESENT_SRC_KHR);
    if (!pass) return std::unexpected(pass.error());
    t->renderPass_ = *pass;

    for (auto& f : t->frames_) {
        VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
        pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
        pci.queueFamilyIndex = ctx.queueFamily();
        PRECIS_VK_TRY(vkCreateCommandPool(ctx.device(), &pci, nullptr, &f.pool), "creating a command pool");
        VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
        ai.commandPool = f.pool;
        ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
        ai.commandBufferCount = 1;
        PRECIS_VK_TRY(vkAllocateCommandBuffers(ctx.device(), &ai, &f.cmd), "allocating a command buffer");
        VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        fci.flags = VK_FENCE_CREATE_SIGNALED_BIT;
        PRECIS_VK_TRY(vkCreateFence(ctx.device(), &fci, nullptr, &f.fence), "creating a fence");
        VkSemaphoreCreateInfo sci{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
        PRECIS_VK_TRY(vkCreateSemaphore(ctx.device(), &sci, nullptr, &f.imageAvailable),
                      "creating a semaphore");
    }
    if (auto r = t->createSwapchain(); !r) return std::unexpected(r.error());
    return t;
}

SwapchainTarget::~SwapchainTarget() {
    VkDevice dev = ctx_->device();
    vkDeviceWaitIdle(dev);
    destroySwapchainResources();
    if (swapchain_) vkDestroySwapchainKHR(dev, swapchain_, nullptr);
    for (auto& f : frames_) {
        if (f.fence) vkDestroyFence(dev, f.fence, nullptr);
        if (f.imageAvailable) vkDestroySemaphore(dev, f.imageAvailable, nullptr);
        if (f.pool) vkDestroyCommandPool(dev, f.pool, nullptr);
    }
    if (renderPass_) vkDestroyRenderPass(dev, renderPass_, nullptr);
    captureBuffer_.reset();
    ctx_->markCompleted(UINT64_MAX - 1); // device idle: every deferred destruction is safe
}

void SwapchainTarget::destroySwapchainResources() {
    VkDevice dev = ctx_->device();
    for (auto fb : framebuffers_) vkDestroyFramebuffer(dev, fb, nullptr);
    for (auto v : views_) vkDestroyImageView(dev, v, nullptr);
    for (auto s : renderFinished_) vkDestroySemaphore(dev, s, nullptr);
    framebuffers_.clear();
    views_.clear();
    renderFinished_.clear();
    images_.clear();
    msaaColor_.reset();
    depth_.reset();
}

Result<void> SwapchainTarget::createSwapchain() {
    VkDevice dev = ctx_->device();
    VkSurfaceKHR surface = source_->surface();
    VkSurfaceCapabilitiesKHR caps;
    PRECIS_VK_TRY(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(ctx_->physicalDevice(), surface, &caps),
                  "querying the window surface");
    VkExtent2D extent = caps.currentExtent;
    const VkExtent2D want = source_->framebufferExtent();
    requestedExtent_ = want;
    if (extent.width == UINT32_MAX) {
        extent.width = std::clamp(want.width, caps.minImageExtent.width, caps.maxImageExtent.width);
        extent.height = std::clamp(want.height, caps.minImageExtent.height, caps.maxImageExtent.height);
    }
    if (extent.width == 0 || extent.height == 0) {
        needsRecreate_ = true; // minimised: try again when it has a size
        return {};
    }
    std::uint32_t count = std::max(caps.minImageCount + 1, 2u);
    if (caps.maxImageCount > 0) count = std::min(count, caps.maxImageCount);
    canCapture_ = caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_SRC_BIT;

    VkSwapchainCreateInfoKHR sci{VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR};
    sci.surface = surface;
    sci.minImageCount = count;
    sci.imageFormat = format_.format;
    sci.imageColorSpace = format_.colorSpace;
    sci.imageExtent = extent;
    sci.imageArrayLayers = 1;
    sci.imageUsage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | (canCapture_ ? VK_IMAGE_USAGE_TRANSFER_SRC_BIT : 0);
    sci.imageSharingMode = VK_SHARING_MODE_EXCLUSIVE;
    sci.preTransform = caps.currentTransform;
    sci.compositeAlpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR;
    if (!(caps.supportedCompositeAlpha & VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR))
        for (VkCompositeAlphaFlagBitsKHR a : {VK_COMPOSITE_ALPHA_INHERIT_BIT_KHR,
                                              VK_COMPOSITE_ALPHA_PRE_MULTIPLIED_BIT_KHR,
                                              VK_COMPOSITE_ALPHA_POST_MULTIPLIED_BIT_KHR})
            if (caps.supportedCompositeAlpha & a) {
                sci.compositeAlpha = a;
                break;
            }
    sci.presentMode = presentMode_;
    sci.clipped = VK_TRUE;
    VkSwapchainKHR old = swapchain_;
    sci.oldSwapchain = old;
    VkSwapchainKHR created = VK_NULL_HANDLE;
    PRECIS_VK_TRY(vkCreateSwapchainKHR(dev, &sci, nullptr, &created), "creating the window swapchain");
    if (old) vkDestroySwapchainKHR(dev, old, nullptr);
    swapchain_ = created;
    extent_ = extent;
    minImageCount_ = count;

    std::uint32_t n = 0;
    vkGetSwapchainImagesKHR(dev, swapchain_, &n, nullptr);
    images_.resize(n);
    vkGetSwapchainImagesKHR(dev, swapchain_, &n, images_.data());

    const bool msaa = samples_ != VK_SAMPLE_COUNT_1_BIT;
    if (msaa) {
        auto c = detail::Image::create(*ctx_, extent, format_.format,
                                       VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT |
                                           VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT,
                                       samples_, VK_IMAGE_ASPECT_COLOR_BIT);
        if (!c) return std::unexpected(c.error());
        msaaColor_ = std::move(*c);
    }
    auto d = detail::Image::create(*ctx_, extent, ctx_->depthFormat(),
                                   VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT |
                                       VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT,
                                   samples_, VK_IMAGE_ASPECT_DEPTH_BIT);
    if (!d) return std::unexpected(d.error());
    depth_ = std::move(*d);

    for (VkImage image : images_) {
        VkImageViewCreateInfo vci{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
        vci.image = image;
        vci.viewType = VK_IMAGE_VIEW_TYPE_2D;
        vci.format = format_.format;
        vci.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
        VkImageView view = VK_NULL_HANDLE;
        PRECIS_VK_TRY(vkCreateImageView(dev, &vci, nullptr, &view), "creating an image view");
        views_.push_back(view);
        std::vector<VkImageView> attachments;
        if (msaa) attachments = {msaaColor_.view(), depth_.view(), view};
        else attachments = {view, depth_.view()};
        VkFramebufferCreateInfo fci{VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO};
        fci.renderPass = renderPass_;
        fci.attachmentCount = static_cast<std::uint32_t>(attachments.size());
        fci.pAttachments = attachments.data();
        fci.width = extent.width;
        fci.height = extent.height;
        fci.layers = 1;
        VkFramebuffer fb = VK_NULL_HANDLE;
        PRECIS_VK_TRY(vkCreateFramebuffer(dev, &fci, nullptr, &fb), "creating a framebuffer");
        framebuffers_.push_back(fb);
        VkSemaphoreCreateInfo semInfo{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
        VkSemaphore sem = VK_NULL_HANDLE;
        PRECIS_VK_TRY(vkCreateSemaphore(dev, &semInfo, nullptr, &sem), "creating a semaphore");
        renderFinished_.push_back(sem);
    }
    needsRecreate_ = false;
    log::debug("swapchain {}x{}, {} images", extent.width, extent.height, images_.size());
    return {};
}

Result<void> SwapchainTarget::recreate() {
    PRECIS_VK_TRY(vkDeviceWaitIdle(ctx_->device()), "waiting for the GPU");
    ctx_->markCompleted(UINT64_MAX - 1);
    destroySwapchainResources();
    return createSwapchain();
}

Result<std::optional<SwapchainFrame>> SwapchainTarget::beginFrame() {
    const VkExtent2D want = source_->framebufferExtent();
    if (want.width == 0 || want.height == 0) return std::optional<SwapchainFrame>{};
    if (needsRecreate_ || !swapchain_ || want.width != requestedExtent_.width ||
        want.height != requestedExtent_.height) {
        if (auto r = recreate(); !r) return std::unexpected(r.error());
        if (!swapchain_ || needsRecreate_) return std::optional<SwapchainFrame>{};
    }
    FrameSlot& slot = frames_[frameCursor_];
    PRECIS_VK_TRY(vkWaitForFences(ctx_->device(), 1, &slot.fence, VK_TRUE, UINT64_MAX),
                  "waiting for the GPU");
    ctx_->markCompleted(slot.serial);

    std::uint32_t imageIndex = 0;
    const VkResult acquired = vkAcquireNextImageKHR(ctx_->device(), swapchain_, UINT64_MAX,
                                                    slot.imageAvailable, VK_NULL_HANDLE, &imageIndex);
    if (acquired == VK_ERROR_OUT_OF_DATE_KHR) {
        needsRecreate_ = true;
        return std::optional<SwapchainFrame>{};
    }
    if (acquired == VK_SUBOPTIMAL_KHR) needsRecreate_ = true; // draw this one, then rebuild
    else if (acquired != VK_SUCCESS) return detail::vkFail(acquired, "acquiring a window image");

    PRECIS_VK_TRY(vkResetFences(ctx_->device(), 1, &slot.fence), "resetting a fence");
    PRECIS_VK_TRY(vkResetCommandBuffer(slot.cmd, 0), "resetting a command buffer");
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    PRECIS_VK_TRY(vkBeginCommandBuffer(slot.cmd, &bi), "recording commands");
    return std::optional<SwapchainFrame>{SwapchainFrame{slot.cmd, extent_, imageIndex, frameCursor_}};
}

void SwapchainTarget::beginRenderPass(const SwapchainFrame& frame, const glm::vec4& clearColor) const {
    detail::beginMainRenderPass(frame.cmd, renderPass_, framebuffers_[frame.imageIndex],
                                frame.extent, samples_, clearColor);
}

Result<void> SwapchainTarget::endFrame(const SwapchainFrame& frame, ImageRgba8* capture) {
    FrameSlot& slot = frames_[frame.frameIndex];
    const bool doCapture = capture && canCapture_;
    const VkDeviceSize bytes = VkDeviceSize(frame.extent.width) * frame.extent.height * 4;
    if (doCapture && captureBuffer_.size() < bytes) {
        captureBuffer_.reset(); // only touched by frames that were waited for
        auto b = detail::Buffer::create(*ctx_, bytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                            VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
        if (!b) return std::unexpected(b.error());
        captureBuffer_ = std::move(*b);
    }
    if (doCapture) {
        VkImageMemoryBarrier toSrc{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
        toSrc.srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
        toSrc.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
        toSrc.oldLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
        toSrc.newLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
        toSrc.srcQueueFamilyIndex = toSrc.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
        toSrc.image = images_[frame.imageIndex];
        toSrc.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
        vkCmdPipelineBarrier(frame.cmd, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
                             VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, nullptr, 0, nullptr, 1, &toSrc);
        VkBufferImageCopy region{};
        region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
        region.imageExtent = {frame.extent.width, frame.extent.height, 1};
        vkCmdCopyImageToBuffer(frame.cmd, toSrc.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                               captureBuffer_.handle(), 1, &region);
        VkImageMemoryBarrier toPresent = toSrc;
        toPresent.srcAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
        toPresent.dstAccessMask = 0;
        toPresent.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
        toPresent.newLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
        vkCmdPipelineBarrier(frame.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                             VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, 0, 0, nullptr, 0, nullptr, 1,
                             &toPresent);
        VkMemoryBarrier toHost{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        toHost.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
        toHost.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
        vkCmdPipelineBarrier(frame.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                             0, 1, &toHost, 0, nullptr, 0, nullptr);
    }
    PRECIS_VK_TRY(vkEndCommandBuffer(frame.cmd), "recording commands");

    const VkPipelineStageFlags waitStage = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    VkSemaphore finished = renderFinished_[frame.imageIndex];
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.waitSemaphoreCount = 1;
    si.pWaitSemaphores = &slot.imageAvailable;
    si.pWaitDstStageMask = &waitStage;
    si.commandBufferCount = 1;
    si.pCommandBuffers = &frame.cmd;
    si.signalSemaphoreCount = 1;
    si.pSignalSemaphores = &finished;
    slot.serial = ctx_->nextSubmissionSerial();
    PRECIS_VK_TRY(vkQueueSubmit(ctx_->queue(), 1, &si, slot.fence), "submitting a frame");

    VkPresentInfoKHR pi{VK_STRUCTURE_TYPE_PRESENT_INFO_KHR};
    pi.waitSemaphoreCount = 1;
    pi.pWaitSemaphores = &finished;
    pi.swapchainCount = 1;
    pi.pSwapchains = &swapchain_;
    pi.pImageIndices = &frame.imageIndex;
    const VkResult presented = vkQueuePresentKHR(ctx_->queue(), &pi);
    frameCursor_ = (frameCursor_ + 1) % kFramesInFlight;
    if (presented == VK_ERROR_OUT_OF_DATE_KHR || presented == VK_SUBOPTIMAL_KHR) needsRecreate_ = true;
    else if (presented != VK_SUCCESS) return detail::vkFail(presented, "presenting a frame");

    if (capture) {
        if (!doCapture)
            return fail(ErrorCode::Unsupported, "this window system does not allow screenshots",
                        "swapchain images lack TRANSFER_SRC usage");
        PRECIS_VK_TRY(vkWaitForFences(ctx_->device(), 1, &slot.fence, VK_TRUE, UINT64_MAX),
                      "waiting for the GPU");
        captureBuffer_.invalidate();
        capture->width = static_cast<int>(frame.extent.width);
        capture->height = static_cast<int>(frame.extent.height);
        const auto* src = static_cast<const std::uint8_t*>(captureBuffer_.mapped());
        capture->pixels.assign(src, src + bytes);
        const bool bgra = format_.format == VK_FORMAT_B8G8R8A8_UNORM ||
                          format_.format == VK_FORMAT_B8G8R8A8_SRGB;
        for (std::size_t i = 0; i < capture->pixels.size(); i += 4) {
            if (bgra) std::swap(capture->pixels[i], capture->pixels[i + 2]);
            capture->pixels[i + 3] = 255;
        }
    }
    return {};
}

} // namespace precis::render
