#include "render/detail/Resources.h"

#include "render/detail/VkCheck.h"

#include <utility>
#include <vector>

namespace precis::render::detail {

Buffer& Buffer::operator=(Buffer&& o) noexcept {
    if (this != &o) {
        reset();
        device_ = std::exchange(o.device_, VK_NULL_HANDLE);
        buffer_ = std::exchange(o.buffer_, VK_NULL_HANDLE);
        memory_ = std::exchange(o.memory_, VK_NULL_HANDLE);
        size_ = std::exchange(o.size_, 0);
        mapped_ = std::exchange(o.mapped_, nullptr);
        coherent_ = o.coherent_;
    }
    return *this;
}

Result<Buffer> Buffer::create(Context& ctx, VkDeviceSize size, VkBufferUsageFlags usage,
                              VkMemoryPropertyFlags memory) {
    Buffer b;
    b.device_ = ctx.device();
    b.size_ = size;
    VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = size;
    bci.usage = usage;
    bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    PRECIS_VK_TRY(vkCreateBuffer(b.device_, &bci, nullptr, &b.buffer_), "creating a buffer");
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(b.device_, b.buffer_, &req);
    auto type = ctx.findMemoryType(req.memoryTypeBits, memory);
    if (!type && (memory & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT))
        type = ctx.findMemoryType(req.memoryTypeBits, memory & ~VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    if (!type)
        return fail(ErrorCode::DeviceError, "the GPU has no suitable memory for a buffer",
                    "memory flags " + std::to_string(memory));
    VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    mai.allocationSize = req.size;
    mai.memoryTypeIndex = *type;
    PRECIS_VK_TRY(vkAllocateMemory(b.device_, &mai, nullptr, &b.memory_),
                  "allocating GPU memory (out of memory?)");
    PRECIS_VK_TRY(vkBindBufferMemory(b.device_, b.buffer_, b.memory_, 0), "binding GPU memory");
    if (memory & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
        VkPhysicalDeviceMemoryProperties mp;
        vkGetPhysicalDeviceMemoryProperties(ctx.physicalDevice(), &mp);
        b.coherent_ = mp.memoryTypes[*type].propertyFlags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
        PRECIS_VK_TRY(vkMapMemory(b.device_, b.memory_, 0, VK_WHOLE_SIZE, 0, &b.mapped_),
                      "mapping GPU memory");
    }
    return b;
}

void Buffer::flush() const {
    if (!mapped_ || coherent_) return;
    VkMappedMemoryRange r{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE};
    r.memory = memory_;
    r.size = VK_WHOLE_SIZE;
    vkFlushMappedMemoryRanges(device_, 1, &r);
}

void Buffer::invalidate() const {
    if (!mapped_ || coherent_) return;
    VkMappedMemoryRange r{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE};
    r.memory = memory_;
    r.size = VK_WHOLE_SIZE;
    vkInvalidateMappedMemoryRanges(device_, 1, &r);
}

std::function<void()> Buffer::release() {
    VkDevice d = std::exchange(device_, VK_NULL_HANDLE);
    VkBuffer b = std::exchange(buffer_, VK_NULL_HANDLE);
    VkDeviceMemory m = std::exchange(memory_, VK_NULL_HANDLE);
    mapped_ = nullptr;
    size_ = 0;
    return [d, b, m] {
        if (b) vkDestroyBuffer(d, b, nullptr);
        if (m) vkFreeMemory(d, m, nullptr); // unmaps implicitly
    };
}

void Buffer::reset() {
    if (device_) release()();
}

Image& Image::operator=(Image&& o) noexcept {
    if (this != &o) {
        reset();
        device_ = std::exchange(o.device_, VK_NULL_HANDLE);
        image_ = std::exchange(o.image_, VK_NULL_HANDLE);
        memory_ = std::exchange(o.memory_, VK_NULL_HANDLE);
        view_ = std::exchange(o.view_, VK_NULL_HANDLE);
        format_ = o.format_;
    }
    return *this;
}

Result<Image> Image::create(Context& ctx, VkExtent2D extent, VkFormat format,
                            VkImageUsageFlags usage, VkSampleCountFlagBits samples,
                            VkImageAspectFlags aspect) {
    Image img;
    img.device_ = ctx.device();
    img.format_ = format;
    VkImageCreateInfo ici{VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
    ici.imageType = VK_IMAGE_TYPE_2D;
    ici.format = format;
    ici.extent = {extent.width, extent.height, 1};
    ici.mipLevels = 1;
    ici.arrayLayers = 1;
    ici.samples = samples;
    ici.tiling = VK_IMAGE_TILING_OPTIMAL;
    ici.usage = usage;
    ici.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    ici.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    PRECIS_VK_TRY(vkCreateImage(img.device_, &ici, nullptr, &img.image_), "creating an image");
    VkMemoryRequirements req;
    vkGetImageMemoryRequirements(img.device_, img.image_, &req);
    auto type = ctx.findMemoryType(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (!type) type = ctx.findMemoryType(req.memoryTypeBits, 0);
    if (!type) return fail(ErrorCode::DeviceError, "the GPU has no suitable memory for an image");
    VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    mai.allocationSize = req.size;
    mai.memoryTypeIndex = *type;
    PRECIS_VK_TRY(vkAllocateMemory(img.device_, &mai, nullptr, &img.memory_),
                  "allocating GPU memory (out of memory?)");
    PRECIS_VK_TRY(vkBindImageMemory(img.device_, img.image_, img.memory_, 0), "binding GPU memory");
    VkImageViewCreateInfo vci{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
    vci.image = img.image_;
    vci.viewType = VK_IMAGE_VIEW_TYPE_2D;
    vci.format = format;
    vci.subresourceRange = {aspect, 0, 1, 0, 1};
    PRECIS_VK_TRY(vkCreateImageView(img.device_, &vci, nullptr, &img.view_), "creating an image view");
    return img;
}

std::function<void()> Image::release() {
    VkDevice d = std::exchange(device_, VK_NULL_HANDLE);
    VkImage i = std::exchange(image_, VK_NULL_HANDLE);
    VkDeviceMemory m = std::exchange(memory_, VK_NULL_HANDLE);
    VkImageView v = std::exchange(view_, VK_NULL_HANDLE);
    return [d, i, m, v] {
        if (v) vkDestroyImageView(d, v, nullptr);
        if (i) vkDestroyImage(d, i, nullptr);
        if (m) vkFreeMemory(d, m, nullptr);
    };
}

void Image::reset() {
    if (device_) release()();
}

Result<VkRenderPass> createMainRenderPass(VkDevice device, VkFormat colorFormat,
                                          VkFormat depthFormat, VkSampleCountFlagBits samples,
                                          VkImageLayout finalLayout) {
    const bool msaa = samples != VK_SAMPLE_COUNT_1_BIT;
    std::vector<VkAttachmentDescription> attachments;
    VkAttachmentDescription color{};
    color.format = colorFormat;
    color.samples = samples;
    color.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
    color.storeOp = msaa ? VK_ATTACHMENT_STORE_OP_DONT_CARE : VK_ATTACHMENT_STORE_OP_STORE;
    color.stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
    color.stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
    color.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    color.finalLayout = msaa ? VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL : finalLayout;
    attachments.push_back(color);
    VkAttachmentDescription depth{};
    depth.format = depthFormat;
    depth.samples = samples;
    depth.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
    depth.storeOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
    depth.stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
    depth.stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
    depth.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    depth.finalLayout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL;
    attachments.push_back(depth);
    if (msaa) {
        VkAttachmentDescription resolve{};
        resolve.format = colorFormat;
        resolve.samples = VK_SAMPLE_COUNT_1_BIT;
        resolve.loadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
        resolve.storeOp = VK_ATTACHMENT_STORE_OP_STORE;
        resolve.stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
        resolve.stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
        resolve.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
        resolve.finalLayout = finalLayout;
        attachments.push_back(resolve);
    }
    VkAttachmentReference colorRef{0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
    VkAttachmentReference depthRef{1, VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL};
    VkAttachmentReference resolveRef{2, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
    VkSubpassDescription subpass{};
    subpass.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS;
    subpass.colorAttachmentCount = 1;
    subpass.pColorAttachments = &colorRef;
    subpass.pDepthStencilAttachment = &depthRef;
    subpass.pResolveAttachments = msaa ? &resolveRef : nullptr;

    VkSubpassDependency deps[2]{};
    // Previous use of the attachments (earlier frame, readback copy) before we clear them.
    deps[0].srcSubpass = VK_SUBPASS_EXTERNAL;
    deps[0].dstSubpass = 0;
    deps[0].srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT |
                           VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    deps[0].dstStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT |
                           VK_PIPELINE_STAGE_EARLY_FRAGMENT_TESTS_BIT;
    deps[0].srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT |
                            VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT;
    deps[0].dstAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT | VK_ACCESS_COLOR_ATTACHMENT_READ_BIT |
                            VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT |
                            VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_READ_BIT;
    // Rendering finished before a copy (readback, screenshot) reads the result.
    deps[1].srcSubpass = 0;
    deps[1].dstSubpass = VK_SUBPASS_EXTERNAL;
    deps[1].srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    deps[1].dstStageMask = VK_PIPELINE_STAGE_TRANSFER_BIT;
    deps[1].srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
    deps[1].dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;

    VkRenderPassCreateInfo rpci{VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO};
    rpci.attachmentCount = static_cast<std::uint32_t>(attachments.size());
    rpci.pAttachments = attachments.data();
    rpci.subpassCount = 1;
    rpci.pSubpasses = &subpass;
    rpci.dependencyCount = 2;
    rpci.pDependencies = deps;
    VkRenderPass pass = VK_NULL_HANDLE;
    PRECIS_VK_TRY(vkCreateRenderPass(device, &rpci, nullptr, &pass), "creating a render pass");
    return pass;
}

void beginMainRenderPass(VkCommandBuffer cmd, VkRenderPass renderPass, VkFramebuffer framebuffer,
                         VkExtent2D extent, VkSampleCountFlagBits samples, const glm::vec4& clearColor) {
    VkClearValue clears[3]{};
    clears[0].color = {{clearColor.r, clearColor.g, clearColor.b, clearColor.a}};
    clears[1].depthStencil = {1.0f, 0};
    clears[2].color = clears[0].color;
    VkRenderPassBeginInfo rbi{VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO};
    rbi.renderPass = renderPass;
    rbi.framebuffer = framebuffer;
    rbi.renderArea = {{0, 0}, extent};
    rbi.clearValueCount = samples != VK_SAMPLE_COUNT_1_BIT ? 3 : 2;
    rbi.pClearValues = clears;
    vkCmdBeginRenderPass(cmd, &rbi, VK_SUBPASS_CONTENTS_INLINE);
}

} // namespace precis::render::detail
